"""What every lakehouse backend shares: DuckDB over Parquet files and Delta tables addressed as `azure://...`.

A backend (Azure Data Lake Storage, a local or NFS folder) only says how DuckDB and delta-rs reach its
files and how a finished file is stored; querying, streaming, writing Parquet and Delta tables, and
errors live here (the Delta logic itself in `transfer/delta/`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.secrets import RedactedReprMixin
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS, ArrowStream, to_output
from dagster_cfwb.transfer.delta import (
    DeltaWriteResult,
    delta_dataset,
    delta_history,
    is_delta_table,
    optimize_delta,
    read_delta,
    restore_delta,
    vacuum_delta,
    write_delta,
)
from dagster_cfwb.transfer.delta.delta_sql import DELTA_SCAN, register_delta_scans
from dagster_cfwb.transfer.lakehouse_paths import (
    lakehouse_path,
    normalize_lakehouse_path,
    rewrite_lakehouse_urls,
    strip_scheme,
)
from dagster_cfwb.transfer.lakehouse_types import lakehouse_stream
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult, write_parquet_stream
from dagster_cfwb.transfer.temp_files import create_temp_file, remove_orphaned_temp_files, touching

__all__ = ["LakehouseFile", "LakehouseResource", "native_delta_extension_path"]

_NO_FILES = re.compile(r'No files found that match the pattern "([^"]*)"')
Format = Literal["parquet", "delta"]


def native_delta_extension_path() -> str | None:
    """Path of the pip-packaged DuckDB `delta` extension matching the installed DuckDB, if any.

    DuckDB's own `INSTALL delta` downloads it from the internet, which the platform's servers cannot
    do; the `duckdb-extension-delta` package (extra `delta`) ships the same file.
    """
    try:
        import duckdb
        import duckdb_extension_delta
    except ImportError:
        return None
    folder = os.path.dirname(duckdb_extension_delta.__file__)
    path = os.path.join(folder, "extensions", f"v{duckdb.__version__}", "delta.duckdb_extension")
    return path if os.path.exists(path) else None


def load_delta_extension(con) -> bool:
    """`LOAD` the pip-packaged delta extension into DuckDB connection `con`; False if it is missing."""
    extension = native_delta_extension_path()
    if extension is None:
        return False
    con.execute("LOAD '" + extension.replace("'", "''") + "'")
    return True


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
    delta_reader: Literal["duckdb", "delta-rs"] = Field(
        default="duckdb",
        description=(
            "How `delta_scan('azure://...')` in SQL reads a Delta table: `duckdb` (DuckDB's delta "
            "extension from pip: parallel, reads the Delta features of tables written by Fabric or "
            "Databricks; loading it costs about a second per query) or `delta-rs` (the table's files "
            "opened by delta-rs and handed to DuckDB as Arrow: no load cost, best for many short "
            "queries). Both give the same rows; `bench/delta_write.py` measures them."
        ),
    )
    default_format: Format = Field(
        default="parquet",
        description=(
            "How tables are written when a component or `write_table` does not say: `parquet` (one "
            "Parquet file per table, `<table>.parquet`) or `delta` (a Delta Lake table: a folder "
            "`<table>` with a transaction log, history, merge and time travel). Set it once for the "
            'platform; see "Parquet files or Delta tables" in `docs/lakehouse.md`.'
        ),
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

    def _delta_uri(self, path: str) -> str:
        """Where delta-rs finds the Delta table at lakehouse path `path`."""
        raise NotImplementedError

    def _delta_storage_options(self) -> dict[str, str] | None:
        """delta-rs object-store options (credentials, endpoint) for this backend."""
        return None

    def _prepare_delta_write(self, path: str) -> None:
        """Make sure a Delta table at `path` can be created (a folder, a container)."""

    def _prepare_delta_scan(self, con) -> bool:
        """Load DuckDB's delta extension into `con`; False if it cannot read this backend."""
        return False

    def _remove_folder(self, path: str) -> None:
        """Delete every file under folder `path` (the leftovers of a table that was never created)."""
        for file in self._list(path + "/"):
            self._delete(file.path)

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
                table = con.execute(self.sql_for(con, sql), params).to_arrow_table()
            except duckdb.Error as e:
                raise self._translate_error(e) from None
        return to_output(table, output)

    def iter_batches(self, sql: str, params: list | None = None, batch_rows: int = DEFAULT_BATCH_ROWS):
        """Stream the result of DuckDB SQL as Arrow record batches (bounded memory)."""
        import duckdb

        with self.duckdb_connection() as con:
            try:
                reader = con.execute(self.sql_for(con, sql), params).to_arrow_reader(batch_rows)
                yield from reader
            except duckdb.Error as e:
                raise self._translate_error(e) from None

    def sql_for(self, con, sql: str) -> str:
        """`sql` rewritten to run on DuckDB connection `con` (from `duckdb_connection`).

        `'azure://...'` literals become this backend's locations; `delta_scan('azure://...')` is read by
        DuckDB's delta extension where it reaches the storage, else registered in `con` from delta-rs.
        """
        if DELTA_SCAN.search(sql) and (self.delta_reader == "delta-rs" or not self._prepare_delta_scan(con)):
            sql = register_delta_scans(
                con,
                sql,
                lambda p, version: self._delta_call(delta_dataset, p, version=version),
            )
        return self.rewrite_sql(sql)

    def _delta_call(self, function, path: str, **kwargs):
        """Run a `transfer.delta` function on the table at `path`; secrets masked in its errors."""
        from dagster_cfwb.resources.secrets import redact

        clean = normalize_lakehouse_path(path)
        try:
            return function(self._delta_uri(clean), self._delta_storage_options(), clean, **kwargs)
        except Exception as e:
            message = redact(str(e), self._secrets())
            if message == str(e):
                raise
            raise type(e)(message) from None

    def delta_path(self, path: str) -> str | None:
        """The Delta table a table path names, or None: `x/stg/t.parquet` or `x/stg/t` → `x/stg/t` when that
        folder is a Delta table (a component's table is `<table>.parquet` as a file, `<table>` as Delta)."""
        clean = normalize_lakehouse_path(path)
        if any(c in clean for c in "*?["):
            return None
        folder = clean.removesuffix(".parquet")
        return folder if self.is_delta_table(folder) else None

    def table_relation(self, con, path: str) -> str:
        """DuckDB SQL naming the table at `path` on connection `con`: `read_parquet('…')` for files and
        globs, `delta_scan('…')` for a Delta table (see `delta_path`)."""
        delta = self.delta_path(path)
        if delta is not None:
            return self.sql_for(con, "delta_scan('azure://" + delta.replace("'", "''") + "')")
        return (
            "read_parquet("
            + self.rewrite_sql("'azure://" + normalize_lakehouse_path(path).replace("'", "''") + "'")
            + ")"
        )

    def is_delta_table(self, path: str) -> bool:
        """True if lakehouse path `path` holds a Delta table (a folder with a `_delta_log`)."""
        clean = normalize_lakehouse_path(path)
        if clean.endswith(".parquet"):
            return False
        return self._delta_call(lambda uri, options, _p: is_delta_table(uri, options), clean)

    def read_table(self, path: str, output: str = "polars", version: int | str | datetime | None = None):
        """Read one lakehouse file (or glob) or Delta table entirely.

        Args:
            path: e.g. `"enseignement/stg/eleves.parquet"`, or a Delta table `"enseignement/stg/eleves"`.
            output: `polars` (default), `arrow` or `pandas`.
            version: for a Delta table, an older version to read ("time travel"): its number (see
                `table_history`), or a datetime / ISO text (`"2026-01-31T08:00:00Z"`) for the version
                current at that moment.

        Raises:
            FileNotFoundError: nothing at `path`.
            ValueError: `version` no longer exists (removed by `vacuum`) or the path is not a Delta table.
        """
        if self.is_delta_table(path):
            return to_output(self._delta_call(read_delta, path, version=version), output)
        if version is not None:
            raise ValueError(
                f"`version` reads an older version of a Delta table, but `{path}` is not one "
                "(Parquet files have no history)."
            )
        location = normalize_lakehouse_path(path).replace("'", "''")
        return self.query_blob_storage(f"FROM 'azure://{location}'", output=output)

    def table_history(self, path: str, limit: int | None = None) -> list[dict]:
        """The commits of Delta table `path`, newest first.

        Each is a dict with `version`, `timestamp` (UTC), `operation` (`WRITE`, `MERGE`, `RESTORE`,
        `OPTIMIZE`, `VACUUM END`...), `parameters` (e.g. the write mode) and `metrics` (rows added...).
        """
        return self._delta_call(delta_history, path, limit=limit)

    def restore_table(self, path: str, version: int | str | datetime) -> dict:
        """Undo later loads: Delta table `path` gets the content of `version` again, as a new version.

        History is kept (the bad load can still be read by its version until `vacuum` removes it).
        Returns the new `version`, `restored_version` and delta-rs metrics.
        """
        return self._delta_call(restore_delta, path, version=version)

    def vacuum_table(self, path: str, retention_days: float = 7) -> list[str]:
        """Delete the data files of Delta table `path` that no version of the last `retention_days` needs.

        Time travel to older versions fails afterwards. Returns the deleted files (relative names).
        """
        return self._delta_call(vacuum_delta, path, retention_days=retention_days)

    def optimize_table(self, path: str) -> dict:
        """Compact the small data files of Delta table `path` (same rows, one new version); returns metrics."""
        return self._delta_call(optimize_delta, path)

    def write_table(
        self,
        data: Any,
        path: str,
        *,
        format: Format | None = None,
        mode: Literal["replace", "append", "merge"] = "replace",
        keys: list[str] | None = None,
        partition_by: list[str] | None = None,
        replace_where: dict[str, Any] | None = None,
        compression: str = "zstd",
    ) -> ParquetWriteResult | DeltaWriteResult:
        """Write `data` at lakehouse path `path`: a Parquet file, or a Delta table (one commit).

        Args:
            data: a polars/pandas DataFrame, an Arrow table or reader, or an iterator of Arrow record
                batches (streamed: memory holds one Parquet row group, at most 122,880 rows or 64 MB, at a time;
                a Delta `merge` holds its data in memory).
            path: e.g. `"enseignement/stg/eleves.parquet"` (Parquet) or `"enseignement/stg/eleves"`
                (a Delta table is a folder); `azure://` in front is accepted.
            format: `parquet` or `delta`. Empty: `parquet` for a path ending in `.parquet`, else the
                resource's `default_format`.
            mode: Delta only: `replace` (the table's rows become `data`), `append`, or `merge` (update
                the rows whose `keys` match, insert the others). Parquet files are always replaced.
            keys: Delta `merge`: the columns that identify a row, e.g. `["id"]`.
            partition_by: Delta: columns whose values split the data into folders (e.g. a date), set when
                the table is created.
            replace_where: Delta `replace`: `{"column": value}` replaces only the rows with these values
                (one partition), in one commit.
            compression: Parquet compression codec (`zstd`, `snappy`, `gzip`, `none`).

        Returns:
            Parquet: ParquetWriteResult with the `azure://` path, row count, size in bytes and schema.
            Delta: DeltaWriteResult with the path, new `version`, `operation`, `num_rows`,
            `rows_inserted`, `rows_updated`, `rows_deleted` and schema.

        Raises:
            TypeError: a column has an Arrow type the lakehouse cannot store exactly (a decimal of more
                than 38 digits, a duration, an interval…); the message names the column and the cast
                to use. See the type table in `docs/lakehouse.md`. For Delta, also a type change
                against the existing table (the message lists each changed column).
            ValueError: a value would change when stored (nanoseconds of a timestamp with a time
                zone that are not whole microseconds, a later batch whose types do not fit the first);
                a merge without keys or with duplicated keys; rows outside `replace_where`.
            DeltaConflictError: another writer committed a conflicting change first (run again).
            OSError: the storage refused or lost the write (`FileNotFoundError`, `PermissionError`,
                `ConnectionError` where they apply); the message names the lakehouse path.

        Readers never see a half-written table. Parquet: the file is written aside, then published in one
        step; if anything fails, the previous file stays as it was. Temp files left by killed writers are
        removed by the next write in the same folder. Delta: every check runs before the commit, and the
        commit is atomic; a failed write leaves the table at its last version.
        """
        clean = normalize_lakehouse_path(path)
        chosen = format or ("parquet" if clean.endswith(".parquet") else self.default_format)
        if chosen == "delta":
            if clean.endswith(".parquet"):
                raise ValueError(
                    f"A Delta table is a folder: write it at `{clean.removesuffix('.parquet')}`, not at `{clean}`."
                )
            self._prepare_delta_write(clean)
            existed = self.is_delta_table(clean)
            try:
                return self._delta_call(
                    write_delta,
                    clean,
                    data=data,
                    mode=mode,
                    keys=keys,
                    partition_by=partition_by,
                    replace_where=replace_where,
                    compression=compression,
                )
            except BaseException:
                # A new table that failed before its first commit: remove the data files written so far
                # (an existing table keeps its versions; files of a failed commit go at the next vacuum).
                if not existed and not self.is_delta_table(clean):
                    self._remove_folder(clean)
                raise
        if chosen != "parquet":
            raise ValueError(f"Unknown lakehouse format `{chosen}`; expected `parquet` or `delta`.")
        if mode != "replace" or keys or partition_by or replace_where:
            raise ValueError(
                f"Parquet file `{clean}` can only be replaced as a whole: mode `{mode}`, `keys`, `partition_by` "
                'and `replace_where` need a Delta table (`format="delta"`, a path without `.parquet`).'
            )
        return self._write_parquet(data, clean, compression=compression)

    def _write_parquet(self, data: Any, clean: str, *, compression: str) -> ParquetWriteResult:
        """Write `data` as one Parquet file at lakehouse path `clean`, atomically (see `write_table`)."""
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
