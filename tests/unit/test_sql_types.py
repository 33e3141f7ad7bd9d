"""The four engines' Arrow → SQL column types, side by side: a change to one engine's mapping
(through `dagster_cfwb.transfer.sql_types` or its own `types` module) shows up here."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.db2.types import arrow_to_db2_type
from dagster_cfwb.transfer.mssql.types import arrow_to_mssql_type
from dagster_cfwb.transfer.mysql.types import arrow_to_mysql_type
from dagster_cfwb.transfer.postgres.types import PG_TYPE_NAMES, arrow_to_pg_type
from dagster_cfwb.transfer.sql_types import sql_type_name
from dagster_cfwb.transfer.type_errors import UnsupportedTypeError

NO = None  # refused with UnsupportedTypeError

# Arrow type: (PostgreSQL, MySQL/MariaDB, SQL Server, DB2) — non-key columns
EXPECTED = {
    pa.null(): ("text", "LONGTEXT", "NVARCHAR(MAX)", "CLOB(2G)"),
    pa.bool_(): ("boolean", "BOOLEAN", "BIT", "BOOLEAN"),
    pa.int8(): ("smallint", "TINYINT", "SMALLINT", "SMALLINT"),
    pa.int16(): ("smallint", "SMALLINT", "SMALLINT", "SMALLINT"),
    pa.int32(): ("integer", "INT", "INT", "INTEGER"),
    pa.int64(): ("bigint", "BIGINT", "BIGINT", "BIGINT"),
    pa.uint8(): ("smallint", "TINYINT UNSIGNED", "TINYINT", "SMALLINT"),
    pa.uint16(): ("integer", "SMALLINT UNSIGNED", "INT", "INTEGER"),
    pa.uint32(): ("bigint", "INT UNSIGNED", "BIGINT", "BIGINT"),
    pa.uint64(): ("numeric(20,0)", "BIGINT UNSIGNED", "DECIMAL(20,0)", "DECIMAL(20,0)"),
    pa.float16(): ("real", "DOUBLE", "REAL", "REAL"),
    pa.float32(): ("real", "DOUBLE", "REAL", "REAL"),
    pa.float64(): ("double precision", "DOUBLE", "FLOAT(53)", "DOUBLE"),
    pa.decimal128(31, 4): ("numeric(31,4)", "DECIMAL(31,4)", "DECIMAL(31,4)", "DECIMAL(31,4)"),
    pa.decimal128(38, 2): ("numeric(38,2)", "DECIMAL(38,2)", "DECIMAL(38,2)", NO),
    pa.decimal256(65, 30): ("numeric(65,30)", "DECIMAL(65,30)", NO, NO),
    pa.decimal256(76, 2): ("numeric(76,2)", NO, NO, NO),
    pa.string(): ("text", "LONGTEXT", "NVARCHAR(MAX)", "CLOB(2G)"),
    pa.large_string(): ("text", "LONGTEXT", "NVARCHAR(MAX)", "CLOB(2G)"),
    pa.string_view(): ("text", "LONGTEXT", "NVARCHAR(MAX)", "CLOB(2G)"),
    pa.binary(): ("bytea", "LONGBLOB", "VARBINARY(MAX)", "BLOB(2G)"),
    pa.large_binary(): ("bytea", "LONGBLOB", "VARBINARY(MAX)", "BLOB(2G)"),
    pa.binary_view(): ("bytea", "LONGBLOB", "VARBINARY(MAX)", "BLOB(2G)"),
    pa.binary(16): ("bytea", "BINARY(16)", "BINARY(16)", "BLOB(2G)"),
    pa.binary(300): ("bytea", "LONGBLOB", "BINARY(300)", "BLOB(2G)"),
    pa.binary(9000): ("bytea", "LONGBLOB", "VARBINARY(MAX)", "BLOB(2G)"),
    pa.date32(): ("date", "DATE", "DATE", "DATE"),
    pa.date64(): ("date", "DATE", "DATE", "DATE"),
    pa.time32("s"): ("time", "TIME(6)", "TIME(6)", "TIME"),
    pa.time64("ns"): ("time", "TIME(6)", "TIME(6)", "TIME"),
    pa.timestamp("us"): ("timestamp", "DATETIME(6)", "DATETIME2(6)", "TIMESTAMP(6)"),
    pa.timestamp("ns", "Europe/Brussels"): (
        "timestamptz",
        "DATETIME(6)",
        "DATETIMEOFFSET(6)",
        "TIMESTAMP(6)",
    ),
    pa.duration("us"): ("interval", NO, NO, NO),
    pa.list_(pa.int32()): ("integer[]", NO, NO, NO),
    pa.large_list(pa.string()): ("text[]", NO, NO, NO),
    pa.struct([("a", pa.int8())]): (NO, NO, NO, NO),
    pa.map_(pa.string(), pa.int8()): (NO, NO, NO, NO),
    pa.dictionary(pa.int32(), pa.string()): ("text", "LONGTEXT", "NVARCHAR(MAX)", "CLOB(2G)"),
}

# Arrow type: (MySQL/MariaDB, SQL Server, DB2) for a key column (PostgreSQL has no key variant)
EXPECTED_KEY = {
    pa.string(): ("VARCHAR(255)", "NVARCHAR(450)", "VARCHAR(1024)"),
    pa.binary(): ("VARBINARY(255)", "VARBINARY(900)", "VARBINARY(1024)"),
    pa.binary(16): ("BINARY(16)", "BINARY(16)", "VARBINARY(1024)"),
    pa.int32(): ("INT", "INT", "INTEGER"),
}


def _pg(t, *, column, table, key):
    return arrow_to_pg_type(t, column=column)


ENGINES = [
    ("postgres", _pg),
    ("mysql", arrow_to_mysql_type),
    ("mssql", arrow_to_mssql_type),
    ("db2", arrow_to_db2_type),
]


def _mapped(mapper, t, key=False):
    try:
        return mapper(t, column="c", table="t", key=key)
    except UnsupportedTypeError as error:
        assert "`c`" in str(error)  # the refusal names the column
        return NO


@pytest.mark.parametrize("arrow_type", list(EXPECTED), ids=str)
def test_every_engine_maps_every_arrow_type_as_the_table_says(arrow_type):
    found = tuple(_mapped(mapper, arrow_type) for _, mapper in ENGINES)
    assert found == EXPECTED[arrow_type]


@pytest.mark.parametrize("arrow_type", list(EXPECTED_KEY), ids=str)
def test_key_columns_get_indexable_types(arrow_type):
    found = tuple(_mapped(mapper, arrow_type, key=True) for _, mapper in ENGINES[1:])
    assert found == EXPECTED_KEY[arrow_type]


def test_a_type_the_names_do_not_cover_gives_none():
    names = replace(PG_TYPE_NAMES, decimal_max_precision=10, duration=None)
    assert sql_type_name(names, pa.decimal128(10, 3)) == "numeric(10,3)"
    assert sql_type_name(names, pa.decimal128(11, 3)) is None
    assert sql_type_name(names, pa.duration("s")) is None
    assert sql_type_name(names, pa.string(), key=True) == "text"  # no key name: the plain one
