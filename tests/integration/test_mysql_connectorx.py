"""The MariaDB extract's two readers give identical results: connectorx (fast path) and pymysql.

connectorx is used only for queries whose every column it reads exactly; these tests run the same
queries through both readers on a table of edge values and compare types and values, check that
the other types and bound values stay on the pymysql reader, and that the password never leaks.
"""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
import time

import pyarrow as pa
import pytest

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.transfer.mysql.connectorx_reader import _failure, connectorx_url
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

pytest.importorskip("connectorx")
pytestmark = pytest.mark.mysql

_EXTRA_COLUMNS = [  # (column, type, values as SQL literals for ids 1..5)
    ("tiny_u", "TINYINT UNSIGNED", ["255", "0", "NULL", "1", "128"]),
    ("small_s", "SMALLINT", ["-32768", "32767", "NULL", "0", "1"]),
    ("medium_u", "MEDIUMINT UNSIGNED", ["16777215", "0", "NULL", "1", "2"]),
    ("int_u", "INT UNSIGNED", ["4294967295", "0", "NULL", "1", "2"]),
    ("big_u", "BIGINT UNSIGNED", ["18446744073709551615", "0", "NULL", "9223372036854775808", "1"]),
    (
        "stamp",
        "TIMESTAMP(6) NULL",
        [
            "'1970-01-01 00:00:01.000001'",
            "'2038-01-19 03:14:07.999999'",
            "NULL",
            "'2024-05-01 12:30:00.5'",
            "'2000-02-29 00:00:00'",
        ],
    ),
    ("yr", "YEAR", ["1901", "2155", "NULL", "2024", "0"]),
    ("doc", "JSON", ["'{\"a\": 1}'", "'[1, \"é🎓\"]'", "NULL", "'null'", "'\"\"'"]),
    ("kind", "ENUM('a','é🎓')", ["'a'", "'é🎓'", "NULL", "'a'", "'é🎓'"]),
    ("tags", "SET('x','y')", ["'x,y'", "''", "NULL", "'y'", "'x'"]),
    ("code", "CHAR(3)", ["''", "'ab'", "NULL", "'é'", "'🎓'"]),
    ("fixed", "BINARY(3)", ["X'000000'", "X'FFFFFF'", "NULL", "X'5C4E00'", "X'0A0D09'"]),
    ("dec_small", "DECIMAL(5,2)", ["999.99", "-999.99", "NULL", "0.01", "0"]),
]


def _edge_table() -> pa.Table:
    """The shared contract's edge values, with decimals connectorx holds (28 digits, 10 after the point)."""
    every_byte = bytes(range(256))
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "text": [
                "",
                None,
                "tab\there\nnew line \\ back \\N NULL \"q\" 'q' ,;",
                "é à ü 🎓🚀 中文 \u0000x",
                "x" * 100_000,
            ],
            "amount": pa.array(
                [
                    decimal.Decimal("999999999999999999.9999999999"),
                    decimal.Decimal("-0.0000000001"),
                    None,
                    decimal.Decimal("0"),
                    decimal.Decimal("-999999999999999999.9999999999"),
                ],
                pa.decimal128(28, 10),
            ),
            "born": pa.array(
                [dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29), dt.date(1970, 1, 1)]
            ),
            "seen": pa.array(
                [
                    dt.datetime(1, 1, 1, 0, 0, 0, 1),
                    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                    None,
                    dt.datetime(2024, 5, 1, 12, 30, 0, 123456),
                    dt.datetime(1970, 1, 1),
                ],
                pa.timestamp("us"),
            ),
            "flag": [True, False, None, True, False],
            "score": [0.1, -1e308, None, 5e-324, 1 / 3],
            "big": pa.array([2**63 - 1, -(2**63), None, 0, 1], pa.int64()),
            "small": pa.array([-128, 127, None, 0, 1], pa.int8()),
            "blob": [every_byte, b"", None, b"\\N\t\n", b"x" * 70_000],
        }
    )


@pytest.fixture(scope="module")
def dbs(mysql_config):
    """(auto reader, pymysql reader) on a fresh database holding the edge table `edge` (read only)."""
    name = f"t_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        auto = MySQLResource(**{**mysql_config, "database": name})
        wire = MySQLResource(**{**mysql_config, "database": name, "extract_reader": "pymysql"})
        auto.copy_from_df(_edge_table(), "edge", keys=["id"])
        with auto.get_connection() as conn, conn.cursor() as cur:
            for column, sql_type, values in _EXTRA_COLUMNS:
                cur.execute(f"ALTER TABLE edge ADD COLUMN `{column}` {sql_type}")
                for i, value in enumerate(values, start=1):
                    cur.execute(f"UPDATE edge SET `{column}` = {value} WHERE id = %s", [i])
            cur.execute("CREATE TABLE bit_values (bits BIT(8))")
            cur.execute("INSERT INTO bit_values VALUES (b'11111111'), (b'1')")
            conn.commit()
        yield auto, wire
    finally:
        admin.execute(f"DROP DATABASE `{name}`")


def test_edge_values_are_identical_through_both_readers(dbs):
    auto, wire = dbs
    sql = "SELECT * FROM edge ORDER BY id"
    assert auto.extract_path(sql) == "connectorx"
    assert wire.extract_path(sql).startswith("pymysql")
    fast = auto.query(sql, output="arrow")
    ours = wire.query(sql, output="arrow")
    assert fast.schema == ours.schema
    for name in ours.column_names:
        assert fast.column(name).to_pylist() == ours.column(name).to_pylist(), f"column {name} differs"
    # and both are the values loaded
    source = _edge_table()
    for name in source.column_names:
        assert ours.column(name).to_pylist() == source.column(name).to_pylist(), name
    assert ours.schema.field("big_u").type == pa.uint64() and ours.column("big_u")[0].as_py() == 2**64 - 1
    assert ours.schema.field("stamp").type == pa.timestamp("us", tz="UTC")
    assert ours.schema.field("amount").type == pa.decimal128(28, 10)
    assert ours.schema.field("dec_small").type == pa.decimal128(5, 2)
    # BOOLEAN is TINYINT(1), which holds -128..127: read as the integer, never squeezed into true/false
    assert ours.schema.field("flag").type == pa.int8()
    assert ours.schema.field("fixed").type == pa.binary()


@pytest.mark.parametrize(
    ("select", "why"),
    [
        ("CAST(amount AS DECIMAL(36,10))", "DECIMAL(36,10)"),
        ("CAST(amount AS DECIMAL(20,12))", "DECIMAL(20,12)"),
        ("CAST('12:00:00.5' AS TIME(6))", "is TIME(6)"),
        ("(SELECT MAX(bits) FROM bit_values)", "is BIT(8)"),
        ("b'101'", "connectorx"),  # a binary string, not a BIT column: exact
        ("NULL", "is NULL"),
    ],
)
def test_types_connectorx_reads_inexactly_stay_on_pymysql(dbs, select, why):
    auto, wire = dbs
    sql = f"SELECT id, {select} AS v FROM edge ORDER BY id"
    assert why in auto.extract_path(sql)
    fast, ours = auto.query(sql, output="arrow"), wire.query(sql, output="arrow")
    assert fast.equals(ours)


def test_float_is_refused_by_both_readers(dbs):
    """MariaDB sends FLOAT rounded to 6 digits: both readers refuse it, naming the column and the cast."""
    auto, wire = dbs
    sql = "SELECT id, CAST(score AS FLOAT) AS v FROM edge ORDER BY id"
    assert auto.extract_path(sql).startswith("refused: Column `v` is FLOAT")
    for db in (auto, wire):
        with pytest.raises(UnsupportedTypeError, match=r"`v` is FLOAT.*CAST\(v AS DOUBLE\)"):
            db.query(sql)


def test_params_multi_statements_and_placeholders_stay_on_pymysql(dbs):
    auto, wire = dbs
    assert "params" in auto.extract_path("SELECT id FROM edge WHERE id > %s", [2])
    assert auto.query("SELECT id FROM edge WHERE id > %s ORDER BY id", [2]).to_series().to_list() == [3, 4, 5]
    assert "cannot prepare" in auto.extract_path("SELECT 1; SELECT 2")
    assert "placeholders" in auto.extract_path("SELECT id FROM edge WHERE id > ?")


def test_batches_empty_results_and_early_stop(dbs):
    auto, wire = dbs
    for db in (auto, wire):
        sizes = [b.num_rows for b in db.iter_batches("SELECT id, text FROM edge WHERE id <= 3", batch_rows=2)]
        assert sizes == [2, 1]
        empty = list(db.iter_batches("SELECT id, amount, stamp FROM edge WHERE id < 0"))
        assert len(empty) == 1 and empty[0].num_rows == 0
        assert empty[0].schema.types == [pa.int64(), pa.decimal128(28, 10), pa.timestamp("us", tz="UTC")]

    big = "SELECT a.id, b.text FROM edge a, edge b, edge c, edge d, edge e, edge f, edge g"  # 78,125 rows
    assert auto.extract_path(big) == "connectorx"
    batches = auto.iter_batches(big, batch_rows=100)
    assert next(batches).num_rows == 100
    batches.close()  # the caller stops: connectorx's query is cancelled, not read to the end
    deadline = (
        time.monotonic() + 3
    )  # a killed query leaves the process list within moments, even on a busy machine
    while True:
        running = auto.query(
            "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE %s",
            ["/* cfwb-extract-%edge a, edge b%"],
        ).item()
        if running == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert running == 0


def test_password_is_url_encoded_and_never_in_errors(mysql_config):
    user, password = f"cfwb_{secrets.token_hex(3)}", f"p@ss/w:rd#?&% {secrets.token_hex(4)}"
    name = f"t_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    admin.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", [password])
    try:
        admin.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%%'", [])  # [] so %% becomes %
        db = MySQLResource(**{**mysql_config, "user": user, "password": password, "database": name})
        db.copy_from_df(pa.table({"id": pa.array([1, 2], pa.int32())}), "t")
        assert db.extract_path("SELECT id FROM t") == "connectorx"
        assert db.query("SELECT id FROM t ORDER BY id").to_series().to_list() == [1, 2]
        assert password not in repr(db)
    finally:
        admin.execute(f"DROP USER '{user}'@'%%'", [])
        admin.execute(f"DROP DATABASE `{name}`")

    url = connectorx_url("h", 3306, user, password, "db")
    assert password not in url and "p%40ss%2Fw%3Ard%23%3F%26%25%20" in url
    error = _failure(RuntimeError(f"cannot open {url}: bad {password}"), [password, url])
    assert password not in str(error) and url not in str(error) and "**********" in str(error)
