"""MariaDB's text protocol sends a DOUBLE with fixed decimals rounded to them: the pymysql reader refuses it.

`x / y` of two `DOUBLE(10,2)` columns is a DOUBLE with 6 decimals to the server, `PI()` too: the
text protocol (our pymysql reader) sends `0.333333` and `3.141593`, the binary protocol
(connectorx) the stored doubles. The pymysql reader must refuse such a column, naming it and the
cast that gives the exact double (`CAST(… AS DOUBLE)`), never return the rounded value. A
`DOUBLE(10,2)` table column is refused too (its values have 2 decimals, but the server describes it
like a derived table's `x / y`).
"""

from __future__ import annotations

import secrets

import pytest

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

pytest.importorskip("connectorx")
pytestmark = pytest.mark.mysql


@pytest.fixture
def ratios(mysql_config):
    table = f"ratios_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    admin.execute(f"CREATE TABLE `{table}` (x DOUBLE(10,2), y DOUBLE(10,2))")
    admin.execute(f"INSERT INTO `{table}` VALUES (1, 3)")
    try:
        yield table
    finally:
        admin.execute(f"DROP TABLE `{table}`")


@pytest.mark.parametrize("expression", ["x / y", "PI()", "x"])  # x: its stored value has 2 decimals, but
# the reader cannot tell a table's column from `s.r` of `(SELECT x / y AS r …) s`: the same refusal
def test_the_pymysql_reader_refuses_a_double_rounded_by_the_text_protocol(mysql_config, ratios, expression):
    db = MySQLResource(**mysql_config, extract_reader="pymysql")
    with pytest.raises(UnsupportedTypeError) as err:
        db.query(f"SELECT {expression} AS r FROM `{ratios}`", output="arrow")
    message = str(err.value)
    assert "`r`" in message and "DOUBLE" in message and "CAST(r AS DOUBLE)" in message, message


def test_the_cast_gives_the_exact_double_on_every_reader(mysql_config, ratios):
    for reader in ("pymysql", "connectorx", "auto"):
        db = MySQLResource(**mysql_config, extract_reader=reader)
        sql = f"SELECT CAST(x / y AS DOUBLE) AS r, CAST(x AS DOUBLE) AS x FROM `{ratios}`"
        table = db.query(sql, output="arrow")
        assert table.to_pylist() == [{"r": 1 / 3, "x": 1.0}], reader


def test_connectorx_reads_the_double_exactly_and_params_get_the_refusal(mysql_config, ratios):
    db = MySQLResource(**mysql_config, extract_reader="auto")
    assert db.query(f"SELECT x / y AS r FROM `{ratios}`", output="arrow").to_pylist() == [{"r": 1 / 3}]
    with pytest.raises(UnsupportedTypeError, match="CAST"):  # params: the pymysql reader
        db.query(f"SELECT x / y AS r FROM `{ratios}` WHERE x = %s", params=[1], output="arrow")
