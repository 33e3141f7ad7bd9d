"""The dbt project over the lakehouse (``platform/data_platform/dbt_project``) as Dagster assets.

Each dbt model is an asset ``data_platform/<layer>/<name>`` (``stg_lieux`` → ``data_platform/stg/lieux``),
written by DuckDB as Parquet to the same lakehouse path; each dbt test is an asset check. The dbt
sources are the import assets of ``enseignement`` and ``culture`` (``models/sources.yml``), so the
asset graph runs imports → dbt models → the PostgreSQL export below, across code locations.

The dbt manifest is built when the image is built (``dbt parse`` in the Dockerfile, or ``cfwb dbt
parse``), not when the code location loads; under ``dagster dev`` only, it is rebuilt at start when
a model changed, so edits show at once.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_cfwb.metadata import lakehouse_location, table_metadata
from dagster_cfwb.platform_layout import dbt_manifest_is_current
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
LAYERS = ("stg", "slv", "gld")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _dbt_executable() -> str:
    """The `dbt` of this Python environment (the venv or the image), else the one on PATH."""
    for folder in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        if (folder / "dbt").exists():
            return str(folder / "dbt")
    return shutil.which("dbt") or "dbt"


# Under `dagster dev` only, rebuild the manifest when a model changed (what `prepare_if_dev` does,
# with the venv's dbt even when the venv is not activated). Servers use the manifest of the image.
if os.environ.get("DAGSTER_IS_DEV_CLI") and not dbt_manifest_is_current(DBT_PROJECT_DIR):
    subprocess.run(
        [_dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        check=True,
    )


class LakehouseDbtTranslator(DagsterDbtTranslator):
    """Model ``<layer>_<name>`` → asset ``data_platform/<layer>/<name>``; sources keep their ``meta`` key."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            layer, _, name = dbt_resource_props["name"].partition("_")
            if layer in LAYERS and name:
                return dg.AssetKey(["data_platform", layer, name])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "dbt_lakehouse"

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        # Rebuild a model as soon as what it reads was updated (and nothing upstream is running).
        return dg.AutomationCondition.eager()


def dbt_lakehouse_root(lakehouse: LakehouseResource) -> str:
    """The lakehouse root as DuckDB inside dbt sees it: a folder, or ``abfs://<container>`` on Azure."""
    if isinstance(lakehouse, LocalLakehouseResource):
        root = Path(lakehouse.root).expanduser().resolve()
        for layer in LAYERS:  # DuckDB's COPY TO does not create folders
            (root / "data_platform" / layer).mkdir(parents=True, exist_ok=True)
        return str(root)
    if isinstance(lakehouse, AzureAdlsResource):
        return f"abfs://{lakehouse.container}"
    raise TypeError(
        f"dbt cannot reach lakehouse resource `{type(lakehouse).__name__}`; expected a local or Azure one."
    )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LakehouseDbtTranslator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def lakehouse_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
):
    dbt_vars = {"lakehouse_root": dbt_lakehouse_root(lakehouse)}
    for event in dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream():
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            event = event.with_metadata({**event.metadata, **_lakehouse_file_metadata(lakehouse, key)})
        yield event


def _lakehouse_file_metadata(lakehouse: LakehouseResource, key: dg.AssetKey) -> dict[str, Any]:
    """Row count, columns and path of the Parquet file a dbt model wrote (shown in the UI)."""
    path = "/".join(key.path) + ".parquet"
    url = f"azure://{path}"
    empty = lakehouse.query_blob_storage(f"FROM '{url}' LIMIT 0", output="arrow")  # our own path
    rows = lakehouse.query_blob_storage(f"SELECT count(*) AS n FROM '{url}'", output="arrow")
    return table_metadata(
        schema=empty.schema,
        rows=rows.column("n")[0].as_py(),
        table_name="/".join(key.path),
        lakehouse_path=lakehouse_location(lakehouse, path),
        source="dbt model (platform/data_platform/dbt_project)",
    )


@dg.asset(
    key=["data_platform", "pg", "offre_par_commune"],
    deps=[dg.AssetKey(["data_platform", "gld", "offre_par_commune"])],
    group_name="dbt_lakehouse",
    kinds={"postgres"},
    owners=["team:data-platform"],
    automation_condition=dg.AutomationCondition.eager(),
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    description="The dbt gold table `offre_par_commune` copied to PostgreSQL (table `offre_par_commune`).",
)
def pg_offre_par_commune(
    lakehouse: LakehouseResource, postgresql: PostgreSQLResource
) -> dg.MaterializeResult:
    table = lakehouse.query_blob_storage(
        "FROM 'azure://data_platform/gld/offre_par_commune.parquet'", output="arrow"
    )
    loaded = postgresql.copy_from_df(table, "offre_par_commune")
    return dg.MaterializeResult(
        metadata=table_metadata(
            schema=table.schema,
            rows=loaded.rows,
            table_name=f"{postgresql.database}.public.offre_par_commune",
            source=lakehouse_location(lakehouse, "data_platform/gld/offre_par_commune.parquet"),
            seconds=loaded.seconds,
            dashboard_url="https://vizu.intranet.example/offre-communale",
        )
    )


dbt_resource = DbtCliResource(
    project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=_dbt_executable()
)
