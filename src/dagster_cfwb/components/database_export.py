"""`DatabaseExportComponent`: copy lakehouse tables into a database table, from YAML."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import dagster as dg
import pyarrow as pa
from dagster.components import Resolver
from pydantic import field_validator, model_validator

from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.scaffolders import DatabaseExportScaffolder
from dagster_cfwb.components.yaml_models import TableModel
from dagster_cfwb.metadata import PREVIEW_ROWS, table_metadata
from dagster_cfwb.transfer.identifiers import quote_identifier, split_table_name, validate_identifier

__all__ = ["DatabaseExportComponent", "Export", "ExportModel"]


class Export(dg.Model, dg.Resolvable):
    """One export: lakehouse table(s) → one database table (one asset)."""

    tables: Annotated[
        list[TableModel],
        Resolver.default(
            description=(
                "Lakehouse table(s) to export. Several tables with the same columns are stacked. The export "
                "runs after these tables are updated."
            )
        ),
    ]
    resource_key: Annotated[
        str, Resolver.default(description="Resource key of the database written to, e.g. `postgresql`.")
    ]
    table: Annotated[
        str,
        Resolver.default(
            description="Database table written, `table` or `schema.table`, e.g. `reporting.eleves`. Created if missing."
        ),
    ]
    mode: Annotated[
        Literal["replace", "append", "upsert"],
        Resolver.default(
            description=(
                "`replace` (default): the table becomes exactly the export, swapped in atomically (readers never "
                "see it half-loaded). `append`: rows are added. `upsert`: rows whose `keys` exist are updated, "
                "the others inserted."
            )
        ),
    ] = "replace"
    keys: Annotated[
        list[str] | None,
        Resolver.default(description="`upsert` only: the column(s) identifying a row, e.g. `[id]`."),
    ] = None
    query: Annotated[
        str | None,
        Resolver.default(
            description=(
                "Optional DuckDB SQL choosing what to export; each lakehouse table is available under its "
                "`table` name, e.g. `SELECT ecole, count(*) AS eleves FROM eleves GROUP BY ecole`."
            )
        ),
    ] = None
    asset_name: Annotated[
        str | None,
        Resolver.default(
            description="Name of the export asset; default `export_<table>` (the database table with `.` → `_`)."
        ),
    ] = None
    description: Annotated[
        str | None, Resolver.default(description="What this export is for, shown in the UI.")
    ] = None
    owners: Annotated[
        list[str] | None, Resolver.default(description="Owners: e-mail addresses or `team:<name>`.")
    ] = None
    dashboard_url: Annotated[
        str | None, Resolver.default(description="Optional link to a dashboard fed by this table.")
    ] = None

    @field_validator("resource_key", "asset_name")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        return validate_identifier(value, what="name") if value is not None else None

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str) -> str:
        if value.count(".") > 1:
            raise ValueError(f"`table` must be `table` or `schema.table`; found {value!r}")
        split_table_name(value)
        return value

    @field_validator("keys")
    @classmethod
    def _check_keys(cls, value: list[str] | None) -> list[str] | None:
        for key in value or []:
            validate_identifier(key, what="key column")
        return value

    @model_validator(mode="after")
    def _check_mode(self):
        if self.mode == "upsert" and not self.keys:
            raise ValueError(
                "`mode: upsert` needs `keys`: the column(s) that identify a row, e.g. `keys: [id]`"
            )
        if not self.tables:
            raise ValueError("`tables` needs at least one lakehouse table")
        names = [t.table for t in self.tables]
        if len(set(names)) != len(names) and self.query:
            raise ValueError(f"with `query`, the exported tables need distinct `table` names; found {names}")
        return self

    @property
    def asset_key(self) -> dg.AssetKey:
        name = self.asset_name or "export_" + self.table.replace(".", "_")
        return dg.AssetKey([self.tables[0].code_location, "export", name])


ExportModel = Export  # former name; the UI shows a YAML block as `<class name>Model`


@dg.scaffold_with(DatabaseExportScaffolder)
class DatabaseExportComponent(CfwbComponent):
    """Copy lakehouse tables into database tables — one asset per export, after its lakehouse tables.

    The rows are streamed from the lakehouse (DuckDB) into the database with its fastest bulk path
    (PostgreSQL: binary COPY). `replace` swaps the new table in atomically: if the load fails,
    the previous table is left as it was.

    Example `defs.yaml`:

    ```yaml
    type: dagster_cfwb.DatabaseExportComponent
    attributes:
      exports:
        - tables: [{code_location: enseignement, layer: gld, table: eleves_par_ecole}]
          resource_key: postgresql
          table: reporting.eleves_par_ecole
        - tables: [{code_location: enseignement, layer: stg, table: eleves}]
          resource_key: postgresql
          table: reporting.eleves
          mode: upsert
          keys: [id]
    ```
    """

    exports: Annotated[
        list[ExportModel],
        Resolver.default(
            description="The exports, one database table each.",
            examples=[
                [
                    {
                        "tables": [
                            {"code_location": "enseignement", "layer": "gld", "table": "eleves_par_ecole"}
                        ],
                        "resource_key": "postgresql",
                        "table": "reporting.eleves_par_ecole",
                    }
                ]
            ],
        ),
    ]
    lakehouse_resource_key: Annotated[
        str,
        Resolver.default(
            description="Resource key of the lakehouse in this code location (default `lakehouse`).",
            examples=["lakehouse"],
        ),
    ] = "lakehouse"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(assets=[self._asset_for(export) for export in self.exports])

    def _asset_for(self, export: ExportModel) -> dg.AssetsDefinition:
        spec = dg.AssetSpec(
            key=export.asset_key,
            deps=[t.asset_key for t in export.tables],
            description=export.description
            or f"Export of {', '.join(t.path for t in export.tables)} to `{export.table}` ({export.mode}).",
            group_name=export.tables[0].code_location,
            owners=export.owners or [],
            kinds={"postgres" if export.resource_key.startswith("postgres") else "sql"},
            metadata={"target": f"{export.resource_key}: {export.table}"},
        )
        digest = hashlib.sha1(
            f"{export.resource_key}:{export.table}".encode(), usedforsecurity=False
        ).hexdigest()[:6]

        @dg.multi_asset(
            name="export__" + "__".join(export.asset_key.path) + "_" + digest,
            specs=[spec],
            required_resource_keys={self.lakehouse_resource_key, export.resource_key},
        )
        def _export(context):
            return self.execute(context, export)

        return _export

    def execute(self, context: dg.AssetExecutionContext, export: ExportModel) -> dg.MaterializeResult:
        """Run one export; override in a subclass to change how it runs (`build_defs` only wires)."""
        lakehouse = getattr(context.resources, self.lakehouse_resource_key)
        database = getattr(context.resources, export.resource_key)
        started = time.monotonic()
        preview: dict[str, Any] = {}
        with lakehouse.duckdb_connection() as con:
            reader = _export_reader(con, lakehouse, export)
            stream = pa.RecordBatchReader.from_batches(reader.schema, _keep_preview(reader, preview))
            result = database.copy_from_df(stream, export.table, mode=export.mode, keys=export.keys)
            schema = reader.schema
        seconds = time.monotonic() - started
        metadata = table_metadata(
            schema=schema,
            rows=result.rows,
            table_name=str(result.table),
            source=", ".join(f"azure://{t.path}" for t in export.tables),
            source_text=export.query,
            seconds=seconds,
            preview=preview.get("rows"),
            dashboard_url=export.dashboard_url,
            extra={"mode": export.mode, "database_resource": export.resource_key},
        )
        return dg.MaterializeResult(asset_key=export.asset_key, metadata=metadata)


def _export_reader(con, lakehouse, export: ExportModel) -> pa.RecordBatchReader:
    locations = {t.table: lakehouse.rewrite_sql(f"'azure://{t.path}'") for t in export.tables}
    if export.query:
        for name, location in locations.items():
            con.execute(f"CREATE VIEW {quote_identifier(name, 'duckdb')} AS FROM read_parquet({location})")
        sql = export.query.strip().rstrip(";")
    else:
        sql = f"FROM read_parquet([{', '.join(locations.values())}], union_by_name = true)"  # noqa: S608
    return con.execute(sql).to_arrow_reader(65_536)


def _keep_preview(reader: pa.RecordBatchReader, preview: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if "rows" not in preview:
            preview["rows"] = pa.Table.from_batches([batch.slice(0, PREVIEW_ROWS)], schema=batch.schema)
        yield batch
