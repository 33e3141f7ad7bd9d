"""`DatabaseExportComponent`: copy lakehouse tables into a database table, from YAML."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import dagster as dg
import pyarrow as pa
from dagster.components import Resolver
from pydantic import field_validator, model_validator

from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.resource_kinds import SQL_KIND
from dagster_cfwb.components.scaffolders import DatabaseExportScaffolder
from dagster_cfwb.components.yaml_models import TableModel
from dagster_cfwb.metadata import PREVIEW_ROWS, lakehouse_location, table_metadata
from dagster_cfwb.resources.protocols import DatabaseTarget
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.identifiers import quote_identifier, split_table_name, validate_identifier

__all__ = ["DatabaseExportComponent", "Export", "ExportModel", "create_missing_schema", "export_reader"]


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
            description=(
                "Database table written, `table` or `schema.table`, e.g. `reporting.eleves`. The table, and "
                "its schema, are created if missing."
            )
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
            description=(
                "Last part of the asset key, `<location>/pg/<asset_name>`. Default: the table name without "
                "its schema (`reporting.eleves_par_ecole` → `eleves_par_ecole`). Set it to keep the same asset "
                "(and its history) when you rename the table."
            )
        ),
    ] = None
    asset_key: Annotated[
        str | None,
        Resolver.default(
            description=(
                "The whole asset key, parts separated by `/`, e.g. `enseignement/export/eleves` to keep the key "
                "an earlier version gave. Default: `<location>/pg/<asset_name>` (see `asset_name`)."
            )
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

    @field_validator("asset_key")
    @classmethod
    def _check_asset_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = value.split("/")
        for part in parts:
            validate_identifier(part, what="asset key part")
        if len(parts) < 2:
            raise ValueError(
                f"`asset_key` needs at least two parts, e.g. `enseignement/pg/eleves`; found {value!r}"
            )
        return value

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
    def key(self) -> dg.AssetKey:
        """`asset_key` if given, else `<location>/pg/<asset_name or table>`.

        The middle part is `pg` for a PostgreSQL resource (its key starts with `postgres`), else the
        resource key, e.g. `enseignement/mysql_rh/eleves`.
        """
        if self.asset_key:
            return dg.AssetKey(self.asset_key.split("/"))
        name = self.asset_name or split_table_name(self.table).table
        segment = "pg" if self.resource_key.startswith("postgres") else self.resource_key
        return dg.AssetKey([self.tables[0].code_location, segment, name])


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

    @model_validator(mode="after")
    def _check_unique_keys(self):
        seen: dict[dg.AssetKey, int] = {}
        for i, export in enumerate(self.exports):
            if export.key in seen:
                raise ValueError(
                    f"exports[{seen[export.key]}] and exports[{i}] both get the asset key "
                    f"`{export.key.to_user_string()}`; give one of them another `asset_name`"
                )
            seen[export.key] = i
        return self

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(assets=[self._asset_for(export) for export in self.exports])

    def _asset_for(self, export: ExportModel) -> dg.AssetsDefinition:
        spec = dg.AssetSpec(
            key=export.key,
            deps=[t.asset_key for t in export.tables],
            description=export.description
            or f"Export of {', '.join(t.path for t in export.tables)} to `{export.table}` ({export.mode}).",
            group_name=export.tables[0].code_location,
            owners=export.owners or [],
            # "sql" until the location's resources are bound: `apply_resource_kinds` then puts the
            # resource class's `asset_kind` (e.g. "postgres") in its place.
            kinds={SQL_KIND},
            metadata={"target": f"{export.resource_key}: {export.table}"},
        )

        # Named after the asset key only, so renaming the table (with `asset_name` kept) keeps the op.
        @dg.multi_asset(
            name="export__" + "__".join(export.key.path),
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
        if not isinstance(database, DatabaseTarget):
            raise TypeError(
                f"The resource `{export.resource_key}` ({type(database).__name__}) cannot be exported to: it "
                "has no `copy_from_df` (e.g. Denodo is read-only). Check `resource_key` of this export."
            )
        started = time.monotonic()
        preview: dict[str, Any] = {}
        missing = [
            t for t in export.tables if not lakehouse.exists(t.path) and not lakehouse.delta_path(t.path)
        ]
        if missing:
            names = ", ".join(f"`{t.asset_key.to_user_string()}`" for t in missing)
            raise FileNotFoundError(
                f"Cannot export to `{export.table}`: the lakehouse table {names} does not exist yet "
                f"({', '.join(lakehouse_location(lakehouse, t.path) for t in missing)}). Materialise it "
                f"first, e.g. `cfwb run {missing[0].asset_key.to_user_string()}`, or run both together."
            )
        if create_missing_schema(database, export.table):
            context.log.info(f"Created the schema of `{export.table}`, which did not exist.")
        with lakehouse.duckdb_connection() as con:
            reader = export_reader(con, lakehouse, export)
            stream = pa.RecordBatchReader.from_batches(reader.schema, _keep_preview(reader, preview))
            result = database.copy_from_df(stream, export.table, mode=export.mode, keys=export.keys)
            schema = reader.schema
        seconds = time.monotonic() - started
        metadata = table_metadata(
            schema=schema,
            rows=result.rows,
            table_name=str(result.table),
            source=", ".join(lakehouse_location(lakehouse, t.path) for t in export.tables),
            source_text=export.query,
            seconds=seconds,
            preview=preview.get("rows"),
            dashboard_url=export.dashboard_url,
            extra={"mode": export.mode, "database_resource": export.resource_key},
        )
        return dg.MaterializeResult(asset_key=export.key, metadata=metadata)


def create_missing_schema(database: DatabaseTarget, table: str) -> bool:
    """Create the schema of `schema.table` when it does not exist; return True when it was created.

    The database resource does the work (`create_schema_if_missing`: the name validated and quoted
    for its engine, the existence test bound as a value). A table without schema is left to the
    database, and so is an engine that creates a schema with its first table (Db2).
    """
    name = split_table_name(table)
    if name.schema is None:
        return False
    return database.create_schema_if_missing(name.schema)


def export_reader(con, lakehouse, export: ExportModel) -> pa.RecordBatchReader:
    """The rows `export` writes, streamed from the lakehouse by DuckDB connection `con`."""
    relations = {t.table: lakehouse.table_relation(con, t.path) for t in export.tables}
    if export.query:
        for name, relation in relations.items():
            con.execute(f"CREATE VIEW {quote_identifier(name, 'duckdb')} AS FROM {relation}")
        sql = export.query.strip().rstrip(";")
    elif all(r.startswith("read_parquet(") for r in relations.values()):
        locations = [r.removeprefix("read_parquet(").removesuffix(")") for r in relations.values()]
        sql = f"FROM read_parquet([{', '.join(locations)}], union_by_name = true)"
    else:  # Delta tables among them: one scan each, columns matched by name
        sql = " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in relations.values())
    return con.execute(sql).to_arrow_reader(DEFAULT_BATCH_ROWS)


def _keep_preview(reader: pa.RecordBatchReader, preview: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if "rows" not in preview:
            preview["rows"] = pa.Table.from_batches([batch.slice(0, PREVIEW_ROWS)], schema=batch.schema)
        yield batch
