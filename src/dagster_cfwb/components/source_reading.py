"""Read an import's source into a lakehouse file, through the source's own resource.

One function per source kind, all returning the same `WrittenTable`. Database and Denodo
sources are streamed as Arrow batches (memory stays flat); file shares and APIs use their
resource's `to_lakehouse` verb. Filters (incremental watermark, partition window) are added as
bound parameters, never formatted into the SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dagster_cfwb.components.source_suggestions import similar_files, similar_tables
from dagster_cfwb.resources.protocols import ArrowSource, LakehouseLoader, LakehouseWriter
from dagster_cfwb.transfer.delta.delta_write import DeltaWriteResult
from dagster_cfwb.transfer.source_select import Filter

__all__ = ["Filter", "WrittenTable", "column_descriptions", "source_select", "write_source", "written"]


@dataclass
class WrittenTable:
    """What an import wrote: lakehouse path (`azure://…`), rows, bytes, and source facts."""

    path: str
    rows: int
    bytes: int | None = None
    schema: pa.Schema | None = None
    source_checksum: str | None = None
    extra_metadata: dict[str, Any] = field(default_factory=dict)


def source_select(
    source: Any, resource: ArrowSource, filters: Sequence[Filter] = ()
) -> tuple[str, list[Any] | None]:
    """The SELECT reading `source` (a table, view or query) with `filters`, and its parameters,
    in the quoting and parameter style of `resource` (its `source_select`)."""
    return resource.source_select(
        source.table or source.view, query=source.query, columns=source.columns, filters=filters
    )


def written(result: Any, **extra: Any) -> WrittenTable:
    """A `WrittenTable` for what `write_table` returned (a Parquet file or a Delta commit)."""
    delta = result.metadata() if isinstance(result, DeltaWriteResult) else {}
    rows = result.table_rows if delta and result.table_rows is not None else result.rows
    return WrittenTable(
        path=result.path,
        rows=rows,
        bytes=getattr(result, "bytes", None),
        schema=result.schema,
        extra_metadata={**delta, **extra},
    )


def _stream_to_lakehouse(
    batches: Iterator[pa.RecordBatch],
    lakehouse: LakehouseWriter,
    path: str,
    table_format: str | None = None,
    mode: str = "replace",
) -> WrittenTable:
    if table_format == "delta":
        return written(lakehouse.write_table(batches, path, format="delta", mode=mode))
    return written(lakehouse.write_table(batches, path))


def _delta_staging(path: str) -> str:
    folder, _, name = path.rpartition("/")
    return f"{folder}/_incoming/{name}.parquet"


def write_source(
    source: Any,
    resource: ArrowSource | LakehouseLoader,
    lakehouse: LakehouseWriter,
    path: str,
    *,
    filters: Sequence[Filter] = (),
    batch_rows: int | None = None,
    table_format: str | None = None,
    mode: str = "replace",
) -> WrittenTable:
    """Copy `source` through `resource` into lakehouse file `path` (written atomically).

    With `table_format="delta"`, `path` is a Delta table written in one commit with `mode`
    (`replace` or `append`): a database or Denodo source streams straight into it; other sources go
    through a staging Parquet file first (`<layer>/_incoming/<table>.parquet`, removed afterwards).

    Raises:
        TypeError: the resource under `source.resource_key` cannot serve this kind of source.
    """
    kind = source.kind
    if table_format == "delta" and kind not in ("database", "denodo"):
        staging = _delta_staging(path)
        try:
            staged = write_source(
                source, resource, lakehouse, staging, filters=filters, batch_rows=batch_rows
            )
            batches = lakehouse.iter_batches("FROM 'azure://" + staging.replace("'", "''") + "'")
            result = written(lakehouse.write_table(batches, path, format="delta", mode=mode))
        finally:
            lakehouse.delete(staging)
        result.source_checksum = staged.source_checksum
        result.extra_metadata = {**staged.extra_metadata, **result.extra_metadata}
        return result
    if kind in ("database", "denodo"):
        reader = _require(resource, ArrowSource, "iter_batches", source)
        sql, params = source_select(source, reader, filters)
        try:
            return _stream_to_lakehouse(
                reader.iter_batches(sql, params, batch_rows), lakehouse, path, table_format, mode
            )
        except Exception as e:
            name = source.table or source.view
            hint = similar_tables(reader, name) if name else ""
            if not hint:
                raise
            raise LookupError(
                f"No table or view `{name}` in the database of resource `{source.resource_key}`.{hint}"
            ) from e
    if filters:
        raise ValueError(
            f"A `{kind}` source cannot be filtered (incremental or partitions); use mode `replace`."
        )
    if kind == "file":
        options = dict(source.options or {})
        if source.format:
            options["format"] = source.format
        if getattr(source, "column_names", None):
            options["column_names"] = source.column_names
        loader = _require(resource, LakehouseLoader, "to_lakehouse", source)
        try:
            result = loader.to_lakehouse(source.path, lakehouse, path, **options)
        except FileNotFoundError as e:
            hint = similar_files(resource, source.path)
            if not hint:
                raise
            raise FileNotFoundError(f"{e}{hint}") from e
        files = getattr(result, "files", None) or []
        checksum = ",".join(sorted(getattr(f, "sha256", "") for f in files)) or None
        extra: dict[str, Any] = {"source_files": [getattr(f, "path", str(f)) for f in files]} if files else {}
        for key in ("original_column_names", "null_markers_in_text"):
            if getattr(result, key, None):
                extra[key] = dict(getattr(result, key))
        return WrittenTable(
            path=result.path,
            rows=result.rows,
            bytes=getattr(result, "bytes", None),
            schema=getattr(result, "schema", None),
            source_checksum=checksum,
            extra_metadata=extra,
        )
    if kind == "api":
        kwargs: dict[str, Any] = {}
        if source.params:
            kwargs["params"] = dict(source.params)
        if source.records_path:
            kwargs["record_path"] = source.records_path
        if source.paginator:
            kwargs["paginator"] = source.paginator
        if getattr(source, "column_names", None):
            kwargs["column_names"] = source.column_names
        loader = _require(resource, LakehouseLoader, "to_lakehouse", source)
        result = loader.to_lakehouse(source.endpoint, lakehouse, path, **kwargs)
        return WrittenTable(
            path=result.path,
            rows=result.rows,
            bytes=getattr(result, "bytes", None),
            schema=getattr(result, "schema", None),
        )
    raise ValueError(f"Unknown source kind `{kind}`.")


def _require(resource: Any, protocol: type, verb: str, source: Any) -> Any:
    if not isinstance(resource, protocol):
        raise TypeError(
            f"The resource `{source.resource_key}` ({type(resource).__name__}) cannot read a `{source.kind}` "
            f"source: it has no `{verb}`. Check `resource_key` and `kind` of this import."
        )
    return resource


def column_descriptions(source: Any, resource: Any) -> dict[str, str]:
    """Column descriptions the source knows: PostgreSQL/MySQL column comments, Denodo view descriptions.

    Asked of the resource (`ArrowSource.column_descriptions`) for a `database` table or a `denodo`
    view. Best effort: an error here never fails the import (an empty dict is returned).
    """
    name = source.table if source.kind == "database" else source.view if source.kind == "denodo" else None
    if not name or not isinstance(resource, ArrowSource):
        return {}
    try:
        return dict(resource.column_descriptions(name))
    except Exception:  # descriptions are optional
        return {}
