"""The benchmark's correctness check (bench/checks.py) tells a changed value from a changed type or order."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _data import mixed_table
from checks import checksum, verdict

SOURCE = mixed_table(2_000)
REFERENCE = checksum(SOURCE, {})


def test_same_rows_in_another_order_pass():
    shuffled = SOURCE.take(pa.array(range(SOURCE.num_rows - 1, -1, -1)))
    assert verdict(checksum(shuffled, {}), REFERENCE) == "✓"


def test_another_integer_width_or_timestamp_unit_passes_and_is_named():
    wider = SOURCE.set_column(2, "qty", SOURCE.column("qty").cast(pa.int64()))
    wider = wider.set_column(6, "created_at", wider.column("created_at").cast(pa.timestamp("ns")))
    assert verdict(checksum(wider, {}), REFERENCE) == (
        "✓ (types: qty INTEGER→BIGINT, created_at TIMESTAMP→TIMESTAMP_NS)"
    )


def test_one_changed_value_fails_and_names_the_column():
    amounts = SOURCE.column("amount").to_pylist()
    amounts[7] = float(f"{amounts[7]:.6g}")  # a float through short text
    changed = SOURCE.set_column(1, "amount", pa.array(amounts))
    assert verdict(checksum(changed, {}), REFERENCE) == "✗ values differ: `amount` (DOUBLE)"


def test_values_swapped_between_rows_fail_the_whole_row_sum():
    codes = SOURCE.column("code").to_pylist()
    codes[0], codes[1] = codes[1], codes[0]
    swapped = SOURCE.set_column(3, "code", pa.array(codes))
    assert verdict(checksum(swapped, {}), REFERENCE) == "✗ values differ: rows mixed"


def test_a_missing_row_or_column_fails():
    assert verdict(checksum(SOURCE.slice(1), {}), REFERENCE) == "✗ 1,999 rows, expected 2,000"
    assert (
        verdict(checksum(SOURCE.drop_columns(["day"]), {}), REFERENCE) == "✗ values differ: `day` (missing)"
    )


def test_added_columns_are_ignored_when_the_source_columns_are_named():
    extra = SOURCE.append_column("_dlt_load_id", pc.cast(pa.array([1] * SOURCE.num_rows), pa.string()))
    assert verdict(checksum(extra, {"columns": SOURCE.column_names}), REFERENCE) == "✓"
