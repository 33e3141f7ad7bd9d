"""The MariaDB extract type contract: every MariaDB 10.11 type is exact, its server text, or refused.

One table holds a column of every MariaDB data type with its extreme values (row 1, row 2) and
NULL (row 3); a second table, written in a session with a relaxed `sql_mode`, holds zero and
invalid dates. Each type is read through `query`, `iter_batches` and `extract_to_lakehouse` with
every reader (`auto`, `connectorx`, `pymysql`) and compared with `TYPES` below; the same outcomes
are listed in `docs/databases.md` ("MariaDB extract type table"), which a test checks too.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.transfer.polars_types import PolarsTypeError
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

pytest.importorskip("connectorx")
pytestmark = pytest.mark.mysql

READERS = ["auto", "connectorx", "pymysql"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "databases.md"


@dataclass(frozen=True)
class T:
    """One column of the type table: how MariaDB declares it and what every reader must return."""

    column: str
    sql_type: str  # as declared, and as listed in the doc table
    literals: tuple[str, str]  # SQL literals of rows 1 and 2 (row 3 is NULL)
    arrow: pa.DataType | None  # None: refused
    values: tuple  # Python values of rows 1 and 2 (refused: the values of `fix`)
    outcome: str  # exact | text | refused
    fast: bool = False  # connectorx reads it (auto picks connectorx)
    fix: str = ""  # refused: the cast the error suggests, `{c}` for the column


def _bytes_literal(b: bytes) -> str:
    return f"X'{b.hex()}'" if b else "X''"


ALL_BYTES = bytes(range(256))
D = Decimal
EXACT, TEXT, REFUSED = "exact", "text", "refused"
E = EXACT
_GEO = "ST_AsText({c})"

TYPES = [
    T("tiny", "TINYINT", ("-128", "127"), pa.int8(), (-128, 127), E, True),
    T("tiny_u", "TINYINT UNSIGNED", ("0", "255"), pa.uint8(), (0, 255), E, True),
    T("bool", "BOOLEAN", ("TRUE", "-128"), pa.int8(), (1, -128), E, True),
    T("small", "SMALLINT", ("-32768", "32767"), pa.int16(), (-32768, 32767), E, True),
    T("small_u", "SMALLINT UNSIGNED", ("0", "65535"), pa.uint16(), (0, 65535), E, True),
    T("medium", "MEDIUMINT", ("-8388608", "8388607"), pa.int32(), (-8388608, 8388607), E, True),
    T("medium_u", "MEDIUMINT UNSIGNED", ("0", "16777215"), pa.uint32(), (0, 16777215), E, True),
    T("int_s", "INT", ("-2147483648", "2147483647"), pa.int32(), (-(2**31), 2**31 - 1), E, True),
    T("int_u", "INT UNSIGNED", ("0", "4294967295"), pa.uint32(), (0, 2**32 - 1), E, True),
    T("int_z", "INT(6) ZEROFILL", ("42", "4294967295"), pa.uint32(), (42, 2**32 - 1), E, True),
    T("big", "BIGINT", (str(-(2**63)), str(2**63 - 1)), pa.int64(), (-(2**63), 2**63 - 1), E, True),
    T("big_u", "BIGINT UNSIGNED", ("0", str(2**64 - 1)), pa.uint64(), (0, 2**64 - 1), E, True),
    T("dec_1", "DECIMAL(1,0)", ("-9", "9"), pa.decimal128(1, 0), (D("-9"), D("9")), E, True),
    T("dec_1u", "DECIMAL(1,0) UNSIGNED", ("0", "9"), pa.decimal128(1, 0), (D("0"), D("9")), E, True),
    T(
        "dec_10",
        "DECIMAL(10,2)",
        ("-99999999.99", "0.01"),
        pa.decimal128(10, 2),
        (D("-99999999.99"), D("0.01")),
        E,
        True,
    ),
    T(
        "dec_z",
        "DECIMAL(6,2) ZEROFILL",
        ("0.01", "9999.99"),
        pa.decimal128(6, 2),
        (D("0.01"), D("9999.99")),
        E,
        True,
    ),
    T(
        "dec_28",
        "DECIMAL(28,10)",
        ("-999999999999999999.9999999999", "0.0000000001"),
        pa.decimal128(28, 10),
        (D("-999999999999999999.9999999999"), D("0.0000000001")),
        E,
        True,
    ),
    T(
        "dec_38",
        "DECIMAL(38,10)",
        ("-" + "9" * 28 + "." + "9" * 10, "0.0000000001"),
        pa.decimal128(38, 10),
        (D("-" + "9" * 28 + "." + "9" * 10), D("0.0000000001")),
        E,
    ),
    T(
        "dec_30_30",
        "DECIMAL(30,30)",
        ("-0." + "9" * 30, "0." + "0" * 29 + "1"),
        pa.decimal128(30, 30),
        (D("-0." + "9" * 30), D("1e-30")),
        E,
    ),
    T("dec_39", "DECIMAL(39,0)", ("-" + "9" * 39, "1"), pa.decimal256(39, 0), (D("-" + "9" * 39), D("1")), E),
    T(
        "dec_65",
        "DECIMAL(65,30)",
        ("-" + "9" * 35 + "." + "9" * 30, "0." + "0" * 29 + "1"),
        pa.decimal256(65, 30),
        (D("-" + "9" * 35 + "." + "9" * 30), D("1e-30")),
        E,
    ),
    T(
        "dbl",
        "DOUBLE",
        ("-1.7976931348623157e308", "5e-324"),
        pa.float64(),
        (-1.7976931348623157e308, 5e-324),
        E,
        True,
    ),
    T(
        "dbl_b",
        "DOUBLE",
        ("0.1", "2.2250738585072014e-308"),
        pa.float64(),
        (0.1, 2.2250738585072014e-308),
        E,
        True,
    ),
    T(
        "flt",
        "FLOAT",
        ("0.33333334", "-3.4028234e38"),
        None,
        (0.3333333432674408, -3.4028234663852886e38),
        REFUSED,
        fix="CAST({c} AS DOUBLE)",
    ),
    T("bit1", "BIT(1)", ("b'0'", "b'1'"), pa.bool_(), (False, True), E),
    T("bit64", "BIT(64)", ("0", "b'" + "1" * 64 + "'"), pa.uint64(), (0, 2**64 - 1), E),
    T(
        "day",
        "DATE",
        ("'0001-01-01'", "'9999-12-31'"),
        pa.date32(),
        (dt.date(1, 1, 1), dt.date(9999, 12, 31)),
        E,
        True,
    ),
    T(
        "dt0",
        "DATETIME",
        ("'0001-01-01 00:00:00'", "'9999-12-31 23:59:59'"),
        pa.timestamp("us"),
        (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)),
        E,
        True,
    ),
    *[
        T(
            f"dt{n}",
            f"DATETIME({n})",
            (f"'9999-12-31 23:59:59.{'9' * n}'", f"'2024-02-29 12:00:00.{'0' * (n - 1)}1'"),
            pa.timestamp("us"),
            (
                dt.datetime(9999, 12, 31, 23, 59, 59, int(("9" * n).ljust(6, "0"))),
                dt.datetime(2024, 2, 29, 12, 0, 0, 10 ** (6 - n)),
            ),
            E,
            True,
        )
        for n in range(1, 7)
    ],
    T(
        "ts0",
        "TIMESTAMP NULL",
        ("'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'"),
        pa.timestamp("us", tz="UTC"),
        (dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC), dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=dt.UTC)),
        E,
        True,
    ),
    T(
        "ts6",
        "TIMESTAMP(6) NULL",
        ("'1970-01-01 00:00:01.000001'", "'2038-01-19 03:14:07.999999'"),
        pa.timestamp("us", tz="UTC"),
        (
            dt.datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC),
        ),
        E,
        True,
    ),
    T(
        "tm0",
        "TIME",
        ("'-838:59:59'", "'24:00:01'"),
        pa.duration("us"),
        (-dt.timedelta(hours=838, minutes=59, seconds=59), dt.timedelta(hours=24, seconds=1)),
        E,
    ),
    T(
        "tm6",
        "TIME(6)",
        ("'-00:00:00.000001'", "'838:59:59.999999'"),
        pa.duration("us"),
        (-dt.timedelta(microseconds=1), dt.timedelta(hours=838, minutes=59, seconds=59, microseconds=999999)),
        E,
    ),
    T("yr", "YEAR", ("1901", "2155"), pa.int16(), (1901, 2155), E, True),
    T("yr2", "YEAR(2)", ("'24'", "'69'"), pa.int16(), (24, 69), E, True),
    T("ch", "CHAR(10)", ("''", "'é🎓 x'"), pa.string(), ("", "é🎓 x"), E, True),
    T(
        "vc",
        "VARCHAR(100)",
        ("'tab\\there\\nnew \\\\ \\'q\\' \\0'", "'中文 𝄞🚀'"),
        pa.string(),
        ("tab\there\nnew \\ 'q' \x00", "中文 𝄞🚀"),
        E,
        True,
    ),
    T("vc_c", "VARCHAR(100) COMPRESSED", ("''", "'é🎓'"), pa.string(), ("", "é🎓"), E, True),
    T("tt", "TINYTEXT", ("''", "'é🎓'"), pa.string(), ("", "é🎓"), E, True),
    T("tx", "TEXT", ("'\\\\N'", "'NULL'"), pa.string(), ("\\N", "NULL"), E, True),
    T("mt", "MEDIUMTEXT", ("''", "REPEAT('é🎓', 20000)"), pa.string(), ("", "é🎓" * 20000), E, True),
    T("lt", "LONGTEXT", ("' '", "REPEAT('x', 70000)"), pa.string(), (" ", "x" * 70000), E, True),
    T("bin_coll", "VARCHAR(20) COLLATE utf8mb4_bin", ("'é🎓'", "''"), pa.string(), ("é🎓", ""), E, True),
    T("l1", "VARCHAR(20) CHARACTER SET latin1", ("'é€ÿ'", "''"), pa.string(), ("é€ÿ", ""), E, True),
    T("l1c", "CHAR(5) CHARACTER SET latin1", ("'àç'", "'Œ'"), pa.string(), ("àç", "Œ"), E, True),
    T("asc", "TEXT CHARACTER SET ascii", ("'abc~'", "''"), pa.string(), ("abc~", ""), E, True),
    T("u3", "VARCHAR(10) CHARACTER SET utf8mb3", ("'é中'", "''"), pa.string(), ("é中", ""), E, True),
    T("u16", "VARCHAR(10) CHARACTER SET utf16", ("'𝄞é'", "''"), pa.string(), ("𝄞é", ""), E, True),
    T("en", "ENUM('a','é🎓')", ("'a'", "'é🎓'"), pa.string(), ("a", "é🎓"), TEXT, True),
    T("st", "SET('x','y','z')", ("''", "'z,x'"), pa.string(), ("", "x,z"), TEXT, True),
    T(
        "js",
        "JSON",
        ('\'{"a":  1, "b": [true, null]}\'', "'\"é🎓\"'"),
        pa.string(),
        ('{"a":  1, "b": [true, null]}', '"é🎓"'),
        TEXT,
        True,
    ),
    T(
        "ip4",
        "INET4",
        ("'0.0.0.0'", "'255.255.255.255'"),
        pa.string(),
        ("0.0.0.0", "255.255.255.255"),
        TEXT,
        True,
    ),
    T(
        "ip6",
        "INET6",
        ("'::'", "'2001:DB8::FF00:42:8329'"),
        pa.string(),
        ("::", "2001:db8::ff00:42:8329"),
        TEXT,
        True,
    ),
    T(
        "uid",
        "UUID",
        ("'00000000-0000-0000-0000-000000000000'", "'123E4567-E89B-12D3-A456-426655440000'"),
        pa.string(),
        ("00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426655440000"),
        TEXT,
        True,
    ),
    T("bn", "BINARY(4)", ("X'00FF0A'", "X''"), pa.binary(), (b"\x00\xff\n\x00", b"\x00" * 4), E, True),
    T("vb", "VARBINARY(300)", (_bytes_literal(ALL_BYTES), "X''"), pa.binary(), (ALL_BYTES, b""), E, True),
    T("tb", "TINYBLOB", ("X'5C4E'", "X'00'"), pa.binary(), (b"\\N", b"\x00"), E, True),
    T("bb", "BLOB", (_bytes_literal(ALL_BYTES), "X'0A0D09'"), pa.binary(), (ALL_BYTES, b"\n\r\t"), E, True),
    T(
        "mb",
        "MEDIUMBLOB",
        ("X''", "REPEAT(X'00FF', 40000)"),
        pa.binary(),
        (b"", b"\x00\xff" * 40000),
        E,
        True,
    ),
    T(
        "lb",
        "LONGBLOB",
        (_bytes_literal("é".encode()), "X'FF'"),
        pa.binary(),
        ("é".encode(), b"\xff"),
        E,
        True,
    ),
    T("bc", "BLOB COMPRESSED", ("X'00'", "X''"), pa.binary(), (b"\x00", b""), E, True),
    *[
        T(
            f"g_{name.lower()}",
            name,
            (f"ST_GeomFromText('{a}')", f"ST_GeomFromText('{b}')"),
            None,
            (a, b),
            REFUSED,
            fix=_GEO,
        )
        for name, a, b in [
            ("GEOMETRY", "POINT(1 2)", "LINESTRING(0 0,1 1)"),
            ("POINT", "POINT(-1.5 2)", "POINT(0 0)"),
            ("LINESTRING", "LINESTRING(0 0,1 1)", "LINESTRING(1 1,2 2,3 3)"),
            ("POLYGON", "POLYGON((0 0,1 0,1 1,0 0))", "POLYGON((0 0,2 0,2 2,0 0))"),
            ("MULTIPOINT", "MULTIPOINT(0 0,1 1)", "MULTIPOINT(2 2)"),
            ("MULTILINESTRING", "MULTILINESTRING((0 0,1 1),(2 2,3 3))", "MULTILINESTRING((0 0,1 1))"),
            ("MULTIPOLYGON", "MULTIPOLYGON(((0 0,1 0,1 1,0 0)))", "MULTIPOLYGON(((0 0,2 0,2 2,0 0)))"),
            ("GEOMETRYCOLLECTION", "GEOMETRYCOLLECTION(POINT(1 2))", "GEOMETRYCOLLECTION(POINT(0 0))"),
        ]
    ],
]

# Zero and invalid dates, stored in a session whose sql_mode allows them: (column, type, stored value,
# the text the server shows, the value of the suggested fix for rows 1 and 2).
ZERO_DATES = [
    ("z_date", "DATE", "'0000-00-00'", "0000-00-00"),
    ("z_month", "DATE", "'2024-00-10'", "2024-00-10"),
    ("z_day", "DATE", "'2024-02-00'", "2024-02-00"),
    ("z_feb31", "DATE", "'2024-02-31'", "2024-02-31"),
    ("z_datetime", "DATETIME(6)", "'0000-00-00 00:00:00'", "0000-00-00 00:00:00.000000"),
    ("z_dt_month", "DATETIME", "'2024-00-10 01:02:03'", "2024-00-10 01:02:03"),
    ("z_timestamp", "TIMESTAMP NULL", "'0000-00-00 00:00:00'", "0000-00-00 00:00:00"),
]
_ZERO_OK = {
    "DATE": "'2024-01-01'",
    "DATETIME(6)": "'2024-01-01 00:00:00'",
    "DATETIME": "'2024-01-01 00:00:00'",
}

READ = [t for t in TYPES if t.outcome != REFUSED]
FAST = [t for t in READ if t.fast]


def _select(types, table: str = "types") -> str:
    return f"SELECT id, {', '.join(f'`{t.column}`' for t in types)} FROM {table} ORDER BY id"


def _check(table: pa.Table, types, what: str) -> None:
    assert table.column_names == ["id", *(t.column for t in types)], what
    for t in types:
        got = table.column(t.column)
        assert got.type == t.arrow, f"{what}: `{t.column}` ({t.sql_type}) is {got.type}, expected {t.arrow}"
        assert got.to_pylist() == [*t.values, None], f"{what}: `{t.column}` ({t.sql_type}) values differ"


@pytest.fixture(scope="module")
def dbs(mysql_config):
    """One resource per reader on a fresh database holding `types` and `zero_dates` (read only)."""
    name = f"t_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    version = admin.query("SELECT VERSION() AS v").item()
    match = re.match(r"(\d+)\.(\d+)", version)
    if "MariaDB" not in version or tuple(map(int, match.groups())) < (10, 10):
        pytest.skip(f"the type contract needs MariaDB 10.10 or later (INET4), found {version}")
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        readers = {
            r: MySQLResource(**{**mysql_config, "database": name, "extract_reader": r}) for r in READERS
        }
        with readers["pymysql"].get_connection() as conn, conn.cursor() as cur:
            columns = ", ".join(f"`{t.column}` {t.sql_type}" for t in TYPES)
            cur.execute(f"CREATE TABLE types (id INT PRIMARY KEY, {columns})")
            for i in (0, 1):
                values = ", ".join(t.literals[i] for t in TYPES)
                cur.execute(f"INSERT INTO types VALUES ({i + 1}, {values})")
            cur.execute("INSERT INTO types (id) VALUES (3)")
            cur.execute(
                "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'"
            )  # zero dates allowed: in their own table
            zero_columns = ", ".join(f"`{c}` {sql_type}" for c, sql_type, _, _ in ZERO_DATES)
            cur.execute(f"CREATE TABLE zero_dates (id INT PRIMARY KEY, {zero_columns})")
            cur.execute(f"INSERT INTO zero_dates VALUES (1, {', '.join(v for _, _, v, _ in ZERO_DATES)})")
            ok = ", ".join(
                _ZERO_OK.get(sql_type, "'2024-01-01 00:00:00'") for _, sql_type, _, _ in ZERO_DATES
            )
            cur.execute(f"INSERT INTO zero_dates VALUES (2, {ok})")
            cur.execute("INSERT INTO zero_dates (id) VALUES (3)")
            conn.commit()
        yield readers
    finally:
        admin.execute(f"DROP DATABASE `{name}`")


@pytest.mark.parametrize("reader", ["auto", "pymysql"])
def test_every_type_is_exact_through_query_and_iter_batches(dbs, reader):
    db = dbs[reader]
    sql = _select(READ)
    assert db.extract_path(sql).startswith("pymysql")  # TIME, BIT and wide decimals stay on our reader
    _check(db.query(sql, output="arrow"), READ, f"{reader} query")
    batches = list(db.iter_batches(sql, batch_rows=2))
    assert [b.num_rows for b in batches] == [2, 1]
    _check(pa.Table.from_batches(batches), READ, f"{reader} iter_batches")


def test_connectorx_reads_its_types_exactly_and_identically(dbs):
    sql = _select(FAST)
    assert dbs["auto"].extract_path(sql) == "connectorx"
    fast = dbs["connectorx"].query(sql, output="arrow")
    _check(fast, FAST, "connectorx query")
    assert fast.equals(dbs["pymysql"].query(sql, output="arrow"))
    batches = list(dbs["connectorx"].iter_batches(sql, batch_rows=2))
    _check(pa.Table.from_batches(batches), FAST, "connectorx iter_batches")
    with pytest.raises(ValueError, match="extract_reader='connectorx' cannot read .*params"):
        dbs["connectorx"].query("SELECT id FROM types WHERE id > %s", params=[1])


@pytest.mark.parametrize("t", [t for t in READ if not t.fast], ids=lambda t: t.column)
def test_types_connectorx_cannot_read_stay_on_pymysql_before_the_first_batch(dbs, t):
    sql = _select([t])
    assert dbs["auto"].extract_path(sql).startswith(f"pymysql: column `{t.column}`")
    with pytest.raises(ValueError, match=f"extract_reader='connectorx' cannot read .*`{t.column}`"):
        next(dbs["connectorx"].iter_batches(sql))
    _check(dbs["auto"].query(sql, output="arrow"), [t], "auto")


def test_query_default_polars_output(dbs):
    """`query()` returns polars: every type polars holds keeps its value; a decimal over 38 digits
    (polars has none) is refused naming the column, never a panic."""
    types = [t for t in READ if not isinstance(t.arrow, pa.Decimal256Type)]
    frame = dbs["auto"].query(_select(types))
    for t in types:
        assert frame[t.column].to_list() == [*t.values, None], t.column
    for t in [t for t in READ if isinstance(t.arrow, pa.Decimal256Type)]:
        with pytest.raises(PolarsTypeError, match=f'`{t.column}`.*output="arrow"'):
            dbs["auto"].query(_select([t]))


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("t", [t for t in TYPES if t.outcome == REFUSED], ids=lambda t: t.column)
def test_refused_types_name_the_column_and_the_cast(dbs, local_lakehouse, reader, t):
    db, fix = dbs[reader], t.fix.format(c=t.column)
    sql = _select([t])
    message = rf"`{t.column}`.*{re.escape(fix)}"
    with pytest.raises(UnsupportedTypeError, match=message):
        db.query(sql)
    with pytest.raises(UnsupportedTypeError, match=message):
        next(db.iter_batches(sql))  # refused before the first batch
    with pytest.raises(UnsupportedTypeError, match=message):
        db.extract_to_lakehouse(sql, local_lakehouse, "mysql/stg/refused.parquet")
    assert not local_lakehouse.exists("mysql/stg/refused.parquet")
    fixed = db.query(f"SELECT {fix} AS v FROM types ORDER BY id", output="arrow").column("v").to_pylist()
    assert fixed == [*t.values, None]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("zero", ZERO_DATES, ids=lambda z: z[0])
def test_zero_and_invalid_dates_are_refused_never_null(dbs, local_lakehouse, reader, zero):
    column, sql_type, _, shown = zero
    db = dbs[reader]
    sql = f"SELECT id, `{column}` FROM zero_dates ORDER BY id"
    kind = re.escape(sql_type.removesuffix(" NULL"))
    # connectorx quotes the value without its zero time part: match the date
    message = rf"`{column}` \({kind}\) holds `{re.escape(shown[:10])}[^`]*`.*CAST\({column} AS CHAR\)"
    with pytest.raises(ValueError, match=message) as refused:
        db.query(sql)
    assert ("NULLIF" in str(refused.value)) == shown.startswith("0000-00-00")
    with pytest.raises(ValueError, match=message):
        next(db.iter_batches(sql))
    with pytest.raises(ValueError, match=message):
        db.extract_to_lakehouse(sql, local_lakehouse, "mysql/stg/zero.parquet")
    assert not local_lakehouse.exists("mysql/stg/zero.parquet")
    # the casts the error suggests work
    text = db.query(f"SELECT CAST({column} AS CHAR) AS v FROM zero_dates ORDER BY id", output="arrow")
    assert text.column("v")[0].as_py() == shown
    if shown.startswith("0000-00-00"):
        nulled = db.query(
            f"SELECT NULLIF({column}, '{shown}') AS v FROM zero_dates ORDER BY id", output="arrow"
        )
        assert nulled.column("v").to_pylist()[0::2] == [None, None]


@pytest.mark.parametrize("reader", READERS)
def test_extract_to_lakehouse_is_exact_or_refused_naming_the_column(dbs, local_lakehouse, reader, capsys):
    db = dbs[reader]
    remaining = FAST if reader == "connectorx" else READ
    refused = []
    path = f"mysql/stg/types_{reader}.parquet"
    while remaining:
        try:
            result = db.extract_to_lakehouse(_select(remaining), local_lakehouse, path, batch_rows=2)
        except Exception as e:  # the lakehouse refuses what Parquet + DuckDB cannot hold exactly
            named = [t for t in remaining if f"`{t.column}`" in str(e)]
            assert named, f"the lakehouse refusal names no column: {e}"
            assert not local_lakehouse.exists(path)
            refused += named
            remaining = [t for t in remaining if t not in named]
            continue
        assert result.rows == 3
        written = pq.read_table(Path(local_lakehouse.root) / path)
        for t in remaining:
            assert written.column(t.column).to_pylist() == [*t.values, None], f"lakehouse `{t.column}`"
        break
    with capsys.disabled():
        print(f"\n{reader}: lakehouse refused {[t.sql_type for t in refused]}")


def _doc_rows() -> dict[str, tuple[str, str, str]]:
    """The doc's MariaDB extract type table: type → (Arrow type, outcome, reader)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### MariaDB extract type table", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2], cells[3])
    return rows


def test_doc_type_table_lists_every_type_with_its_outcome():
    rows = _doc_rows()
    for t in TYPES:
        key = t.sql_type.removesuffix(" NULL")
        assert key in rows, f"docs/databases.md does not list `{key}`"
        arrow, outcome, reader = rows[key]
        assert outcome == t.outcome, f"`{t.sql_type}`: doc says {outcome}, test {t.outcome}"
        assert arrow == (str(t.arrow) if t.arrow is not None else "—"), f"`{t.sql_type}` Arrow type"
        expected_reader = "connectorx" if t.fast else ("—" if t.outcome == REFUSED else "pymysql")
        assert reader == expected_reader, f"`{t.sql_type}` reader"
    zero_keys = {f"{sql_type.removesuffix(' NULL')} = {value}" for _, sql_type, value, _ in ZERO_DATES}
    for key in zero_keys:
        assert key in rows and rows[key][1] == REFUSED, f"docs/databases.md does not list `{key}` as refused"
    assert set(rows) == {t.sql_type.removesuffix(" NULL") for t in TYPES} | zero_keys
    counts = {
        o: sum(1 for k, r in rows.items() if r[1] == o and k not in zero_keys) for o in (EXACT, TEXT, REFUSED)
    }
    stated = re.search(r"\*\*(\d+) exact, (\d+) text, (\d+) refused\*\*", DOC.read_text(encoding="utf-8"))
    assert stated and tuple(map(int, stated.groups())) == (counts[EXACT], counts[TEXT], counts[REFUSED])


@pytest.mark.parametrize("reader", READERS)
def test_zero_date_in_a_later_batch_or_beside_other_dates_still_names_the_column(dbs, reader):
    """connectorx's own error does not name the column: the refusal still does (or lists the candidates)."""
    later = dbs[reader].iter_batches("SELECT id, z_date FROM zero_dates ORDER BY id DESC", batch_rows=1)
    with pytest.raises(ValueError, match=r"`z_date` \(DATE\) holds `0000-00-00`.*NULLIF\(z_date"):
        for _ in later:
            pass
    both = "SELECT id, z_month, z_date FROM zero_dates ORDER BY id"
    with pytest.raises(ValueError, match=r"`z_month`.*holds `2024-00-10`") as refused:
        dbs[reader].query(both)
    if reader == "connectorx":  # two DATE columns could hold it: both are named
        assert "`z_date` (DATE)" in str(refused.value) and "CAST(col AS CHAR)" in str(refused.value)
