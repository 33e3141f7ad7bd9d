"""Fetch the next pages on a background thread while the caller converts the current one.

Network waits release the GIL, so while one page's records are typed and written to Parquet, the
next page is already being downloaded and parsed. At most `depth` pages wait in the queue, so
memory stays bounded; an error on either side stops both and is raised to the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(make_iterator: Callable[[], Iterator[T]], depth: int = 2) -> Iterator[T]:
    """Yield the items of `make_iterator()`, produced on a background thread `depth` items ahead.

    The iterator is created, consumed and closed on that thread (so a client it opens is also
    closed there). If the caller stops early, the producer is told to stop and is joined.
    """
    items: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = None
        try:
            iterator = make_iterator()  # inside the try: if it fails, the caller gets the error
            for item in iterator:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failure(e))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="cfwb-page-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)
