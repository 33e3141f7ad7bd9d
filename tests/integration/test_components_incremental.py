"""`mode: incremental` imports on PostgreSQL into a local lakehouse: every committed row exactly once.

Rows committed after a run with the same watermark, late rows inside the lookback, updated rows,
NULL watermarks, and runs interrupted at each step then retried.
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

TABLE = "enseignement/stg/eleves.parquet"
KEY = dg.AssetKey(["enseignement", "stg", "eleves"])


def _seed(postgresql, schema: str, rows: int = 20, stamp: str = "2024-03-01 10:00:00+00") -> None:
    """`rows` pupils all written in the same second (as one batch insert would be)."""
    postgresql.execute(
        f"CREATE TABLE \"{schema}\".eleves AS SELECT g::bigint AS id, 'élève ' || g AS nom, "
        f"timestamptz '{stamp}' AS updated_at FROM generate_series(1, {rows}) g"
    )


def _insert(postgresql, schema: str, values: str) -> None:
    postgresql.execute(f'INSERT INTO "{schema}".eleves (id, nom, updated_at) VALUES {values}')


def _yaml(schema: str, extra: str = "", table: str = "eleves", source_table: str = "eleves") -> str:
    return f"""
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {{kind: database, resource_key: postgresql, table: {schema}.{source_table}}}
          target: {{code_location: enseignement, layer: stg, table: {table}}}
          mode: incremental
          watermark_column: updated_at
{extra}
    """


def _metadata(result, key: dg.AssetKey = KEY) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def _failure(result) -> str:
    [event] = [e for e in result.all_events if e.is_step_failure]
    error = event.step_failure_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def _rows(lakehouse, path: str = TABLE) -> list[tuple]:
    table = lakehouse.query_blob_storage(
        f"SELECT id, nom FROM 'azure://{path}' ORDER BY id, nom", output="arrow"
    )
    return list(zip(table["id"].to_pylist(), table["nom"].to_pylist(), strict=True))


def _expected(postgresql, schema: str) -> list[tuple]:
    table = postgresql.query(f'SELECT id, nom FROM "{schema}".eleves ORDER BY id, nom', output="arrow")
    return list(zip(table["id"].to_pylist(), table["nom"].to_pylist(), strict=True))


def test_rows_with_the_last_watermark_committed_after_a_run_are_imported_once(
    postgresql, pg_schema, local_lakehouse
):
    _seed(postgresql, pg_schema)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          lookback: 0\n")}) as defs:
        first = _metadata(run_assets(defs, resources))
        # committed after the first run, in the same second as the largest watermark already imported
        _insert(postgresql, pg_schema, "(21, 'tardif', '2024-03-01 10:00:00+00'), (22, 'neuf', '2024-03-02')")
        second = _metadata(run_assets(defs, resources))
        third = _metadata(run_assets(defs, resources))
    assert first["rows_read"] == first["rows_added"] == 20 and first["watermark_from"] == "(all rows)"
    assert second["watermark_from"] == "2024-03-01 10:00:00+00:00"
    assert second["watermark_to"] == "2024-03-02 00:00:00+00:00"
    assert (second["rows_read"], second["rows_added"], second["rows_deduplicated"]) == (22, 2, 20)
    assert second["dagster/row_count"] == 22 and second["merge_keys"] == "(whole rows)"
    assert (third["rows_read"], third["rows_added"], third["rows_deduplicated"]) == (1, 0, 1)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_identical_source_rows_stay_two_rows_without_keys(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=2)
    _insert(postgresql, pg_schema, "(2, 'élève 2', '2024-03-01 10:00:00+00')")  # a true duplicate row
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema)}) as defs:
        assert run_assets(defs, resources).success
        _insert(postgresql, pg_schema, "(2, 'élève 2', '2024-03-01 10:00:00+00')")  # and a third copy
        md = _metadata(run_assets(defs, resources))
    assert (md["rows_read"], md["rows_added"]) == (4, 1)
    assert _rows(local_lakehouse) == [(1, "élève 1"), (2, "élève 2"), (2, "élève 2"), (2, "élève 2")]


def test_late_rows_within_the_lookback_are_imported(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=5)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema)}) as defs:  # default lookback: 1 hour
        assert run_assets(defs, resources).success
        # committed late by a long transaction: older than the largest watermark already imported
        _insert(postgresql, pg_schema, "(6, 'tardif', '2024-03-01 09:15:00+00')")
        md = _metadata(run_assets(defs, resources))
        assert md["watermark_from"] == "2024-03-01 09:00:00+00:00"
        assert (md["rows_read"], md["rows_added"], md["rows_deduplicated"]) == (6, 1, 5)
        # further back than the lookback: not read (the documented limit of a lookback)
        _insert(postgresql, pg_schema, "(7, 'trop tard', '2024-03-01 08:00:00+00')")
        assert _metadata(run_assets(defs, resources))["rows_added"] == 0
    assert [r[0] for r in _rows(local_lakehouse)] == [1, 2, 3, 4, 5, 6]


def test_an_updated_row_replaces_the_old_one_by_key(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    extra = "          keys: [id]\n          lookback: 30 minutes\n"
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, extra)}) as defs:
        assert run_assets(defs, resources).success
        postgresql.execute(
            f"UPDATE \"{pg_schema}\".eleves SET nom = 'changé', updated_at = '2024-03-05' WHERE id = 3"
        )
        _insert(postgresql, pg_schema, "(11, 'nouveau', '2024-03-05')")
        md = _metadata(run_assets(defs, resources))
        again = _metadata(run_assets(defs, resources))
    assert (md["rows_read"], md["rows_added"], md["rows_updated"], md["rows_deduplicated"]) == (11, 1, 1, 9)
    assert md["merge_keys"] == "id" and md["dagster/row_count"] == 11
    assert (again["rows_read"], again["rows_added"], again["rows_updated"]) == (2, 0, 0)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)
    assert (3, "changé") in _rows(local_lakehouse)


def test_several_rows_of_one_key_keep_the_newest(postgresql, pg_schema, local_lakehouse):
    postgresql.execute(f'CREATE TABLE "{pg_schema}".historique (id bigint, nom text, updated_at timestamptz)')
    postgresql.execute(
        f"INSERT INTO \"{pg_schema}\".historique VALUES (1, 'v1', '2024-01-01'), (1, 'v2', '2024-01-02'), "
        "(2, 'seul', '2024-01-01'), (2, 'seul', '2024-01-01')"  # an exact duplicate is no ambiguity
    )
    extra = "          keys: [id]\n"
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, extra, source_table="historique")}) as defs:
        md = _metadata(run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse}))
    assert (md["rows_read"], md["rows_added"], md["rows_deduplicated"]) == (4, 2, 2)
    assert _rows(local_lakehouse) == [(1, "v2"), (2, "seul")]


def test_two_different_rows_for_a_key_and_watermark_are_refused(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=3)
    _insert(postgresql, pg_schema, "(2, 'autre', '2024-03-01 10:00:00+00')")
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert not result.success
    message = _failure(result)
    assert "1 key(s)" in message and "id=2" in message and "Nothing was written" in message
    assert not local_lakehouse.exists(TABLE)
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_null_watermarks_with_keys_are_merged_every_run(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=3)
    _insert(postgresql, pg_schema, "(4, 'sans date', NULL)")
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        assert run_assets(defs, resources).success
        postgresql.execute(f"UPDATE \"{pg_schema}\".eleves SET nom = 'corrigé' WHERE id = 4")
        _insert(postgresql, pg_schema, "(5, 'aussi sans date', NULL)")
        md = _metadata(run_assets(defs, resources))
    assert md["null_watermark_rows"] == 2
    assert (md["rows_read"], md["rows_added"], md["rows_updated"], md["rows_deduplicated"]) == (5, 1, 1, 3)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)


def test_null_watermarks_without_keys_are_imported_once(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=3)
    _insert(postgresql, pg_schema, "(4, 'sans date', NULL)")
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema)}) as defs:
        first = _metadata(run_assets(defs, resources))
        _insert(postgresql, pg_schema, "(5, 'aussi sans date', NULL)")
        second = _metadata(run_assets(defs, resources))
        third = _metadata(run_assets(defs, resources))
    assert first["null_watermark_rows"] == 1 and first["rows_added"] == 4
    assert (second["null_watermark_rows"], second["rows_added"], second["rows_deduplicated"]) == (2, 1, 4)
    assert third["rows_added"] == 0
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)


def test_rows_without_a_key_are_refused_before_writing(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=3)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        assert run_assets(defs, resources).success
        _insert(postgresql, pg_schema, "(NULL, 'anonyme', '2024-03-02'), (NULL, 'anonyme 2', '2024-03-02')")
        result = run_assets(defs, resources)
    assert not result.success
    message = _failure(result)
    assert "2 rows read from `database `postgresql`" in message and "key column(s) `id`" in message
    assert [r[0] for r in _rows(local_lakehouse)] == [1, 2, 3]
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_a_changed_column_type_is_refused_naming_the_column(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=3)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        assert run_assets(defs, resources).success
        postgresql.execute(f'ALTER TABLE "{pg_schema}".eleves ALTER COLUMN id TYPE integer')
        result = run_assets(defs, resources)
    assert not result.success
    message = _failure(result)
    assert "column `id` is `int64` in the table but `int32` in the source" in message
    assert len(_rows(local_lakehouse)) == 3


@pytest.mark.parametrize("keys", ["", "          keys: [id]\n"], ids=["whole_rows", "keys"])
def test_a_run_failing_while_writing_the_table_then_retried_gives_one_copy(
    postgresql, pg_schema, local_lakehouse, monkeypatch, keys
):
    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    original = LocalLakehouseResource.write_table

    def failing(self, data, path, **kwargs):
        if path == TABLE:  # the staging file is written, the table is not
            assert self.exists("enseignement/stg/_incoming/eleves.parquet")
            raise OSError("disk full (injected)")
        return original(self, data, path, **kwargs)

    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, keys)}) as defs:
        assert run_assets(defs, resources).success
        _insert(
            postgresql, pg_schema, "(11, 'nouveau', '2024-03-02'), (12, 'égal', '2024-03-01 10:00:00+00')"
        )
        with monkeypatch.context() as patch:
            patch.setattr(LocalLakehouseResource, "write_table", failing)
            failed = run_assets(defs, resources)
        assert not failed.success and "disk full (injected)" in _failure(failed)
        assert len(_rows(local_lakehouse)) == 10  # the table is untouched
        assert local_lakehouse.list("enseignement/stg/_incoming") == []  # removed in `finally`
        retried = _metadata(run_assets(defs, resources))
    assert retried["rows_added"] == 2
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)


def test_a_run_killed_between_reading_and_writing_leaves_a_staging_file_the_retry_ignores(
    postgresql, pg_schema, local_lakehouse, monkeypatch
):
    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    original = LocalLakehouseResource.write_table
    staging = "enseignement/stg/_incoming/eleves.parquet"

    def killed(self, data, path, **kwargs):
        if path == TABLE:
            raise RuntimeError("killed (injected)")  # with `delete` disabled below: a SIGKILL
        return original(self, data, path, **kwargs)

    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        assert run_assets(defs, resources).success
        _insert(postgresql, pg_schema, "(11, 'nouveau', '2024-03-02')")
        with monkeypatch.context() as patch:
            patch.setattr(LocalLakehouseResource, "write_table", killed)
            patch.setattr(LocalLakehouseResource, "delete", lambda self, path: False)  # no `finally`
            assert not run_assets(defs, resources).success
        assert local_lakehouse.exists(staging)  # what a dead run leaves behind
        # a stale staging file with other rows must never be merged
        local_lakehouse.write_table(
            local_lakehouse.query_blob_storage(f"SELECT * FROM 'azure://{TABLE}'", output="arrow"), staging
        )
        retried = _metadata(run_assets(defs, resources))
        again = _metadata(run_assets(defs, resources))
    assert (retried["rows_added"], again["rows_added"]) == (1, 0)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_a_run_failing_after_the_table_was_replaced_then_retried_gives_one_copy(
    postgresql, pg_schema, local_lakehouse, monkeypatch
):
    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    original = LocalLakehouseResource.write_table
    written = []

    def recording(self, data, path, **kwargs):
        result = original(self, data, path, **kwargs)
        written.append(path)
        return result

    def delete_fails_after_the_table(self, path):
        if TABLE in written:
            raise ConnectionError("connection lost (injected)")
        return False

    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema)}) as defs:
        assert run_assets(defs, resources).success
        _insert(postgresql, pg_schema, "(11, 'nouveau', '2024-03-02')")
        with monkeypatch.context() as patch:
            patch.setattr(LocalLakehouseResource, "write_table", recording)
            patch.setattr(LocalLakehouseResource, "delete", delete_fails_after_the_table)
            assert not run_assets(defs, resources).success
        assert len(_rows(local_lakehouse)) == 11  # the new table is in place, the staging file too
        retried = _metadata(run_assets(defs, resources))
    assert (retried["rows_added"], retried["dagster/row_count"]) == (0, 11)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)
    assert local_lakehouse.list("enseignement/stg/_incoming") == []


def test_the_component_used_twice_in_one_location(postgresql, pg_schema, local_lakehouse):
    _seed(postgresql, pg_schema, rows=4)
    postgresql.execute(f'CREATE TABLE "{pg_schema}".classes AS SELECT * FROM "{pg_schema}".eleves')
    files = {
        "eleves/defs.yaml": _yaml(pg_schema, "          keys: [id]\n"),
        "classes/defs.yaml": _yaml(pg_schema, table="classes", source_table="classes"),
    }
    resources = {"postgresql": postgresql, "lakehouse": local_lakehouse}
    with yaml_defs(files) as defs:
        assert run_assets(defs, resources).success
        _insert(postgresql, pg_schema, "(5, 'nouveau', '2024-03-02')")
        postgresql.execute(f"INSERT INTO \"{pg_schema}\".classes VALUES (6, 'autre', '2024-03-03')")
        result = run_assets(defs, resources)
    assert _metadata(result)["rows_added"] == 1
    assert _metadata(result, dg.AssetKey(["enseignement", "stg", "classes"]))["rows_added"] == 1
    assert [r[0] for r in _rows(local_lakehouse)] == [1, 2, 3, 4, 5]
    assert [r[0] for r in _rows(local_lakehouse, "enseignement/stg/classes.parquet")] == [1, 2, 3, 4, 6]


def test_the_merge_runs_as_a_plain_function(postgresql, pg_schema, local_lakehouse):
    """The seam a fault-injection harness calls: no Dagster context needed."""
    from dagster_cfwb.components.incremental_import import run_incremental_import
    from dagster_cfwb.components.lakehouse_import import ImportModel

    _seed(postgresql, pg_schema, rows=0)
    imp = ImportModel.model_validate(
        {
            "source": {"kind": "database", "resource_key": "postgresql", "table": f"{pg_schema}.eleves"},
            "target": {"code_location": "enseignement", "layer": "stg", "table": "eleves"},
            "mode": "incremental",
            "watermark_column": "updated_at",
            "keys": ["id"],
        }
    )
    empty = run_incremental_import(imp, postgresql, local_lakehouse)  # an empty source: an empty table
    assert (empty.rows, empty.extra_metadata["watermark_to"]) == (0, "(no rows read)")
    postgresql.execute(
        f"INSERT INTO \"{pg_schema}\".eleves SELECT g, 'élève ' || g, '2024-03-01' FROM generate_series(1, 5) g"
    )
    first = run_incremental_import(imp, postgresql, local_lakehouse)
    _insert(postgresql, pg_schema, "(6, 'nouveau', '2024-03-02')")
    second = run_incremental_import(imp, postgresql, local_lakehouse)
    assert (first.rows, second.rows, second.extra_metadata["rows_added"]) == (5, 6, 1)
    postgresql.execute(f'DELETE FROM "{pg_schema}".eleves WHERE id = 6')  # nothing left in the window
    third = run_incremental_import(imp, postgresql, local_lakehouse)
    assert (third.extra_metadata["rows_read"], third.rows) == (0, 6)  # deletes are not applied
    assert _rows(local_lakehouse)[:5] == _expected(postgresql, pg_schema)


@pytest.mark.azurite
def test_updates_by_key_and_a_failed_write_on_azure(postgresql, pg_schema, azure_adls, monkeypatch):
    from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

    _seed(postgresql, pg_schema, rows=10)
    resources = {"postgresql": postgresql, "lakehouse": azure_adls}
    original = AzureAdlsResource.write_table

    def failing(self, data, path, **kwargs):
        if path == TABLE:
            raise ConnectionError("upload cut (injected)")
        return original(self, data, path, **kwargs)

    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema, "          keys: [id]\n")}) as defs:
        assert run_assets(defs, resources).success
        postgresql.execute(
            f"UPDATE \"{pg_schema}\".eleves SET nom = 'changé', updated_at = '2024-03-05' WHERE id = 3"
        )
        _insert(postgresql, pg_schema, "(11, 'égal', '2024-03-01 10:00:00+00')")
        with monkeypatch.context() as patch:
            patch.setattr(AzureAdlsResource, "write_table", failing)
            assert not run_assets(defs, resources).success
        assert azure_adls.list("enseignement/stg/_incoming") == []
        md = _metadata(run_assets(defs, resources))
    assert (md["rows_added"], md["rows_updated"], md["dagster/row_count"]) == (1, 1, 11)
    assert _rows(azure_adls) == _expected(postgresql, pg_schema)


@pytest.mark.mysql
def test_merge_by_key_from_mariadb_with_a_datetime_watermark(mysql_config, local_lakehouse):
    import secrets

    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    mysql = MySQLResource(**mysql_config)
    table = f"cfwb_inc_{secrets.token_hex(4)}"
    mysql.execute(f"CREATE TABLE `{table}` (id INT PRIMARY KEY, nom VARCHAR(50), updated_at DATETIME)")
    files = {
        "imports/defs.yaml": f"""
        type: dagster_cfwb.LakehouseImportComponent
        attributes:
          imports:
            - source: {{kind: database, resource_key: mariadb, table: {table}}}
              target: {{code_location: enseignement, layer: stg, table: eleves}}
              mode: incremental
              watermark_column: updated_at
              keys: [id]
              lookback: 10 minutes
        """
    }
    resources = {"mariadb": mysql, "lakehouse": local_lakehouse}
    try:
        mysql.execute(f"INSERT INTO `{table}` VALUES (1, 'a', '2024-03-01 10:00:00'), (2, 'b', NULL)")
        with yaml_defs(files) as defs:
            assert run_assets(defs, resources).success
            mysql.execute(
                f"INSERT INTO `{table}` VALUES (3, 'c', '2024-03-01 10:00:00'), (4, 'd', '2024-03-01 09:55:00')"
            )
            mysql.execute(f"UPDATE `{table}` SET nom = 'b2' WHERE id = 2")
            md = _metadata(run_assets(defs, resources))
    finally:
        mysql.execute(f"DROP TABLE `{table}`")
    assert md["watermark_from"] == "2024-03-01 09:50:00"
    assert (md["rows_read"], md["rows_added"], md["rows_updated"], md["null_watermark_rows"]) == (4, 2, 1, 1)
    assert _rows(local_lakehouse) == [(1, "a"), (2, "b2"), (3, "c"), (4, "d")]


def test_a_text_watermark_is_refused_and_nothing_is_left(postgresql, pg_schema, local_lakehouse):
    # PostgreSQL `numeric` without precision arrives as exact text: "9" > "10" as text, so refuse it
    postgresql.execute(
        f'CREATE TABLE "{pg_schema}".eleves AS SELECT g AS id, g::numeric AS updated_at FROM generate_series(1, 3) g'
    )
    with yaml_defs({"imports/defs.yaml": _yaml(pg_schema)}) as defs:
        result = run_assets(defs, {"postgresql": postgresql, "lakehouse": local_lakehouse})
    assert not result.success
    message = _failure(result)
    assert "The watermark `updated_at`" in message and "arrives as `string`" in message
    assert "::numeric(20,0)" in message
    assert local_lakehouse.list("enseignement") == []


def test_a_query_source_ending_in_a_comment_is_filtered_by_the_window(postgresql, pg_schema, local_lakehouse):
    """The query is wrapped as `SELECT * FROM (<query>\n) …`: a trailing `-- comment` cannot swallow the `)`."""
    from dagster_cfwb.components.incremental_import import run_incremental_import
    from dagster_cfwb.components.lakehouse_import import ImportModel

    _seed(postgresql, pg_schema, rows=3)
    imp = ImportModel.model_validate(
        {
            "source": {
                "kind": "database",
                "resource_key": "postgresql",
                "query": f'SELECT id, nom, updated_at FROM "{pg_schema}".eleves -- every pupil\n',
            },
            "target": {"code_location": "enseignement", "layer": "stg", "table": "eleves"},
            "mode": "incremental",
            "watermark_column": "updated_at",
            "keys": ["id"],
        }
    )
    run_incremental_import(imp, postgresql, local_lakehouse)
    _insert(postgresql, pg_schema, "(4, 'nouveau', '2024-03-02')")
    second = run_incremental_import(imp, postgresql, local_lakehouse)  # filtered: the wrapped query
    assert (second.rows, second.extra_metadata["rows_added"]) == (4, 1)
    assert _rows(local_lakehouse) == _expected(postgresql, pg_schema)


def test_a_mariadb_timestamp_watermark_with_duckdb_in_another_time_zone(
    mysql_config, local_lakehouse, monkeypatch
):
    """DuckDB hands the largest watermark back in its session time zone (the machine's, e.g. Paris);
    pymysql writes a datetime's wall clock without its zone, and the MariaDB session is in UTC."""
    import secrets

    from dagster_cfwb.components.incremental_import import run_incremental_import
    from dagster_cfwb.components.lakehouse_import import ImportModel
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    monkeypatch.setattr(
        LocalLakehouseResource,
        "_prepare_duckdb",
        lambda self, con: con.execute("SET TimeZone = 'Europe/Paris'"),
    )
    mysql = MySQLResource(**mysql_config)
    table = f"cfwb_inc_{secrets.token_hex(4)}"
    mysql.execute(f"CREATE TABLE `{table}` (id INT PRIMARY KEY, nom VARCHAR(50), updated_at TIMESTAMP NULL)")
    imp = ImportModel.model_validate(
        {
            "source": {"kind": "database", "resource_key": "mariadb", "table": table},
            "target": {"code_location": "enseignement", "layer": "stg", "table": "eleves"},
            "mode": "incremental",
            "watermark_column": "updated_at",
            "keys": ["id"],
            "lookback": "0 minutes",
        }
    )
    try:
        mysql.execute(f"INSERT INTO `{table}` VALUES (1, 'a', '2024-07-01 10:00:00')")  # UTC (the session's)
        run_incremental_import(imp, mysql, local_lakehouse)
        # committed after the run, in the same second as the largest watermark imported
        mysql.execute(f"INSERT INTO `{table}` VALUES (2, 'b', '2024-07-01 10:00:00')")
        second = run_incremental_import(imp, mysql, local_lakehouse)
    finally:
        mysql.execute(f"DROP TABLE `{table}`")
    assert (second.extra_metadata["rows_read"], second.rows) == (2, 2)  # row 2 was lost
    assert second.extra_metadata["watermark_from"] == "2024-07-01 10:00:00+00:00"
    assert _rows(local_lakehouse) == [(1, "a"), (2, "b")]
