"""Stream a PostgreSQL query result as Arrow record batches with bounded memory.

A server-side (named) cursor fetches ``batch_rows`` rows at a time; each chunk becomes one Arrow
record batch typed from the column type OIDs, so an all-NULL chunk keeps its column types.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pyarrow as pa

__all__ = ["iter_postgres_batches", "pg_oid_to_arrow"]

_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.large_binary(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    25: pa.large_string(),
    1042: pa.large_string(),
    1043: pa.large_string(),
    19: pa.large_string(),
    114: pa.large_string(),
    3802: pa.large_string(),
    2950: pa.large_string(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.duration("us"),
}


def pg_oid_to_arrow(type_code: int, precision: int | None = None, scale: int | None = None) -> pa.DataType | None:
    """Arrow type for a PostgreSQL type OID (None: let Arrow infer from the values)."""
    if type_code == 1700:  # numeric
        if precision is not None and precision <= 38:
            return pa.decimal128(precision, scale or 0)
        return None
    return _OID_TYPES.get(type_code)


def _column(values: list, data_type: pa.DataType | None) -> pa.Array:
    if data_type is not None and pa.types.is_large_string(data_type):
        values = [str(v) if isinstance(v, uuid.UUID | dict | list) else v for v in values]
    if data_type is not None and pa.types.is_duration(data_type):
        return pa.array(values, type=data_type)
    return pa.array(values, type=data_type)


def iter_postgres_batches(conn, sql: str, params=None, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of at most ``batch_rows`` rows.

    The connection must not be in autocommit mode (server-side cursors live in a transaction).
    At least one batch is always yielded, so an empty result still carries its schema.
    """
    name = f"cfwb_cursor_{secrets.token_hex(4)}"
    with conn.cursor(name=name) as cur:
        cur.itersize = batch_rows
        cur.execute(sql, params)
        description = cur.description
        names = [d.name for d in description]
        types = [pg_oid_to_arrow(d.type_code, d.precision, d.scale) for d in description]
        yielded = False
        while True:
            rows = cur.fetchmany(batch_rows)
            if not rows and yielded:
                break
            columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
            arrays = [_column(list(col), t) for col, t in zip(columns, types, strict=True)]
            yield pa.RecordBatch.from_arrays(arrays, names=names)
            yielded = True
            if len(rows) < batch_rows:
                break
