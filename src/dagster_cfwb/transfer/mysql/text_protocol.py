"""Encode Arrow record batches as the text `LOAD DATA` reads, vectorised with Arrow compute.

The format is MySQL's own default: fields separated by TAB, rows by LF, escapes with backslash.
Every value is exact and unambiguous:

* NULL is `\\N`; an empty string is an empty field (so the two never mix);
* in text, `\\`, TAB, LF, CR and NUL are escaped (`\\\\`, `\\t`, `\\n`, `\\r`, `\\0`);
* binary values are sent as hexadecimal and decoded by the server (`SET col = UNHEX(@v)`);
* booleans as `1`/`0`; decimals as their exact text; floats in shortest round-trip form;
  timestamps with a zone are converted to UTC; dates and times with microseconds.

NaN and infinite floats have no MySQL representation and are refused, naming the column.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = ["encode_load_data_rows", "is_hex_column", "python_rows"]

_ESCAPES = [("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0")]
_HEX = np.array([ord(c) for c in "0123456789abcdef"], dtype=np.uint8)


def is_hex_column(t: pa.DataType) -> bool:
    """Binary columns travel as hexadecimal text."""
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


def _hex(column: pa.Array) -> pa.Array:
    column = column.cast(pa.large_binary())
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)[
        column.offset : column.offset + len(column) + 1
    ]
    data = column.buffers()[2]
    raw = (
        np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
        if data is not None
        else np.empty(0, np.uint8)
    )
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = _HEX[raw >> 4]
    out[1::2] = _HEX[raw & 0x0F]
    new_offsets = (offsets - offsets[0]) * 2
    hexed = pa.LargeStringArray.from_buffers(len(column), pa.py_buffer(new_offsets), pa.py_buffer(out))
    if column.null_count:
        hexed = pc.if_else(column.is_valid(), hexed, pa.scalar(None, pa.large_string()))
    return hexed


def _check_floats(column: pa.Array, name: str, table: str) -> None:
    if pc.any(pc.invert(pc.is_finite(column))).as_py():
        raise UnsupportedTypeError(
            f"Column `{name}` of table `{table}` holds NaN or infinite values, which MySQL/MariaDB cannot "
            "store; expected finite numbers. Replace them with NULL before loading."
        )


def _as_text(column: pa.Array, name: str, table: str) -> pa.Array:
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = column.cast(pa.large_string())
        for old, new in _ESCAPES:
            text = pc.replace_substring(text, old, new)
        return text
    if is_hex_column(t):
        return _hex(column)
    if pa.types.is_boolean(t):
        return column.cast(pa.int8()).cast(pa.large_string())
    if pa.types.is_floating(t):
        _check_floats(column, name, table)
        column = column.cast(pa.float64())  # the float32 value itself, not its shortest decimal text
    if pa.types.is_timestamp(t) and t.tz is not None:
        column = column.cast(pa.timestamp(t.unit))  # keeps the UTC instant, drops the zone label
    if pa.types.is_date64(t):
        column = column.cast(pa.date32())
    return column.cast(pa.large_string())


def encode_load_data_rows(batch: pa.RecordBatch, *, table: str) -> memoryview:
    """The bytes of `batch` in LOAD DATA text format (one LF-terminated line per row)."""
    if batch.num_rows == 0:
        return memoryview(b"")
    columns = [
        pc.fill_null(_as_text(col, name, table), "\\N")
        for col, name in zip(batch.columns, batch.schema.names, strict=True)
    ]
    lines = pc.binary_join_element_wise(*columns, pa.scalar("\t", pa.large_string()))
    lines = pc.binary_join_element_wise(
        lines, pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string())
    )
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[start:end]


def python_rows(batch: pa.RecordBatch, *, table: str) -> list[tuple]:
    """Rows of `batch` as Python tuples for driver-bound inserts (the slow fallback path)."""
    columns = []
    for col, name in zip(batch.columns, batch.schema.names, strict=True):
        t = col.type
        if pa.types.is_floating(t):
            _check_floats(col, name, table)
        if pa.types.is_timestamp(t) and t.tz is not None:
            col = col.cast(pa.timestamp(t.unit))
        columns.append(col.to_pylist())
    return list(zip(*columns, strict=True))
