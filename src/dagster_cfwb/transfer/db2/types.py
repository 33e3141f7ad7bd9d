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

import pyarrow as pa

from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError
from dagster_cfwb.transfer.sql_types import EngineTypeNames, column_holds, dictionary_values, sql_type_name

__all__ = ["DB2_TYPE_NAMES", "arrow_to_db2_type", "db2_field_to_arrow", "db2_type_holds"]


# The column types loads create (see the module table), read by `dagster_cfwb.transfer.sql_types`.
DB2_TYPE_NAMES = EngineTypeNames(
    boolean="BOOLEAN",
    smallint="SMALLINT",
    integer="INTEGER",
    bigint="BIGINT",
    uint64="DECIMAL(20,0)",
    real="REAL",
    double="DOUBLE",
    decimal="DECIMAL({p},{s})",
    decimal_max_precision=31,
    text="CLOB(2G)",
    text_key="VARCHAR(1024)",
    bytes="BLOB(2G)",
    bytes_key="VARBINARY(1024)",
    date="DATE",
    time="TIME",
    timestamp="TIMESTAMP(6)",
    timestamp_tz="TIMESTAMP(6)",
)


def arrow_to_db2_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """DB2 column type for an Arrow type (see the module table)."""
    name = sql_type_name(DB2_TYPE_NAMES, t, key=key)
    if name is not None:
        return name
    t = dictionary_values(t)
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
    return column_holds(column_type, column_type.lower().split("(")[0].strip(), _FAMILIES[wanted], t)


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
