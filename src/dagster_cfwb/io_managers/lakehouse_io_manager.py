"""`LakehouseIOManager`: Python assets return a DataFrame, Dagster stores it in the lakehouse."""

# No `from __future__ import annotations`: Dagster reads the `ResourceDependency` annotation at class creation.

from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field, field_validator

from dagster_cfwb.io_managers.asset_tables import AssetTable, asset_table
from dagster_cfwb.io_managers.frame_kinds import frame_kind_for_annotation, from_arrow, to_arrow_table
from dagster_cfwb.io_managers.partition_columns import partition_value, split_by_partition
from dagster_cfwb.metadata import lakehouse_location, table_metadata
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

__all__ = [
    "ALLOW_MISSING_PARTITIONS",
    "FORMAT_KEY",
    "LAYER_KEY",
    "PARTITION_COLUMN_KEY",
    "LakehouseIOManager",
]

LAYER_KEY = "cfwb/layer"
FORMAT_KEY = "cfwb/format"
PARTITION_COLUMN_KEY = "cfwb/partition_column"
ALLOW_MISSING_PARTITIONS = "cfwb/allow_missing_partitions"
FORMATS = ("parquet", "delta")


def _asset_name(context: dg.InputContext | dg.OutputContext) -> str:
    return context.asset_key.to_user_string()


def _with_asset(error: Exception, asset: str) -> Exception:
    """`error` with `Asset `x`: ` in front of its message, same type (for the user's eyes in the UI)."""
    if str(error).startswith("Asset `"):
        return error
    message = f"Asset `{asset}`: {error}"
    try:
        return type(error)(message)
    except Exception:  # an exception type whose constructor wants more than a message
        return RuntimeError(message)


class LakehouseIOManager(dg.ConfigurableIOManager):
    """Store what a Python asset returns in the lakehouse, and load it for the assets downstream.

    An asset that returns a polars `DataFrame` or `LazyFrame`, a pandas `DataFrame` or a pyarrow
    `Table` is written to `<code_location>/<layer>/<name>` of the lakehouse resource it holds
    (`LocalLakehouseResource` or `AzureAdlsResource`); an asset downstream gets it back as the type
    its input is annotated with (`pl.DataFrame` when not annotated, `pl.LazyFrame`, `pd.DataFrame`,
    `pa.Table`). An asset that returns `None` writes nothing: the table stays as it was.

    **Where.** From the asset key: `["enseignement", "slv", "eleves"]` → `enseignement/slv/eleves`.
    A key without code location (`["slv", "eleves"]`, `["slv_eleves"]`, or `["eleves"]` with tag
    `cfwb/layer: slv`) uses `code_location` below. The key's code location wins, so an asset of
    another location is read where its location wrote it.

    **Format.** `format` below, or per asset metadata `cfwb/format: delta`. Parquet: the file
    `<path>.parquet`; partitioned, one file per partition `<path>/<partition key>.parquet`, each
    written atomically. Delta: the table folder `<path>`; partitioned, each run replaces its
    partition's rows in one commit (`replace_where`), which needs metadata
    `cfwb/partition_column` naming the column that holds the partition.

    **Partitions.** A run writes only its partition(s). A run of several partitions at once (a
    single-run backfill) returns their rows in one frame with `cfwb/partition_column`, split per
    partition. A downstream asset that reads a range of partitions gets them as **one** frame, in
    partition order; a missing partition is an error unless the input's metadata says
    `cfwb/allow_missing_partitions: true`.

    **Metadata** of each materialisation: `dagster/row_count` (rows written by the run),
    `dagster/column_schema`, `dagster/table_name`, `lakehouse_path`, and for Delta the table version.

    Example:

    ```python
    import dagster as dg
    import polars as pl
    from dagster_cfwb.io_managers import LakehouseIOManager
    from dagster_cfwb.resources.lakehouse import LocalLakehouseResource

    @dg.asset(key=["enseignement", "stg", "eleves"])
    def stg_eleves() -> pl.DataFrame:
        return pl.DataFrame({"id": [1, 2], "nom": ["Ana", "Bo"]})

    @dg.asset(key=["enseignement", "slv", "eleves"])
    def slv_eleves(stg_eleves: pl.DataFrame) -> pl.DataFrame:
        return stg_eleves.with_columns(pl.col("nom").str.to_uppercase())

    lakehouse = LocalLakehouseResource(root="lakehouse")
    defs = dg.Definitions(
        assets=[stg_eleves, slv_eleves],
        resources={"io_manager": LakehouseIOManager(lakehouse=lakehouse)},
    )
    ```
    """

    # The lakehouse resource the tables are stored in: a `LocalLakehouseResource` (folder or NFS
    # mount) or an `AzureAdlsResource` (Azure Data Lake Storage). (A resource, so it takes no Field.)
    lakehouse: dg.ResourceDependency[LakehouseResource]
    code_location: str | None = Field(
        default=None,
        description=(
            "Code location used for the assets whose key does not start with one, e.g. `enseignement` "
            '(key `["slv", "eleves"]` → `enseignement/slv/eleves`). Empty: every asset key must name '
            'its code location (`["enseignement", "slv", "eleves"]`).'
        ),
    )
    format: str | None = Field(
        default=None,
        description=(
            "How tables are stored unless an asset's metadata `cfwb/format` says otherwise: `parquet` "
            "(one file per table or per partition) or `delta` (a Delta Lake table: history, restore, "
            "merge). Empty: the lakehouse resource's `default_format` (`parquet` unless set)."
        ),
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            raise ValueError(f"`format` is `{value}`; expected `parquet`, `delta`, or empty.")
        return value

    compression: str = Field(
        default="zstd",
        description="Parquet compression codec of the written files: `zstd` (default), `snappy`, `gzip` or `none`.",
    )

    # -- where and how ---------------------------------------------------------------------------
    def _table(self, context: dg.InputContext | dg.OutputContext, spec: dg.AssetSpec | None) -> AssetTable:
        layer = None
        if spec is not None:
            layer = (spec.metadata or {}).get(LAYER_KEY) or (spec.tags or {}).get(LAYER_KEY)
        try:
            return asset_table(context.asset_key.path, code_location=self.code_location, layer=layer)
        except ValueError as e:
            raise _with_asset(e, _asset_name(context)) from None

    def _default_format(self) -> str:
        return str(self.format or getattr(self.lakehouse, "default_format", "parquet"))

    def _format(self, metadata: dict[str, Any], asset: str) -> str:
        value = metadata.get(FORMAT_KEY, self._default_format())
        value = getattr(value, "value", value)
        if value not in FORMATS:
            raise ValueError(
                f"Asset `{asset}` has metadata `{FORMAT_KEY}: {value}`; expected one of {', '.join(FORMATS)}."
            )
        return value

    @staticmethod
    def _partition_values(
        context: dg.InputContext | dg.OutputContext, keys: list[str], column_type: pa.DataType, column: str
    ) -> dict[str, Any]:
        definition = context.asset_partitions_def
        values = {}
        for key in keys:
            start = None
            if isinstance(definition, dg.TimeWindowPartitionsDefinition):
                start = definition.time_window_for_partition_key(key).start
            where = f"Partition column `{column}` of asset `{_asset_name(context)}`"
            values[key] = partition_value(key, start, column_type, where=where)
        return values

    # -- output ----------------------------------------------------------------------------------
    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write `obj` to the asset's lakehouse place (nothing when `obj` is None)."""
        asset = _asset_name(context)
        if obj is None:
            context.log.info(f"Asset `{asset}` returned None: nothing written to the lakehouse.")
            return
        spec = context.asset_spec
        metadata = dict(spec.metadata or {})
        place = self._table(context, spec)
        fmt = self._format(metadata, asset)
        table = to_arrow_table(obj, asset=asset)
        try:
            self._refuse_mixed_formats(place, fmt, partitioned=context.has_asset_partitions)
            if context.has_asset_partitions:
                written = self._write_partitions(
                    context, table, place, fmt, metadata.get(PARTITION_COLUMN_KEY)
                )
            else:
                written = self._write_whole(table, place, fmt)
        except (TypeError, ValueError, KeyError, OSError) as e:
            named = _with_asset(e, asset)
            if named is e:
                raise
            raise named from e
        context.add_output_metadata(written)

    def _refuse_mixed_formats(self, place: AssetTable, fmt: str, *, partitioned: bool) -> None:
        """One folder holds Parquet partition files or a Delta table, never both (a vacuum of the
        table would delete the files; a reader would see one or the other)."""
        if fmt == "parquet" and not partitioned:
            return  # the file `<path>.parquet` is beside the folder, not in it
        files = [f.path for f in self.lakehouse.list(place.path + "/")]
        logged = any(f"{place.path}/_delta_log/" in f for f in files)
        if fmt == "delta" and files and not logged:
            raise ValueError(
                f"Cannot create Delta table `{place.path}`: the folder already holds {len(files)} other "
                f"files (e.g. `{files[0]}`), Parquet partitions written before. Nothing was written. "
                "Move or delete them (`lakehouse.delete`), or keep `cfwb/format: parquet`."
            )
        if fmt == "parquet" and partitioned and logged:
            raise ValueError(
                f"Cannot write Parquet partition files into `{place.path}`: it is a Delta table. Nothing was "
                "written. Set `cfwb/format: delta` on the asset, or move the table away first."
            )

    def _write_whole(self, table: pa.Table, place: AssetTable, fmt: str) -> dict[str, Any]:
        if fmt == "delta":
            result = self.lakehouse.write_table(table, place.path, format="delta", mode="replace")
            return self._delta_metadata(place, [result], table.schema, table.num_rows)
        result = self.lakehouse.write_table(table, place.parquet_file, compression=self.compression)
        # without format="delta", write_table returns a ParquetWriteResult (it has `bytes`)
        return self._metadata(place, result.schema, result.rows, place.parquet_file, size=result.bytes)  # type: ignore[union-attr]

    def _write_partitions(
        self, context: dg.OutputContext, table: pa.Table, place: AssetTable, fmt: str, column: str | None
    ) -> dict[str, Any]:
        asset = _asset_name(context)
        keys = list(context.asset_partition_keys)
        if column is None:
            if fmt == "delta":
                raise ValueError(
                    f"Asset `{asset}` is partitioned and stored as Delta: say which column holds the "
                    f"partition with metadata `{PARTITION_COLUMN_KEY}` (e.g. `jour`), so that a run "
                    "replaces only its partition's rows. Nothing was written."
                )
            if len(keys) > 1:
                raise ValueError(
                    f"Asset `{asset}` ran for {len(keys)} partitions at once ({keys[0]} … {keys[-1]}) and "
                    f"returned one frame: say which column holds the partition with metadata "
                    f"`{PARTITION_COLUMN_KEY}`, so that each partition's rows go to its own file. "
                    "Nothing was written."
                )
            parts = {keys[0]: table}
        else:
            if column not in table.column_names:
                split_by_partition(table, column, {}, asset=asset)  # raises the KeyError naming the columns
            values = self._partition_values(context, keys, table.schema.field(column).type, column)
            parts = split_by_partition(table, column, values, asset=asset)
        if fmt == "delta" and column is not None:  # (a Delta table without a column was refused above)
            results = [
                self.lakehouse.write_table(
                    part,
                    place.path,
                    format="delta",
                    mode="replace",
                    partition_by=[column],
                    replace_where={column: values[key]},
                )
                for key, part in parts.items()
            ]
            return self._delta_metadata(place, results, table.schema, table.num_rows, partitions=len(parts))
        results = [
            self.lakehouse.write_table(part, place.partition_file(key), compression=self.compression)
            for key, part in parts.items()
        ]
        shown = place.partition_file(keys[0]) if len(keys) == 1 else f"{place.path}/*.parquet"
        return self._metadata(
            place,
            results[0].schema,
            sum(r.rows for r in results),
            shown,
            size=sum(r.bytes for r in results),  # type: ignore[union-attr, misc]  # Parquet results here
            extra={"partitions_written": dg.MetadataValue.int(len(results))} if len(results) > 1 else None,
        )

    def _metadata(
        self, place: AssetTable, schema: pa.Schema, rows: int, path: str, *, size=None, extra=None
    ) -> dict[str, Any]:
        return table_metadata(
            schema=schema,
            rows=rows,
            table_name=place.path,
            lakehouse_path=lakehouse_location(self.lakehouse, path),
            bytes=size,
            extra=extra,
        )

    def _delta_metadata(
        self, place: AssetTable, results: list, schema: pa.Schema, rows: int, *, partitions: int = 0
    ) -> dict[str, Any]:
        last = results[-1]
        extra: dict[str, Any] = {
            "delta_version": dg.MetadataValue.int(int(last.version)),
            "delta_operation": dg.MetadataValue.text(str(last.operation)),
        }
        for name in ("rows_inserted", "rows_updated", "rows_deleted"):
            counts = [getattr(r, name, None) for r in results]
            if all(c is not None for c in counts):
                extra[f"delta_{name}"] = dg.MetadataValue.int(int(sum(c for c in counts if c is not None)))
        if partitions > 1:
            extra["partitions_written"] = dg.MetadataValue.int(partitions)
        return self._metadata(place, schema, rows, place.path, extra=extra)

    # -- input -----------------------------------------------------------------------------------
    def load_input(self, context: dg.InputContext) -> Any:
        """Read the upstream asset from the lakehouse as the type the input is annotated with."""
        asset = _asset_name(context)
        upstream = context.upstream_output
        spec = upstream.asset_spec if upstream is not None else None
        metadata = dict(spec.metadata or {}) if spec is not None else {}
        kind = frame_kind_for_annotation(
            context.dagster_type.typing_type, asset=asset, input_name=context.name or asset
        )
        place = self._table(context, spec)
        fmt = self._format(metadata, asset) if FORMAT_KEY in metadata else self._stored_format(place)
        allow_missing = bool((context.definition_metadata or {}).get(ALLOW_MISSING_PARTITIONS, False))
        try:
            if context.has_asset_partitions:
                keys = list(context.asset_partition_keys)
                if fmt == "delta":
                    table = self._read_delta_partitions(
                        context, place, keys, metadata.get(PARTITION_COLUMN_KEY)
                    )
                else:
                    table = self._read_parquet_partitions(place, keys, allow_missing, asset)
            elif fmt == "delta":
                table = self.lakehouse.read_table(place.path, output="arrow")
            else:
                table = self.lakehouse.read_table(place.parquet_file, output="arrow")
        except (TypeError, ValueError, KeyError, OSError) as e:
            named = _with_asset(e, asset)
            if named is e:
                raise
            raise named from e
        return from_arrow(table, kind)

    def _stored_format(self, place: AssetTable) -> str:
        """The format of an asset whose definition here does not say (e.g. another location's):
        Delta if a Delta table is at its path, Parquet if its files are there, else the default."""
        if self.lakehouse.is_delta_table(place.path):
            return "delta"
        if self._default_format() == "delta" and self.lakehouse.list(place.path):
            return "parquet"
        return self._default_format()

    def _read_parquet_partitions(
        self, place: AssetTable, keys: list[str], allow_missing: bool, asset: str
    ) -> pa.Table:
        stored = {f.path for f in self.lakehouse.list(place.path + "/")}
        files = [place.partition_file(k) for k in keys]
        missing = [k for k, f in zip(keys, files, strict=True) if f not in stored]
        if missing and not allow_missing:
            shown = ", ".join(f"`{k}`" for k in missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise FileNotFoundError(
                f"Asset `{asset}`: {len(missing)} of the {len(keys)} partitions asked for are not in the "
                f"lakehouse ({shown}; files `{place.path}/<partition>.parquet`). Materialise them first, or "
                f"set `{ALLOW_MISSING_PARTITIONS}: true` in the input's metadata to read those that exist."
            )
        present = [f for f in files if f in stored]
        if not present:
            raise FileNotFoundError(
                f"Asset `{asset}`: none of the {len(keys)} partitions asked for is in the lakehouse "
                f"(files `{place.path}/<partition>.parquet`)."
            )
        urls = ", ".join("'azure://" + f.replace("'", "''") + "'" for f in present)
        return self.lakehouse.query_blob_storage(f"FROM read_parquet([{urls}])", output="arrow")  # our paths

    def _read_delta_partitions(
        self, context: dg.InputContext, place: AssetTable, keys: list[str], column: str | None
    ) -> pa.Table:
        import pyarrow.compute as pc

        from dagster_cfwb.transfer.identifiers import quote_identifier

        asset = _asset_name(context)
        if column is None:
            raise ValueError(
                f"Asset `{asset}` is partitioned and stored as Delta but has no metadata "
                f"`{PARTITION_COLUMN_KEY}`: the IO manager cannot tell which rows belong to which partition."
            )
        schema = self.lakehouse.query_blob_storage(
            f"SELECT * FROM delta_scan('azure://{place.path}') LIMIT 0", output="arrow"
        ).schema  # our own validated path
        if column not in schema.names:
            raise KeyError(
                f"Asset `{asset}` declares `{PARTITION_COLUMN_KEY}: {column}`, but its Delta table "
                f"`{place.path}` has no column `{column}` (columns: {', '.join(schema.names)})."
            )
        values = self._partition_values(context, keys, schema.field(column).type, column)
        placeholders = ", ".join("?" for _ in values)
        table = self.lakehouse.query_blob_storage(
            f"SELECT * FROM delta_scan('azure://{place.path}') "  # validated names, bound values
            f"WHERE {quote_identifier(column, 'duckdb')} IN ({placeholders})",
            output="arrow",
            params=list(values.values()),
        )
        wanted = pa.array(list(values.values()), table.schema.field(column).type)
        order = pc.index_in(table.column(column), wanted)
        return table.take(pc.sort_indices(order))
