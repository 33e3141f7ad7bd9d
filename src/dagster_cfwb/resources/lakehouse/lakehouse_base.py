"""What every lakehouse backend shares: DuckDB over Parquet files addressed as `azure://...`.

A backend (Azure Data Lake Storage, a local or NFS folder) only says how DuckDB reaches its files
and how a finished file is stored; querying, streaming, writing Parquet and errors live here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.secrets import RedactedReprMixin
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS, ArrowStream, to_output
from dagster_cfwb.transfer.lakehouse_paths import (
    lakehouse_path,
    normalize_lakehouse_path,
    rewrite_lakehouse_urls,
    strip_scheme,
)
from dagster_cfwb.transfer.lakehouse_types import lakehouse_stream
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult, write_parquet_stream
from dagster_cfwb.transfer.temp_files import create_temp_file, remove_orphaned_temp_files, touching

__all__ = ["LakehouseFile", "LakehouseResource"]

_NO_FILES = re.compile(r'No files found that match the pattern "([^"]*)"')


@dataclass(frozen=True)
class LakehouseFile:
    """One file of the lakehouse, as returned by `list`."""

    path: str  # relative to the lakehouse root, e.g. "enseignement/stg/eleves.parquet"
    size: int
    modified: datetime | None

    @property
    def url(self) -> str:
        return f"azure://{self.path}"


class LakehouseResource(RedactedReprMixin, dg.ConfigurableResource):
    """Base of the lakehouse resources; use `AzureAdlsResource` or `LocalLakehouseResource`."""

    duckdb_threads: int | None = Field(
        default=None,
        description="How many threads DuckDB may use for a query. Empty: as many as the machine has cores.",
    )
    duckdb_memory_limit: str | None = Field(
        default=None,
        description="Memory DuckDB may use before spilling to disk, e.g. `4GB`. Empty: DuckDB's default (80% of RAM).",
    )

    # -- what a backend provides ------------------------------------------------------------
    def _describe_root(self) -> str:
        raise NotImplementedError

    def _duckdb_location(self, path: str) -> str:
        """Where DuckDB finds lakehouse path `path` (glob characters allowed)."""
        raise NotImplementedError

    def _prepare_duckdb(self, con) -> None:
        """Load extensions and credentials into a fresh DuckDB connection."""

    def _staging_dir(self, path: str) -> str | None:
        """Folder for the temporary file written before publishing `path` (None: system temp)."""
        return None

    def _store_file(self, local_file: str, path: str) -> None:
        """Publish a finished local file at lakehouse path `path` atomically (it may be moved)."""
        raise NotImplementedError

    def _list(self, prefix: str) -> list[LakehouseFile]:
        raise NotImplementedError

    def _delete(self, path: str) -> bool:
        raise NotImplementedError

    def _secrets(self) -> list[str | None]:
        return []

    # -- shared behaviour ---------------------------------------------------------------------
    def rewrite_sql(self, sql: str) -> str:
        """Return `sql` with each `'azure://path'` literal replaced by this backend's location."""
        return rewrite_lakehouse_urls(sql, lambda p: self._duckdb_location(normalize_lakehouse_path(p)))

    @contextmanager
    def duckdb_connection(self) -> Iterator[Any]:
        """An in-memory DuckDB connection able to read this lakehouse; closed on exit."""
        import duckdb

        config: dict[str, Any] = {}
        if self.duckdb_threads:
            config["threads"] = self.duckdb_threads
        if self.duckdb_memory_limit:
            config["memory_limit"] = self.duckdb_memory_limit
        con = duckdb.connect(config=config)
        try:
            self._prepare_duckdb(con)
            yield con
        finally:
            con.close()

    def _translate_error(self, error: Exception) -> Exception:
        import duckdb

        message = str(error)
        if isinstance(error, duckdb.IOException):
            match = _NO_FILES.search(message)
            if match:
                return FileNotFoundError(
                    f"No lakehouse file matches `{match.group(1)}` ({self._describe_root()}). "
                    "Check the code location, layer and table name, or list the files with `.list()`."
                )
        return type(error)(message) if isinstance(error, duckdb.Error) else error

    def query_blob_storage(self, sql: str, output: str = "polars", params: list | None = None):
        """Run DuckDB SQL over the lakehouse and return the whole result.

        In the SQL, `'azure://<code_location>/<layer>/<table>.parquet'` names a lakehouse file;
        globs such as `'azure://enseignement/stg/*.parquet'` read several at once.

        Args:
            sql: DuckDB SQL, e.g. `"FROM 'azure://enseignement/stg/eleves.parquet'"`.
            output: `polars` (default), `arrow` or `pandas`.
            params: values for `?` placeholders, bound by DuckDB (never formatted into the SQL).

        Returns:
            A DataFrame (polars by default), so `df.shape` gives rows and columns.

        Raises:
            FileNotFoundError: no file matches a path in the SQL (the message names root and path).
        """
        import duckdb

        with self.duckdb_connection() as con:
            try:
                table = con.execute(self.rewrite_sql(sql), params).to_arrow_table()
            except duckdb.Error as e:
                raise self._translate_error(e) from None
        return to_output(table, output)

    def iter_batches(self, sql: str, params: list | None = None, batch_rows: int = DEFAULT_BATCH_ROWS):
        """Stream the result of DuckDB SQL as Arrow record batches (bounded memory)."""
        import duckdb

        with self.duckdb_connection() as con:
            try:
                reader = con.execute(self.rewrite_sql(sql), params).to_arrow_reader(batch_rows)
                yield from reader
            except duckdb.Error as e:
                raise self._translate_error(e) from None

    def read_table(self, path: str, output: str = "polars"):
        """Read one lakehouse file (or glob) entirely, e.g. `read_table("enseignement/stg/eleves.parquet")`."""
        location = normalize_lakehouse_path(path).replace("'", "''")
        return self.query_blob_storage(f"FROM 'azure://{location}'", output=output)

    def write_table(self, data: Any, path: str, *, compression: str = "zstd") -> ParquetWriteResult:
        """Write `data` as one Parquet file at lakehouse path `path`, atomically.

        Args:
            data: a polars/pandas DataFrame, an Arrow table or reader, or an iterator of Arrow record
                batches (streamed: memory holds one Parquet row group, at most 122,880 rows or 64 MB, at a time).
            path: e.g. `"enseignement/stg/eleves.parquet"` or `"azure://enseignement/stg/eleves.parquet"`.
            compression: Parquet compression codec (`zstd`, `snappy`, `gzip`, `none`).

        Returns:
            ParquetWriteResult with the `azure://` path, row count, size in bytes and schema.

        Raises:
            TypeError: a column has an Arrow type the lakehouse cannot store exactly (a decimal of more
                than 38 digits, a duration, an interval…); the message names the column and the cast
                to use. See the type table in `docs/lakehouse.md`.
            ValueError: a value would change when stored (nanoseconds of a timestamp with a time
                zone that are not whole microseconds, a later batch whose types do not fit the first).
            OSError: the storage refused or lost the write (`FileNotFoundError`, `PermissionError`,
                `ConnectionError` where they apply); the message names the lakehouse path.

        Readers never see a half-written file: the file is written aside, then published in one step;
        if anything fails, the previous file stays as it was. Temp files left by killed writers are
        removed by the next write in the same folder.
        """
        clean = normalize_lakehouse_path(path)
        stream = lakehouse_stream(data, clean)  # refuses a column it cannot store exactly, before any file
        folder = self._staging_dir(clean)
        remove_orphaned_temp_files(folder)  # left by writers killed before they could clean up
        tmp = create_temp_file(folder)
        try:
            live = ArrowStream(stream.schema, touching(stream, tmp))  # a slow source: still ours
            rows = write_parquet_stream(live, tmp, compression=compression)
            size = os.path.getsize(tmp)
            self._store_file(tmp, clean)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return ParquetWriteResult(path=f"azure://{clean}", rows=rows, bytes=size, schema=stream.schema)

    def list(self, prefix: str = "") -> list[LakehouseFile]:
        """Files under `prefix` (e.g. `"enseignement/stg/"`), sorted by path."""
        clean = strip_scheme(prefix) if prefix else ""
        if ".." in clean.split("/"):
            raise ValueError(f"Invalid lakehouse prefix {prefix!r}.")
        return sorted(self._list(clean), key=lambda f: f.path)

    def exists(self, path: str) -> bool:
        """True if the lakehouse file `path` exists."""
        clean = normalize_lakehouse_path(path)
        return any(f.path == clean for f in self._list(clean))

    def delete(self, path: str) -> bool:
        """Delete the lakehouse file `path`; returns False if it did not exist."""
        return self._delete(normalize_lakehouse_path(path))

    def table_path(self, code_location: str, layer: str, table: str) -> str:
        """`azure://<code_location>/<layer>/<table>.parquet` for use in SQL."""
        return f"azure://{lakehouse_path(code_location, layer, table)}"

    def arrow_schema(self, path: str) -> pa.Schema:
        """The Arrow schema of a lakehouse Parquet file, read from its footer only."""
        location = normalize_lakehouse_path(path).replace("'", "''")
        return self.query_blob_storage(f"SELECT * FROM 'azure://{location}' LIMIT 0", output="arrow").schema
