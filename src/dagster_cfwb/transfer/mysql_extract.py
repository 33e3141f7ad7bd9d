"""Stream a MySQL/MariaDB query result as Arrow record batches with bounded memory.

Rows come through an unbuffered server-side cursor (pymysql ``SSCursor``): the server sends
them as the client reads, so memory holds one batch at a time. The row packets are read straight
from the wire (:mod:`mysql_wire`), so each value stays its exact text (``123.45``,
``2024-05-01 12:00:00.000001``) and is converted to its Arrow type column-wise by Arrow's compute
kernels — no Python ``Decimal``/``datetime`` per value. Types follow
:func:`mysql_types.mysql_field_to_arrow`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.mysql_types import mysql_field_to_arrow
from dagster_cfwb.transfer.mysql_wire import read_columns

__all__ = ["iter_mysql_batches"]


def _time_column(values: list, n: int) -> pa.Array:
    micros = []
    for v in values:
        if v is None:
            micros.append(None)
            continue
        text = v.decode() if isinstance(v, bytes) else v
        sign = -1 if text.startswith("-") else 1
        hms, _, frac = text.lstrip("-").partition(".")
        h, m, s = (int(x) for x in hms.split(":"))
        total = sign * ((h * 3600 + m * 60 + s) * 1_000_000 + int((frac + "000000")[:6]))
        if not 0 <= total < 86_400_000_000:
            raise ValueError(
                f"MySQL TIME value {text!r} is outside 00:00:00–23:59:59 and has no Arrow time equivalent."
            )
        micros.append(total)
    return pa.array(micros, pa.int64()).cast(pa.time64("us"))


def _from_text(text: pa.Array, target: pa.DataType) -> pa.Array:
    """Convert a column of exact server text (nulls as nulls) to ``target``, column-wise."""
    if pa.types.is_time(target):
        return _time_column(text.to_pylist(), len(text))
    if pa.types.is_string(target):
        return text
    if pa.types.is_boolean(target):
        return pc.not_equal(text.cast(pa.int64()), 0)
    if pa.types.is_timestamp(target) and target.tz is not None:
        return text.cast(pa.timestamp("us")).cast(target)
    return text.cast(target)


def _convert(raw: pa.Array, field, target: pa.DataType) -> pa.Array:
    if field.type_code == 16:  # BIT(n): big-endian bytes
        return pa.array(
            [None if v is None else int.from_bytes(v, "big") for v in raw.to_pylist()], pa.uint64()
        )
    if pa.types.is_binary(target):
        return raw.cast(pa.binary())
    return _from_text(raw.cast(pa.large_string()).cast(pa.string()), target)


def iter_mysql_batches(conn, sql: str, params=None, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of at most ``batch_rows`` rows.

    Args:
        conn: an open pymysql connection.
        sql: the query; values go in ``params`` with ``%s`` placeholders, bound by the driver.
        batch_rows: rows per batch.

    At least one batch is always yielded, so an empty result still carries its schema.
    """
    import pymysql.cursors

    cur = conn.cursor(pymysql.cursors.SSCursor)
    finished = False
    try:
        cur.execute(sql, params)
        fields = cur._result.fields if cur._result is not None else []
        if not fields:
            raise ValueError(
                "The statement returned no result set; use execute() for statements without rows."
            )
        types = [mysql_field_to_arrow(f) for f in fields]
        schema = pa.schema([pa.field(f.name, t) for f, t in zip(fields, types, strict=True)])
        yielded = False
        while True:
            columns = read_columns(cur, batch_rows, len(fields))
            if columns is None:
                if yielded:
                    break
                columns = [pa.array([], pa.large_binary()) for _ in fields]
            n = len(columns[0])
            arrays = [_convert(col, f, t) for col, f, t in zip(columns, fields, types, strict=True)]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            yielded = True
            if n < batch_rows:
                break
        finished = True
    finally:
        if finished:
            cur.close()
        # else: the caller stopped early or failed; closing an unbuffered cursor would read the rest of
        # the result, so the connection (closed by the caller) ends the query instead.
