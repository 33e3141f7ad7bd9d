"""Run a producer on a background thread, a bounded number of items ahead of the caller.

The one producer/consumer helper of the package: REST pages are downloaded while the previous
page is typed, PostgreSQL COPY chunks are encoded while the previous one is sent, MySQL LOAD DATA
files are written while the server loads the previous one. Work that waits on the network or runs
in native code releases the GIL, so both sides progress on two cores. At most `depth` items wait
in the queue, so memory stays bounded; an error on either side stops both and is raised to the
caller, after the items produced before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(
    make_iterator: Callable[[], Iterator[T]],
    depth: int = 2,
    *,
    name: str = "cfwb-prefetch",
    discard: Callable[[T], None] | None = None,
) -> Generator[T, None, None]:
    """Yield the items of `make_iterator()`, produced on a background thread `depth` items ahead.

    The iterator is created, consumed and closed on that thread (so a client it opens is also
    closed there). When the caller stops early (breaks, raises, or closes this generator), the
    producer is told to stop, the items it made that nobody will take are handed to `discard`
    (e.g. to delete a temporary file), and the thread is joined. Close this generator explicitly
    (`contextlib.closing`) where a consumer error must stop the producer at once.

    Args:
        make_iterator: called once, on the background thread.
        depth: items waiting in the queue at most (at least 1).
        name: the thread's name (shown in thread dumps and profilers).
        discard: called (on either thread) with each produced item that is never yielded.

    Example:
        >>> list(prefetch(lambda: iter(range(3))))
        [0, 1, 2]
    """
    items: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_SECONDS)
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
                    _discard(item)
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failure(e))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _discard(item) -> None:
        if discard is not None and item is not _DONE and not isinstance(item, _Failure):
            discard(item)

    thread = threading.Thread(target=produce, name=name, daemon=True)
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
        while True:  # what was produced but never taken
            try:
                _discard(items.get_nowait())
            except queue.Empty:
                break
