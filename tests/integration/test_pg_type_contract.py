"""The PostgreSQL extract type contract: every built-in PostgreSQL 15 type, exact or refused by name.

One table below (``TYPES``) lists, for each case, the PostgreSQL type, an SQL literal, the Arrow
type both readers (ADBC and psycopg) must give and the value — or ``REFUSED`` when the read must
stop with an error naming the column, its type and the cast to use. A table holding every case
(plus a row of NULLs) is created in a private database and read through ``query``, ``iter_batches``
and ``extract_to_lakehouse`` on both readers. ``docs/databases.md`` holds the same table: the last
test checks that it lists every case with the same Arrow type and outcome
(``python tests/integration/test_pg_type_contract.py`` prints it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.postgres

REFUSED = "refused"
DOC = Path(__file__).resolve().parents[2] / "docs" / "databases.md"
UTC = dt.UTC


class Raw(NamedTuple):
    """A date/time value Python cannot hold (BC, after year 9999): its integer in the Arrow array."""

    value: int


class Case(NamedTuple):
    pg_type: str  # the column type in CREATE TABLE
    literal: str  # SQL literal of the value
    arrow: str  # expected Arrow type (str of the pyarrow type)
    value: object  # expected Python value, Raw(int), or REFUSED
    outcome: str  # exact | text | refused


def E(pg_type, literal, arrow, value):  # short names keep the table readable
    return Case(pg_type, literal, arrow, value, "exact")


def T(pg_type, literal, value):
    return Case(pg_type, literal, "large_string", value, "text")


def R(pg_type, literal, arrow):
    return Case(pg_type, literal, arrow, REFUSED, "refused")


NAN = float("nan")
TYPES: list[Case] = [
    # numbers
    E("smallint", "-32768", "int16", -32768),
    E("smallint", "32767", "int16", 32767),
    E("integer", "-2147483648", "int32", -(2**31)),
    E("bigint", "9223372036854775807", "int64", 2**63 - 1),
    E("bigint", "-9223372036854775808", "int64", -(2**63)),
    E("numeric(10,2)", "'-12345678.90'", "decimal128(10, 2)", Decimal("-12345678.90")),
    E(
        "numeric(38,10)",
        "'9999999999999999999999999999.9999999999'",
        "decimal128(38, 10)",
        Decimal("9999999999999999999999999999.9999999999"),
    ),
    E(
        "numeric(60,20)",
        "'-1234567890123456789012345678901234567890.12345678901234567890'",
        "decimal256(60, 20)",
        Decimal("-1234567890123456789012345678901234567890.12345678901234567890"),
    ),
    R("numeric(10,2)", "'NaN'", "decimal128(10, 2)"),
    E("numeric(5,-2)", "'-1234567'", "decimal128(7, 0)", Decimal("-1234600")),  # PostgreSQL 15 scales
    E("numeric(3,5)", "'-0.00123'", "decimal128(5, 5)", Decimal("-0.00123")),
    T(
        "numeric",
        "'123456789012345678901234567890.000000000000000000000000000001'",
        "123456789012345678901234567890.000000000000000000000000000001",
    ),
    T("numeric", "'NaN'", "NaN"),
    T("numeric", "'-Infinity'", "-Infinity"),
    T("numeric(100,50)", "'1.5'", "1.50000000000000000000000000000000000000000000000000"),
    E("real", "'3.4028235e38'", "float", 3.4028234663852886e38),
    E("real", "'1e-45'", "float", 1.401298464324817e-45),
    E("real", "'-Infinity'", "float", -math.inf),
    E("real", "'NaN'", "float", NAN),
    E("double precision", "'1.7976931348623157e308'", "double", 1.7976931348623157e308),
    E("double precision", "'5e-324'", "double", 5e-324),
    E("double precision", "'0.30000000000000004'", "double", 0.30000000000000004),
    E("double precision", "'Infinity'", "double", math.inf),
    E("double precision", "'NaN'", "double", NAN),
    E("money", "'-92233720368547758.08'", "decimal128(19, 2)", Decimal("-92233720368547758.08")),
    E("money", "'92233720368547758.07'", "decimal128(19, 2)", Decimal("92233720368547758.07")),
    # date and time
    E("date", "'2024-02-29'", "date32[day]", dt.date(2024, 2, 29)),
    E("date", "'4713-01-01 BC'", "date32[day]", Raw(-2440550)),
    E("date", "'5874897-12-31'", "date32[day]", Raw(2145042905)),
    R("date", "'infinity'", "date32[day]"),
    R("date", "'-infinity'", "date32[day]"),
    E(
        "timestamp",
        "'2024-05-01 12:30:00.123456'",
        "timestamp[us]",
        dt.datetime(2024, 5, 1, 12, 30, 0, 123456),
    ),
    E("timestamp", "'4714-11-24 00:00:00 BC'", "timestamp[us]", Raw(-210866803200000000)),
    E("timestamp", "'294246-12-31 23:59:59.999999'", "timestamp[us]", Raw(9223371244799999999)),
    R("timestamp", "'294276-12-31 23:59:59.999999'", "timestamp[us]"),
    R("timestamp", "'infinity'", "timestamp[us]"),
    R("timestamp", "'-infinity'", "timestamp[us]"),
    E(
        "timestamptz",
        "'2024-03-31 01:30:00+02'",
        "timestamp[us, tz=UTC]",
        dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC),
    ),
    R("timestamptz", "'infinity'", "timestamp[us, tz=UTC]"),
    E("time", "'00:00:00'", "time64[us]", dt.time(0, 0)),
    E("time", "'23:59:59.999999'", "time64[us]", dt.time(23, 59, 59, 999999)),
    R("time", "'24:00:00'", "time64[us]"),
    T("timetz", "'23:59:59.999999+15:59'", "23:59:59.999999+15:59"),
    T("interval", "'1 year 2 mons 3 days 04:05:06.789'", "@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs"),
    T("interval", "'-1 mon +1 day'", "@ 1 mon -1 days ago"),
    T("interval", "'178000000 years'", "@ 178000000 years"),
    T("interval", "'-00:00:00.000001'", "@ 0.000001 secs ago"),
    # text, binary, boolean
    E("boolean", "true", "bool", True),
    E("boolean", "false", "bool", False),
    E(
        "text",
        "E'tab\\t nl\\n \\\\ \"q\" ''q'' é 🎓 中文'",
        "large_string",
        "tab\t nl\n \\ \"q\" 'q' é 🎓 中文",
    ),
    E("text", "''", "large_string", ""),
    E("varchar(10)", "'é🎓'", "large_string", "é🎓"),
    E("char(5)", "'ab'", "large_string", "ab   "),
    E("name", "'pg_class'", "large_string", "pg_class"),
    T('"char"', "'a'", "a"),
    E("bytea", "'\\x00ff5c0a'", "large_binary", b"\x00\xff\\\n"),
    E("bytea", "''", "large_binary", b""),
    T("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    T("json", '\'{"b": 1,  "a": [1, 2.50]}\'', '{"b": 1,  "a": [1, 2.50]}'),
    T("json", "'null'", "null"),
    T("json", "'\"s\"'", '"s"'),
    T("jsonb", '\'{"b": 1, "a": [1, 2.50]}\'', '{"a": [1, 2.50], "b": 1}'),
    T("jsonb", "'\"s\"'", '"s"'),
    T("jsonb", "'null'", "null"),
    T("jsonpath", "'$.a[*] ? (@ > 1)'", '$."a"[*]?(@ > 1)'),
    T("xml", "'<a b=\"1\">é</a>'", '<a b="1">é</a>'),
    T("tsvector", "'a fat cat'", "'a' 'cat' 'fat'"),
    T("tsquery", "'fat & !rat'", "'fat' & !'rat'"),
    # network, bits
    T("inet", "'10.0.0.1'", "10.0.0.1"),
    T("inet", "'192.168.0.1/24'", "192.168.0.1/24"),
    T("inet", "'2001:db8::1'", "2001:db8::1"),
    T("cidr", "'10.0.0.0/8'", "10.0.0.0/8"),
    T("cidr", "'2001:db8::/32'", "2001:db8::/32"),
    T("macaddr", "'08:00:2b:01:02:03'", "08:00:2b:01:02:03"),
    T("macaddr8", "'08:00:2b:01:02:03:04:05'", "08:00:2b:01:02:03:04:05"),
    T("bit(3)", "B'101'", "101"),
    T("varbit", "B'1001011'", "1001011"),
    # geometry
    T("point", "'(0.1,0.30000000000000004)'", "(0.1,0.30000000000000004)"),
    T("line", "'{1,-1,0}'", "{1,-1,0}"),
    T("lseg", "'[(0,0),(1,1)]'", "[(0,0),(1,1)]"),
    T("box", "'(1,1),(0,0)'", "(1,1),(0,0)"),
    T("path", "'[(0,0),(1,1)]'", "[(0,0),(1,1)]"),
    T("polygon", "'((0,0),(1,1),(1,0))'", "((0,0),(1,1),(1,0))"),
    T("circle", "'<(0,0),1.5>'", "<(0,0),1.5>"),
    # arrays
    E("integer[]", "'{1,NULL,-2147483648}'", "list<item: int32>", [1, None, -(2**31)]),
    E("integer[]", "'{}'", "list<item: int32>", []),
    E("text[]", '\'{a,"b c",NULL,""}\'', "list<item: large_string>", ["a", "b c", None, ""]),
    E("boolean[]", "'{t,f}'", "list<item: bool>", [True, False]),
    E("double precision[]", "'{1.5,-Infinity}'", "list<item: double>", [1.5, -math.inf]),
    E("bigint[]", "'{9223372036854775807}'", "list<item: int64>", [2**63 - 1]),
    R("integer[]", "'{{1,2},{3,4}}'", "list<item: int32>"),
    R("integer[]", "'[0:1]={1,2}'", "list<item: int32>"),
    E("integer[][]", "'{{1,2},{3,NULL}}'", "list<item: list<item: int32>>", [[1, 2], [3, None]]),
    E(
        "text[][]",
        "'{{a,b},{c,NULL},{\"\",f}}'",
        "list<item: list<item: large_string>>",
        [["a", "b"], ["c", None], ["", "f"]],
    ),
    E("integer[][]", "'{}'", "list<item: list<item: int32>>", []),
    R("integer[][]", "'{1,2}'", "list<item: list<item: int32>>"),
    T("integer[][][]", "'{{{1}},{{2}}}'", "{{{1}},{{2}}}"),
    T("numeric[]", "'{1.50,NULL}'", "{1.50,NULL}"),
    T("date[]", "'{2024-01-01,infinity}'", "{2024-01-01,infinity}"),
    T("uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
    # ranges
    T("int4range", "'[1,5)'", "[1,5)"),
    T("int8range", "'(,9223372036854775807)'", "(,9223372036854775807)"),
    T("numrange", "'(1.5,2.5]'", "(1.5,2.5]"),
    T("daterange", "'[2024-01-01,2024-02-01)'", "[2024-01-01,2024-02-01)"),
    T("tsrange", "'[2024-01-01 10:00,infinity)'", '["2024-01-01 10:00:00",infinity)'),
    T(
        "tstzrange",
        "'[2024-01-01 10:00+02,2024-01-02 00:00+00)'",
        '["2024-01-01 08:00:00+00","2024-01-02 00:00:00+00")',
    ),
    T("int4multirange", "'{[1,3),[5,7)}'", "{[1,3),[5,7)}"),
    T("datemultirange", "'{[2024-01-01,2024-01-05)}'", "{[2024-01-01,2024-01-05)}"),
    # user-defined types (created in the test database)
    T("mood", "'happy'", "happy"),
    E("posint", "5", "int32", 5),
    E("pair", "ROW(1, 'a b')", "struct<a: int32, b: large_string>", {"a": 1, "b": "a b"}),
    E("pair", "ROW(NULL, NULL)", "struct<a: int32, b: large_string>", {"a": None, "b": None}),
    E(
        "stamp",
        "ROW('2024-01-01 10:00', 12.5, 5)",
        "struct<at: timestamp[us], n: decimal128(5, 2), p: int32>",
        {"at": dt.datetime(2024, 1, 1, 10), "n": Decimal("12.50"), "p": 5},
    ),
    R("stamp", "ROW('infinity', 1, 1)", "struct<at: timestamp[us], n: decimal128(5, 2), p: int32>"),
    E("nest", "ROW(ROW(1, 'x'), 2)", "struct<pr: large_string, x: int32>", {"pr": "(1,x)", "x": 2}),
    T("tagged", "ROW(1, '{a,b}')", '(1,"{a,b}")'),
    T("hstore", "'a=>1, b=>NULL'", '"a"=>"1", "b"=>NULL'),
    # system types
    E("oid", "4294967295", "uint32", 4294967295),
    E("oid", "0", "uint32", 0),
    T("regclass", "'pg_class'", "pg_class"),
    T("regtype", "'integer'", "integer"),
    T("regproc", "'now'", "now"),
    T("regprocedure", "'now()'", "now()"),
    T("regoper", "'||/'", "||/"),
    T("regoperator", "'+(integer,integer)'", "+(integer,integer)"),
    T("regnamespace", "'pg_catalog'", "pg_catalog"),
    T("regrole", "'postgres'", "postgres"),
    T("regconfig", "'english'", "english"),
    T("regdictionary", "'simple'", "simple"),
    T("regcollation", "'\"C\"'", '"C"'),
    E("xid", "'4294967295'", "uint32", 4294967295),
    E("cid", "'4294967295'", "uint32", 4294967295),
    E("xid8", "'18446744073709551615'", "uint64", 2**64 - 1),
    T("tid", "'(4294967295,65535)'", "(4294967295,65535)"),
    T("pg_lsn", "'FFFFFFFF/FFFFFFFF'", "FFFFFFFF/FFFFFFFF"),
    T("txid_snapshot", "'10:20:10,14,15'", "10:20:10,14,15"),
    T("pg_snapshot", "'10:20:10,14,15'", "10:20:10,14,15"),
    T("int2vector", "'1 2'", "1 2"),
    T("oidvector", "'1 2'", "1 2"),
    T("aclitem", "'postgres=arw/postgres'", "postgres=arw/postgres"),
]
READERS = ["adbc", "psycopg"]


def column(i: int) -> str:
    return f"c{i:03d}"


@pytest.fixture(scope="module")
def type_db(pg_config):
    """A private database holding one table with a column per case (row 1: the value, row 2: NULL)."""
    import psycopg

    name = f"cfwb_types_{secrets.token_hex(4)}"
    admin = {"host": pg_config["host"], "port": pg_config["port"], "user": pg_config["user"]}
    if pg_config["password"]:
        admin["password"] = pg_config["password"]
    with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(**admin, dbname=name, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION hstore")
            conn.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
            conn.execute("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
            conn.execute("CREATE TYPE pair AS (a integer, b text)")
            conn.execute("CREATE TYPE stamp AS (at timestamp, n numeric(5,2), p posint)")
            conn.execute("CREATE TYPE nest AS (pr pair, x integer)")
            conn.execute("CREATE TYPE tagged AS (id integer, tags text[])")
            columns = ", ".join(f"{column(i)} {c.pg_type}" for i, c in enumerate(TYPES))
            conn.execute(f"CREATE TABLE types ({columns})")
            values = ", ".join(f"({c.literal})::{c.pg_type}" for c in TYPES)
            conn.execute(f"INSERT INTO types VALUES ({values}), ({', '.join(['NULL'] * len(TYPES))})")
            conn.execute("CREATE TABLE grids (n int, g integer[][])")
            conn.execute(
                "INSERT INTO grids VALUES (1, '{{1,2},{3,4}}'), (2, NULL), (3, '{}'), (4, '{{5},{6},{7}}'), "
                "(5, '{{8,NULL,10}}')"
            )
        yield {**pg_config, "database": name}
    finally:
        with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def resource(type_db, reader: str):
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    return PostgreSQLResource(**type_db, reader=reader, batch_rows=1)


READ = [(i, c) for i, c in enumerate(TYPES) if c.outcome != "refused"]
SELECT_READ = f"SELECT {', '.join(column(i) for i, _ in READ)} FROM types ORDER BY {column(0)} NULLS LAST"


def same(actual, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return actual == expected and type(actual) is type(expected)


def check_table(table: pa.Table, where: str, skip=()) -> None:
    for i, case in READ:
        if i in skip:
            continue
        col = table.column(column(i))
        arrow = str(col.type).replace("list<element:", "list<item:")  # Parquet's name for list items
        assert arrow == case.arrow, f"{where}: {case.pg_type} {case.literal}: Arrow type {col.type}"
        if isinstance(case.value, Raw):
            width = pa.int32() if pa.types.is_date32(col.type) else pa.int64()
            values = col.combine_chunks().view(width).to_pylist()
            expected = case.value.value
        else:
            values, expected = col.to_pylist(), case.value
        assert same(values[0], expected), f"{where}: {case.pg_type} {case.literal}: got {values[0]!r}"
        assert values[1] is None, f"{where}: {case.pg_type}: NULL read as {values[1]!r}"


@pytest.mark.parametrize("reader", READERS)
def test_every_type_reads_exact_or_as_text_on_query_and_iter_batches(type_db, reader):
    db = resource(type_db, reader)
    check_table(db.query(SELECT_READ, output="arrow"), f"{reader} query")
    batches = list(db.iter_batches(SELECT_READ, batch_rows=1))
    assert [b.num_rows for b in batches] == [1, 1]
    assert all(b.schema == batches[0].schema for b in batches)  # an all-NULL batch keeps the types
    check_table(pa.Table.from_batches(batches), f"{reader} iter_batches")


@pytest.mark.parametrize("reader", READERS)
def test_every_type_lands_in_the_lakehouse_exact_or_refused_by_name(type_db, reader, local_lakehouse):
    db = resource(type_db, reader)
    wide = [i for i, c in READ if c.arrow.startswith("decimal256")]  # DuckDB reads these as DOUBLE
    narrow = (
        f"SELECT {', '.join(column(i) for i, _ in READ if i not in wide)} FROM types ORDER BY {column(0)}"
    )
    result = db.extract_to_lakehouse(narrow, local_lakehouse, "types/stg/all.parquet")
    assert result.rows == 2
    path = Path(local_lakehouse.root) / "types" / "stg" / "all.parquet"
    check_table(pq.read_table(path), f"{reader} Parquet file", skip=wide)
    for i in wide:  # the lakehouse may refuse a decimal wider than 38 digits, naming the column
        try:
            db.extract_to_lakehouse(
                f"SELECT {column(i)} FROM types", local_lakehouse, "types/stg/wide.parquet"
            )
        except Exception as e:  # any refusal must name the column
            assert column(i) in str(e)
    # DuckDB casts the interval text back to the same INTERVAL (months, days, microseconds)
    for i, case in READ:
        if case.pg_type == "interval":
            got = (
                local_lakehouse.query_blob_storage(
                    f"SELECT {column(i)}::INTERVAL::VARCHAR AS v FROM 'azure://types/stg/all.parquet' "
                    f"WHERE {column(i)} IS NOT NULL",
                    output="arrow",
                )
                .column("v")[0]
                .as_py()
            )
            assert _interval_parts(got) == _pg_interval_parts(db, i), f"interval {case.literal}: DuckDB {got}"


def _interval_parts(duckdb_text: str) -> tuple:
    import duckdb

    return duckdb.sql(
        f"SELECT datepart('year', i) * 12 + datepart('month', i), datepart('day', i), "
        "datepart('microseconds', i) + datepart('minute', i) * 60000000 + datepart('hour', i) * 3600000000::BIGINT "
        f"FROM (SELECT '{duckdb_text}'::INTERVAL AS i)"
    ).fetchone()


def _pg_interval_parts(db, i: int) -> tuple:
    row = db.query(
        f"SELECT (extract(year FROM v) * 12 + extract(month FROM v))::int8 AS m, extract(day FROM v)::int8 AS d, "
        f"(extract(epoch FROM v - date_trunc('day', v)) * 1000000)::int8 AS us "
        f"FROM (SELECT {column(i)} AS v FROM types WHERE {column(i)} IS NOT NULL) s",
        output="arrow",
    ).to_pylist()[0]
    return (row["m"], row["d"], row["us"])


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("index", [i for i, c in enumerate(TYPES) if c.outcome == "refused"])
def test_unrepresentable_values_are_refused_naming_column_type_and_cast(
    type_db, reader, index, local_lakehouse
):
    from dagster_cfwb.transfer.postgres.read_plan import UnrepresentableValueError

    case, name = TYPES[index], column(index)
    db = resource(type_db, reader)
    sql = f"SELECT {column(0)}, {name} FROM types ORDER BY {column(0)} NULLS FIRST"  # the NULL row first
    for read in (
        lambda: db.query(sql),
        lambda: list(db.iter_batches(sql, batch_rows=1)),
        lambda: db.extract_to_lakehouse(sql, local_lakehouse, "types/stg/refused.parquet"),
    ):
        with pytest.raises(UnrepresentableValueError) as err:
            read()
        message = str(err.value)
        assert f"`{name}`" in message and "::text" in message, message
        assert (
            case.pg_type.split("(")[0]
            .split("[")[0]
            .replace("timestamptz", "timestamp with time zone")
            .split()[0]
            in message
        )
    assert not (Path(local_lakehouse.root) / "types" / "stg" / "refused.parquet").exists()


@pytest.mark.parametrize("reader", READERS)
def test_two_dimensional_arrays_of_several_widths_keep_their_shape(type_db, reader):
    table = resource(type_db, reader).query("SELECT g FROM grids ORDER BY n", output="arrow")
    assert str(table.schema.field("g").type) == "list<item: list<item: int32>>"
    assert table.column("g").to_pylist() == [[[1, 2], [3, 4]], None, [], [[5], [6], [7]], [[8, None, 10]]]


@pytest.mark.parametrize("fetch_mode", ["cursor", "simple"])
def test_the_denodo_reader_keeps_json_and_interval_as_the_servers_text(pg_config, fetch_mode):
    from dagster_cfwb.resources.api.denodo_resource import DenodoResource

    denodo = DenodoResource(**pg_config, fetch_mode=fetch_mode)
    sql = "SELECT 'null'::json AS j, '\"s\"'::jsonb AS b, '1 mon 2 days'::interval AS i, 4294967295::oid AS o"
    row = denodo.query(sql, output="arrow").to_pylist()[0]
    assert row == {"j": "null", "b": '"s"', "i": "1 mon 2 days", "o": 4294967295}


def test_the_psycopg_reader_is_chosen_by_the_resource_field(type_db):
    db = resource(type_db, "psycopg")
    assert db.query(f"SELECT {column(0)} FROM types LIMIT 1", output="arrow").num_rows == 1
    with pytest.raises(ValueError, match="reader"):
        resource(type_db, "jdbc")


@pytest.mark.parametrize("reader", READERS)
def test_the_session_time_zone_still_means_what_it_means_in_the_query(pg_config, reader):
    """A database in `Europe/Paris`: `ts::date` and `extract(hour …)` in the query are computed in
    Paris time, as in any SQL client; the timestamptz value itself is the same instant, in UTC."""
    import psycopg

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    name = f"cfwb_tz_{secrets.token_hex(4)}"
    admin = {k: pg_config[k] for k in ("host", "port", "user")}
    if pg_config["password"]:
        admin["password"] = pg_config["password"]
    with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Europe/Paris'")
    try:
        db = PostgreSQLResource(**{**pg_config, "database": name}, reader=reader)
        table = db.query(
            "SELECT ts, ts::date AS d, extract(hour FROM ts)::int AS h, ARRAY[ts] AS a "
            "FROM (VALUES ('2024-03-01 00:30+01'::timestamptz)) v(ts)",
            output="arrow",
        )
    finally:
        with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    row = table.to_pylist()[0]
    assert row["ts"] == dt.datetime(2024, 2, 29, 23, 30, tzinfo=dt.UTC)
    assert (row["d"], row["h"]) == (dt.date(2024, 3, 1), 0)
    assert row["a"] == '{"2024-03-01 00:30:00+01"}'  # a text form: the same instant, with its offset


@pytest.mark.parametrize("reader", READERS)
def test_a_day_month_date_order_still_reads_the_querys_date_literals(pg_config, reader):
    """A database with `DateStyle = 'ISO, DMY'` (French locales): `'01/02/2024'` is 1 February."""
    import psycopg

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    name = f"cfwb_dmy_{secrets.token_hex(4)}"
    admin = {k: pg_config[k] for k in ("host", "port", "user")}
    if pg_config["password"]:
        admin["password"] = pg_config["password"]
    with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"ALTER DATABASE \"{name}\" SET DateStyle = 'ISO, DMY'")
    try:
        db = PostgreSQLResource(**{**pg_config, "database": name}, reader=reader)
        table = db.query("SELECT '01/02/2024'::date AS d, '1 day'::interval AS i", output="arrow")
    finally:
        with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert table.to_pylist() == [{"d": dt.date(2024, 2, 1), "i": "@ 1 day"}]


# -- the type table in docs/databases.md ---------------------------------------------------------
def _doc_value(case: Case) -> str:
    if case.outcome == "refused":
        return "refused"
    value = case.value.value if isinstance(case.value, Raw) else case.value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return repr(value) if not isinstance(value, str) else value


def doc_rows() -> list[str]:
    """The Markdown rows of the extract type table (one per case)."""

    def cell(text: str) -> str:
        text = text.replace("|", "\\|").replace("\n", "\\n").replace("\t", "\\t")
        return f"`{text}`" if text else "``"

    return [
        f"| {cell(c.pg_type)} | {cell(c.literal)} | {cell(c.arrow)} | {c.outcome} | {cell(_doc_value(c))} |"
        for c in TYPES
    ]


def test_the_docs_list_every_type_with_the_same_outcome():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- pg-extract-types:start -->")[1].split("<!-- pg-extract-types:end -->")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == doc_rows(), (
        "docs/databases.md: regenerate with python tests/integration/test_pg_type_contract.py"
    )
    counts = {o: sum(c.outcome == o for c in TYPES) for o in ("exact", "text", "refused")}
    assert re.search(rf"{counts['exact']} exact, {counts['text']} text, {counts['refused']} refused", section)


def test_the_adbc_reader_leaves_polars_and_the_dbapi_module_unimported(pg_config):
    """ADBC's DB-API module imports polars and pandas when they are installed (~90 MB held for the whole run): the
    reader uses the driver manager's low-level API, so an extract never loads either."""
    code = (
        "import json, sys\n"
        "from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource\n"
        f"settings = json.loads({json.dumps(json.dumps(pg_config))})\n"
        "for reader in ('auto', 'adbc'):\n"
        "    db = PostgreSQLResource(**settings, reader=reader)\n"
        "    assert db.query('SELECT 1 AS x', output='arrow').num_rows == 1\n"
        "print(sorted(m for m in ('polars', 'adbc_driver_manager.dbapi') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


if __name__ == "__main__":
    counts = {o: sum(c.outcome == o for c in TYPES) for o in ("exact", "text", "refused")}
    print(f"{counts['exact']} exact, {counts['text']} text, {counts['refused']} refused\n")
    print("| PostgreSQL type | SQL literal | Arrow type | outcome | value read |")
    print("|---|---|---|---|---|")
    print("\n".join(doc_rows()))
