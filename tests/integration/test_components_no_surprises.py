"""What used to surprise an analyst (issue 12): missing export schema, unstable export keys, no
did-you-mean for a misspelt file or table, a channel-less notification warned at every load.

Real PostgreSQL (a fresh schema per test), a local lakehouse and a real folder as the share.
"""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import load_error, run_assets, yaml_defs


def _export_yaml(table: str, extra: str = "") -> str:
    return f"""
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{{code_location: enseignement, layer: gld, table: eleves_par_ecole}}]
          resource_key: postgresql
          table: {table}
{extra}
    """


def _gld_table(local_lakehouse) -> None:
    import pyarrow as pa

    local_lakehouse.write_table(
        pa.table({"ecole": ["A", "B"], "eleves": [120, 85]}), "enseignement/gld/eleves_par_ecole.parquet"
    )


@pytest.fixture
def new_schema(postgresql):
    """A schema name that does not exist (yet); dropped afterwards."""
    name = f"reporting_{secrets.token_hex(4)}"
    yield name
    postgresql.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.postgres
def test_export_creates_its_missing_schema(postgresql, local_lakehouse, new_schema):
    _gld_table(local_lakehouse)
    with yaml_defs({"export/defs.yaml": _export_yaml(f"{new_schema}.eleves_par_ecole")}) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert result.success
    back = postgresql.query(f'SELECT ecole, eleves FROM "{new_schema}".eleves_par_ecole ORDER BY ecole')
    assert back.rows() == [("A", 120), ("B", 85)]
    [mat] = result.get_asset_materialization_events()
    # `<location>/pg/<table>`, the rule of docs/platform.md; the source is the real local path
    assert mat.asset_key == dg.AssetKey(["enseignement", "pg", "eleves_par_ecole"])
    source = mat.step_materialization_data.materialization.metadata["source"].value
    assert source == str(Path(local_lakehouse.root).resolve() / "enseignement/gld/eleves_par_ecole.parquet")
    # a second run finds the schema there and does not need the right to create one
    with yaml_defs({"export/defs.yaml": _export_yaml(f"{new_schema}.eleves_par_ecole")}) as defs:
        assert run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse}).success


def _export_keys(text: str) -> set[str]:
    with yaml_defs({"export/defs.yaml": text}) as defs:
        return {k.to_user_string() for asset in defs.assets for k in asset.keys}


def test_export_keys_follow_the_rule_and_stay_when_the_table_is_renamed():
    assert _export_keys(_export_yaml("reporting.eleves_par_ecole")) == {"enseignement/pg/eleves_par_ecole"}
    named = "          asset_name: eleves_par_ecole\n"
    assert _export_keys(_export_yaml("reporting.effectifs_ecoles", named)) == {
        "enseignement/pg/eleves_par_ecole"
    }  # renamed table, same asset
    old = "          asset_key: enseignement/export/export_reporting_eleves_par_ecole\n"
    assert _export_keys(_export_yaml("reporting.eleves_par_ecole", old)) == {
        "enseignement/export/export_reporting_eleves_par_ecole"
    }  # the key of earlier versions, kept on purpose


def test_two_exports_with_one_key_are_refused():
    text = """
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - {tables: [{code_location: enseignement, layer: gld, table: a}], resource_key: postgresql, table: reporting.eleves}
        - {tables: [{code_location: enseignement, layer: gld, table: b}], resource_key: postgresql, table: archive.eleves}
    """
    message = load_error({"export/defs.yaml": text})
    assert "both get the asset key `enseignement/pg/eleves`" in message and "asset_name" in message


def _file_import(share: Path, path: str) -> dict[str, str]:
    return {
        "share/defs.yaml": f"""
        type: dagster_cfwb.ResourcesComponent
        attributes:
          resources:
            partage: {{kind: nfs, config: {{root: "{share}"}}}}
        """,
        "import/defs.yaml": f"""
        type: dagster_cfwb.LakehouseImportComponent
        attributes:
          imports:
            - source: {{kind: file, resource_key: partage, path: {path}, options: {{delimiter: ";"}}}}
              target: {{code_location: finances, layer: stg, table: subventions}}
              checks:
                - {{type: not_null, columns: [montant]}}
        """,
    }


def _step_error(result) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    while error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message


def test_missing_file_says_did_you_mean(tmp_path, local_lakehouse):
    share = tmp_path / "share"
    share.mkdir()
    (share / "subventions_2026.csv").write_text("beneficiaire;montant\nASBL A;1200\n", encoding="utf-8")
    (share / "eleves.csv").write_text("id\n1\n", encoding="utf-8")
    with yaml_defs(_file_import(share, "subvention_2026.csv")) as defs:
        result = run_assets(defs, {"lakehouse": local_lakehouse})
    assert not result.success
    message = _step_error(result)
    assert "No such file `subvention_2026.csv`" in message
    assert "Did you mean `subventions_2026.csv`?" in message and "eleves.csv" not in message
    assert not list(Path(local_lakehouse.root).rglob("*.parquet"))
    assert list(result.get_asset_check_evaluations()) == []  # the check did not run (and did not fail)


@pytest.mark.postgres
def test_missing_table_says_did_you_mean(postgresql, pg_schema, local_lakehouse):
    postgresql.execute(f'CREATE TABLE "{pg_schema}".eleves AS SELECT 1 AS id')
    text = f"""
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {{kind: database, resource_key: postgresql, table: {pg_schema}.eleve}}
          target: {{code_location: enseignement, layer: stg, table: eleves}}
    """
    with yaml_defs({"import/defs.yaml": text}) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert not result.success
    message = _step_error(result)
    assert f"No table or view `{pg_schema}.eleve`" in message
    assert f"Did you mean `{pg_schema}.eleves`?" in message


def test_channel_less_notification_rule_warns_once_per_process(caplog):
    text = """
    type: dagster_cfwb.NotificationsComponent
    attributes:
      name: alertes_sans_canal_test
      teams: {webhook_url: ""}
    """
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # dg, the webserver and each run load the definitions again
            with yaml_defs({"notify/defs.yaml": text}):
                pass
    warned = [r for r in caplog.records if "alertes_sans_canal_test" in r.getMessage()]
    assert len(warned) == 1


@pytest.mark.postgres
def test_export_of_a_table_not_built_yet_says_what_to_run(postgresql, local_lakehouse, new_schema):
    with yaml_defs({"export/defs.yaml": _export_yaml(f"{new_schema}.eleves_par_ecole")}) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    message = _step_error(result)
    assert "the lakehouse table `enseignement/gld/eleves_par_ecole` does not exist yet" in message
    assert "cfwb run enseignement/gld/eleves_par_ecole" in message
    assert str(Path(local_lakehouse.root).resolve()) in message  # the real local path
    schemas = postgresql.query(
        "SELECT count(*) AS n FROM pg_namespace WHERE nspname = %s", params=[new_schema], output="arrow"
    )
    assert schemas["n"][0].as_py() == 0  # refused before creating anything
