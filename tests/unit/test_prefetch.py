"""Background page prefetch: order kept, errors raised to the caller, producer stopped on early exit."""

import threading
import time

import pytest

from dagster_cfwb.transfer.prefetch import prefetch


def test_items_in_order_and_closed_on_producer_thread():
    closed_on = []

    def pages():
        try:
            yield from range(10)
        finally:
            closed_on.append(threading.current_thread().name)

    assert list(prefetch(pages, depth=2, name="cfwb-page-prefetch")) == list(range(10))
    assert closed_on == ["cfwb-page-prefetch"]


def test_producer_error_is_raised_after_earlier_items():
    def pages():
        yield 1
        raise ValueError("page 2 is not JSON")

    got = []
    with pytest.raises(ValueError, match="page 2"):
        for item in prefetch(pages):
            got.append(item)
    assert got == [1]


def test_consumer_stopping_early_stops_the_producer():
    produced = []

    def pages():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in prefetch(pages, depth=2, name="cfwb-page-prefetch"):
        if item == 3:
            break
    time.sleep(0.3)
    assert len(produced) <= 3 + 2 + 2  # what was consumed, the queue, and one in hand
    assert not [t for t in threading.enumerate() if t.name == "cfwb-page-prefetch"]


def test_error_creating_the_iterator_is_raised_not_a_hang():
    def make():
        raise ValueError("bad paginator settings")

    outcome: list = []

    def consume():
        try:
            list(prefetch(make))
        except ValueError as e:
            outcome.append(e)

    consumer = threading.Thread(target=consume, daemon=True)  # a hang must not block the test run
    consumer.start()
    consumer.join(timeout=10)
    assert not consumer.is_alive() and "bad paginator" in str(outcome[0])


def test_items_never_taken_are_discarded():
    discarded = []

    def files():
        yield from range(100)

    taken = []
    for item in prefetch(files, depth=3, discard=discarded.append):
        taken.append(item)
        if item == 4:
            break
    assert taken == [0, 1, 2, 3, 4]
    assert sorted(discarded) == list(range(5, 5 + len(discarded)))  # none lost, none twice
    assert 1 <= len(discarded) <= 3 + 1  # the queue, and the one the producer held


def test_early_stop_closes_the_producer_before_returning():
    closed = threading.Event()

    def make():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()  # a reader's connection would be closed here

    stream = prefetch(make, depth=2)
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()
