"""The `enseignement` code location loads, and its pipeline runs stg → slv → gld on a temporary lakehouse."""

import sys
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from enseignement.definitions import defs

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
