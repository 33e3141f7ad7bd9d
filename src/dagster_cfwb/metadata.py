"""The one helper that builds the metadata shown on every materialisation of a table.

Example:

```python
from dagster_cfwb.metadata import table_metadata

metadata = table_metadata(
    schema=write_result.schema, rows=write_result.rows,
    table_name="enseignement/stg/eleves", lakehouse_path=write_result.path,
    source="database `postgresql`: public.eleves",
    seconds=3.2, bytes=write_result.bytes, preview=first_rows_table,
    column_descriptions={"id": "Identifiant de l'élève"},
    dashboard_url="https://vizu.intranet.example/eleves",
)
return dg.MaterializeResult(metadata=metadata)
```
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow as pa

from dagster_cfwb.transfer.column_names import original_names

__all__ = [
    "PREVIEW_ROWS",
    "lakehouse_location",
    "markdown_preview",
    "source_checksum",
    "table_metadata",
    "written_table_metadata",
]

PREVIEW_ROWS = 10


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


def markdown_preview(table: pa.Table | pa.RecordBatch | None, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows of `table` as a Markdown table (cells cut at 40 characters)."""
    if table is None or table.num_columns == 0:
        return "*(no columns)*"
    head = table.slice(0, rows)
    names = head.schema.names
    lines = ["| " + " | ".join(_cell(n) for n in names) + " |", "|" + "---|" * len(names)]
    for row in head.to_pylist():
        lines.append("| " + " | ".join(_cell(row[n]) for n in names) + " |")
    if head.num_rows == 0:
        lines.append("| " + " | ".join("" for _ in names) + " |")
    return "\n".join(lines)


def lakehouse_location(lakehouse: Any, path: str) -> str:
    """Where a lakehouse file really is, as shown in metadata and logs.

    A local lakehouse (`LocalLakehouseResource`) gives the absolute path on this machine, e.g.
    `/home/anne/platform/.dagster_home/lakehouse/enseignement/stg/eleves.parquet`; any other
    backend (Azure Data Lake Storage) gives the `azure://<code_location>/<layer>/<table>.parquet`
    form, which is also the name to use in SQL.

    Args:
        lakehouse: the lakehouse resource (or None: the `azure://` form).
        path: lakehouse path, with or without `azure://`.
    """
    from pathlib import Path

    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    clean = path.removeprefix("azure://").lstrip("/")
    if isinstance(lakehouse, LocalLakehouseResource):
        return str(Path(lakehouse.root).expanduser().resolve() / clean)
    return f"azure://{clean}"


def source_checksum(text: str) -> str:
    """Short SHA-256 of a source definition (query text, view, file path), to spot when it changes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def table_metadata(
    *,
    schema: pa.Schema,
    rows: int,
    table_name: str,
    lakehouse_path: str | None = None,
    source: str | None = None,
    source_text: str | None = None,
    source_checksum_value: str | None = None,
    seconds: float | None = None,
    bytes: int | None = None,  # the name the UI shows
    preview: pa.Table | pa.RecordBatch | None = None,
    column_descriptions: Mapping[str, str] | None = None,
    dashboard_url: str | None = None,
    documentation_url: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Metadata for one materialised table, in the keys the Dagster UI understands.

    Args:
        schema: Arrow schema of the table written (column names and types).
        rows: number of rows written → `dagster/row_count`.
        table_name: logical name → `dagster/table_name` (e.g. `enseignement/stg/eleves`).
        lakehouse_path: where the file is → `lakehouse_path`: the absolute path for a local
            lakehouse, `azure://…` on Azure (see `lakehouse_location`).
        source: where the data came from, e.g. ``database `postgresql`: public.eleves``.
        source_text: the query/view/file definition; its checksum is reported as `source_checksum`.
        source_checksum_value: a checksum computed elsewhere (e.g. of a source file), used as is.
        seconds: duration of the load → `duration_seconds`.
        bytes: size of the file written → `size_bytes`.
        preview: a few first rows → `preview` (Markdown table).
        column_descriptions: column → description (from Denodo or database comments). A column
            renamed to snake_case on import (its field has `original_name` metadata) without a
            description is described by its original name, e.g. `Date d'œuf (name in the source)`.
        dashboard_url / documentation_url: optional links shown as clickable URLs.
        extra: more entries, added as given.

    Returns:
        A dict to pass as `MaterializeResult(metadata=...)`.
    """
    descriptions = {**_original_names_described(schema), **dict(column_descriptions or {})}
    columns = [
        dg.TableColumn(name=field.name, type=str(field.type), description=descriptions.get(field.name))
        for field in schema
    ]
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/column_schema": dg.MetadataValue.table_schema(dg.TableSchema(columns=columns)),
        "dagster/table_name": dg.MetadataValue.text(table_name),
    }
    if lakehouse_path:
        metadata["lakehouse_path"] = dg.MetadataValue.path(lakehouse_path)
    if source:
        metadata["source"] = dg.MetadataValue.text(source)
    checksum = source_checksum_value or (source_checksum(source_text) if source_text else None)
    if checksum:
        metadata["source_checksum"] = dg.MetadataValue.text(checksum)
    if seconds is not None:
        metadata["duration_seconds"] = dg.MetadataValue.float(round(float(seconds), 3))
    if bytes is not None:
        metadata["size_bytes"] = dg.MetadataValue.int(int(bytes))
    if preview is not None:
        metadata["preview"] = dg.MetadataValue.md(markdown_preview(preview))
    if dashboard_url:
        metadata["dashboard_url"] = dg.MetadataValue.url(dashboard_url)
    if documentation_url:
        metadata["documentation_url"] = dg.MetadataValue.url(documentation_url)
    for key, value in (extra or {}).items():
        metadata[key] = value
    return metadata


def _original_names_described(schema: pa.Schema) -> dict[str, str]:
    """`{column: "<original name> (name in the source)"}` for the columns renamed on import."""
    return {name: f"{original} (name in the source)" for name, original in original_names(schema).items()}


def written_table_metadata(
    written, table_name: str, *, lakehouse: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """`table_metadata` for what `lakehouse.write_table` (or an extract) returned.

    Args:
        written: the ParquetWriteResult (path, rows, bytes, schema) of the file just written.
        table_name: logical name, e.g. `enseignement/stg/eleves`.
        lakehouse: the lakehouse resource that wrote it, so a local lakehouse shows the real path
            (without it, the `azure://` form is shown).
        **kwargs: any other `table_metadata` argument (`source`, `dashboard_url`…).

    Example:

    ```python
    written = lakehouse.write_table(df, "enseignement/stg/eleves.parquet")
    metadata = written_table_metadata(written, "enseignement/stg/eleves", lakehouse=lakehouse)
    return dg.MaterializeResult(metadata=metadata)
    ```
    """
    return table_metadata(
        schema=written.schema,
        rows=written.rows,
        table_name=table_name,
        lakehouse_path=lakehouse_location(lakehouse, written.path),
        bytes=written.bytes,
        **kwargs,
    )
