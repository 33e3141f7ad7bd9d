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
from dagster_cfwb.transfer.source_select import Filter

__all__ = ["Filter", "WrittenTable", "column_descriptions", "source_select", "write_source"]


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


def _stream_to_lakehouse(
    batches: Iterator[pa.RecordBatch], lakehouse: LakehouseWriter, path: str
) -> WrittenTable:
    result = lakehouse.write_table(batches, path)
    return WrittenTable(path=result.path, rows=result.rows, bytes=result.bytes, schema=result.schema)


def write_source(
    source: Any,
    resource: ArrowSource | LakehouseLoader,
    lakehouse: LakehouseWriter,
    path: str,
    *,
    filters: Sequence[Filter] = (),
    batch_rows: int | None = None,
) -> WrittenTable:
    """Copy `source` through `resource` into lakehouse file `path` (written atomically).

    Raises:
        TypeError: the resource under `source.resource_key` cannot serve this kind of source.
    """
    kind = source.kind
    if kind in ("database", "denodo"):
        reader = _require(resource, ArrowSource, "iter_batches", source)
        sql, params = source_select(source, reader, filters)
        try:
            return _stream_to_lakehouse(reader.iter_batches(sql, params, batch_rows), lakehouse, path)
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
