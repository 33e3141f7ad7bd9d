"""One table-driven Arrow → SQL column type mapper for every engine.

Each engine's `types` module declares its column names once, as an `EngineTypeNames`, and calls
`sql_type_name` (and `column_holds` to check an existing column); the engine keeps its own public function and its own refusal message (naming the
table and column). A type the names do not cover (a decimal wider than the engine allows, a
duration, a list, a struct…) gives `None`, and the engine refuses it or maps it itself.

| Arrow type                         | field of `EngineTypeNames`                       |
|------------------------------------|--------------------------------------------------|
| bool                               | `boolean`                                        |
| int8, int16, uint8                 | `smallint`                                       |
| int32, uint16                      | `integer`                                        |
| int64, uint32                      | `bigint`                                         |
| uint64                             | `uint64`                                         |
| any integer, engine-specific       | `int_overrides` (e.g. SQL Server `TINYINT` for uint8) |
| float16, float32                   | `real`                                           |
| float64                            | `double`                                         |
| decimal(p, s)                      | `decimal` (a format with `{p}`, `{s}`), up to `decimal_max_precision` / `decimal_max_scale` |
| string, large_string, string_view, null | `text` (key: `text_key`)                    |
| binary, large_binary, binary_view  | `bytes` (key: `bytes_key`)                       |
| fixed_size_binary(n)               | `fixed_binary` (a format with `{n}`) up to `fixed_binary_max_width`, else `bytes`; without `fixed_binary`, as binary |
| date32, date64                     | `date`                                           |
| time32, time64                     | `time`                                           |
| timestamp without / with time zone | `timestamp` / `timestamp_tz`                     |
| duration                           | `duration` (None: no column)                     |
| dictionary<…, T>                   | as T                                             |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from dagster_cfwb.transfer.arrow_kinds import is_bytes, is_text

__all__ = ["EngineTypeNames", "column_holds", "dictionary_values", "sql_type_name"]


@dataclass(frozen=True)
class EngineTypeNames:
    """The column type names one engine creates for each family of Arrow types (module table)."""

    boolean: str
    smallint: str
    integer: str
    bigint: str
    uint64: str
    real: str
    double: str
    decimal: str
    text: str
    bytes: str
    date: str
    time: str
    timestamp: str
    timestamp_tz: str
    text_key: str | None = None  # None: same as `text`
    bytes_key: str | None = None  # None: same as `bytes`
    decimal_max_precision: int | None = None  # None: no limit
    decimal_max_scale: int | None = None
    fixed_binary: str | None = None  # None: fixed-size binary is mapped like binary
    fixed_binary_max_width: int = 0
    duration: str | None = None
    int_overrides: Mapping[str, str] = field(default_factory=dict)  # Arrow name ("uint8") → column type


def dictionary_values(t: pa.DataType) -> pa.DataType:
    """The value type of a (possibly nested) dictionary type; any other type unchanged."""
    while pa.types.is_dictionary(t):
        t = t.value_type
    return t


def _integer(names: EngineTypeNames, t: pa.DataType) -> str:
    override = names.int_overrides.get(str(t))
    if override is not None:
        return override
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return names.smallint
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return names.integer
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return names.bigint
    return names.uint64


def _decimal(names: EngineTypeNames, t: pa.DataType) -> str | None:
    if names.decimal_max_precision is not None and t.precision > names.decimal_max_precision:
        return None
    if names.decimal_max_scale is not None and t.scale > names.decimal_max_scale:
        return None
    return names.decimal.format(p=t.precision, s=t.scale)


def _binary(names: EngineTypeNames, t: pa.DataType, key: bool) -> str:
    if pa.types.is_fixed_size_binary(t) and names.fixed_binary is not None:
        if t.byte_width <= names.fixed_binary_max_width:
            return names.fixed_binary.format(n=t.byte_width)
        return names.bytes
    return names.bytes_key if key and names.bytes_key else names.bytes


def sql_type_name(names: EngineTypeNames, t: pa.DataType, *, key: bool = False) -> str | None:
    """The engine's column type for Arrow type `t` (a key column when `key`), or None if it has none."""
    t = dictionary_values(t)
    if pa.types.is_boolean(t):
        return names.boolean
    if pa.types.is_integer(t):
        return _integer(names, t)
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return names.real
    if pa.types.is_float64(t):
        return names.double
    if pa.types.is_decimal(t):
        return _decimal(names, t)
    if is_text(t):
        return names.text_key if key and names.text_key else names.text
    if is_bytes(t) or pa.types.is_fixed_size_binary(t):
        return _binary(names, t, key)
    if pa.types.is_date(t):
        return names.date
    if pa.types.is_time(t):
        return names.time
    if pa.types.is_timestamp(t):
        return names.timestamp_tz if t.tz else names.timestamp
    if pa.types.is_duration(t):
        return names.duration
    return None


def column_holds(column_type: str, declared: str, allowed: set[str], t: pa.DataType) -> bool:
    """True when an existing column can hold Arrow type `t`: its lower-case base type `declared` is
    one of `allowed` and, for a `decimal(p,s)`/`numeric(p,s)` column `column_type`, every digit of
    `t` fits (as many digits before the point, at least as many after it)."""
    if declared not in allowed:
        return False
    if pa.types.is_decimal(t) and declared in ("decimal", "numeric"):
        numbers = [int(x) for x in re.findall(r"\d+", column_type)[:2]]
        if len(numbers) == 2:
            precision, scale = numbers
            return scale >= t.scale and precision - scale >= t.precision - t.scale
    return True
