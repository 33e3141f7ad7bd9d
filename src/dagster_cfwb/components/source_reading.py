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
from dagster_cfwb.transfer.identifiers import quote_identifier, split_table_name

__all__ = ["Filter", "WrittenTable", "column_descriptions", "source_select", "write_source"]

# Placeholder style of each SQL dialect's driver (psycopg/pymysql: %s; mssql-python/ibm_db/Denodo ODBC: ?).
_PLACEHOLDERS = {"postgres": "%s", "mysql": "%s", "mssql": "?", "db2": "?", "denodo": "?"}


@dataclass(frozen=True)
class Filter:
    """`column <op> value`, added to the source query with `value` bound as a parameter.

    With `or_null=True` the rows whose `column` is NULL pass too:
    `("column" >= %s OR "column" IS NULL)` (an incremental import reads them every run).
    """

    column: str
    op: str  # one of > >= <
    value: Any
    or_null: bool = False


@dataclass
class WrittenTable:
    """What an import wrote: lakehouse path (`azure://…`), rows, bytes, and source facts."""

    path: str
    rows: int
    bytes: int | None = None
    schema: pa.Schema | None = None
    source_checksum: str | None = None
    extra_metadata: dict[str, Any] = field(default_factory=dict)


def _dialect_of(resource: Any, kind: str) -> str:
    if kind == "denodo":
        return getattr(resource, "dialect", "denodo") or "denodo"
    return getattr(resource, "dialect", "postgres")


def source_select(source: Any, dialect: str, filters: Sequence[Filter] = ()) -> tuple[str, list[Any] | None]:
    """The SELECT reading `source` (a table, view or query) with `filters`, and its parameters.

    Example:
        >>> class S: table = "public.eleves"; view = None; query = None; columns = ["id", "nom"]
        >>> source_select(S(), "postgres", [Filter("maj", ">", 5)])
        ('SELECT "id", "nom" FROM "public"."eleves" WHERE "maj" > %s', [5])
        >>> source_select(S(), "mssql", [Filter("maj", ">=", 5, or_null=True)])[0]
        'SELECT [id], [nom] FROM [public].[eleves] WHERE ([maj] >= ? OR [maj] IS NULL)'

    """
    quoting = "postgres" if dialect == "denodo" else dialect
    columns = (
        ", ".join(quote_identifier(c, quoting, what="column") for c in source.columns)
        if source.columns
        else "*"
    )
    if source.table:
        base = f"SELECT {columns} FROM {split_table_name(source.table).quoted(quoting)}"
        if not filters:
            return base, None
        sql = base
    elif source.view:
        sql = f"SELECT {columns} FROM {split_table_name(source.view).quoted(quoting)}"
        if not filters:
            return sql, None
    else:
        query = source.query.strip().rstrip(";")
        if not filters:
            return query, None
        sql = f"SELECT * FROM ({query}\n) cfwb_source"  # a line break ends a trailing `-- comment`
    mark = _PLACEHOLDERS.get(dialect, "%s")
    conditions = []
    for f in filters:
        if f.op not in (">", ">=", "<"):
            raise ValueError(f"Unsupported filter operator {f.op!r}.")
        column = quote_identifier(f.column, quoting, what="column")
        condition = f"{column} {f.op} {mark}"
        conditions.append(f"({condition} OR {column} IS NULL)" if f.or_null else condition)
    return f"{sql} WHERE {' AND '.join(conditions)}", [f.value for f in filters]


def _stream_to_lakehouse(batches: Iterator[pa.RecordBatch], lakehouse: Any, path: str) -> WrittenTable:
    result = lakehouse.write_table(batches, path)
    return WrittenTable(path=result.path, rows=result.rows, bytes=result.bytes, schema=result.schema)


def write_source(
    source: Any,
    resource: Any,
    lakehouse: Any,
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
        sql, params = source_select(source, _dialect_of(resource, kind), filters)
        if kind == "denodo" and not hasattr(resource, "iter_batches"):
            result = _call(resource, "extract_to_lakehouse", source, sql, lakehouse, path, params=params)
            return WrittenTable(path=result.path, rows=result.rows, bytes=result.bytes, schema=result.schema)
        _require(resource, "iter_batches", source)
        try:
            return _stream_to_lakehouse(resource.iter_batches(sql, params, batch_rows), lakehouse, path)
        except Exception as e:
            name = source.table or source.view
            hint = similar_tables(resource, name) if name else ""
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
        try:
            result = _call(resource, "to_lakehouse", source, source.path, lakehouse, path, **options)
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
        result = _call(resource, "to_lakehouse", source, source.endpoint, lakehouse, path, **kwargs)
        return WrittenTable(
            path=result.path,
            rows=result.rows,
            bytes=getattr(result, "bytes", None),
            schema=getattr(result, "schema", None),
        )
    raise ValueError(f"Unknown source kind `{kind}`.")


def _require(resource: Any, verb: str, source: Any) -> None:
    if not callable(getattr(resource, verb, None)):
        raise TypeError(
            f"The resource `{source.resource_key}` ({type(resource).__name__}) cannot read a `{source.kind}` "
            f"source: it has no `{verb}`. Check `resource_key` and `kind` of this import."
        )


def _call(resource: Any, verb: str, source: Any, *args: Any, **kwargs: Any) -> Any:
    _require(resource, verb, source)
    return getattr(resource, verb)(*args, **kwargs)


def column_descriptions(source: Any, resource: Any) -> dict[str, str]:
    """Column descriptions the source knows: PostgreSQL/MySQL column comments, Denodo view descriptions.

    Best effort: an error here never fails the import (an empty dict is returned).
    """
    try:
        if source.kind == "database" and source.table and getattr(resource, "dialect", "") == "postgres":
            name = split_table_name(source.table)
            regclass = name.quoted("postgres")
            table = resource.query(
                "SELECT a.attname AS name, col_description(a.attrelid, a.attnum) AS description "
                "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                params=[regclass],
                output="arrow",
            )
            return {
                n: d
                for n, d in zip(table["name"].to_pylist(), table["description"].to_pylist(), strict=True)
                if d
            }
        if source.kind == "database" and source.table and getattr(resource, "dialect", "") == "mysql":
            name = split_table_name(source.table)
            table = resource.query(
                "SELECT COLUMN_NAME AS name, COLUMN_COMMENT AS description FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
                params=[name.schema, name.table],
                output="arrow",
            )
            return {
                n: d
                for n, d in zip(table["name"].to_pylist(), table["description"].to_pylist(), strict=True)
                if d
            }
        if source.kind == "denodo" and source.view and callable(getattr(resource, "describe_view", None)):
            return _descriptions_from(resource.describe_view(source.view))
    except Exception:  # descriptions are optional
        return {}
    return {}


def _descriptions_from(described: Any) -> dict[str, str]:
    """Accept what a `describe_view` returns: a mapping, rows of dicts, or a DataFrame/Arrow table."""
    if isinstance(described, dict):
        columns = described.get("columns", described)
        if isinstance(columns, dict):
            return {str(k): str(v) for k, v in columns.items() if isinstance(v, str) and v}
        described = columns
    if hasattr(described, "to_pylist"):
        described = described.to_pylist()
    elif hasattr(described, "to_dicts"):
        described = described.to_dicts()
    out = {}
    for row in described or []:
        row = row if isinstance(row, dict) else getattr(row, "__dict__", {})
        name = row.get("name") or row.get("column_name") or row.get("column")
        text = row.get("description") or row.get("column_description") or row.get("comment")
        if name and text:
            out[str(name)] = str(text)
    return out
