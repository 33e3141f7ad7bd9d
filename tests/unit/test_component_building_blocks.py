"""Plain building blocks of the components: DuckDB checks, SQL of each source dialect, metadata, the docs' YAML."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import yaml_defs

from dagster_cfwb.checks import table_checks as tc
from dagster_cfwb.components.source_reading import Filter, source_select
from dagster_cfwb.components.yaml_models import SourceModel
from dagster_cfwb.metadata import markdown_preview, table_metadata
from dagster_cfwb.resources.api.denodo_resource import DenodoResource
from dagster_cfwb.resources.db.db2_resource import DB2Resource
from dagster_cfwb.resources.db.mssql_resource import MSSQLResource
from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a', 'x', DATE '2024-01-01'), (2, NULL, 'y', DATE '2024-01-02'),"
        " (2, 'c', 'z', DATE '2024-01-03')) v(id, nom, code, jour)"
    )
    yield connection
    connection.close()


def test_duckdb_checks(con):
    assert tc.check_not_null(con, "t", ["id", "nom"]).failing_count == 1
    unique = tc.check_unique(con, "t", ["id"])
    assert not unique.passed and unique.failing_count == 2 and unique.sample.num_rows == 1
    assert tc.check_unique(con, "t", ["id", "nom"]).passed
    accepted = tc.check_accepted_values(con, "t", "code", ["x", "y"])
    assert accepted.failing_count == 1 and accepted.details["unexpected_values"] == ["z"]
    assert tc.check_accepted_values(con, "t", "id", [1, 2]).passed  # numbers compared as text
    assert not tc.check_row_count(con, "t", max_rows=2).passed
    assert not tc.check_row_count(con, "t", max_change_percent=10, previous_rows=2).passed
    now = dt.datetime(2024, 1, 3, 12, tzinfo=dt.UTC)
    assert tc.check_freshness(con, "t", "jour", 24, now=now).passed
    assert not tc.check_freshness(con, "t", "jour", 6, now=now).passed
    assert tc.check_expression(con, "t", "id > 0").passed
    assert tc.check_expression(con, "t", "nom <> 'a'").failing_count == 2  # NULL counts as failing
    with pytest.raises(ValueError, match="without `;`"):
        tc.check_expression(con, "t", "1=1; DROP TABLE t")
    schema = tc.check_schema(con, "t", {"id": "INTEGER", "nom": "TEXT", "absent": "DATE"})
    assert not schema.passed
    assert schema.details["diff"].splitlines() == ["- absent DATE   (missing)"]


class _Source:
    def __init__(self, table=None, view=None, query=None, columns=None):
        self.table, self.view, self.query, self.columns = table, view, query, columns


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (PostgreSQLResource(), 'SELECT "id", "nom" FROM "scol"."eleves" WHERE "maj" > %s'),
        (MySQLResource(), "SELECT `id`, `nom` FROM `scol`.`eleves` WHERE `maj` > %s"),
        (MSSQLResource(), "SELECT [id], [nom] FROM [scol].[eleves] WHERE [maj] > ?"),
        (DB2Resource(), 'SELECT "id", "nom" FROM "scol"."eleves" WHERE "maj" > ?'),
        (DenodoResource(), 'SELECT "id", "nom" FROM "scol"."eleves" WHERE "maj" > %s'),
    ],
    ids=["postgres", "mysql", "mssql", "db2", "denodo"],
)
def test_source_select_quotes_names_and_binds_values(resource, expected):
    sql, params = source_select(
        _Source(table="scol.eleves", columns=["id", "nom"]), resource, [Filter("maj", ">", 5)]
    )
    assert (sql, params) == (expected, [5])


def test_query_source_is_wrapped_for_filters():
    pg = PostgreSQLResource()
    sql, params = source_select(
        _Source(query="SELECT * FROM x;"), pg, [Filter("d", ">=", 1), Filter("d", "<", 2)]
    )
    assert sql == 'SELECT * FROM (SELECT * FROM x\n) cfwb_source WHERE "d" >= %s AND "d" < %s' and params == [
        1,
        2,
    ]
    assert source_select(_Source(query="SELECT 1"), pg) == ("SELECT 1", None)


def test_source_model_rules():
    SourceModel(kind="file", resource_key="share", path="a/*.csv", options={"delimiter": ";"})
    with pytest.raises(ValueError, match="`options` does not apply to a `database` source"):
        SourceModel(kind="database", resource_key="pg", table="t", options={"delimiter": ";"})
    with pytest.raises(ValueError, match="needs exactly one of `table` or `query`; found `table`, `query`"):
        SourceModel(kind="database", resource_key="pg", table="t", query="SELECT 1")


def test_table_metadata_keys():
    table = pa.table({"id": [1, 2], "nom": ["a|b", None]})
    md = table_metadata(
        schema=table.schema,
        rows=2,
        table_name="x/stg/t",
        lakehouse_path="azure://x/stg/t.parquet",
        source="database `pg`: t",
        source_text="t",
        seconds=1.23456,
        bytes=100,
        preview=table,
        column_descriptions={"nom": "Nom"},
        dashboard_url="https://d",
        documentation_url="https://doc",
    )
    assert set(md) == {
        "dagster/row_count",
        "dagster/column_schema",
        "dagster/table_name",
        "lakehouse_path",
        "source",
        "source_checksum",
        "duration_seconds",
        "size_bytes",
        "preview",
        "dashboard_url",
        "documentation_url",
    }
    assert md["dagster/column_schema"].value.columns[1].description == "Nom"
    assert md["duration_seconds"].value == 1.235
    assert isinstance(md["dashboard_url"], dg.UrlMetadataValue)
    assert markdown_preview(table).splitlines()[2] == "| 1 | a\\|b |"


def test_yaml_examples_of_the_guide_load(monkeypatch):
    """Every complete `type:` example of docs/components.md is valid (docs must not disagree with code)."""
    monkeypatch.setenv("ECOLES_DB_HOST", "db.example")
    monkeypatch.setenv("ENSEIGNEMENT_TEAMS_WEBHOOK_URL", "https://teams.example/hook")
    text = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    examples = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if block.startswith("type:")]
    assert len(examples) >= 5
    for i, example in enumerate(examples):
        with yaml_defs({f"example_{i}/defs.yaml": example}) as defs:
            assert defs is not None


def test_written_table_metadata_from_a_write_result(tmp_path):
    import pyarrow as pa

    from dagster_cfwb.metadata import written_table_metadata
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    written = LocalLakehouseResource(root=str(tmp_path)).write_table(
        pa.table({"id": [1, 2, 3]}), "enseignement/stg/eleves.parquet"
    )
    meta = written_table_metadata(written, "enseignement/stg/eleves", dashboard_url="https://vizu.example/x")

    def value(key):
        return getattr(meta[key], "value", meta[key])

    assert value("dagster/row_count") == 3
    assert value("dagster/table_name") == "enseignement/stg/eleves"
    assert value("lakehouse_path") == "azure://enseignement/stg/eleves.parquet"
    assert value("dashboard_url") == "https://vizu.example/x"
