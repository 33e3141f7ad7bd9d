"""Every code location of platform/ loads as Dagster loads it; a broken one fails with a located error.

This is the check that makes a broken definition fail CI. It loads each location of
``workspace.yaml`` in-process, as ``dg check defs`` does (``tests/integration/test_platform_scaffold.py``
also runs the real ``dg check defs`` on a location), and checks the automation it declares.
"""

from __future__ import annotations

import shutil
import sys
import traceback
import uuid
from pathlib import Path

import dagster as dg
import pytest
from platform_copy import PLATFORM

from dagster_cfwb.platform_layout import (
    CodeLocation,
    load_location_definitions,
    parse_dbt_projects,
    read_workspace,
)

pytestmark = [pytest.mark.platform, pytest.mark.dbt]

EXPECTED = {
    "data_platform": {
        "assets": {
            "stg_example",
            "gld_example",
            "data_platform/stg/etablissements",
            "data_platform/slv/offre_communale",
            "data_platform/gld/offre_par_commune",
            "data_platform/pg/offre_par_commune",
        },
        "schedules": set(),
        "sensors": set(),
    },
    "enseignement": {
        "assets": {
            "enseignement/stg/etablissements",
            "enseignement/slv/etablissements",
            "enseignement/gld/etablissements_par_commune",
            "enseignement/pg/etablissements_par_commune",
            "enseignement/stg/inscriptions",
        },
        "schedules": {"enseignement_etablissements_daily"},
        "sensors": {"enseignement_new_files_on_share"},
    },
    "culture": {
        "assets": {"culture/stg/lieux", "culture/slv/lieux", "culture/gld/lieux_par_commune"},
        "schedules": {"culture_lieux_weekly"},
        "sensors": set(),
    },
}


@pytest.fixture(scope="module")
def dbt_manifests():
    """The packaging step: the dbt manifest the data_platform location reads at load time."""
    return parse_dbt_projects(PLATFORM, only_if_stale=True)


@pytest.fixture(scope="module")
def loaded(dbt_manifests) -> dict[str, dg.Definitions]:
    return {location.name: load_location_definitions(location) for location in read_workspace(PLATFORM)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_location_loads_with_its_assets_schedules_and_sensors(loaded, name):
    definitions = loaded[name]
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert EXPECTED[name]["assets"] <= keys
    assert {s.name for s in definitions.schedules or []} >= EXPECTED[name]["schedules"]
    assert {s.name for s in definitions.sensors or []} >= EXPECTED[name]["sensors"]
    assert {"azure_adls", "lakehouse", "postgresql"} <= set(definitions.resources)


def test_asset_keys_are_unique_across_locations(loaded):
    owners: dict[str, str] = {}
    for name, definitions in loaded.items():
        graph = definitions.resolve_asset_graph()
        for key in graph.get_all_asset_keys():
            if graph.get(key).is_materializable:
                assert key.to_user_string() not in owners, (
                    f"{key} in {owners.get(key.to_user_string())} and {name}"
                )
                owners[key.to_user_string()] = name


def test_automation_declared_on_the_demo_assets(loaded):
    graph = loaded["enseignement"].resolve_asset_graph()
    stg = graph.get(dg.AssetKey(["enseignement", "stg", "etablissements"]))
    assert stg.freshness_policy is not None
    slv = graph.get(dg.AssetKey(["enseignement", "slv", "etablissements"]))
    assert slv.automation_condition is not None and "eager" in slv.automation_condition.get_label().lower()
    daily = graph.get(dg.AssetKey(["enseignement", "stg", "inscriptions"]))
    assert isinstance(daily.partitions_def, dg.DailyPartitionsDefinition)
    assert daily.backfill_policy == dg.BackfillPolicy.single_run()
    assert "cron" in daily.automation_condition.get_label().lower()
    assets = {key.to_user_string(): a for a in loaded["enseignement"].assets for key in a.keys}
    policy = assets["enseignement/stg/etablissements"].op.retry_policy
    assert policy.max_retries == 3 and policy.backoff == dg.Backoff.EXPONENTIAL
    dbt_graph = loaded["data_platform"].resolve_asset_graph()
    model = dbt_graph.get(dg.AssetKey(["data_platform", "stg", "etablissements"]))
    assert dg.AssetKey(["enseignement", "stg", "etablissements"]) in model.parent_keys
    export = dbt_graph.get(dg.AssetKey(["data_platform", "pg", "offre_par_commune"]))
    assert dg.AssetKey(["data_platform", "gld", "offre_par_commune"]) in export.parent_keys
    assert dbt_graph.asset_check_keys, "dbt tests should be asset checks"


def test_broken_location_fails_with_a_located_error(tmp_path):
    broken = tmp_path / "culture"
    shutil.copytree(PLATFORM / "culture", broken, ignore=shutil.ignore_patterns("__pycache__"))
    module = broken / "src/culture/defs/lieux_culturels.py"
    lines = module.read_text(encoding="utf-8").splitlines(keepends=True)
    line_number = next(i for i, line in enumerate(lines, 1) if "deps=[stg_lieux]" in line)
    lines[line_number - 1] = lines[line_number - 1].replace("stg_lieux", "stg_lieux_typo")
    module.write_text("".join(lines), encoding="utf-8")

    saved = {n: m for n, m in sys.modules.items() if n == "culture" or n.startswith("culture.")}
    for name in saved:
        del sys.modules[name]
    try:
        with pytest.raises(NameError, match="stg_lieux_typo") as error:
            load_location_definitions(CodeLocation("culture", "culture.definitions", broken / "src"))
    finally:
        for name in [n for n in sys.modules if n == "culture" or n.startswith("culture.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path.remove(str(broken / "src"))
    located = "".join(traceback.format_exception(error.value))
    assert f'{Path(module)}", line {line_number}' in located


@pytest.mark.azurite
def test_locations_use_azure_when_its_variables_are_set(loaded, azurite, monkeypatch):
    """With AZURE_STORAGE_CONNECTION_STRING set, `azure_adls`/`lakehouse` are Azure: the demo asset writes there."""
    from dagster_cfwb.deployment import platform_resources
    from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    monkeypatch.setenv("CFWB_LAKEHOUSE_CONTAINER", f"platform-{uuid.uuid4().hex[:8]}")
    resources = platform_resources("data_platform")
    assert isinstance(resources["azure_adls"], AzureAdlsResource)
    assert resources["lakehouse"] is resources["azure_adls"]
    assert "AccountKey" not in repr(resources["azure_adls"])  # the EnvVar, never its value

    definitions = loaded["data_platform"]
    result = dg.materialize(
        definitions.assets,
        selection=dg.AssetSelection.assets("stg_example"),
        resources={**definitions.resources, **resources},
    )
    assert result.success
    lakehouse = AzureAdlsResource(connection_string=azurite, container=resources["azure_adls"].container)
    assert lakehouse.query_blob_storage("FROM 'azure://code_location/stg/example.parquet'").shape == (1000, 5)
