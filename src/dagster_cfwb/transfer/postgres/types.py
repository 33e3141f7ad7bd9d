"""Arrow ↔ PostgreSQL type mapping used when we create a table from data.

| Arrow type                         | PostgreSQL column      |
|------------------------------------|------------------------|
| bool                               | boolean                |
| int8, int16, uint8                 | smallint               |
| int32, uint16                      | integer                |
| int64, uint32                      | bigint                 |
| uint64                             | numeric(20,0)          |
| float16, float32                   | real                   |
| float64                            | double precision       |
| decimal128/256(p, s)               | numeric(p, s)          |
| string, large_string, string_view  | text (any length)      |
| binary, large_binary, fixed binary | bytea                  |
| date32, date64                     | date (year 1 to 9999)  |
| time32, time64                     | time                   |
| timestamp (no time zone)           | timestamp              |
| timestamp (with time zone)         | timestamptz            |
| duration                           | interval               |
| list<T>                            | T[]                    |
| null (an all-empty column)         | text                   |

decimal256 columns are sent as their exact decimal text (pgpq has no binary encoder for them) and
cast to numeric(p, s) by the server, so every digit lands; date64 goes as date32 and nanosecond
durations as microseconds, and a value that would change in that step is refused naming the column. Nanosecond timestamps are truncated to microseconds (PostgreSQL's resolution). Struct and map
columns are refused with a clear error: convert them to JSON text first.
"""

from __future__ import annotations

import pyarrow as pa

from dagster_cfwb.transfer.arrow_kinds import is_bytes, is_text
from dagster_cfwb.transfer.type_errors import UnsupportedTypeError

__all__ = ["UnsupportedTypeError", "arrow_to_pg_type", "pg_column_definitions"]


def arrow_to_pg_type(data_type: pa.DataType, *, column: str = "?") -> str:
    """Return the PostgreSQL type for an Arrow type (see the module table)."""
    t = data_type
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "bigint"
    if pa.types.is_uint64(t):
        return "numeric(20,0)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "real"
    if pa.types.is_float64(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if is_text(t):
        return "text"
    if is_bytes(t) or pa.types.is_fixed_size_binary(t):
        return "bytea"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_duration(t):
        return "interval"
    if pa.types.is_dictionary(t):
        return arrow_to_pg_type(t.value_type, column=column)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if pa.types.is_decimal256(t.value_type) or pa.types.is_date64(t.value_type):
            raise UnsupportedTypeError(
                f"Column `{column}` is a list of {t.value_type}, which binary COPY cannot send; cast the items "
                "to decimal128 (up to 38 digits) / date32, or the list to JSON text, before loading."
            )
        return arrow_to_pg_type(t.value_type, column=column) + "[]"
    raise UnsupportedTypeError(
        f"Column `{column}` has Arrow type {t}, which has no PostgreSQL equivalent here; "
        "convert it (for example to JSON text) before loading."
    )


def pg_column_definitions(schema: pa.Schema, quote) -> list[str]:
    """`"name" type` fragments for CREATE TABLE, one per field, in schema order."""
    return [f"{quote(f.name)} {arrow_to_pg_type(f.type, column=f.name)}" for f in schema]
