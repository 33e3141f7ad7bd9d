"""Stream a MySQL/MariaDB query result as Arrow record batches with bounded memory.

Rows come through an unbuffered server-side cursor (pymysql `SSCursor`): the server sends
them as the client reads, so memory holds one batch at a time. The row packets are read straight
from the wire (`mysql_wire`), so each value stays its exact text (`123.45`,
`2024-05-01 12:00:00.000001`, `-838:59:59`) and is converted to its Arrow type column-wise by
Arrow's compute kernels — no Python `Decimal`/`datetime` per value. Types follow
`mysql_result_types.mysql_field_to_arrow`; a column no reader can give exactly is refused
before the query's first batch, and a value that is no real date (`0000-00-00`) fails the batch
holding it, naming the column and the cast to use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.mysql.result_types import (
    is_date_code,
    mysql_result_schema,
    mysql_type_name,
    text_protocol_refusal,
    unreadable_date_error,
)
from dagster_cfwb.transfer.mysql.wire import read_columns

__all__ = ["iter_mysql_batches"]

_MICROS = pa.scalar(1_000_000, pa.decimal128(7, 0))


def _duration_column(text: pa.Array) -> pa.Array:
    """`[-]HHH:MM:SS[.ffffff]` (MariaDB TIME, −838:59:59 to 838:59:59) as duration[us], column-wise."""
    negative = pc.starts_with(text, "-")
    parts = pc.split_pattern(pc.utf8_ltrim(text, "-"), ":")
    hours = pc.list_element(parts, 0).cast(pa.int64())
    minutes = pc.list_element(parts, 1).cast(pa.int64())
    micros = pc.multiply(pc.list_element(parts, 2).cast(pa.decimal128(8, 6)), _MICROS).cast(pa.int64())
    total = pc.add(pc.multiply(pc.add(pc.multiply(hours, 60), minutes), 60_000_000), micros)
    return pc.if_else(negative, pc.negate(total), total).cast(pa.duration("us"))


def _bits_column(raw: pa.Array, target: pa.DataType) -> pa.Array:
    """BIT(n) values (big-endian bytes) as uint64, or bool for BIT(1)."""
    values = pa.array([None if v is None else int.from_bytes(v, "big") for v in raw.to_pylist()], pa.uint64())
    return values.cast(target) if values.type != target else values


def _parses(value: str, target: pa.DataType) -> bool:
    try:
        pa.array([value]).cast(target)
    except pa.ArrowInvalid:
        return False
    return True


def _date_column(text: pa.Array, field, target: pa.DataType) -> pa.Array:
    """DATE/DATETIME/TIMESTAMP text as `target`; a zero or invalid date is refused, naming it."""
    naive = pa.timestamp("us") if pa.types.is_timestamp(target) else target
    try:
        values = text.cast(naive)
    except pa.ArrowInvalid as e:
        bad = next(v for v in text.to_pylist() if v is not None and not _parses(v, naive))
        raise unreadable_date_error(field.name, mysql_type_name(field), bad) from e
    return values if naive == target else values.cast(target)


def _convert(raw: pa.Array, field, target: pa.DataType) -> pa.Array:
    """One column of raw values (server text, or bytes) as `target`."""
    if field.type_code == 16:
        return _bits_column(raw, target)
    if pa.types.is_binary(target):
        return raw.cast(pa.binary())
    text = raw.cast(pa.large_string()).cast(pa.string())
    if pa.types.is_string(target):
        return text
    if is_date_code(field.type_code):
        return _date_column(text, field, target)
    try:
        if pa.types.is_duration(target):
            return _duration_column(text)
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ValueError(
            f"Column `{field.name}` ({mysql_type_name(field)}): a value could not be read as {target} "
            f"({e}). Select `CAST({field.name} AS CHAR)` to read the server's text."
        ) from e


def iter_mysql_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of `sql` as record batches of at most `batch_rows` rows.

    Args:
        conn: an open pymysql connection.
        sql: the query; values go in `params` with `%s` placeholders, bound by the driver.
        batch_rows: rows per batch.

    At least one batch is always yielded, so an empty result still carries its schema.

    Raises:
        UnsupportedTypeError: a result column no reader gives exactly (FLOAT, spatial), or a DOUBLE
            with fixed decimals this reader gets rounded, before any batch, naming the column and the
            cast to use.
        ValueError: a zero or invalid date, naming the column and the cast to use (the batch that
            holds it is not yielded).
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
        schema = mysql_result_schema(fields)
        refusal = text_protocol_refusal(fields)
        if refusal is not None:
            raise refusal
        yielded = False
        while True:
            columns = read_columns(cur, batch_rows, len(fields))
            if columns is None:
                if yielded:
                    break
                columns = [pa.array([], pa.large_binary()) for _ in fields]
            n = len(columns[0])
            arrays = [_convert(col, f, t) for col, f, t in zip(columns, fields, schema.types, strict=True)]
            yield record_batch(arrays, schema)
            yielded = True
            if n < batch_rows:
                break
        finished = True
    finally:
        if finished:
            cur.close()
        elif cur._result is not None:
            # The caller stopped early, or a column was refused: closing an unbuffered cursor would read
            # the rest of the result, so the connection (closed by the caller) ends the query instead,
            # and pymysql must not try to drain it when the result is garbage-collected.
            cur._result.unbuffered_active = False
