"""Stream a MySQL/MariaDB query result as Arrow record batches with bounded memory.

Rows come through an unbuffered server-side cursor (pymysql ``SSCursor``): the server sends
them as the client reads, so memory holds one batch at a time. The connection is opened with no
value converters, so each value arrives as its exact text (``123.45``, ``2024-05-01 12:00:00.000001``)
and is converted to its Arrow type column-wise by Arrow's compute kernels — no Python
``Decimal``/``datetime`` per value. Types follow :func:`mysql_types.mysql_field_to_arrow`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.mysql_packed import decode_packed_rows, packed_select, read_packed_rows
from dagster_cfwb.transfer.mysql_types import mysql_field_to_arrow

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


def _column(values: list, target: pa.DataType) -> pa.Array:
    if pa.types.is_binary(target):
        return pa.array(values, pa.binary())
    if pa.types.is_time(target):
        return _time_column(values, len(values))
    first = next((v for v in values if v is not None), None)
    raw = pa.array(values, pa.binary() if isinstance(first, bytes) else pa.string())
    text = raw.cast(pa.string()) if pa.types.is_binary(raw.type) else raw
    return _from_text(text, target)


def _bit_column(values: list) -> pa.Array:
    return pa.array([None if v is None else int.from_bytes(v, "big") for v in values], pa.uint64())


_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_LIMIT = re.compile(r"\blimit\b", re.IGNORECASE)


def _derived(sql: str) -> str:
    """``sql`` made safe as a derived table: MariaDB drops an ORDER BY there unless a LIMIT follows it."""
    sql = sql.strip().rstrip(";").strip()
    orders = [m.start() for m in _ORDER_BY.finditer(sql)]
    limits = [m.start() for m in _LIMIT.finditer(sql)]
    if orders and (not limits or limits[-1] < orders[-1]):
        sql += " LIMIT 18446744073709551615"
    return sql


def _describe(conn, sql: str, params):
    """Result columns of ``sql`` (run with LIMIT 0), or None when it cannot be wrapped."""
    import pymysql

    cur = conn.cursor()
    try:
        cur.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0", params)  # noqa: S608 - the caller's own query
        return cur._result.fields if cur._result is not None else None
    except pymysql.MySQLError:
        conn.rollback()
        return None
    finally:
        cur.close()


def _batches(cur, fields, batch_rows: int, make_columns, fetch) -> Iterator[pa.RecordBatch]:
    schema = pa.schema([pa.field(f.name, mysql_field_to_arrow(f)) for f in fields])
    yielded = False
    while True:
        rows = fetch(cur, batch_rows)
        if not rows and yielded:
            break
        arrays = make_columns(rows) if rows else [pa.array([], t) for t in schema.types]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        yielded = True
        if len(rows) < batch_rows:
            break


def iter_mysql_batches(
    conn, sql: str, params=None, *, batch_rows: int = 65_536, packed: bool = True
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of at most ``batch_rows`` rows.

    Args:
        conn: an open pymysql connection (its value converters are switched off while the query
            starts, so values arrive as exact text; see the module docstring).
        sql: the query; values go in ``params`` with ``%s`` placeholders, bound by the driver.
        batch_rows: rows per batch.
        packed: let the server pack each row into one value (:mod:`mysql_packed`, several times
            faster); queries that cannot be wrapped fall back to the plain path by themselves.

    At least one batch is always yielded, so an empty result still carries its schema.
    """
    import pymysql.cursors

    derived = _derived(sql) if packed else sql
    fields = _describe(conn, derived, params) if packed else None
    cur = conn.cursor(pymysql.cursors.SSCursor)
    finished = False
    decoders = conn.decoders
    try:
        conn.decoders = {}  # read by pymysql once, when the result's columns are described
        try:
            cur.execute(packed_select(derived, fields) if fields else sql, params)
        finally:
            conn.decoders = decoders
        packed_query = fields is not None
        if fields is None:
            fields = cur._result.fields if cur._result is not None else []
            if not fields:
                raise ValueError(
                    "The statement returned no result set; use execute() for statements without rows."
                )
            types = [mysql_field_to_arrow(f) for f in fields]

            def make_columns(rows):
                columns = list(zip(*rows, strict=True))
                return [
                    _bit_column(list(col)) if f.type_code == 16 else _column(list(col), t)
                    for col, t, f in zip(columns, types, fields, strict=True)
                ]
        else:
            types = [mysql_field_to_arrow(f) for f in fields]

            def make_columns(rows):
                return decode_packed_rows(rows, fields, lambda text, i: _from_text(text, types[i]))

        fetch = read_packed_rows if packed_query else lambda c, n: c.fetchmany(n)
        yield from _batches(cur, fields, batch_rows, make_columns, fetch)
        finished = True
    finally:
        if finished:
            cur.close()
        # else: the caller stopped early or failed; closing an unbuffered cursor would read the rest of
        # the result, so the connection (closed by the caller) ends the query instead.
