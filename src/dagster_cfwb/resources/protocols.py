"""The seams between components and resources: what a component needs of a resource, as Protocols.

A component never asks a resource which engine it is, nor builds engine SQL itself: it calls
these verbs, and each resource answers for its engine (the SQL lives in `transfer/`). Any class
with these methods fits — the library's resources, or a department's own (checked with
`isinstance`, as the Protocols are `runtime_checkable`).

| Protocol | Who fits | Used by |
|---|---|---|
| `ArrowSource` | the SQL resources, `DenodoResource` | imports of `database`/`denodo` sources |
| `DatabaseTarget` | the SQL resources (not Denodo: read-only) | `DatabaseExportComponent` |
| `LakehouseLoader` | file servers (FTP, SFTP, NFS), `RestApiResource` | imports of `file`/`api` sources |
| `LakehouseWriter` | `AzureAdlsResource`, `LocalLakehouseResource` | every import and export |
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from dagster_cfwb.transfer.load_result import LoadResult
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult
from dagster_cfwb.transfer.source_select import Filter

__all__ = ["ArrowSource", "DatabaseTarget", "LakehouseLoader", "LakehouseWriter"]


@runtime_checkable
class ArrowSource(Protocol):
    """A database that streams query results as Arrow and knows its own SQL and catalog."""

    asset_kind: str  # the kind badge of assets reading or writing it, e.g. "postgres"

    def source_select(
        self,
        relation: str | None = None,
        *,
        query: str | None = None,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
    ) -> tuple[str, list[Any] | None]:
        """The SELECT (in this engine's quoting and parameter style) and its bound values."""
        ...

    def iter_batches(
        self, sql: str, params: Any = None, batch_rows: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's rows as Arrow record batches."""
        ...

    def column_descriptions(self, relation: str) -> dict[str, str]:
        """Column → description the catalog holds for a table or view (empty when none)."""
        ...

    def table_names(self) -> list[str]:
        """`schema.table` of every table and view the user can see (empty when unknown)."""
        ...


@runtime_checkable
class DatabaseTarget(Protocol):
    """A database that bulk-loads Arrow data into a table."""

    asset_kind: str

    def copy_from_df(
        self,
        data: Any,
        table: str,
        *,
        schema: str | None = None,
        mode: str = "replace",
        keys: list[str] | str | None = None,
    ) -> LoadResult:
        """Bulk-load `data` into `table` (`replace` atomically, `append` or `upsert`)."""
        ...

    def create_schema_if_missing(self, schema: str) -> bool:
        """Create `schema` when it does not exist; True when it was created."""
        ...


@runtime_checkable
class LakehouseLoader(Protocol):
    """A system that copies its own data (files, API records) into a lakehouse file."""

    def to_lakehouse(self, source: str, lakehouse: Any, lakehouse_path: str, /, **options: Any) -> Any:
        """Copy `source` (a path, glob or endpoint) into `lakehouse_path`; returns what was written."""
        ...


@runtime_checkable
class LakehouseWriter(Protocol):
    """The lakehouse verbs imports and exports use."""

    def write_table(self, data: Any, path: str, **options: Any) -> ParquetWriteResult | Any:
        """Write Arrow data (a table or batches) to `path`, atomically (a Parquet file, or with
        `format="delta"` one Delta commit returning a `DeltaWriteResult`)."""
        ...

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> bool: ...

    def arrow_schema(self, path: str) -> pa.Schema: ...

    def query_blob_storage(self, sql: str, output: str = "polars", params: list | None = None) -> Any: ...

    def iter_batches(
        self, sql: str, params: list | None = None, batch_rows: int = ...
    ) -> Iterator[pa.RecordBatch]: ...
