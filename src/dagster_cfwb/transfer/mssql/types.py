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

import pyarrow as pa

from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError
from dagster_cfwb.transfer.sql_types import EngineTypeNames, column_holds, dictionary_values, sql_type_name

__all__ = ["MSSQL_TYPE_NAMES", "arrow_to_mssql_type", "mssql_type_holds"]


# The column types loads create (see the module table), read by `dagster_cfwb.transfer.sql_types`.
MSSQL_TYPE_NAMES = EngineTypeNames(
    boolean="BIT",
    smallint="SMALLINT",
    integer="INT",
    bigint="BIGINT",
    uint64="DECIMAL(20,0)",
    int_overrides={"uint8": "TINYINT"},
    real="REAL",
    double="FLOAT(53)",
    decimal="DECIMAL({p},{s})",
    decimal_max_precision=38,
    text="NVARCHAR(MAX)",
    text_key="NVARCHAR(450)",
    bytes="VARBINARY(MAX)",
    bytes_key="VARBINARY(900)",
    fixed_binary="BINARY({n})",
    fixed_binary_max_width=8000,
    date="DATE",
    time="TIME(6)",
    timestamp="DATETIME2(6)",
    timestamp_tz="DATETIMEOFFSET(6)",
)


def arrow_to_mssql_type(t: pa.DataType, *, column: str = "?", table: str = "?", key: bool = False) -> str:
    """SQL Server column type for an Arrow type (see the module table)."""
    name = sql_type_name(MSSQL_TYPE_NAMES, t, key=key)
    if name is not None:
        return name
    t = dictionary_values(t)
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
    return column_holds(column_type, column_type.lower().split("(")[0].strip(), _FAMILIES[wanted], t)
