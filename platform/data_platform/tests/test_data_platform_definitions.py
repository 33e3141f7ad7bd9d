"""The `data_platform` code location loads with its dbt models (the manifest must have been built)."""

import sys
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from data_platform.definitions import defs

from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource


def test_definitions_load_with_dbt_models():
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    keys = {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"gld_example", "data_platform/gld/offre_par_commune", "enseignement/stg/etablissements"} <= keys
    assert "lakehouse_maintenance_nightly" in {s.name for s in definitions.schedules}
    assert definitions.resolve_job_def("lakehouse_maintenance") is not None


def test_stg_example_writes_the_seed_file(tmp_path):
    lakehouse = LocalLakehouseResource(root=str(tmp_path))
    definitions = defs()
    result = dg.materialize(
        definitions.assets,
        selection=dg.AssetSelection.assets("stg_example"),
        resources={**definitions.resources, "lakehouse": lakehouse, "azure_adls": lakehouse},
    )
    assert result.success
    assert lakehouse.read_table("code_location/stg/example.parquet").shape == (1000, 5)
