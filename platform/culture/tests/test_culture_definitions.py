"""The `culture` code location loads, and its pipeline runs stg → slv → gld on a temporary lakehouse."""

import sys
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from culture.definitions import defs

from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource


def test_definitions_load():
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    assert {s.name for s in definitions.schedules} == {"culture_lieux_weekly"}


def test_lakehouse_layers(tmp_path):
    lakehouse = LocalLakehouseResource(root=str(tmp_path))
    definitions = defs()
    result = dg.materialize(
        definitions.assets,
        resources={**definitions.resources, "lakehouse": lakehouse, "azure_adls": lakehouse},
    )
    assert result.success
    assert lakehouse.read_table("culture/gld/lieux_par_commune.parquet").height > 0
