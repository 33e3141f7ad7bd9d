"""The lakehouse IO manager's rules without Dagster runs: where an asset goes, partition values, types."""

import datetime as dt
import typing

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.io_managers import LakehouseIOManager, asset_table
from dagster_cfwb.io_managers.asset_tables import partition_file_name
from dagster_cfwb.io_managers.frame_kinds import frame_kind_for_annotation
from dagster_cfwb.io_managers.partition_columns import partition_value, split_by_partition


@pytest.mark.parametrize(
    ("key", "location", "layer", "path"),
    [
        (["enseignement", "slv", "eleves"], None, None, "enseignement/slv/eleves"),
        (["enseignement", "slv", "eleves"], "autre", "slv", "enseignement/slv/eleves"),  # the key wins
        (["slv", "eleves"], "demo", None, "demo/slv/eleves"),
        (["slv_eleves"], "demo", None, "demo/slv/eleves"),
        (["eleves"], "demo", "gld", "demo/gld/eleves"),
        (["gld_eleves"], "demo", "gld", "demo/gld/eleves"),
        (["culture", "eleves"], None, "stg", "culture/stg/eleves"),
    ],
)
def test_where_an_asset_goes(key, location, layer, path):
    assert asset_table(key, code_location=location, layer=layer).path == path


@pytest.mark.parametrize(
    ("key", "location", "layer", "words"),
    [
        (["a", "raw", "t"], None, None, "`raw`, is not a lakehouse layer"),
        (["a", "slv", "t"], None, "gld", "says layer `slv` but its tag `cfwb/layer` says `gld`"),
        (["t"], "demo", None, "gives no layer"),
        (["slv", "t"], None, None, "no code location"),
        (["a", "b", "c", "d"], None, None, "4 parts"),
        (["demo", "stg", "t-1"], None, None, "t-1"),
        (["t"], "demo", "bronze", "`bronze`"),
    ],
)
def test_unclear_keys_are_refused_with_the_asset_name(key, location, layer, words):
    with pytest.raises(ValueError, match="(?i)asset `") as err:
        asset_table(key, code_location=location, layer=layer)
    assert words in str(err.value)


def test_partition_file_names_are_safe():
    assert partition_file_name("2026-01-31") == "2026-01-31.parquet"
    assert partition_file_name("a|b/c") == "a%7Cb%2Fc.parquet"


def test_partition_values_follow_the_column_type():
    start = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    assert partition_value("2026-01-02", start, pa.date32(), where="c") == dt.date(2026, 1, 2)
    assert partition_value("2026-01-02", start, pa.timestamp("us", "UTC"), where="c") == start
    assert partition_value("2026-01-02", start, pa.string(), where="c") == "2026-01-02"
    assert partition_value("42", None, pa.int32(), where="c") == 42
    with pytest.raises(TypeError, match="timestamp column"):
        partition_value("k", dt.datetime(2026, 1, 2, 5, tzinfo=dt.UTC), pa.date32(), where="c")
    with pytest.raises(TypeError, match="text"):
        partition_value("nord", None, pa.int64(), where="c")


def test_rows_of_no_partition_of_the_run_are_refused():
    table = pa.table({"jour": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2), None], pa.date32())})
    with pytest.raises(ValueError, match="2 rows whose `jour` is of no partition"):
        split_by_partition(table, "jour", {"2026-01-01": dt.date(2026, 1, 1)}, asset="a")
    parts = split_by_partition(
        table.slice(0, 2), "jour", {"d1": dt.date(2026, 1, 1), "d2": dt.date(2026, 1, 2)}, asset="a"
    )
    assert {k: v.num_rows for k, v in parts.items()} == {"d1": 1, "d2": 1}


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        (None, "polars"),
        (typing.Any, "polars"),
        (pl.DataFrame, "polars"),
        (pl.LazyFrame, "lazy"),
        (pd.DataFrame, "pandas"),
        (pa.Table, "arrow"),
        (pa.Table | None, "arrow"),
        (typing.Optional[pd.DataFrame], "pandas"),  # noqa: UP045 - the older spelling still works
    ],
)
def test_the_input_annotation_chooses_the_frame(annotation, kind):
    assert frame_kind_for_annotation(annotation, asset="a", input_name="i") == kind


def test_an_unknown_annotation_is_refused_naming_input_and_asset():
    with pytest.raises(TypeError, match=r"Input `eleves` \(asset `x/stg/eleves`\) is annotated `dict`"):
        frame_kind_for_annotation(dict, asset="x/stg/eleves", input_name="eleves")


def test_every_field_but_the_resource_is_described_and_format_is_checked():
    fields = LakehouseIOManager.model_fields
    assert all(f.description for name, f in fields.items() if name != "lakehouse")
    assert "Example" in LakehouseIOManager.__doc__
    from dagster_cfwb.resources.lakehouse import LocalLakehouseResource

    with pytest.raises(Exception, match="expected `parquet`, `delta`"):
        LakehouseIOManager(lakehouse=LocalLakehouseResource(), format="csv")
