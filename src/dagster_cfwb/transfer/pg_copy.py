"""Binary COPY of Arrow record batches into PostgreSQL.

Batches are encoded to PostgreSQL's binary COPY format by `pgpq` (vectorised, in Rust) on a
background thread while the calling thread streams the previous chunk to the server, so encoding
and network/server work overlap on two cores. Memory stays bounded by `queue_depth` chunks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

import pyarrow as pa

from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier

__all__ = ["copy_batches_binary"]

_DONE = object()


def _encoder_for(schema: pa.Schema):
    try:
        import pgpq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Binary COPY needs pgpq: pip install 'dagster-cfwb[postgres]'") from e
    return pgpq.ArrowToPostgresBinaryEncoder(schema)


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
            `dagster_cfwb.transfer.pg_types.arrow_to_pg_type` (binary COPY is exact).
        schema: Arrow schema of every batch.
        batches: record batches, consumed once.
        queue_depth: encoded chunks buffered between the encoder thread and the sender.
        on_batch: called with the cumulative row count after each batch is sent (progress).

    Returns:
        The number of rows copied.
    """
    encoder = _encoder_for(schema)
    columns = ", ".join(quote_identifier(f.name, what="column") for f in schema)
    sql = f"COPY {table.quoted()} ({columns}) FROM STDIN (FORMAT binary)"  # noqa: S608 - quoted identifiers
    chunks: queue.Queue = queue.Queue(maxsize=queue_depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            chunks.put((encoder.write_header(), 0))
            for batch in batches:
                if stop.is_set():
                    return
                chunks.put((encoder.write_batch(batch), batch.num_rows))
            chunks.put((encoder.finish(), 0))
        except BaseException as e:  # handed to the consumer, re-raised there
            failure.append(e)
        finally:
            chunks.put(_DONE)

    rows = 0
    worker = threading.Thread(target=produce, name="cfwb-pg-encoder", daemon=True)
    with cursor.copy(sql) as copy:
        worker.start()
        try:
            while True:
                item = chunks.get()
                if item is _DONE:
                    break
                data, n = item
                copy.write(data)
                if n:
                    rows += n
                    if on_batch is not None:
                        on_batch(rows)
            if failure:
                raise failure[0]
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                try:
                    chunks.get_nowait()
                except queue.Empty:
                    worker.join(0.05)
    return rows
