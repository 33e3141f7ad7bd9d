"""Arrow → MySQL/MariaDB type mapping of loads (the columns `copy_from_df` creates).

Extracts type each result column in `dagster_cfwb.transfer.mysql.result_types`; the last column
below says what a loaded column reads back as.

| Arrow type (load)                  | MySQL/MariaDB column         | Arrow type (extract)           |
|------------------------------------|------------------------------|--------------------------------|
| bool                               | BOOLEAN (= TINYINT(1))       | int8 (1 / 0)                   |
| int8 / int16 / int32 / int64       | TINYINT / SMALLINT / INT / BIGINT | int8 / int16 / int32 / int64 |
| uint8 … uint64                     | … UNSIGNED                   | uint8 … uint64                 |
| float16, float32, float64          | DOUBLE                       | float64 (same value)           |
| decimal(p, s), p ≤ 65              | DECIMAL(p, s)                | decimal128(p, s) (256 if p>38) |
| string (any length, any Unicode)   | LONGTEXT utf8mb4 (key: VARCHAR(255)) | string                 |
| binary                             | LONGBLOB (key: VARBINARY(255)) | binary                       |
| date32/date64 (year 1 to 9999)     | DATE                         | date32                         |
| time32/time64                      | TIME(6)                      | duration[us]                   |
| timestamp without time zone        | DATETIME(6)                  | timestamp[us]                  |
| timestamp with time zone           | DATETIME(6), stored in UTC   | timestamp[us] (UTC, no zone)   |

MySQL has no time-zone-aware column type that spans years 1–9999 (`TIMESTAMP` stops in 2038),
so zoned timestamps are stored as UTC `DATETIME(6)`. MySQL sends `FLOAT` values back rounded to
6 significant digits, so float32 data is stored as `DOUBLE` (every float32 is a double, exactly): the instant is kept exactly, the zone name
is not. `NaN`/`±inf` floats, durations, lists and structs cannot be stored and are refused
with an error naming the column; decimals wider than 65 digits likewise.
"""

from __future__ import annotations

import pyarrow as pa

from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError
from dagster_cfwb.transfer.sql_types import EngineTypeNames, column_holds, dictionary_values, sql_type_name

__all__ = ["MYSQL_TYPE_NAMES", "arrow_to_mysql_type", "mysql_type_holds"]

# The column types loads create (see the module table), read by `dagster_cfwb.transfer.sql_types`.
MYSQL_TYPE_NAMES = EngineTypeNames(
    boolean="BOOLEAN",
    smallint="SMALLINT",
    integer="INT",
    bigint="BIGINT",
    uint64="BIGINT UNSIGNED",
    int_overrides={
        "int8": "TINYINT",
        "uint8": "TINYINT UNSIGNED",
        "uint16": "SMALLINT UNSIGNED",
        "uint32": "INT UNSIGNED",
    },
    real="DOUBLE",  # FLOAT is sent back with 6 significant digits only: use DOUBLE
    double="DOUBLE",
    decimal="DECIMAL({p},{s})",
    decimal_max_precision=65,
    decimal_max_scale=30,
    text="LONGTEXT",
    text_key="VARCHAR(255)",
    bytes="LONGBLOB",
    bytes_key="VARBINARY(255)",
    fixed_binary="BINARY({n})",
    fixed_binary_max_width=255,
    date="DATE",
    time="TIME(6)",
    timestamp="DATETIME(6)",
    timestamp_tz="DATETIME(6)",
)


def _refuse(table: str, column: str, found, expected: str) -> UnsupportedTypeError:
    return UnsupportedTypeError(
        f"Column `{column}` of table `{table}`: MySQL/MariaDB cannot hold Arrow type {found}; "
        f"expected {expected}. Convert the column before loading."
    )


def arrow_to_mysql_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """MySQL/MariaDB column type for an Arrow type (see the module table)."""
    name = sql_type_name(MYSQL_TYPE_NAMES, t, key=key)
    if name is not None:
        return name
    t = dictionary_values(t)
    if pa.types.is_decimal(t):
        raise _refuse(table, column, t, "a decimal of at most 65 digits with at most 30 after the point")
    raise _refuse(
        table,
        column,
        t,
        "numbers, decimals, text, binary, dates, times or timestamps (lists/structs as JSON text)",
    )


# Families of declared column types (lower-case `information_schema.columns.data_type`).
_FAMILIES = {
    "bool": {"tinyint", "smallint", "mediumint", "int", "bigint", "bit", "decimal"},
    "int": {"tinyint", "smallint", "mediumint", "int", "bigint", "decimal"},
    "float": {"float", "double", "decimal"},
    "decimal": {"decimal", "double", "float"},
    "text": {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"},
    "binary": {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"},
    "date": {"date", "datetime", "timestamp"},
    "time": {"time"},
    "datetime": {"datetime", "timestamp"},
}


def _family(t: pa.DataType) -> str:
    sql = arrow_to_mysql_type(t).split("(")[0].split(" ")[0].lower()
    return {
        "boolean": "bool",
        "tinyint": "int",
        "smallint": "int",
        "int": "int",
        "bigint": "int",
        "float": "float",
        "double": "float",
        "decimal": "decimal",
        "longtext": "text",
        "varchar": "text",
        "longblob": "binary",
        "varbinary": "binary",
        "binary": "binary",
        "date": "date",
        "time": "time",
        "datetime": "datetime",
    }[sql]


def mysql_type_holds(column_type: str, t: pa.DataType) -> bool:
    """True when an existing column declared `column_type` (e.g. `decimal(10,2)`) can hold `t`."""
    declared = column_type.lower().split("(")[0].split(" ")[0]
    return column_holds(column_type, declared, _FAMILIES[_family(t)], t)
