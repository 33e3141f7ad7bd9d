"""MariaDB-only behaviour: the INSERT fallback when LOAD DATA LOCAL is refused, warnings as errors,
MySQL-specific column types on extract, the upsert without a unique key, and the wire-level extract."""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import secrets

import pyarrow as pa
import pytest

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.transfer.mysql import load as mysql_load
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

pytestmark = pytest.mark.mysql


@pytest.fixture
def mysql(mysql_config):
    name = f"t_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield MySQLResource(**{**mysql_config, "database": name})
    finally:
        admin.execute(f"DROP DATABASE `{name}`")


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "s": ["", None, "tab\t\\N 🎓"],
            "b": [b"\x00\\", None, b""],
            "d": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-3.00")], pa.decimal128(5, 2)),
        }
    )


def test_refused_local_infile_falls_back_to_inserts_with_a_clear_log(mysql, monkeypatch, caplog):
    monkeypatch.setattr(mysql_load, "_local_infile_allowed", lambda conn: False)
    with caplog.at_level(logging.WARNING):
        mysql.copy_from_df(_table(), "t", keys=["id"])
    assert "local_infile=OFF" in caplog.text and "multi-row INSERTs" in caplog.text
    assert mysql.query("SELECT * FROM t ORDER BY id", output="arrow").to_pylist() == _table().to_pylist()

    strict = MySQLResource(**{**mysql.model_dump(), "bulk_method": "load_data"})
    with pytest.raises(Exception, match="refuses LOAD DATA LOCAL INFILE"):
        strict.copy_from_df(_table(), "t")


def test_insert_method_gives_the_same_rows(mysql):
    inserts = MySQLResource(**{**mysql.model_dump(), "bulk_method": "insert"})
    inserts.copy_from_df(_table(), "t")
    inserts.copy_from_df(_table(), "t", mode="append")
    assert mysql.query("SELECT COUNT(*) AS n FROM t").item() == 6
    rows = mysql.query("SELECT * FROM t ORDER BY id", output="arrow").to_pylist()
    assert rows[::2] == rows[1::2] == _table().to_pylist()


def test_values_mysql_cannot_hold_fail_and_keep_the_old_table(mysql):
    mysql.copy_from_df(_table(), "t")
    with pytest.raises(UnsupportedTypeError, match="`f` of table `t`.*NaN"):
        mysql.copy_from_df(pa.table({"f": [1.0, float("nan")]}), "t")
    with pytest.raises(ValueError, match="could not store 1 value"):  # year 10000: a server warning
        year_10000 = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days + 1
        mysql.copy_from_df(pa.table({"d": pa.array([0, year_10000], pa.int32()).cast(pa.date32())}), "t")
    with pytest.raises(UnsupportedTypeError, match="`s` of table `t`.*duration"):
        mysql.copy_from_df(pa.table({"s": pa.array([1], pa.duration("s"))}), "t")
    assert mysql.query("SELECT COUNT(*) AS n FROM t").item() == 3
    assert mysql.query("SHOW TABLES", output="arrow").num_rows == 1


def test_upsert_without_a_unique_key_deletes_then_inserts(mysql):
    mysql.copy_from_df(_table(), "t")  # no keys: no primary key (issue 11: this used to be refused)
    for _ in range(2):  # retried: neither dropped nor duplicated
        result = mysql.copy_from_df(_table(), "t", mode="upsert", keys=["id"])
    assert result.method == "delete_insert"
    assert mysql.query("SELECT * FROM t ORDER BY id", output="arrow").to_pylist() == _table().to_pylist()


def test_extract_maps_mysql_column_types(mysql):
    mysql.execute(
        "CREATE TABLE x (u BIGINT UNSIGNED, ts TIMESTAMP(6) NULL, y YEAR, j JSON, bits BIT(10), "
        "c CHAR(3), t TIME(6), flag BOOLEAN, f DOUBLE, e ENUM('a','b'))"
    )
    mysql.execute(
        "INSERT INTO x VALUES (18446744073709551615, '2024-05-01 12:00:00.000001', 2024, '{\"a\": 1}', b'1000000001', "
        "'abc', '23:59:59.999999', TRUE, 1.5, 'b')"
    )
    mysql.execute("INSERT INTO x VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    table = mysql.query("SELECT *, SUM(u) OVER () AS total FROM x ORDER BY u IS NULL", output="arrow")
    assert table.schema.field("u").type == pa.uint64()
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("flag").type == pa.int8()  # BOOLEAN = TINYINT(1): the integer it holds
    row = table.to_pylist()[0]
    assert row["u"] == 2**64 - 1
    assert row["ts"] == dt.datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=dt.UTC)
    assert row["y"] == 2024 and row["bits"] == 513 and row["c"] == "abc" and row["e"] == "b"
    assert row["t"] == dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999)
    assert row["flag"] == 1 and row["f"] == 1.5
    assert row["total"] == decimal.Decimal(2**64 - 1)
    assert set(table.to_pylist()[1].values()) == {None, decimal.Decimal(2**64 - 1)}


def test_wire_extract_keeps_order_charsets_and_odd_statements(mysql):
    mysql.execute("CREATE TABLE o (id INT, name VARCHAR(20) CHARACTER SET latin1, b VARBINARY(4))")
    mysql.execute("INSERT INTO o VALUES (3, 'é', x'00ff'), (1, '', NULL), (2, NULL, x'')")
    ordered = mysql.query("SELECT * FROM o ORDER BY id;", output="arrow")
    assert ordered.to_pylist() == [
        {"id": 1, "name": "", "b": None},
        {"id": 2, "name": None, "b": b""},
        {"id": 3, "name": "é", "b": b"\x00\xff"},
    ]
    assert mysql.query("SELECT id FROM o ORDER BY id DESC LIMIT 2").to_series().to_list() == [3, 2]
    assert mysql.query("SELECT 1 AS a, 2 AS a", output="arrow").num_columns == 2  # duplicate names
    assert mysql.query("SHOW TABLES", output="arrow").column(0).to_pylist() == ["o"]
    with pytest.raises(Exception, match="no_such_table"):
        mysql.query("SELECT * FROM no_such_table")
