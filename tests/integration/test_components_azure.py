"""The components on the Azure lakehouse (Azurite): import with checks, incremental append, export."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs

pytestmark = [pytest.mark.azurite, pytest.mark.postgres]


def test_import_checks_incremental_export_on_azure(azure_adls, postgresql, pg_schema):
    postgresql.execute(
        f'CREATE TABLE "{pg_schema}".mesures AS SELECT g AS id, g % 7 AS valeur FROM generate_series(1, 300) g'
    )
    files = {
        "imports/defs.yaml": f"""
        type: dagster_cfwb.LakehouseImportComponent
        attributes:
          imports:
            - source: {{kind: database, resource_key: postgresql, table: {pg_schema}.mesures}}
              target: {{code_location: enseignement, layer: stg, table: mesures}}
              mode: incremental
              watermark_column: id
              checks:
                - {{type: unique, columns: [id]}}
                - {{type: expression, sql: "valeur BETWEEN 0 AND 6"}}
        """,
        "exports/defs.yaml": f"""
        type: dagster_cfwb.DatabaseExportComponent
        attributes:
          exports:
            - tables: [{{code_location: enseignement, layer: stg, table: mesures}}]
              resource_key: postgresql
              table: {pg_schema}.mesures_copie
        """,
    }
    resources = {"postgresql": postgresql, "lakehouse": azure_adls}
    with yaml_defs(files) as defs:
        first = run_assets(defs, resources)
        postgresql.execute(
            f'INSERT INTO "{pg_schema}".mesures SELECT g, g % 7 FROM generate_series(301, 350) g'
        )
        second = run_assets(defs, resources)
    assert first.success and second.success
    assert all(e.passed for e in second.get_asset_check_evaluations())
    key = dg.AssetKey(["enseignement", "stg", "mesures"])
    [mat] = [e.materialization for e in second.get_asset_materialization_events() if e.asset_key == key]
    assert mat.metadata["rows_added"].value == 50 and mat.metadata["dagster/row_count"].value == 350
    assert azure_adls.list("enseignement/stg/_incoming") == []
    copied = postgresql.query(f'SELECT count(*) AS n FROM "{pg_schema}".mesures_copie', output="arrow")
    assert copied["n"][0].as_py() == 350
