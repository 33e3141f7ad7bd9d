"""LakehouseIOManager: polars, LazyFrame, pandas and Arrow round trips with daily partitions,
on a local lakehouse folder and on Azurite, metadata included."""

import datetime as dt

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.io_managers import LakehouseIOManager
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
DAILY = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2026-01-04")  # exactly DAYS


@pytest.fixture(params=["local", pytest.param("azure", marks=pytest.mark.azurite)])
def lakehouse(request, tmp_path):
    if request.param == "local":
        return LocalLakehouseResource(root=str(tmp_path / "lake"))
    return request.getfixturevalue("azure_adls")


def day_rows(day: str) -> pa.Table:
    d = dt.date.fromisoformat(day)
    return pa.table(
        {
            "jour": pa.array([d, d], pa.date32()),
            "id": pa.array([d.day * 10 + 1, None], pa.int64()),
            "nom": ["élève 🎓", None],
            "montant": [float("nan"), None] if d.day == 2 else [1.25, -0.0],
            "actif": [True, None],
        }
    )


def as_kind(table: pa.Table, kind: str):
    if kind == "arrow":
        return table
    if kind == "pandas":
        return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t))
    frame = pl.from_arrow(table)
    return frame.lazy() if kind == "lazy" else frame


ANNOTATIONS = {"polars": pl.DataFrame, "lazy": pl.LazyFrame, "pandas": pd.DataFrame, "arrow": pa.Table}


_INSTANCE: list = []


def _instance() -> dg.DagsterInstance:
    """One in-memory instance for the module: a fresh one per run costs ~0.5 s each."""
    if not _INSTANCE:
        _INSTANCE.append(dg.DagsterInstance.ephemeral())
    return _INSTANCE[0]


def _run(assets, io_manager, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, resources={"io_manager": io_manager}, raise_on_error=True, instance=_instance(), **kwargs
    )


def _failure(assets, io_manager, **kwargs) -> str:
    """The error a user sees for the failed step: its type and message, causes included."""
    result = dg.materialize(
        assets, resources={"io_manager": io_manager}, raise_on_error=False, instance=_instance(), **kwargs
    )
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    parts = []
    while error is not None:
        parts.append(f"{error.cls_name}: {error.message}")
        error = error.cause
    return "\n".join(parts)


KINDS = ["polars", "lazy", "pandas", "arrow"]


def _pipeline(kind: str, fmt: str, seen: dict):
    """A daily import returning frames of `kind`, and a downstream asset whose input is annotated `kind`."""
    annotation = ANNOTATIONS[kind]
    stg_key = ["enseignement", "stg", f"inscriptions_{kind}"]

    @dg.asset(key=stg_key, partitions_def=DAILY,
              metadata={"cfwb/partition_column": "jour", "cfwb/format": fmt})  # fmt: skip
    def stg(context: dg.AssetExecutionContext):
        return as_kind(pa.concat_tables([day_rows(k) for k in context.partition_keys]), kind)

    def slv(upstream):
        seen[kind] = type(upstream)
        return upstream

    slv.__annotations__ = {"upstream": annotation, "return": annotation}
    slv_asset = dg.asset(
        key=["enseignement", "slv", f"inscriptions_{kind}"],
        metadata={"cfwb/format": fmt},
        ins={"upstream": dg.AssetIn(key=stg_key)},
    )(slv)
    return stg, slv_asset


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_round_trip_with_daily_partitions(lakehouse, fmt):
    """Each kind of frame: a daily import (one run for day 1, one single-run backfill of days 2-3,
    split per day), then a downstream asset that loads all three days as one frame of its annotated type."""
    seen = {}
    pipelines = [_pipeline(kind, fmt, seen) for kind in KINDS]
    stgs, slvs = [p[0] for p in pipelines], [p[1] for p in pipelines]
    io_manager = LakehouseIOManager(lakehouse=lakehouse)
    on_azure = isinstance(lakehouse, AzureAdlsResource)
    # locally day 1 alone, then days 2-3; on Azurite (slower) all three days in one run, split per day
    first = _run(stgs, io_manager, partition_key=DAYS[0]) if not on_azure else None
    backfill = _run(stgs, io_manager, tags={
        "dagster/asset_partition_range_start": DAYS[1 if not on_azure else 0],
        "dagster/asset_partition_range_end": DAYS[2]})  # fmt: skip
    result = _run([*stgs, *slvs], io_manager, selection=slvs)

    expected = str(pa.concat_tables([day_rows(d) for d in DAYS]).to_pylist())  # str: NaN == NaN, -0.0 kept
    for kind in KINDS:
        assert issubclass(seen[kind], ANNOTATIONS[kind]), (kind, seen[kind])
        stored = f"enseignement/slv/inscriptions_{kind}" + (".parquet" if fmt == "parquet" else "")
        assert str(lakehouse.read_table(stored, output="arrow").to_pylist()) == expected, kind
        meta = (
            (first or backfill)
            .asset_materializations_for_node(f"enseignement__stg__inscriptions_{kind}")[0]
            .metadata
        )
        assert meta["dagster/row_count"].value == (2 if first else 6)
        columns = meta["dagster/column_schema"].schema.columns
        assert [c.name for c in columns] == ["jour", "id", "nom", "montant", "actif"]
        assert [c.type for c in columns][:2] == ["date32[day]", "int64"]
        path = meta["lakehouse_path"].value
        assert path.startswith("azure://" if isinstance(lakehouse, AzureAdlsResource) else "/")
        slv_meta = result.asset_materializations_for_node(f"enseignement__slv__inscriptions_{kind}")[
            0
        ].metadata
        assert slv_meta["dagster/row_count"].value == 6
        assert slv_meta["dagster/table_name"].value == f"enseignement/slv/inscriptions_{kind}"
        if fmt == "parquet":
            shown = "2026-01-01.parquet" if first else "*.parquet"
            assert path.endswith(f"enseignement/stg/inscriptions_{kind}/{shown}")
            assert [f.path for f in lakehouse.list(f"enseignement/stg/inscriptions_{kind}/")] == [
                f"enseignement/stg/inscriptions_{kind}/{d}.parquet" for d in DAYS
            ]
        else:
            assert path.endswith(f"enseignement/stg/inscriptions_{kind}")
            assert meta["delta_version"].value == (0 if first else 2) and slv_meta["delta_version"].value == 0
            history = lakehouse.table_history(f"enseignement/stg/inscriptions_{kind}")
            assert [h["version"] for h in history] == [2, 1, 0]  # day 1, then one commit per backfilled day


def test_partition_range_is_loaded_as_one_frame_and_partitions_are_rewritten_alone(local_lakehouse):
    @dg.asset(key=["culture", "stg", "visites"], partitions_def=DAILY)
    def stg_visites(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return pl.from_arrow(day_rows(context.partition_key))

    @dg.asset(
        key=["culture", "gld", "visites"],
        partitions_def=DAILY,
        ins={"stg_visites": dg.AssetIn(key=["culture", "stg", "visites"],
             partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))},
    )  # fmt: skip
    def gld_visites(stg_visites) -> pl.DataFrame:  # no annotation on the input: polars
        assert isinstance(stg_visites, pl.DataFrame)
        return stg_visites.group_by("jour", maintain_order=True).len()

    io_manager = LakehouseIOManager(lakehouse=local_lakehouse)
    for day in DAYS[:2]:
        _run([stg_visites], io_manager, partition_key=day)
    before = (local_lakehouse.list("culture/stg/visites/"))[0].modified
    _run([stg_visites, gld_visites], io_manager, selection=[gld_visites], partition_key=DAYS[1])
    assert local_lakehouse.list("culture/stg/visites/")[0].modified == before  # day 1 untouched
    back = local_lakehouse.read_table("culture/gld/visites/2026-01-02.parquet")
    assert back.rows() == [(dt.date(2026, 1, 1), 2), (dt.date(2026, 1, 2), 2)]

    # day 3's upstream is missing: plain error naming the asset and the partition
    message = _failure([stg_visites, gld_visites], io_manager, selection=[gld_visites], partition_key=DAYS[2])
    assert "FileNotFoundError: Asset `culture/stg/visites`: 1 of the 2 partitions" in message
    assert "`2026-01-03`" in message


def test_none_writes_nothing_and_wrong_types_are_refused_with_the_asset_name(local_lakehouse):
    @dg.asset(key=["x", "stg", "rien"])
    def rien():
        return None

    @dg.asset(key=["x", "stg", "liste"])
    def liste():
        return [1, 2]

    @dg.asset(key=["x", "stg", "duree"])
    def duree() -> pa.Table:
        return pa.table({"d": pa.array([1], pa.duration("s"))})

    @dg.asset(key=["x", "stg", "indexe"])
    def indexe() -> pd.DataFrame:
        return pd.DataFrame({"a": [1]}, index=pd.Index(["k"], name="cle"))

    io_manager = LakehouseIOManager(lakehouse=local_lakehouse)
    assert _run([rien], io_manager).success
    assert local_lakehouse.list("x/") == []
    for asset, words in [
        (liste, ["TypeError: Asset `x/stg/liste`", "builtins.list", "polars DataFrame"]),
        (duree, ["TypeError: Asset `x/stg/duree`", "`d`", "duration"]),
        (indexe, ["ValueError: Asset `x/stg/indexe`", "reset_index"]),
    ]:
        message = _failure([asset], io_manager)
        assert all(w in message for w in words), message
    assert local_lakehouse.list("x/") == []


def test_code_location_and_layer_from_config_and_tags(local_lakehouse):
    @dg.asset(tags={"cfwb/layer": "gld"})
    def resume() -> pl.DataFrame:
        return pl.DataFrame({"a": [1]})

    @dg.asset
    def stg_example() -> pl.DataFrame:
        return pl.DataFrame({"a": [2]})

    @dg.asset(key=["slv", "propre"])
    def propre(resume: pa.Table, stg_example: pd.DataFrame) -> pa.Table:
        return pa.concat_tables([resume, pa.Table.from_pandas(stg_example, preserve_index=False)])

    _run([resume, stg_example, propre], LakehouseIOManager(lakehouse=local_lakehouse, code_location="demo"))
    assert [f.path for f in local_lakehouse.list("demo/")] == [
        "demo/gld/resume.parquet",
        "demo/slv/propre.parquet",
        "demo/stg/example.parquet",
    ]
    message = _failure([resume], LakehouseIOManager(lakehouse=local_lakehouse))
    assert "ValueError: Asset `resume`: its key gives no code location" in message


def test_delta_needs_a_partition_column_and_one_folder_holds_one_format(local_lakehouse):
    @dg.asset(key=["x", "stg", "jours"], partitions_def=DAILY, metadata={"cfwb/format": "delta"})
    def sans_colonne(context: dg.AssetExecutionContext) -> pa.Table:
        return day_rows(context.partition_key)

    @dg.asset(key=["x", "stg", "jours"], partitions_def=DAILY)
    def en_parquet(context: dg.AssetExecutionContext) -> pa.Table:
        return day_rows(context.partition_key)

    @dg.asset(key=["x", "stg", "jours"], partitions_def=DAILY,
              metadata={"cfwb/format": "delta", "cfwb/partition_column": "jour"})  # fmt: skip
    def en_delta(context: dg.AssetExecutionContext) -> pa.Table:
        return day_rows(context.partition_key)

    io_manager = LakehouseIOManager(lakehouse=local_lakehouse)
    message = _failure([sans_colonne], io_manager, partition_key=DAYS[0])
    assert "ValueError: Asset `x/stg/jours` is partitioned and stored as Delta" in message
    assert "cfwb/partition_column" in message
    _run([en_parquet], io_manager, partition_key=DAYS[0])
    message = _failure([en_delta], io_manager, partition_key=DAYS[1])
    assert "Cannot create Delta table `x/stg/jours`" in message and "2026-01-01.parquet" in message
    assert not local_lakehouse.is_delta_table("x/stg/jours")
