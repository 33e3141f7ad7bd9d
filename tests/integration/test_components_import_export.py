"""LakehouseImportComponent and DatabaseExportComponent from YAML, end to end on PostgreSQL and a local lakehouse."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs

pytestmark = [pytest.mark.postgres]


def _seed(postgresql, schema: str, rows: int = 200) -> None:
    postgresql.execute(
        f"CREATE TABLE \"{schema}\".eleves AS SELECT g::bigint AS id, 'élève ' || g AS nom, "
        "CASE WHEN g % 2 = 0 THEN 'actif' ELSE 'inactif' END AS statut, "
        "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour' AS updated_at "
        f"FROM generate_series(1, {rows}) g"
    )
    postgresql.execute(f"COMMENT ON COLUMN \"{schema}\".eleves.nom IS 'Nom et prénom de l''élève'")


def _import_yaml(schema: str, extra: str = "", checks: str = "") -> str:
    return f"""
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {{kind: database, resource_key: postgresql, table: {schema}.eleves}}
          target: {{code_location: enseignement, layer: stg, table: eleves}}
          owners: [anne.martin@example.org]
          dashboard_url: https://vizu.example/eleves
{extra}{checks}
    """


def test_import_checks_export_with_metadata(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema)
    checks = """          checks:
            - {type: not_null, columns: [id, nom]}
            - {type: unique, columns: [id]}
            - {type: accepted_values, column: statut, values: [actif, inactif]}
"""
    export = f"""
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{{code_location: enseignement, layer: stg, table: eleves}}]
          resource_key: postgresql
          table: {pg_schema}.eleves_gld
        - tables: [{{code_location: enseignement, layer: stg, table: eleves}}]
          resource_key: postgresql
          table: {pg_schema}.eleves_par_statut
          query: SELECT statut, count(*) AS n FROM eleves GROUP BY statut
    """
    with yaml_defs(
        {"imports/defs.yaml": _import_yaml(pg_schema, checks=checks), "exports/defs.yaml": export}
    ) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert result.success
    stg = dg.AssetKey(["enseignement", "stg", "eleves"])
    [mat] = [e.materialization for e in result.get_asset_materialization_events() if e.asset_key == stg]
    md = mat.metadata
    assert md["dagster/row_count"].value == 200
    assert md["dagster/table_name"].value == "enseignement/stg/eleves"
    columns = {c.name: c for c in md["dagster/column_schema"].value.columns}
    assert columns["nom"].description == "Nom et prénom de l'élève"  # from the PostgreSQL comment
    # a local lakehouse shows the real path on this machine, not `azure://`
    assert md["lakehouse_path"].value == str(
        Path(local_lakehouse.root).resolve() / "enseignement/stg/eleves.parquet"
    )
    assert md["source"].value == f"database `postgresql`: {pg_schema}.eleves"
    assert len(md["source_checksum"].value) == 16
    assert md["size_bytes"].value > 0 and md["duration_seconds"].value >= 0
    assert "| id | nom | statut | updated_at |" in md["preview"].value
    assert md["dashboard_url"].value == "https://vizu.example/eleves"
    checks_done = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks_done == {"not_null_id_nom": True, "unique_id": True, "accepted_values_statut": True}
    assert local_lakehouse.read_table("enseignement/stg/eleves.parquet").shape == (200, 4)
    back = postgresql.query(f'SELECT count(*) AS n FROM "{pg_schema}".eleves_gld', output="arrow")
    assert back["n"][0].as_py() == 200
    by_status = postgresql.query(f'SELECT statut, n FROM "{pg_schema}".eleves_par_statut ORDER BY statut')
    assert by_status.rows() == [("actif", 100), ("inactif", 100)]
    export_key = dg.AssetKey(["enseignement", "pg", "eleves_gld"])  # `<location>/pg/<table>`
    [export_mat] = [
        e.materialization for e in result.get_asset_materialization_events() if e.asset_key == export_key
    ]
    assert export_mat.metadata["dagster/row_count"].value == 200
    assert export_mat.metadata["dagster/table_name"].value == f"{pg_schema}.eleves_gld"


def test_failing_error_check_blocks_the_export_and_warn_does_not(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=20)
    checks = """          checks:
            - {type: accepted_values, column: statut, values: [actif], severity: warn}
            - {type: expression, sql: "id < 10", name: petits_ids}
"""
    export = f"""
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{{code_location: enseignement, layer: stg, table: eleves}}]
          resource_key: postgresql
          table: {pg_schema}.eleves_gld
    """
    with yaml_defs(
        {"imports/defs.yaml": _import_yaml(pg_schema, checks=checks), "exports/defs.yaml": export}
    ) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["accepted_values_statut"].passed
    assert evaluations["accepted_values_statut"].severity == dg.AssetCheckSeverity.WARN
    failing = evaluations["petits_ids"]
    assert not failing.passed and failing.metadata["failing_count"].value == 11
    assert "| id | nom |" in failing.metadata["failing_rows_sample"].value
    exported = [e for e in result.get_asset_materialization_events() if e.asset_key.path[1] == "pg"]
    assert exported == []  # blocked by the failing `error` check
    assert (
        postgresql.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = %s AND table_name = 'eleves_gld'",
            params=[pg_schema],
        ).item()
        == 0
    )


def test_incremental_reads_only_newer_rows(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=100)
    extra = "          mode: incremental\n          watermark_column: updated_at\n"
    instance = dg.DagsterInstance.ephemeral()
    with yaml_defs({"imports/defs.yaml": _import_yaml(pg_schema, extra=extra)}) as defs:
        resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
        first = run_assets(defs, resources, instance=instance)
        postgresql.execute(
            f"INSERT INTO \"{pg_schema}\".eleves SELECT g, 'nouveau', 'actif', "
            "timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(101, 130) g"
        )
        # a row older than the largest watermark minus the lookback (default 1 hour) is not read
        postgresql.execute(
            f"INSERT INTO \"{pg_schema}\".eleves VALUES (999, 'ancien', 'actif', '2020-01-01')"
        )
        second = run_assets(defs, resources, instance=instance)
        third = run_assets(defs, resources, instance=instance)
    assert first.success and second.success and third.success
    rows = [
        e.materialization.metadata
        for e in (*second.get_asset_materialization_events(), *third.get_asset_materialization_events())
    ]
    assert rows[0]["rows_added"].value == 30 and rows[0]["dagster/row_count"].value == 130
    # the window read again (rows 99 and 100, within 1 hour of the last watermark) is not duplicated
    assert rows[0]["rows_read"].value == 32 and rows[0]["rows_deduplicated"].value == 2
    assert rows[0]["watermark_from"].value == "2024-01-05 03:00:00+00:00"
    assert rows[1]["rows_added"].value == 0 and rows[1]["dagster/row_count"].value == 130
    table = local_lakehouse.read_table("enseignement/stg/eleves.parquet")
    assert table.shape[0] == 130 and table["id"].n_unique() == 130
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_append_adds_rows_on_each_run(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=10)
    with yaml_defs({"imports/defs.yaml": _import_yaml(pg_schema, extra="          mode: append\n")}) as defs:
        resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
        assert run_assets(defs, resources).success
        assert run_assets(defs, resources).success
    assert local_lakehouse.read_table("enseignement/stg/eleves.parquet").shape[0] == 20


def test_daily_partition_reads_only_its_day(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=72)  # 3 days of hourly rows starting 2024-01-01 01:00
    extra = "          partitions: {frequency: daily, start_date: '2024-01-01', column: updated_at}\n"
    with yaml_defs({"imports/defs.yaml": _import_yaml(pg_schema, extra=extra)}) as defs:
        result = run_assets(
            defs, {"postgresql": postgresql, "lakehouse": local_lakehouse}, partition_key="2024-01-02"
        )
    assert result.success
    [mat] = result.get_asset_materialization_events()
    assert mat.materialization.metadata["dagster/row_count"].value == 24
    assert mat.materialization.partition == "2024-01-02"
    assert local_lakehouse.exists("enseignement/stg/eleves/2024-01-02.parquet")


def test_upsert_export_updates_and_inserts(postgresql, pg_schema, local_lakehouse):
    import polars as pl

    local_lakehouse.write_table(
        pl.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]}), "enseignement/gld/t.parquet"
    )
    postgresql.execute(f'CREATE TABLE "{pg_schema}".t (id bigint PRIMARY KEY, v text)')
    postgresql.execute(f"INSERT INTO \"{pg_schema}\".t VALUES (1, 'old'), (9, 'keep')")
    export = f"""
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{{code_location: enseignement, layer: gld, table: t}}]
          resource_key: postgresql
          table: {pg_schema}.t
          mode: upsert
          keys: [id]
    """
    with yaml_defs({"exports/defs.yaml": export}) as defs:
        assert run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse}).success
    rows = postgresql.query(f'SELECT id, v FROM "{pg_schema}".t ORDER BY id').rows()
    assert rows == [(1, "a"), (2, "b"), (3, "c"), (9, "keep")]
