"""DataQualityChecksComponent from YAML, each check type passing and failing, on a local lakehouse."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs

KEY = dg.AssetKey(["enseignement", "stg", "eleves"])


def _table(rows: int = 6) -> pl.DataFrame:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 3, 5, 6][:rows],
            "nom": ["a", None, "c", "d", "e", "f"][:rows],
            "statut": ["actif", "actif", "inconnu", "inactif", "actif", "actif"][:rows],
            "age": [10, 12, 40, 9, 11, 13][:rows],
            "updated_at": [now - dt.timedelta(hours=h) for h in (50, 40, 30, 20, 10, 3)][:rows],
        }
    )


CHECKS = """
type: dagster_cfwb.DataQualityChecksComponent
attributes:
  tables:
    - table: {code_location: enseignement, layer: stg, table: eleves}
      checks:
        - {type: not_null, columns: [id, nom]}
        - {type: not_null, columns: [id], name: id_present}
        - {type: unique, columns: [id]}
        - {type: unique, columns: [id, nom], severity: warn}
        - {type: accepted_values, column: statut, values: [actif, inactif]}
        - {type: row_count, min_rows: 1, max_rows: 5}
        - {type: row_count, min_rows: 1, name: not_empty}
        - {type: freshness, column: updated_at, max_age_hours: 1}
        - {type: freshness, column: updated_at, max_age_hours: 24, name: fresh_enough}
        - {type: expression, sql: "age BETWEEN 2 AND 25", name: age_plausible}
        - {type: schema, expected_columns: {id: BIGINT, nom: VARCHAR, age: INTEGER}, allow_extra_columns: false}
        - {type: schema, expected_columns: {id: BIGINT, nom: any}, name: schema_core}
"""


def _checks_asset():
    """The checked table as an external asset, so the checks can run on their own."""
    return dg.AssetSpec(KEY)


def test_each_check_type_reports_pass_fail_count_and_sample(local_lakehouse):
    local_lakehouse.write_table(_table(), "enseignement/stg/eleves.parquet")
    with yaml_defs({"checks/defs.yaml": CHECKS}) as defs:
        defs = dg.Definitions.merge(defs, dg.Definitions(assets=[_checks_asset()]))
        result = run_assets(
            defs, {"lakehouse": local_lakehouse}, selection=dg.AssetSelection.all_asset_checks()
        )
    by_name = {e.check_name: e for e in result.get_asset_check_evaluations()}
    outcome = {name: e.passed for name, e in by_name.items()}
    assert outcome == {
        "not_null_id_nom": False,
        "id_present": True,
        "unique_id": False,
        "unique_id_nom": True,
        "accepted_values_statut": False,
        "row_count": False,
        "not_empty": True,
        "freshness_updated_at": False,
        "fresh_enough": True,
        "age_plausible": False,
        "schema": False,
        "schema_core": True,
    }
    assert by_name["not_null_id_nom"].metadata["failing_count"].value == 1
    assert "| 2 |  | actif |" in by_name["not_null_id_nom"].metadata["failing_rows_sample"].value
    assert by_name["unique_id"].metadata["failing_count"].value == 2
    assert (
        by_name["accepted_values_statut"].description == "1 row(s) of `statut` hold other values: 'inconnu'"
    )
    assert by_name["row_count"].description == "6 rows, more than the maximum 5"
    assert by_name["age_plausible"].metadata["failing_count"].value == 1
    diff = by_name["schema"].metadata["schema_diff"].value
    assert "~ age: expected INTEGER, found BIGINT" in diff and "+ statut VARCHAR" in diff
    assert by_name["unique_id_nom"].severity == dg.AssetCheckSeverity.WARN
    assert not result.success  # failing `error` checks are blocking: the step fails


def test_row_count_change_against_the_previous_materialisation(local_lakehouse):
    yaml = """
    type: dagster_cfwb.DataQualityChecksComponent
    attributes:
      tables:
        - table: {code_location: enseignement, layer: stg, table: eleves}
          checks: [{type: row_count, max_change_percent: 20}]
    """
    instance = dg.DagsterInstance.ephemeral()
    for rows in (5, 6):  # two materialisations: 5 rows, then 6 (+20%)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(KEY, metadata={"dagster/row_count": rows})
        )
    local_lakehouse.write_table(_table(6), "enseignement/stg/eleves.parquet")
    with yaml_defs({"checks/defs.yaml": yaml}) as defs:
        defs = dg.Definitions.merge(defs, dg.Definitions(assets=[_checks_asset()]))
        selection = dg.AssetSelection.all_asset_checks()
        ok = run_assets(defs, {"lakehouse": local_lakehouse}, instance=instance, selection=selection)
        instance.report_runless_asset_event(dg.AssetMaterialization(KEY, metadata={"dagster/row_count": 2}))
        local_lakehouse.write_table(_table(2), "enseignement/stg/eleves.parquet")
        bad = run_assets(defs, {"lakehouse": local_lakehouse}, instance=instance, selection=selection)
    [first] = ok.get_asset_check_evaluations()
    [second] = bad.get_asset_check_evaluations()
    assert first.passed and first.metadata["change_percent"].value == 20.0
    assert not second.passed and "2 rows vs 6 last time (-66.7%" in second.description


@pytest.mark.parametrize("twice", ["two_folders", "one_file_two_documents"])
def test_component_used_twice_in_one_location(local_lakehouse, twice, monkeypatch):
    """dagster#31225: each of our components used twice in one code location."""
    monkeypatch.setenv("CFWB_TEST_HOOK", "https://teams.example/hook")
    local_lakehouse.write_table(_table(), "enseignement/stg/eleves.parquet")
    local_lakehouse.write_table(_table(), "enseignement/stg/ecoles.parquet")
    checks = [
        "type: dagster_cfwb.DataQualityChecksComponent\nattributes:\n  tables:\n"
        f"    - table: {{code_location: enseignement, layer: stg, table: {t}}}\n"
        "      checks: [{type: not_null, columns: [id]}, {type: unique, columns: [id], severity: warn}]\n"
        for t in ("eleves", "ecoles")
    ]
    exports = [
        "type: dagster_cfwb.DatabaseExportComponent\nattributes:\n  exports:\n"
        f"    - tables: [{{code_location: enseignement, layer: stg, table: {t}}}]\n"
        f"      resource_key: postgresql\n      table: reporting.{t}\n"
        for t in ("eleves", "ecoles")
    ]
    imports = [
        "type: dagster_cfwb.LakehouseImportComponent\nattributes:\n  imports:\n"
        f"    - source: {{kind: database, resource_key: postgresql, table: public.{t}}}\n"
        f"      target: {{code_location: enseignement, layer: slv, table: {t}}}\n"
        "      checks: [{type: not_null, columns: [id]}]\n"
        for t in ("eleves", "ecoles")
    ]
    notifications = [
        "type: dagster_cfwb.NotificationsComponent\nattributes:\n"
        "  teams: {webhook_url: \"{{ env('CFWB_TEST_HOOK') }}\"}\n"
        f"  events: [{e}]\n"
        for e in ("run_failure", "check_failure")
    ]
    resources = [
        "type: dagster_cfwb.ResourcesComponent\nattributes:\n  resources:\n"
        f"    {k}: {{kind: local_lakehouse, config: {{root: lake_{k}}}}}\n"
        for k in ("other_lake", "archive_lake")
    ]
    groups = {
        "checks": checks,
        "exports": exports,
        "imports": imports,
        "notify": notifications,
        "resources": resources,
    }
    if twice == "two_folders":
        files = {
            f"{name}_{i}/defs.yaml": text for name, pair in groups.items() for i, text in enumerate(pair)
        }
    else:
        files = {f"{name}/defs.yaml": "\n---\n".join(pair) for name, pair in groups.items()}
    with yaml_defs(files) as defs:
        defs = dg.Definitions.merge(
            defs,
            dg.Definitions(
                resources={"lakehouse": local_lakehouse, "postgresql": dg.ResourceDefinition.none_resource()}
            ),
        )
        keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
        assert {"enseignement/slv/eleves", "enseignement/slv/ecoles"} <= keys
        assert {
            "enseignement/pg/eleves",
            "enseignement/pg/ecoles",
        } <= keys
        assert len(defs.resolve_asset_graph().asset_check_keys) == 6
        assert len(list(defs.sensors or [])) == 2
        assert {"other_lake", "archive_lake"} <= set(defs.resources or {})
        full = dg.Definitions.merge(
            defs,
            dg.Definitions(
                assets=[
                    dg.AssetSpec(["enseignement", "stg", "eleves"]),
                    dg.AssetSpec(["enseignement", "stg", "ecoles"]),
                ]
            ),
        )
        result = run_assets(
            full,
            {},
            selection=dg.AssetSelection.checks_for_assets(
                dg.AssetKey(["enseignement", "stg", "eleves"]), dg.AssetKey(["enseignement", "stg", "ecoles"])
            ),
        )
    assert result.success
    assert len(result.get_asset_check_evaluations()) == 4
