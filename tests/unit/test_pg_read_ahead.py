"""`read_ahead`: the items in order, the producer's error after its items, an early stop closes the producer."""

from __future__ import annotations

import threading

import pytest

from dagster_cfwb.transfer.postgres.read_ahead import read_ahead


def test_items_arrive_in_order_and_are_made_on_another_thread():
    threads = []

    def make():
        threads.append(threading.current_thread())
        yield from range(50)

    assert list(read_ahead(make, depth=3)) == list(range(50))
    assert threads and threads[0] is not threading.current_thread()


def test_producer_error_is_raised_after_its_items():
    def make():
        yield 1
        yield 2
        raise ValueError("column `x` holds `NaN`")

    got = []
    with pytest.raises(ValueError, match="NaN"):
        for item in read_ahead(make):
            got.append(item)
    assert got == [1, 2]


def test_early_stop_closes_the_producer_before_returning():
    closed = threading.Event()

    def make():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()  # the reader's connection would be closed here

    stream = read_ahead(make, depth=2)
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()
