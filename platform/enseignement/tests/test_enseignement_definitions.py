"""The `enseignement` code location loads, and its pipeline runs stg → slv → gld on a temporary lakehouse."""

import sys
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from enseignement.definitions import defs

from dagster_cfwb.io_managers import LakehouseIOManager
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource


def test_definitions_load():
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    assert {s.name for s in definitions.schedules} >= {"enseignement_etablissements_daily"}
    assert {s.name for s in definitions.sensors} >= {"enseignement_new_files_on_share"}


def test_lakehouse_layers(tmp_path):
    lakehouse = LocalLakehouseResource(root=str(tmp_path))
    layers = [
        ["enseignement", layer, table]
        for layer, table in [
            ("stg", "etablissements"),
            ("slv", "etablissements"),
            ("gld", "etablissements_par_commune"),
        ]
    ]
    definitions = defs()
    result = dg.materialize(
        definitions.assets,
        selection=dg.AssetSelection.assets(*layers),
        resources={**definitions.resources, "lakehouse": lakehouse, "azure_adls": lakehouse},
    )
    assert result.success
    assert lakehouse.read_table("enseignement/slv/etablissements.parquet").height == 240  # duplicates removed


def test_inscriptions_go_through_the_lakehouse_io_manager(tmp_path):
    """A two-day backfill in one run writes one file per day; the gold asset reads them as one frame."""
    lakehouse = LocalLakehouseResource(root=str(tmp_path))
    definitions = defs()
    resources = {
        **definitions.resources,
        "lakehouse": lakehouse,
        "azure_adls": lakehouse,
        "lakehouse_io_manager": LakehouseIOManager(lakehouse=lakehouse, code_location="enseignement"),
    }
    stg, gld = ["enseignement", "stg", "inscriptions"], ["enseignement", "gld", "inscriptions_par_niveau"]
    range_tags = {
        "dagster/asset_partition_range_start": "2026-01-01",
        "dagster/asset_partition_range_end": "2026-01-02",
    }
    assert dg.materialize(
        definitions.assets, selection=dg.AssetSelection.assets(stg), resources=resources, tags=range_tags
    ).success
    assert [f.path for f in lakehouse.list("enseignement/stg/inscriptions/")] == [
        "enseignement/stg/inscriptions/2026-01-01.parquet",
        "enseignement/stg/inscriptions/2026-01-02.parquet",
    ]
    result = dg.materialize(definitions.assets, selection=dg.AssetSelection.assets(gld), resources=resources)
    assert result.success
    summary = lakehouse.read_table("enseignement/gld/inscriptions_par_niveau.parquet")
    assert summary["niveau"].to_list() == ["P1", "P6", "S1", "S6"]
    assert summary["nb_inscrits"].sum() > 0 and summary["nb_jours"].to_list() == [2, 2, 2, 2]
