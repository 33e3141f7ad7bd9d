"""Binary COPY of Arrow record batches into PostgreSQL.

Batches are encoded to PostgreSQL's binary COPY format by `pgpq` (vectorised, in Rust) on a
background thread (`transfer.prefetch`) while the calling thread streams the previous chunk to the
server, so encoding and network/server work overlap on two cores. Memory stays bounded by
`queue_depth` chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing

import pyarrow as pa

from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier
from dagster_cfwb.transfer.prefetch import prefetch

__all__ = ["copy_batches_binary", "encoder_for", "text_carried", "to_wire", "wire_schema"]


def encoder_for(schema: pa.Schema):
    """pgpq's binary COPY encoder for Arrow batches of `schema` (the COPY's wire schema)."""
    try:
        import pgpq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Binary COPY needs pgpq: pip install 'dagster-cfwb[postgres]'") from e
    return pgpq.ArrowToPostgresBinaryEncoder(schema)


def text_carried(schema: pa.Schema) -> list[pa.Field]:
    """Fields sent as text because pgpq has no binary encoder for them (`decimal256`).

    The text is the exact decimal (`"1.50000000000000000000"`); the server casts it to
    `numeric(p,s)`, so the value lands unchanged.
    """
    return [f for f in schema if pa.types.is_decimal256(f.type)]


def _wire_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal256(t):
        return pa.string()
    if pa.types.is_date64(t):
        return pa.date32()  # exact for whole days; other values are refused by the cast
    if pa.types.is_duration(t) and t.unit == "ns":
        return pa.duration("us")  # PostgreSQL's interval keeps microseconds; finer values refused
    return t


def wire_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` as binary COPY sends it: types pgpq cannot encode become exact equivalents.

    `decimal256` → text (see `text_carried`), `date64` → `date32`, nanosecond
    durations → microseconds. A value that would change in the conversion is refused by
    `to_wire`, naming the column.
    """
    return pa.schema([pa.field(f.name, _wire_type(f.type), f.nullable) for f in schema])


def to_wire(batch: pa.RecordBatch, wire: pa.Schema) -> pa.RecordBatch:
    """Cast `batch` to `wire` exactly (decimals become their full text), or raise naming the column."""
    if batch.schema.equals(wire):
        return batch
    columns = []
    for col, f in zip(batch.columns, wire, strict=True):
        try:
            columns.append(col if col.type == f.type else col.cast(f.type, safe=True))
        except pa.ArrowInvalid as e:
            from dagster_cfwb.transfer.postgres.types import UnsupportedTypeError

            raise UnsupportedTypeError(
                f"Column `{f.name}` of type {col.type} holds a value PostgreSQL cannot store exactly as "
                f"{f.type} ({e}). Round it first, e.g. cast to {f.type} in your query."
            ) from e
    return record_batch(columns, wire)


def copy_batches_binary(
    cursor,
    table: QualifiedName,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    queue_depth: int = 4,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Stream `batches` into `table` with `COPY … FROM STDIN (FORMAT binary)`.

    Args:
        cursor: an open psycopg 3 cursor; the caller owns the transaction.
        table: target table, whose columns named like `schema`'s fields must have the types of
            `dagster_cfwb.transfer.postgres.types.arrow_to_pg_type` for `wire_schema`
            (binary COPY is exact; `decimal256` columns arrive as text).
        schema: Arrow schema of every batch.
        batches: record batches, consumed once.
        queue_depth: encoded chunks buffered between the encoder thread and the sender.
        on_batch: called with the cumulative row count after each batch is sent (progress).

    Returns:
        The number of rows copied.
    """
    wire = wire_schema(schema)
    encoder = encoder_for(wire)
    columns = ", ".join(quote_identifier(f.name, what="column") for f in schema)
    sql = f"COPY {table.quoted()} ({columns}) FROM STDIN (FORMAT binary)"  # quoted identifiers

    def encoded():
        yield encoder.write_header(), 0
        for batch in batches:
            yield encoder.write_batch(to_wire(batch, wire)), batch.num_rows
        yield encoder.finish(), 0

    rows = 0
    chunks = prefetch(encoded, queue_depth, name="cfwb-pg-encoder")
    with cursor.copy(sql) as copy, closing(chunks):
        for data, n in chunks:
            copy.write(data)
            if n:
                rows += n
                if on_batch is not None:
                    on_batch(rows)
    return rows
