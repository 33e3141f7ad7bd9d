"""The PostgreSQL read plan without a server: SQL wrapping, exactness steps and refusals."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.postgres.read_plan import (
    UnrepresentableValueError,
    arrow_schema,
    finish_batch,
    plan_column,
    wrapped_sql,
)

NUMERIC_10_2 = ((10 << 16) | 2) + 4  # the type modifier PostgreSQL gives numeric(10,2)


def test_common_types_are_read_as_they_are_without_wrapping():
    plan = [
        plan_column("id", 23, -1, "integer"),
        plan_column("name", 25, -1, "text"),
        plan_column("at", 1184, -1, "timestamp with time zone"),
    ]
    assert wrapped_sql("SELECT id, name, at FROM t", plan, "adbc") == "SELECT id, name, at FROM t"


def test_wrapping_renames_by_position_and_quotes_the_names():
    plan = [plan_column('a "b"', 869, -1, "inet"), plan_column('a "b"', 1186, -1, "interval")]
    sql = wrapped_sql("SELECT x, y FROM t", plan, "adbc")
    assert sql == (
        'SELECT abbrev(q."1") AS "a ""b""", q."2"::text AS "a ""b""" FROM (SELECT x, y FROM t\n) AS q("1", "2")'
    )


def test_numeric_with_precision_is_a_decimal_and_nan_is_refused_by_name():
    plan = [plan_column("amount", 1700, NUMERIC_10_2, "numeric(10,2)")]
    schema = arrow_schema(plan)
    assert schema.field("amount").type == pa.decimal128(10, 2)
    batch = pa.record_batch([pa.array(["12.50", None])], names=["amount"])
    assert finish_batch(plan, batch, schema).column(0).to_pylist() == [Decimal("12.50"), None]
    with pytest.raises(UnrepresentableValueError, match=r"`amount` \(numeric\(10,2\)\) holds `NaN`.*NULLIF"):
        finish_batch(plan, pa.record_batch([pa.array(["1.00", "NaN"])], names=["amount"]), schema)


def test_infinity_dates_and_timestamps_are_refused():
    for oid, name, width in ((1082, "date", pa.int32()), (1114, "timestamp without time zone", pa.int64())):
        plan = [plan_column("d", oid, -1, name)]
        sentinel = -(2**31) if width == pa.int32() else -(2**63)
        batch = pa.record_batch([pa.array([0, sentinel], width)], names=["d"])
        with pytest.raises(UnrepresentableValueError, match="infinity.*isfinite"):
            finish_batch(plan, batch, arrow_schema(plan))


def test_a_flattened_two_dimensional_array_is_reshaped_from_each_rows_width():
    plan = [plan_column("g", 1007, -1, "integer[]", ndims=2)]
    flat = pa.array([[1, 2, 3, 4], None, [], [5, 6, 7], [8, None, 10]], pa.list_(pa.int32())).slice(0)
    batch = pa.record_batch(
        [flat, pa.array([True] * 5), pa.array([2, None, None, 1, 3], pa.int32())],
        names=["g", "__cfwb_check_1", "__cfwb_shape_1"],
    )
    out = finish_batch(plan, batch, arrow_schema(plan)).column(0)
    assert out.to_pylist() == [[[1, 2], [3, 4]], None, [], [[5], [6], [7]], [[8, None, 10]]]
    sliced = pa.record_batch([c.slice(3) for c in batch.columns], names=batch.schema.names)
    assert finish_batch(plan, sliced, arrow_schema(plan)).column(0).to_pylist() == [
        [[5], [6], [7]],
        [[8, None, 10]],
    ]


def test_oid_is_unsigned():
    plan = [plan_column("o", 26, -1, "oid")]
    batch = pa.record_batch([pa.array([-1, 0], pa.int32())], names=["o"])
    assert finish_batch(plan, batch, arrow_schema(plan)).column(0).to_pylist() == [4294967295, 0]
