"""polars output: the same values, or a refusal naming the column (transfer/polars_types.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.arrow_stream import to_output
from dagster_cfwb.transfer.polars_types import PolarsTypeError


def test_narrow_decimal256_becomes_an_exact_polars_decimal():
    values = [Decimal("123456789012345678.12"), None, Decimal("-0.01")]
    frame = to_output(pa.table({"amount": pa.array(values, pa.decimal256(20, 2))}), "polars")
    assert str(frame.schema["amount"]) == "Decimal(precision=20, scale=2)"
    assert frame["amount"].to_list() == values


def test_wide_decimal256_is_refused_naming_the_column():
    table = pa.table({"big": pa.array([Decimal("1.5")], pa.decimal256(60, 20))})
    with pytest.raises(PolarsTypeError, match=r"`big`.*60 digits.*output=\"arrow\""):
        to_output(table, "polars")
    assert to_output(table, "arrow").column("big").to_pylist() == [Decimal("1.5")]


def test_nested_wide_decimal_is_refused_with_its_path():
    array = pa.array([{"x": Decimal("1")}], pa.struct([("x", pa.decimal256(50, 0))]))
    with pytest.raises(PolarsTypeError, match=r"`s\.x`"):
        to_output(pa.table({"s": array}), "polars")


def test_list_of_narrow_decimal256_is_converted():
    array = pa.array([[Decimal("1.25"), None]], pa.list_(pa.decimal256(10, 2)))
    frame = to_output(pa.table({"l": array}), "polars")
    assert frame["l"].to_list() == [[Decimal("1.25"), None]]


def test_date64_stays_a_date():
    table = pa.table({"d": pa.array([dt.date(2024, 2, 29), None], pa.date64())})
    frame = to_output(table, "polars")
    assert frame["d"].to_list() == [dt.date(2024, 2, 29), None]


def test_month_day_nano_interval_is_refused():
    table = pa.table({"i": pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval())})
    with pytest.raises(PolarsTypeError, match=r"`i`"):
        to_output(table, "polars")
