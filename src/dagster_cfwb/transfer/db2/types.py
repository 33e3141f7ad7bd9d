"""Arrow ↔ IBM DB2 (LUW) type mapping.

| Arrow type (load)                  | DB2 column                           | Arrow type (extract)     |
|------------------------------------|--------------------------------------|--------------------------|
| bool                               | BOOLEAN                              | bool                     |
| int8, int16, uint8                 | SMALLINT                             | int16                    |
| int32, uint16                      | INTEGER                              | int32                    |
| int64, uint32                      | BIGINT                               | int64                    |
| uint64                             | DECIMAL(20,0)                        | decimal128(20, 0)        |
| float16, float32                   | REAL                                 | float32                  |
| float64                            | DOUBLE                               | float64                  |
| decimal(p, s), p ≤ 31              | DECIMAL(p, s)                        | decimal128(p, s)         |
| string (any Unicode)               | CLOB(2G) (key: VARCHAR(1024))        | string                   |
| binary                             | BLOB(2G) (key: VARBINARY(1024))      | binary                   |
| date32/date64 (year 1 to 9999)     | DATE                                 | date32                   |
| time32/time64 (whole seconds)      | TIME                                 | time64[us]               |
| timestamp without time zone        | TIMESTAMP(6)                         | timestamp[us]            |
| timestamp with time zone           | TIMESTAMP(6), stored in UTC          | timestamp[us] (UTC)      |

DB2 decimals stop at 31 digits and `TIME` has no fractions of a second: wider decimals and times
with microseconds are refused, naming the column. DB2 LUW has no zoned timestamp, so zoned values
are stored as UTC. Text needs a Unicode (UTF-8) database for emoji and every accent. Tested
against a recording fake driver only: no DB2 server runs on the build machine.
"""

from __future__ import annotations

import re

import pyarrow as pa

from dagster_cfwb.transfer.arrow_kinds import is_bytes, is_text
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = ["arrow_to_db2_type", "db2_field_to_arrow", "db2_type_holds"]


def arrow_to_db2_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """DB2 column type for an Arrow type (see the module table)."""
    if pa.types.is_dictionary(t):
        return arrow_to_db2_type(t.value_type, column=column, table=table, key=key)
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "SMALLINT"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "INTEGER"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "BIGINT"
    if pa.types.is_uint64(t):
        return "DECIMAL(20,0)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "REAL"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_decimal(t) and t.precision <= 31:
        return f"DECIMAL({t.precision},{t.scale})"
    if is_text(t):
        return "VARCHAR(1024)" if key else "CLOB(2G)"
    if is_bytes(t) or pa.types.is_fixed_size_binary(t):
        return "VARBINARY(1024)" if key else "BLOB(2G)"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP(6)"
    raise UnsupportedTypeError(
        f"Column `{column}` of table `{table}`: DB2 cannot hold Arrow type {t}; expected numbers, decimals of "
        "at most 31 digits, text, binary, dates, times or timestamps. Convert the column before loading."
    )


_FAMILIES = {
    "BOOLEAN": {"boolean"},
    "SMALLINT": {"smallint", "integer", "bigint", "decimal"},
    "INTEGER": {"integer", "bigint", "decimal"},
    "BIGINT": {"bigint", "decimal"},
    "DECIMAL": {"decimal", "decfloat"},
    "REAL": {"real", "double", "decfloat"},
    "DOUBLE": {"double", "decfloat"},
    "VARCHAR": {"varchar", "char", "clob", "dbclob", "graphic", "vargraphic", "long varchar"},
    "CLOB": {"varchar", "char", "clob", "dbclob", "graphic", "vargraphic", "long varchar"},
    "VARBINARY": {"varbinary", "binary", "blob"},
    "BLOB": {"varbinary", "binary", "blob"},
    "DATE": {"date", "timestamp"},
    "TIME": {"time"},
    "TIMESTAMP": {"timestamp"},
}


def db2_type_holds(column_type: str, t: pa.DataType) -> bool:
    """True when an existing column declared `column_type` (e.g. `DECIMAL(10,2)`) can hold `t`."""
    wanted = arrow_to_db2_type(t).split("(")[0]
    declared = column_type.lower().split("(")[0].strip()
    if declared not in _FAMILIES[wanted]:
        return False
    if pa.types.is_decimal(t) and declared == "decimal":
        numbers = [int(x) for x in re.findall(r"\d+", column_type)]
        if len(numbers) == 2:
            precision, scale = numbers
            return scale >= t.scale and precision - scale >= t.precision - t.scale
    return True


def db2_field_to_arrow(type_name: str, precision: int, scale: int) -> pa.DataType:
    """Arrow type of a result column from `ibm_db.field_type/field_precision/field_scale`."""
    name = type_name.lower()
    if name in ("int", "integer"):
        return pa.int32()
    if name == "smallint":
        return pa.int16()
    if name == "bigint":
        return pa.int64()
    if name == "real":
        return pa.float32()
    if name in ("double", "float"):
        return pa.float64()
    if name in ("decimal", "numeric"):
        return pa.decimal128(max(precision, 1), scale)
    if name == "boolean":
        return pa.bool_()
    if name == "date":
        return pa.date32()
    if name == "time":
        return pa.time64("us")
    if name == "timestamp":
        return pa.timestamp("us")
    if name in ("blob", "binary", "varbinary"):
        return pa.binary()
    return pa.string()  # string, clob, xml, decfloat (exact text)
