"""Arrow → SQL Server column types used when we create a table from data.

| Arrow type                         | SQL Server column                         |
|------------------------------------|-------------------------------------------|
| bool                               | BIT                                       |
| int8, int16                        | SMALLINT                                  |
| uint8                              | TINYINT                                   |
| int32, uint16                      | INT                                       |
| int64, uint32                      | BIGINT                                    |
| uint64                             | DECIMAL(20,0)                             |
| float16, float32                   | REAL                                      |
| float64                            | FLOAT (53 bits)                           |
| decimal(p, s), p ≤ 38              | DECIMAL(p, s)                             |
| string (any length, any Unicode)   | NVARCHAR(MAX) (key: NVARCHAR(450))        |
| binary                             | VARBINARY(MAX) (key: VARBINARY(900))      |
| date32/date64 (year 1 to 9999)     | DATE                                      |
| time32/time64                      | TIME(6)                                   |
| timestamp without time zone        | DATETIME2(6)                              |
| timestamp with time zone           | DATETIMEOFFSET(6) (instant and offset)    |

Decimals wider than 38 digits, durations, lists and structs are refused with an error naming the
table and column. Untested against a live server (none can run on the build machine): the
generated SQL and driver calls are checked by unit tests.
"""

from __future__ import annotations

import re

import pyarrow as pa

from dagster_cfwb.transfer.arrow_kinds import is_bytes, is_text
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = ["arrow_to_mssql_type", "mssql_type_holds"]


def arrow_to_mssql_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """SQL Server column type for an Arrow type (see the module table)."""
    if pa.types.is_dictionary(t):
        return arrow_to_mssql_type(t.value_type, column=column, table=table, key=key)
    if pa.types.is_boolean(t):
        return "BIT"
    if pa.types.is_int8(t) or pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_uint8(t):
        return "TINYINT"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "INT"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "BIGINT"
    if pa.types.is_uint64(t):
        return "DECIMAL(20,0)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "REAL"
    if pa.types.is_float64(t):
        return "FLOAT(53)"
    if pa.types.is_decimal(t) and t.precision <= 38:
        return f"DECIMAL({t.precision},{t.scale})"
    if is_text(t):
        return "NVARCHAR(450)" if key else "NVARCHAR(MAX)"
    if is_bytes(t):
        return "VARBINARY(900)" if key else "VARBINARY(MAX)"
    if pa.types.is_fixed_size_binary(t):
        return f"BINARY({t.byte_width})" if t.byte_width <= 8000 else "VARBINARY(MAX)"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME(6)"
    if pa.types.is_timestamp(t):
        return "DATETIMEOFFSET(6)" if t.tz else "DATETIME2(6)"
    raise UnsupportedTypeError(
        f"Column `{column}` of table `{table}`: SQL Server cannot hold Arrow type {t}; expected numbers, "
        "decimals of at most 38 digits, text, binary, dates, times or timestamps. Convert the column before loading."
    )


_FAMILIES = {
    "BIT": {"bit"},
    "SMALLINT": {"smallint", "int", "bigint", "decimal", "numeric"},
    "TINYINT": {"tinyint", "smallint", "int", "bigint", "decimal", "numeric"},
    "INT": {"int", "bigint", "decimal", "numeric"},
    "BIGINT": {"bigint", "decimal", "numeric"},
    "DECIMAL": {"decimal", "numeric"},
    "REAL": {"real", "float"},
    "FLOAT": {"float"},
    "NVARCHAR": {"nvarchar", "nchar", "ntext", "varchar", "char", "text"},
    "VARBINARY": {"varbinary", "binary", "image"},
    "BINARY": {"varbinary", "binary", "image"},
    "DATE": {"date", "datetime2", "datetime", "datetimeoffset"},
    "TIME": {"time"},
    "DATETIME2": {"datetime2", "datetimeoffset"},
    "DATETIMEOFFSET": {"datetimeoffset"},
}


def mssql_type_holds(column_type: str, t: pa.DataType) -> bool:
    """True when an existing column declared `column_type` (e.g. `decimal(10,2)`) can hold `t`."""
    wanted = arrow_to_mssql_type(t).split("(")[0]
    declared = column_type.lower().split("(")[0].strip()
    if declared not in _FAMILIES[wanted]:
        return False
    if pa.types.is_decimal(t) and declared in ("decimal", "numeric"):
        numbers = [int(x) for x in re.findall(r"\d+", column_type)]
        if len(numbers) == 2:
            precision, scale = numbers
            return scale >= t.scale and precision - scale >= t.precision - t.scale
    return True
