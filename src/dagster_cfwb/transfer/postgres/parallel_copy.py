"""Binary COPY over several connections at once, for large `replace` loads.

One COPY stream keeps one server process busy; PostgreSQL parses and inserts each stream on its
own backend, so N streams into the same (committed, not yet visible to users) staging table use N
server cores. Each worker connection pulls the next batch from the shared iterator, encodes it
with pgpq and sends it; memory holds at most one batch per worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier
from dagster_cfwb.transfer.postgres.copy import encoder_for, to_wire, wire_schema

__all__ = ["parallel_copy_binary"]


class _SharedBatches:
    """A thread-safe view of one batch iterator, stopped for everyone when a worker fails."""

    def __init__(self, batches: Iterable[pa.RecordBatch]):
        self._iterator: Iterator[pa.RecordBatch] = iter(batches)
        self._lock = threading.Lock()
        self.stopped = False

    def next(self) -> pa.RecordBatch | None:
        with self._lock:
            if self.stopped:
                return None
            return next(self._iterator, None)


def parallel_copy_binary(
    connect: Callable[[], Any],
    table: QualifiedName,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    streams: int = 2,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """COPY `batches` into `table` over `streams` new connections; each commits its share.

    The caller must make the result atomic for readers (`table` is a staging table that is only
    swapped in once every stream has committed, and dropped if any stream fails).

    Returns:
        The number of rows copied. Raises the first worker error after stopping the others.
    """
    shared = _SharedBatches(batches)
    wire = wire_schema(schema)
    columns = ", ".join(quote_identifier(f.name, what="column") for f in schema)
    sql = f"COPY {table.quoted()} ({columns}) FROM STDIN (FORMAT binary)"  # quoted identifiers
    counts = [0] * streams
    errors: list[BaseException] = []
    progress_lock = threading.Lock()
    total = [0]

    def work(slot: int) -> None:
        try:
            conn = connect()
            try:
                encoder = encoder_for(wire)
                with conn.cursor() as cur, cur.copy(sql) as copy:
                    copy.write(encoder.write_header())
                    while (batch := shared.next()) is not None:
                        copy.write(encoder.write_batch(to_wire(batch, wire)))
                        counts[slot] += batch.num_rows
                        if on_batch is not None:
                            with progress_lock:
                                total[0] += batch.num_rows
                                on_batch(total[0])
                    copy.write(encoder.finish())
                    if shared.stopped:
                        raise RuntimeError("stopped because another COPY stream failed")
                conn.commit()
            finally:
                conn.close()
        except BaseException as e:
            shared.stopped = True
            errors.append(e)

    workers = [threading.Thread(target=work, args=(i,), name=f"cfwb-pg-copy-{i}") for i in range(streams)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        real = [e for e in errors if "another COPY stream failed" not in str(e)]
        raise (real or errors)[0]
    return sum(counts)
