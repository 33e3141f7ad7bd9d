"""Arrow ↔ MySQL/MariaDB type mapping (loads create these columns; extracts read them back).

| Arrow type (load)                  | MySQL/MariaDB column         | Arrow type (extract)           |
|------------------------------------|------------------------------|--------------------------------|
| bool                               | BOOLEAN (= TINYINT(1))       | bool                           |
| int8 / int16 / int32 / int64       | TINYINT / SMALLINT / INT / BIGINT | int8 / int16 / int32 / int64 |
| uint8 … uint64                     | … UNSIGNED                   | uint8 … uint64                 |
| float16, float32, float64          | DOUBLE                       | float64 (same value)           |
| (MySQL FLOAT column)               | —                            | float32                        |
| decimal(p, s), p ≤ 65              | DECIMAL(p, s)                | decimal128(p, s) (256 if p>38) |
| string (any length, any Unicode)   | LONGTEXT utf8mb4 (key: VARCHAR(255)) | string                 |
| binary                             | LONGBLOB (key: VARBINARY(255)) | binary                       |
| date32/date64 (year 1 to 9999)     | DATE                         | date32                         |
| time32/time64                      | TIME(6)                      | time64[us]                     |
| timestamp without time zone        | DATETIME(6)                  | timestamp[us]                  |
| timestamp with time zone           | DATETIME(6), stored in UTC   | timestamp[us] (UTC, no zone)   |
| (MySQL TIMESTAMP column)           | —                            | timestamp[us, UTC]             |

MySQL has no time-zone-aware column type that spans years 1–9999 (``TIMESTAMP`` stops in 2038),
so zoned timestamps are stored as UTC ``DATETIME(6)``. MySQL sends ``FLOAT`` values back rounded to
6 significant digits, so float32 data is stored as ``DOUBLE`` (every float32 is a double, exactly): the instant is kept exactly, the zone name
is not. ``NaN``/``±inf`` floats, durations, lists and structs cannot be stored and are refused
with an error naming the column; decimals wider than 65 digits likewise.
"""

from __future__ import annotations

import re

import pyarrow as pa

from dagster_cfwb.transfer.arrow_kinds import is_bytes, is_text
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = ["arrow_to_mysql_type", "mysql_field_to_arrow", "mysql_type_holds"]

_INTS = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "uint8": "TINYINT UNSIGNED",
    "uint16": "SMALLINT UNSIGNED",
    "uint32": "INT UNSIGNED",
    "uint64": "BIGINT UNSIGNED",
}


def _refuse(table: str, column: str, found, expected: str) -> UnsupportedTypeError:
    return UnsupportedTypeError(
        f"Column `{column}` of table `{table}`: MySQL/MariaDB cannot hold Arrow type {found}; "
        f"expected {expected}. Convert the column before loading."
    )


def arrow_to_mysql_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """MySQL/MariaDB column type for an Arrow type (see the module table)."""
    if pa.types.is_dictionary(t):
        return arrow_to_mysql_type(t.value_type, column=column, table=table, key=key)
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return _INTS[str(t)]
    if pa.types.is_floating(t):  # FLOAT is sent back with 6 significant digits only: use DOUBLE
        return "DOUBLE"
    if pa.types.is_decimal(t):
        if t.precision > 65 or t.scale > 30:
            raise _refuse(table, column, t, "a decimal of at most 65 digits with at most 30 after the point")
        return f"DECIMAL({t.precision},{t.scale})"
    if is_text(t):
        return "VARCHAR(255)" if key else "LONGTEXT"
    if is_bytes(t):
        return "VARBINARY(255)" if key else "LONGBLOB"
    if pa.types.is_fixed_size_binary(t):
        return f"BINARY({t.byte_width})" if t.byte_width <= 255 else "LONGBLOB"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME(6)"
    if pa.types.is_timestamp(t):
        return "DATETIME(6)"
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
    """True when an existing column declared ``column_type`` (e.g. ``decimal(10,2)``) can hold ``t``."""
    declared = column_type.lower().split("(")[0].split(" ")[0]
    if declared not in _FAMILIES[_family(t)]:
        return False
    if pa.types.is_decimal(t) and declared == "decimal" and "(" in column_type:
        precision, scale = (int(x) for x in re.findall(r"\d+", column_type)[:2])
        return scale >= t.scale and precision - scale >= t.precision - t.scale
    return True


# Protocol field type codes (pymysql.constants.FIELD_TYPE)
_DECIMAL, _TINY, _SHORT, _LONG, _FLOAT, _DOUBLE, _NULL, _TIMESTAMP, _LONGLONG, _INT24 = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
)
_DATE, _TIME, _DATETIME, _YEAR, _NEWDATE, _VARCHAR, _BIT, _JSON, _NEWDECIMAL = (
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    245,
    246,
)
_BINARY_CHARSET = 63
_UNSIGNED_FLAG = 32


def mysql_field_to_arrow(field) -> pa.DataType:
    """Arrow type of a result column described by a pymysql ``Field`` (extract direction)."""
    code = field.type_code
    unsigned = bool(field.flags & _UNSIGNED_FLAG)
    if code == _TINY:
        if field.length == 1 and not unsigned:
            return pa.bool_()
        return pa.uint8() if unsigned else pa.int8()
    if code == _SHORT:
        return pa.uint16() if unsigned else pa.int16()
    if code in (_LONG, _INT24):
        return pa.uint32() if unsigned else pa.int32()
    if code == _LONGLONG:
        return pa.uint64() if unsigned else pa.int64()
    if code == _YEAR:
        return pa.int16()
    if code == _FLOAT:
        return pa.float32()
    if code == _DOUBLE:
        return pa.float64()
    if code in (_DECIMAL, _NEWDECIMAL):
        scale = field.scale
        precision = field.length - (1 if scale else 0) - (0 if unsigned else 1)
        precision = max(precision, scale, 1)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if code in (_DATE, _NEWDATE):
        return pa.date32()
    if code == _TIME:
        return pa.time64("us")
    if code == _DATETIME:
        return pa.timestamp("us")
    if code == _TIMESTAMP:
        return pa.timestamp("us", tz="UTC")
    if code == _BIT:
        return pa.uint64()
    if code == _NULL:
        return pa.string()
    if field.charsetnr == _BINARY_CHARSET and code != _JSON:
        return pa.binary()
    return pa.string()
