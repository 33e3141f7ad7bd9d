"""The YAML components on Delta tables: imports (replace, append, incremental merge), checks, exports.

The platform default is set once on the lakehouse resource (`default_format: delta`); the
incremental cases are the Parquet ones of test_components_incremental.py, on Delta.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs

from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

pytestmark = [pytest.mark.postgres]

TABLE = "enseignement/stg/eleves"
KEY = dg.AssetKey(["enseignement", "stg", "eleves"])


@pytest.fixture
def lakehouse(tmp_path):
    # delta-rs reads the many short queries of a run without loading DuckDB's extension each time
    return LocalLakehouseResource(
        root=str(tmp_path / "lakehouse"), default_format="delta", delta_reader="delta-rs"
    )


def _seed(postgresql, schema: str, rows: int) -> None:
    postgresql.execute(
        f"CREATE TABLE \"{schema}\".eleves AS SELECT g::bigint AS id, 'élève ' || g AS nom, "
        f"timestamptz '2024-03-01 10:00:00+00' AS updated_at FROM generate_series(1, {rows}) g"
    )


def _insert(postgresql, schema: str, values: str) -> None:
    postgresql.execute(f'INSERT INTO "{schema}".eleves (id, nom, updated_at) VALUES {values}')


def _yaml(schema: str, extra: str = "", checks: str = "") -> str:
    return f"""
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {{kind: database, resource_key: postgresql, table: {schema}.eleves}}
          target: {{code_location: enseignement, layer: stg, table: eleves}}
{extra}{checks}
    """


def _metadata(result) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == KEY]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def _rows(lakehouse) -> list[tuple]:
    table = lakehouse.query_blob_storage(
        f"SELECT id, nom FROM delta_scan('azure://{TABLE}') ORDER BY id, nom", output="arrow"
    )
    return list(zip(table["id"].to_pylist(), table["nom"].to_pylist(), strict=True))


def _expected(postgresql, schema: str) -> list[tuple]:
    table = postgresql.query(f'SELECT id, nom FROM "{schema}".eleves ORDER BY id, nom', output="arrow")
    return list(zip(table["id"].to_pylist(), table["nom"].to_pylist(), strict=True))


INCREMENTAL = "          mode: incremental\n          watermark_column: updated_at\n"


def test_equal_watermark_and_late_rows_are_appended_once_without_keys(postgresql, pg_schema, lakehouse):
    _seed(postgresql, pg_schema, rows=5)
    resources = {"postgresql": postgresql, "lakehouse": lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, INCREMENTAL)}) as defs:  # lookback: 1 hour
        first = _metadata(run_assets(defs, resources))
        # committed after the run with the largest watermark already imported, and late (older) rows
        _insert(
            postgresql,
            pg_schema,
            "(6, 'même seconde', '2024-03-01 10:00:00+00'), (7, 'tardif', '2024-03-01 09:15:00+00')",
        )
        second = _metadata(run_assets(defs, resources))
        third = _metadata(run_assets(defs, resources))
    assert (first["format"], first["delta_version"], first["rows_added"]) == ("delta", 0, 5)
    assert (second["rows_read"], second["rows_added"], second["rows_deduplicated"]) == (7, 2, 5)
    assert (second["delta_operation"], second["delta_version"], second["rows_inserted"]) == ("WRITE", 1, 2)
    assert third["rows_added"] == 0 and "delta_version" not in third  # nothing new: no commit
    assert _rows(lakehouse) == _expected(postgresql, pg_schema)
    assert lakehouse.list("enseignement/stg/_incoming") == []
    assert [h["version"] for h in lakehouse.table_history(TABLE)] == [1, 0]


def test_incremental_with_keys_is_one_merge_commit(postgresql, pg_schema, lakehouse):
    _seed(postgresql, pg_schema, rows=10)
    _insert(postgresql, pg_schema, "(11, 'sans date', NULL)")
    resources = {"postgresql": postgresql, "lakehouse": lakehouse}
    extra = INCREMENTAL + "          keys: [id]\n          lookback: 0\n"
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, extra)}) as defs:
        assert run_assets(defs, resources).success
        postgresql.execute(
            f"UPDATE \"{pg_schema}\".eleves SET nom = 'changé', updated_at = '2024-03-05' WHERE id = 3"
        )
        postgresql.execute(f"UPDATE \"{pg_schema}\".eleves SET nom = 'corrigé' WHERE id = 11")
        _insert(postgresql, pg_schema, "(12, 'même seconde', '2024-03-01 10:00:00+00')")
        md = _metadata(run_assets(defs, resources))
    assert (md["rows_added"], md["rows_updated"]) == (1, 2)
    assert (md["delta_operation"], md["rows_inserted"], md["rows_updated"], md["rows_deleted"]) == (
        "MERGE",
        1,
        2,
        0,
    )
    assert md["dagster/row_count"] == 12
    assert _rows(lakehouse) == _expected(postgresql, pg_schema)


def test_replace_and_append_on_delta_with_checks_against_the_previous_version(
    postgresql, pg_schema, lakehouse
):
    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": lakehouse}
    checks = "          checks:\n            - {type: row_count, min_rows: 1, max_change_percent: 50}\n"
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          mode: append\n", checks)}) as defs:
        first = run_assets(defs, resources)
        second = run_assets(defs, resources)  # appends the same 10 rows: +100% against version 0
    assert _metadata(first)["delta_version"] == 0 and first.get_asset_check_evaluations()[0].passed
    [evaluation] = second.get_asset_check_evaluations()
    assert not evaluation.passed and "100" in (evaluation.description or "")
    assert len(_rows(lakehouse)) == 20
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          format: parquet\n")}) as defs:
        assert run_assets(defs, resources).success  # one import can stay on Parquet
    assert lakehouse.exists("enseignement/stg/eleves.parquet")


def test_export_reads_a_delta_table(postgresql, pg_schema, lakehouse):
    _seed(postgresql, pg_schema, rows=4)
    export = f"""
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{{code_location: enseignement, layer: stg, table: eleves}}]
          resource_key: postgresql
          table: {pg_schema}.eleves_gld
    """
    lakehouse = LocalLakehouseResource(root=lakehouse.root, default_format="delta")  # DuckDB's extension
    resources = {"postgresql": postgresql, "lakehouse": lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema), "exports/defs.yaml": export}) as defs:
        assert run_assets(defs, resources).success
    assert lakehouse.is_delta_table(TABLE)
    copied = postgresql.query(f'SELECT count(*) AS n FROM "{pg_schema}".eleves_gld', output="arrow")
    assert copied.column(0)[0].as_py() == 4
