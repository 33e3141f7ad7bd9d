"""Read the next Arrow batches on a background thread while the caller works on the current one.

A PostgreSQL extract has two halves that each keep a core busy: the ADBC driver decoding the
server's binary COPY stream into Arrow, and whatever consumes the batches (the Parquet encoder of
`extract_to_lakehouse`). Both release Python's GIL, so running the reader on its own thread lets
them overlap on two cores. Memory grows by at most `depth` batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1


def read_ahead(make: Callable[[], Iterator[T]], *, depth: int = 2) -> Iterator[T]:
    """Yield the items of `make()`, produced on a background thread up to `depth` items ahead.

    `make` is called on the background thread, so a generator's setup and clean-up (opening and
    closing its connection) happen there. An exception raised by the producer is re-raised here,
    after the items produced before it. When the caller stops early (closes this generator), the
    producer is stopped after its current item and its generator closed before this one returns.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = None
        try:
            source = make()
            for item in source:
                if not put(item):
                    return
        except BaseException as e:  # handed to the consumer, re-raised there
            failure.append(e)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException as e:  # pragma: no cover - a failing clean-up
                    failure.append(e)
            put(_DONE)

    worker = threading.Thread(target=produce, name="cfwb-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join()
