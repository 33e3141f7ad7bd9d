"""`cfwb run --preview`: the first rows an import would read (or an export would write), nothing written.

The import's own reading code runs (same options, same column renaming and types as a real run),
with a lakehouse stand-in that keeps the first batch and stops the read: no file is written to the
lakehouse, no table to a database, and the source's cursor or download is closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from dagster_cfwb.metadata import PREVIEW_ROWS

__all__ = ["imports_reading_postgres", "preview_imports", "preview_rows"]


class _PreviewDone(BaseException):  # not an error: it ends the read early
    """Raised by the stand-in lakehouse once it holds the first rows (a BaseException, like
    GeneratorExit, so that no `except Exception` of the reading code takes it for a failure)."""


class _PreviewLakehouse:
    """Accepts `write_table(batches, path)` like a lakehouse, keeps the first rows, writes nothing."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.table: pa.Table | None = None

    def write_table(self, data: Any, path: str, **_: Any):
        batches: Iterable[pa.RecordBatch]
        if isinstance(data, pa.Table):
            batches = data.to_batches()
            schema = data.schema
        else:
            schema = getattr(data, "schema", None)
            batches = data
        kept: list[pa.RecordBatch] = []
        count = 0
        for batch in batches:
            kept.append(batch)
            schema = schema or batch.schema
            count += batch.num_rows
            if count >= self.rows:
                break
        self.table = pa.Table.from_batches(kept, schema=schema).slice(0, self.rows)
        raise _PreviewDone


def preview_rows(source: Any, resource: Any, rows: int = PREVIEW_ROWS) -> pa.Table:
    """The first `rows` rows the import of `source` through `resource` would write.

    Raises:
        ValueError: the source's kind cannot be previewed this way (a Denodo extract without streaming).
    """
    from dagster_cfwb.components.source_reading import write_source

    stand_in = _PreviewLakehouse(rows)
    try:
        # the stand-in has only `write_table`, all a streamed source calls (not a full LakehouseWriter)
        write_source(source, resource, stand_in, "_preview/preview.parquet", batch_rows=max(rows, 1))  # type: ignore[arg-type]
    except _PreviewDone:
        pass
    if stand_in.table is None:
        raise ValueError(f"The source `{source.describe()}` cannot be previewed; run it without `--preview`.")
    return stand_in.table


def _imports_for(tree, keys) -> list[tuple[Any, Any]]:
    """(component, import model) of each key among the location's LakehouseImportComponents."""
    from dagster_cfwb.components.lakehouse_import import LakehouseImportComponent

    found = []
    for component in tree.get_all_components(LakehouseImportComponent):
        for imp in component.imports:
            if imp.target.asset_key in keys:
                found.append((component, imp))
    return found


def imports_reading_postgres(tree, keys, resources) -> list[str]:
    """Asset keys among `keys` of the imports whose source is a PostgreSQL resource: only their
    preview needs the database (the embedded one started when `CFWB_PG_HOST` is unset)."""
    from dagster_cfwb.resources.db.postgres_wire_resource import PostgresWireResource

    return [
        imp.target.asset_key.to_user_string()
        for _, imp in _imports_for(tree, keys)
        if isinstance(resources.get(imp.source.resource_key), PostgresWireResource)
    ]


def _exports_for(tree, keys) -> list[tuple[Any, Any]]:
    """(component, export model) of each key among the location's DatabaseExportComponents."""
    from dagster_cfwb.components.database_export import DatabaseExportComponent

    return [
        (component, export)
        for component in tree.get_all_components(DatabaseExportComponent)
        for export in component.exports
        if export.key in keys
    ]


def _preview_exports(found, resources, out) -> None:
    """Print the first rows each export would write (read from the lakehouse, nothing written)."""
    import dagster as dg

    from dagster_cfwb.components.database_export import export_reader

    for component, export in found:
        name = component.lakehouse_resource_key
        key = export.key.to_user_string()
        with dg.build_resources({name: resources[name]}) as built:
            lakehouse = getattr(built, name)
            missing = [t.asset_key.to_user_string() for t in export.tables if not lakehouse.exists(t.path)]
            if missing:
                print(f"{key}: nothing to preview, `{missing[0]}` is not built yet.", file=out)
                continue
            with lakehouse.duckdb_connection() as con:
                reader = export_reader(con, lakehouse, export)
                batch = next(iter(reader), None)
                table = pa.Table.from_batches([] if batch is None else [batch], schema=reader.schema)
        table = table.slice(0, PREVIEW_ROWS)
        print(f"{key} — first {table.num_rows} rows it would write to `{export.table}`", file=out)
        print(_format(table), file=out)
        print(
            f"(preview only: nothing was written; the target `{export.table}` and its database were "
            "not checked, a run without `--preview` does)",
            file=out,
        )


def preview_imports(tree, keys, defs, out) -> None:
    """Print the first rows each import among `keys` would read and each export would write."""
    import dagster as dg

    found = _imports_for(tree, keys)
    exports = _exports_for(tree, keys)
    previewed = {imp.target.asset_key for _, imp in found} | {e.key for _, e in exports}
    for key in keys:
        if key not in previewed:
            print(f"{key.to_user_string()}: not an import or export, nothing to preview.", file=out)
    resources = defs.resources or {}
    _preview_exports(exports, resources, out)
    for _component, imp in found:
        name = imp.source.resource_key
        if name not in resources:
            raise ValueError(f"The import `{imp.target.asset_key.to_user_string()}` needs resource `{name}`.")
        with dg.build_resources({name: resources[name]}) as built:
            table = preview_rows(imp.source, getattr(built, name))
        print(
            f"{imp.target.asset_key.to_user_string()} — first {table.num_rows} rows of {imp.source.describe()}",
            file=out,
        )
        print(_format(table), file=out)
        print("(preview only: nothing was written)", file=out)


def _format(table: pa.Table) -> str:
    """A plain text grid: column names, types, then the rows (cells cut at 30 characters)."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text if len(text) <= 30 else text[:29] + "…"

    names = table.schema.names
    rows = [[cell(v) for v in row.values()] for row in table.to_pylist()]
    types = [str(f.type) for f in table.schema]
    widths = [
        max(len(n), len(t), *(len(r[i]) for r in rows))
        for i, (n, t) in enumerate(zip(names, types, strict=True))
    ]
    lines = [
        "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
        "  ".join(t.ljust(w) for t, w in zip(types, widths, strict=True)),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
