"""`LakehouseImportComponent`: copy tables, views, files or API data into the lakehouse, from YAML."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import dagster as dg
import pyarrow as pa
from dagster.components import Resolver
from pydantic import StringConstraints, field_validator, model_validator

from dagster_cfwb.checks.check_specs import build_table_checks
from dagster_cfwb.components.check_model import CheckModel, refuse_change_check_on_partitions
from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.incremental_import import run_incremental_import
from dagster_cfwb.components.incremental_window import LOOKBACK_PATTERN, parse_lookback
from dagster_cfwb.components.scaffolders import LakehouseImportScaffolder
from dagster_cfwb.components.source_reading import Filter, WrittenTable, column_descriptions, write_source
from dagster_cfwb.components.yaml_models import PartitionsModel, SourceModel, TableModel
from dagster_cfwb.metadata import lakehouse_location, table_metadata
from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["ImportModel", "LakehouseImportComponent", "Import"]

_KIND_TAGS = {"database": "sql", "denodo": "denodo", "file": "file", "api": "api"}


class Import(dg.Model, dg.Resolvable):
    """One import: a source copied into one lakehouse table (one asset)."""

    source: Annotated[SourceModel, Resolver.default(description="Where the data comes from (see `kind`).")]
    target: Annotated[
        TableModel,
        Resolver.default(description="Lakehouse table written: `code_location`, `layer` and `table`."),
    ]
    mode: Annotated[
        Literal["replace", "append", "incremental"],
        Resolver.default(
            description=(
                "`replace` (default): the table becomes a fresh copy of the source. `append`: the rows read "
                "are added to the table. `incremental` (database and Denodo sources): each run reads the rows "
                "whose `watermark_column` is at least the largest value already in the table minus `lookback` "
                "(and the rows where it is empty), and merges them: by `keys` when given (the new row "
                "replaces the old one), else by dropping the rows already in the table. A row is never "
                "lost nor imported twice, even when a run is retried."
            )
        ),
    ] = "replace"
    format: Annotated[
        Literal["parquet", "delta"] | None,
        Resolver.default(
            description=(
                "How the table is stored: `parquet` (one file `<table>.parquet`) or `delta` (a Delta Lake "
                "table, folder `<table>`: every run is one commit with history and time travel, "
                "`incremental` becomes a key-based merge). Empty: the component's `format`, else the "
                'lakehouse resource\'s `default_format`. See "Parquet files or Delta tables" in '
                "docs/lakehouse.md."
            ),
            examples=["delta"],
        ),
    ] = None
    watermark_column: Annotated[
        str | None,
        Resolver.default(
            description=(
                "`incremental` only: a source column that grows as rows are added or changed, e.g. "
                "`updated_at` or `id` (a timestamp, a date or a number)."
            ),
        ),
    ] = None
    keys: Annotated[
        list[str] | None,
        Resolver.default(
            description=(
                "`incremental` only: the column(s) identifying a row, e.g. `[id]`. With `keys`, a row read "
                "again replaces the row with the same key (a changed row is updated, never duplicated); "
                "when one run reads several rows of a key, the one with the largest `watermark_column` is "
                "kept. Rows with an empty key are refused. Without `keys`, rows are compared whole: a row "
                "read again is dropped, a changed row is added next to its old version."
            ),
            examples=[["id"]],
        ),
    ] = None
    lookback: Annotated[
        int | float | Annotated[str, StringConstraints(pattern=LOOKBACK_PATTERN)] | None,
        Resolver.default(
            description=(
                "`incremental` only: how far below the largest watermark already imported each run reads "
                "again, to catch rows committed late with an older value. A duration for timestamps "
                "(`30 minutes`, `1 hour`, `2 days`; units `seconds`, `minutes`, `hours`, `days`, `weeks`) or "
                "a number for numeric watermarks (e.g. `1000` ids); `0` reads from the largest value itself. "
                "Default: `1 hour` for timestamps, `0` for dates and numbers. The window is read again on "
                "every run (its rows are compared and dropped), so a longer lookback costs more reading."
            ),
            examples=["1 hour", 1000],
        ),
    ] = None
    partitions: Annotated[
        PartitionsModel | None,
        Resolver.default(
            description="Optional: one run per day or month, each reading only its rows (database and Denodo sources)."
        ),
    ] = None
    group: Annotated[
        str | None,
        Resolver.default(
            description="Group shown in the UI's asset graph; default: the target's code location."
        ),
    ] = None
    owners: Annotated[
        list[str] | None,
        Resolver.default(
            description="Data owner and steward: e-mail addresses or `team:<name>`, e.g. `[anne.martin@cfwb.be]`."
        ),
    ] = None
    tags: Annotated[
        dict[str, str] | None,
        Resolver.default(description="Free labels to filter assets in the UI, e.g. `{domaine: scolarite}`."),
    ] = None
    description: Annotated[
        str | None, Resolver.default(description="What this table holds, shown in the UI (Markdown allowed).")
    ] = None
    checks: Annotated[
        list[CheckModel] | None,
        Resolver.default(
            description="Data-quality checks run after each import (see DataQualityChecksComponent)."
        ),
    ] = None
    dashboard_url: Annotated[
        str | None, Resolver.default(description="Optional link to a dashboard built on this table.")
    ] = None
    documentation_url: Annotated[
        str | None, Resolver.default(description="Optional link to the table's documentation.")
    ] = None

    @field_validator("keys")
    @classmethod
    def _check_keys(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("`keys` needs at least one column, e.g. `keys: [id]`; found an empty list")
        for column in value:
            validate_identifier(column, what="key column")
        repeated = sorted({c for c in value if value.count(c) > 1})
        if repeated:
            raise ValueError(f"`keys` lists `{'`, `'.join(repeated)}` more than once")
        return value

    @field_validator("lookback", mode="before")
    @classmethod
    def _check_lookback(cls, value: Any) -> Any:
        parse_lookback(value)  # raises a ValueError naming the field, expected and found
        return value

    @model_validator(mode="after")
    def _check_mode(self):
        if self.mode == "incremental":
            if not self.watermark_column:
                raise ValueError(
                    "`mode: incremental` needs `watermark_column`, e.g. `watermark_column: updated_at`"
                )
            validate_identifier(self.watermark_column, what="watermark column")
        else:
            given = [f for f in ("watermark_column", "keys", "lookback") if getattr(self, f) is not None]
            if given:
                raise ValueError(
                    f"`{'`, `'.join(given)}` only appl{'ies' if len(given) == 1 else 'y'} to "
                    f"`mode: incremental`; this import has `mode: {self.mode}`"
                )
        if self.mode == "incremental" and self.source.kind not in ("database", "denodo"):
            raise ValueError(
                f"`mode: incremental` needs a `database` or `denodo` source; found `{self.source.kind}`"
            )
        if self.mode == "incremental" and self.source.columns and self.watermark_column:
            wanted = [self.watermark_column, *(self.keys or [])]
            missing = [c for c in wanted if c not in self.source.columns]
            if missing:
                raise ValueError(
                    f"`source.columns` must include the watermark and key columns; missing "
                    f"`{'`, `'.join(missing)}` (found {self.source.columns})"
                )
        if self.partitions is not None:
            if self.source.kind not in ("database", "denodo"):
                raise ValueError(
                    f"`partitions` need a `database` or `denodo` source; found `{self.source.kind}`"
                )
            if self.mode != "replace":
                raise ValueError(
                    f"a partitioned import writes each partition with `mode: replace`; found `{self.mode}`"
                )
            if self.format == "delta":
                raise ValueError(
                    "a partitioned import writes one Parquet file per partition; `format: delta` is not "
                    "available for `partitions` yet (remove `format`, or `partitions`)"
                )
            refuse_change_check_on_partitions(self.checks)
        if self.group is not None:
            validate_identifier(self.group, what="group")
        return self

    @property
    def file_path(self) -> str:
        """Lakehouse file (or glob, for a partitioned table) holding the table."""
        t = self.target
        return f"{t.code_location}/{t.layer}/{t.table}/*.parquet" if self.partitions else t.path


ImportModel = Import  # former name; the UI shows a YAML block as `<class name>Model`


@dg.scaffold_with(LakehouseImportScaffolder)
class LakehouseImportComponent(CfwbComponent):
    """Copy database tables, Denodo views, files or API data into lakehouse tables — one asset each.

    Each entry of `imports` reads a `source` through the resource named by `resource_key` and
    writes the lakehouse table `target` (`<code_location>/<layer>/<table>.parquet`), streamed in
    batches so memory stays flat. Every run reports row count, columns (with their descriptions from
    the source), source, size, duration and a preview of the first rows. Checks listed under
    `checks` run right after the import; a failing `error` check blocks what depends on the table.

    Example `defs.yaml`:

    ```yaml
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {kind: database, resource_key: postgresql, table: public.eleves}
          target: {code_location: enseignement, layer: stg, table: eleves}
          owners: [anne.martin@cfwb.be]
          checks:
            - {type: not_null, columns: [id]}
            - {type: unique, columns: [id]}
        - source: {kind: database, resource_key: postgresql, table: public.absences}
          target: {code_location: enseignement, layer: stg, table: absences}
          mode: incremental
          watermark_column: updated_at
          keys: [id]
          lookback: 1 hour
    ```

    With `mode: incremental`, each run reads the rows whose `watermark_column` is at least the
    largest value already imported minus `lookback` (and those where it is empty) and merges them
    into the table: by `keys` (a changed row replaces its old version), else by dropping the rows
    already there. A retried or interrupted run leaves exactly one copy of each source row; the
    metadata shows the watermark range read and the rows added, updated and de-duplicated.
    """

    imports: Annotated[
        list[ImportModel],
        Resolver.default(
            description="The imports, one lakehouse table (asset) each.",
            examples=[
                [
                    {
                        "source": {
                            "kind": "database",
                            "resource_key": "postgresql",
                            "table": "public.eleves",
                        },
                        "target": {"code_location": "enseignement", "layer": "stg", "table": "eleves"},
                        "checks": [{"type": "not_null", "columns": ["id"]}],
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
    batch_rows: Annotated[
        int | None,
        Resolver.default(
            description="Rows fetched per batch from databases (default: the resource's setting).",
            examples=[100000],
        ),
    ] = None
    format: Annotated[
        Literal["parquet", "delta"] | None,
        Resolver.default(
            description=(
                "Storage of every import of this component that sets no `format`: `parquet` or `delta`. "
                "Empty: the lakehouse resource's `default_format` (set once for the platform)."
            ),
            examples=["delta"],
        ),
    ] = None

    @model_validator(mode="after")
    def _check_unique_targets(self):
        validate_identifier(self.lakehouse_resource_key, what="resource key")
        seen: dict[str, int] = {}
        for i, imp in enumerate(self.imports):
            key = imp.target.path
            if key in seen:
                raise ValueError(
                    f"imports[{seen[key]}] and imports[{i}] both write `{key}`; each target must be unique"
                )
            seen[key] = i
        return self

    # -- wiring -----------------------------------------------------------------------------------
    def asset_spec(self, imp: ImportModel) -> dg.AssetSpec:
        """The asset of one import (key `<code_location>/<layer>/<table>`)."""
        metadata: dict[str, Any] = {
            "source": imp.source.describe(),
            # The resource is not known yet: the path inside the lakehouse (each run shows the real one).
            "lakehouse_path": imp.file_path,
        }
        if imp.dashboard_url:
            metadata["dashboard_url"] = dg.MetadataValue.url(imp.dashboard_url)
        if imp.documentation_url:
            metadata["documentation_url"] = dg.MetadataValue.url(imp.documentation_url)
        return dg.AssetSpec(
            key=imp.target.asset_key,
            description=imp.description or f"Copy of {imp.source.describe()} ({imp.mode}).",
            group_name=imp.group or imp.target.code_location,
            owners=imp.owners or [],
            tags=dict(imp.tags or {}),
            kinds={
                "delta" if (imp.format or self.format) == "delta" else "parquet",
                _KIND_TAGS[imp.source.kind],
            },
            metadata=metadata,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        assets, checks = [], []
        for imp in self.imports:
            assets.append(self._asset_for(imp))
            if imp.checks:
                checks.append(
                    build_table_checks(
                        asset_key=imp.target.asset_key,
                        lakehouse_path=imp.file_path,
                        checks=imp.checks,
                        lakehouse_key=self.lakehouse_resource_key,
                        name_suffix="import",
                    )
                )
        return dg.Definitions(assets=assets, asset_checks=checks)

    def _asset_for(self, imp: ImportModel) -> dg.AssetsDefinition:
        name = "import__" + "__".join(imp.target.asset_key.path)
        name += "_" + hashlib.sha1(imp.source.describe().encode(), usedforsecurity=False).hexdigest()[:6]

        @dg.multi_asset(
            name=name,
            specs=[self.asset_spec(imp)],
            required_resource_keys={self.lakehouse_resource_key, imp.source.resource_key},
            partitions_def=imp.partitions.definition() if imp.partitions else None,
        )
        def _import(context):
            return self.execute(context, imp)

        return _import

    # -- work -------------------------------------------------------------------------------------
    def execute(self, context: dg.AssetExecutionContext, imp: ImportModel) -> dg.MaterializeResult:
        """Run one import: read the source, write the lakehouse file, report metadata.

        Override this in a subclass to change how an import runs; `build_defs` only wires.
        """
        lakehouse = getattr(context.resources, self.lakehouse_resource_key)
        resource = getattr(context.resources, imp.source.resource_key)
        started = time.monotonic()
        table_format = self.table_format(imp, lakehouse)
        target = imp.target.path if table_format == "parquet" else imp.target.path.removesuffix(".parquet")
        filters: list[Filter] = []
        if imp.partitions:
            window = context.partition_time_window
            filters = [
                Filter(imp.partitions.column, ">=", window.start),
                Filter(imp.partitions.column, "<", window.end),
            ]
            target = f"{imp.target.code_location}/{imp.target.layer}/{imp.target.table}/{context.partition_key}.parquet"
        written = self._write(context, imp, resource, lakehouse, target, filters, table_format)
        seconds = time.monotonic() - started
        location = (
            written.path if written.path.startswith("azure://") else f"azure://{written.path.lstrip('/')}"
        )
        relation = f"'{location.replace(chr(39), chr(39) * 2)}'"
        if table_format == "delta":
            relation = f"delta_scan({relation})"
        preview = lakehouse.query_blob_storage(f"FROM {relation} LIMIT 10", output="arrow")
        metadata = table_metadata(
            schema=written.schema or preview.schema,
            rows=written.rows,
            table_name=imp.target.asset_key.to_user_string(),
            lakehouse_path=lakehouse_location(lakehouse, written.path),
            source=imp.source.describe(),
            source_text=imp.source.query
            or imp.source.table
            or imp.source.view
            or imp.source.path
            or imp.source.endpoint,
            source_checksum_value=written.source_checksum,
            seconds=seconds,
            bytes=written.bytes,
            preview=preview,
            column_descriptions=column_descriptions(imp.source, resource),
            dashboard_url=imp.dashboard_url,
            documentation_url=imp.documentation_url,
            extra={"mode": imp.mode, "format": table_format, **written.extra_metadata},
        )
        context.log.info(
            f"Imported {written.rows:,} rows into {lakehouse_location(lakehouse, written.path)} "
            f"in {seconds:.1f}s ({imp.mode})."
        )
        return dg.MaterializeResult(asset_key=imp.target.asset_key, metadata=metadata)

    def table_format(self, imp: ImportModel, lakehouse: Any) -> str:
        """`parquet` or `delta`: the import's `format`, else the component's, else the lakehouse's default."""
        if imp.partitions:
            return "parquet"
        return str(imp.format or self.format or getattr(lakehouse, "default_format", "parquet"))

    def _write(
        self,
        context,
        imp: ImportModel,
        resource,
        lakehouse,
        target: str,
        filters: list[Filter],
        table_format: str = "parquet",
    ) -> WrittenTable:
        if imp.mode == "incremental":
            return run_incremental_import(
                imp,
                resource,
                lakehouse,
                batch_rows=self.batch_rows,
                log=context.log,
                table_format=table_format,
            )
        if table_format == "delta":  # replace or append: one commit, straight from the source
            return write_source(
                imp.source,
                resource,
                lakehouse,
                target,
                filters=filters,
                batch_rows=self.batch_rows,
                table_format="delta",
                mode=imp.mode,
            )
        if imp.mode == "replace":
            return write_source(
                imp.source, resource, lakehouse, target, filters=filters, batch_rows=self.batch_rows
            )
        exists = lakehouse.exists(target)
        if not exists:
            return write_source(
                imp.source, resource, lakehouse, target, filters=filters, batch_rows=self.batch_rows
            )
        # Append: the new rows go to a staging file first, then old + new rows are streamed into the table.
        staging = f"{imp.target.code_location}/{imp.target.layer}/_incoming/{imp.target.table}.parquet"
        incoming = write_source(
            imp.source, resource, lakehouse, staging, filters=filters, batch_rows=self.batch_rows
        )
        try:
            if incoming.rows == 0:
                rows = lakehouse.query_blob_storage(
                    f"SELECT count(*) FROM 'azure://{target}'", output="arrow"
                )
                context.log.info("No new rows: the table is unchanged.")
                return WrittenTable(
                    path=f"azure://{target}",
                    rows=int(rows.column(0)[0].as_py()),
                    extra_metadata={"rows_added": 0},
                )
            result = lakehouse.write_table(_concat_batches(lakehouse, target, staging), target)
            return WrittenTable(
                path=result.path,
                rows=result.rows,
                bytes=result.bytes,
                schema=result.schema,
                source_checksum=incoming.source_checksum,
                extra_metadata={**incoming.extra_metadata, "rows_added": incoming.rows},
            )
        finally:
            lakehouse.delete(staging)


def _concat_batches(lakehouse, existing: str, incoming: str) -> Iterator[pa.RecordBatch]:
    """Batches of the existing table, then the incoming rows cast to the existing columns."""
    old_schema = lakehouse.arrow_schema(existing)
    new_schema = lakehouse.arrow_schema(incoming)
    if sorted(old_schema.names) != sorted(new_schema.names):
        missing = sorted(set(old_schema.names) - set(new_schema.names))
        added = sorted(set(new_schema.names) - set(old_schema.names))
        raise ValueError(
            f"Cannot append to `{existing}`: the source's columns changed (missing: {missing}, new: {added}). "
            "Run once with `mode: replace` to rebuild the table with the new columns."
        )
    yield from lakehouse.iter_batches(f"FROM 'azure://{existing}'")
    columns = ", ".join(f'"{n}"' for n in old_schema.names)
    for batch in lakehouse.iter_batches(f"SELECT {columns} FROM 'azure://{incoming}'"):
        yield batch.cast(old_schema) if batch.schema != old_schema else batch
