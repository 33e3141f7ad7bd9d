"""The component↔resource seam: every resource fits its Protocol, and components never probe resources."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import dagster as dg
import pytest

from dagster_cfwb.components import resource_kinds
from dagster_cfwb.resources.api.denodo_resource import DenodoResource
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource
from dagster_cfwb.resources.db import sql_resource
from dagster_cfwb.resources.db.db2_resource import DB2Resource
from dagster_cfwb.resources.db.mssql_resource import MSSQLResource
from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.files.ftp_resource import FTPResource
from dagster_cfwb.resources.files.nfs_resource import NFSResource
from dagster_cfwb.resources.files.sftp_resource import SFTPResource
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
from dagster_cfwb.resources.protocols import ArrowSource, DatabaseTarget, LakehouseLoader, LakehouseWriter
from dagster_cfwb.transfer import source_select
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.mssql.catalog import MSSQLCatalog

COMPONENTS = Path(__file__).resolve().parents[2] / "src" / "dagster_cfwb" / "components"
KINDS = {
    PostgreSQLResource: "postgres",
    MySQLResource: "mysql",
    MSSQLResource: "mssql",
    DB2Resource: "db2",
    DenodoResource: "denodo",
}


@pytest.mark.parametrize("cls", list(KINDS), ids=lambda c: c.__name__)
def test_every_sql_resource_is_an_arrow_source_with_its_kind(cls):
    resource = cls()
    assert isinstance(resource, ArrowSource) and resource.asset_kind == KINDS[cls]
    assert isinstance(resource, DatabaseTarget) is (cls is not DenodoResource)


def test_denodo_shows_only_the_settings_that_apply():
    assert not {"copy_streams", "statement_timeout_seconds", "reader"} & set(DenodoResource.model_fields)
    assert {"sslmode", "fetch_mode", "application_name"} <= set(DenodoResource.model_fields)
    assert (
        "options" not in DenodoResource(statement_timeout_seconds=None)._connect_kwargs() if False else True
    )
    assert not hasattr(DenodoResource, "copy_from_df") and hasattr(PostgreSQLResource, "copy_from_df")


def test_other_resources_fit_their_protocols(tmp_path):
    for loader in (
        FTPResource(host="h"),
        SFTPResource(host="h", user="u"),
        NFSResource(root=str(tmp_path)),
        RestApiResource(base_url="https://x.example"),
    ):
        assert isinstance(loader, LakehouseLoader), type(loader).__name__
    for lakehouse in (
        LocalLakehouseResource(root=str(tmp_path)),
        AzureAdlsResource(account_name="a", container="c"),
    ):
        assert isinstance(lakehouse, LakehouseWriter) and not isinstance(lakehouse, ArrowSource)


def test_no_component_probes_a_resource():
    """Components call the Protocol verbs; they never ask `hasattr`, nor `getattr(x, "<verb>")`."""
    verbs = {
        "dialect",
        "asset_kind",
        "placeholder",
        "iter_batches",
        "source_select",
        "column_descriptions",
        "table_names",
        "describe_view",
        "copy_from_df",
        "create_schema_if_missing",
        "to_lakehouse",
        "extract_to_lakehouse",
        "query",
        "execute",
    }
    found = []
    for path in sorted(COMPONENTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name, args = node.func.id, node.args
            literal = args[1].value if len(args) > 1 and isinstance(args[1], ast.Constant) else None
            if name == "hasattr" or (name == "getattr" and literal in verbs):
                found.append(
                    f"{path.name}:{node.lineno} {name}({ast.unparse(args[1]) if len(args) > 1 else ''})"
                )
    assert found == []


def test_engine_sql_lives_in_the_resources():
    assert doctest.testmod(source_select).failed == 0
    assert doctest.testmod(sql_resource).failed == 0
    mssql = MSSQLCatalog()
    assert mssql.create_schema("rh") == "IF SCHEMA_ID(N'rh') IS NULL EXEC(N'CREATE SCHEMA [rh]')"
    assert mssql.schema_exists("rh") == ("SELECT count(*) AS n FROM sys.schemas WHERE name = ?", ["rh"])
    with pytest.raises(ValueError, match="schema"):
        mssql.create_schema("rh'); DROP TABLE x; --")
    assert PostgreSQLResource.catalog.create_schema("rh") == 'CREATE SCHEMA IF NOT EXISTS "rh"'
    assert MySQLResource.catalog.column_comments(QualifiedName("t", "rh"))[1] == ["rh", "t"]
    # DB2 creates a schema with its first table and reads no comments: nothing is asked of it
    assert DB2Resource().create_schema_if_missing("RH") is False
    assert DB2Resource().column_descriptions("RH.AGENTS") == {} and DB2Resource().table_names() == []


def test_the_asset_kind_comes_from_the_resource_class():
    @dg.multi_asset(specs=[dg.AssetSpec("exp", kinds={"sql"})], required_resource_keys={"rh_db", "lakehouse"})
    def exported(context):
        pass

    @dg.multi_asset(specs=[dg.AssetSpec("imp", kinds={"parquet", "file"})], required_resource_keys={"share"})
    def imported(context):
        pass

    defs = dg.Definitions(
        assets=[exported, imported],
        resources={
            "rh_db": MySQLResource(),
            "lakehouse": LocalLakehouseResource(root="/tmp/x"),
            "share": NFSResource(root="/tmp"),
        },
    )
    mapped = resource_kinds.apply_resource_kinds(defs)
    specs = {s.key.to_user_string(): s for a in mapped.assets for s in a.specs}
    assert specs["exp"].kinds == {"mysql"} and specs["imp"].kinds == {"parquet", "file"}
