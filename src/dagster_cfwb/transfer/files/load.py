"""Load files (CSV, Excel, JSON/NDJSON, Parquet) from a server or folder into one lakehouse Parquet file.

Plain Python, no Dagster: a *source* is anything with `list`/`download`/`describe` (the FTP,
SFTP and NFS resources are), or None for the local filesystem. Each remote file is downloaded to a
temporary file (atomically), parsed as a stream of Arrow batches and appended to ONE Parquet file,
which the lakehouse publishes atomically: if any file fails, nothing is written.
"""

from __future__ import annotations

import glob as globlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.column_names import check_column_names_mode, original_names, rename_schema
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.files.csv_files import NULL_MARKERS, arrow_type
from dagster_cfwb.transfer.files.errors import FileParseError
from dagster_cfwb.transfer.files.formats import ReadOptions, detect_format, open_file_batches
from dagster_cfwb.transfer.files.listing import RemoteFile, has_glob, utc_from_timestamp
from dagster_cfwb.transfer.parquet_files import file_sha256

__all__ = [
    "FileLoadResult",
    "FileSource",
    "ReadOptions",
    "SourceFile",
    "load_file_to_lakehouse",
    "load_keywords",
]

_log = logging.getLogger(__name__)


class FileSource(Protocol):
    """What `load_file_to_lakehouse` needs from a server: the FTP/SFTP/NFS resources provide it."""

    def list(self, pattern: str = "*", recursive: bool = False) -> list[RemoteFile]: ...

    def download(self, path: str, local_path: str | os.PathLike) -> Any: ...

    def describe(self, path: str = "") -> str: ...


@dataclass(frozen=True)
class SourceFile:
    """One file that went into the table: where it came from, its size, rows and SHA-256 checksum."""

    path: str
    size: int
    sha256: str
    rows: int
    modified: str | None = None


@dataclass(frozen=True)
class FileLoadResult:
    """What `load_file_to_lakehouse` wrote: the lakehouse file, its rows and columns, the source files.

    Attributes:
        original_column_names: `{column: name in the file}` of each column renamed to snake_case.
        null_markers_in_text: `{column: count}` of the text columns that hold `NA`, `N/A`,
            `NULL`… kept as text (default `null_values` only); pass `null_values` to read them
            as missing values.
        schema: the Arrow schema written (a renamed field keeps its file name as `original_name`).
    """

    path: str
    rows: int
    columns: list[str]
    bytes: int
    files: list[SourceFile] = field(default_factory=list)
    seconds: float = 0.0
    original_column_names: dict[str, str] = field(default_factory=dict)
    null_markers_in_text: dict[str, int] = field(default_factory=dict)
    schema: pa.Schema | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """Ready for `MaterializeResult(metadata=...)`: row count, columns, source files and checksums.

        Also `original_column_names` when columns were renamed and `null_markers_in_text` when
        a text column holds markers such as `NA` that were kept as text.
        """
        metadata: dict[str, Any] = {
            "dagster/row_count": self.rows,
            "num_columns": len(self.columns),
            "columns": ", ".join(self.columns),
            "lakehouse_path": self.path,
            "source_files": [f.path for f in self.files],
            "source_sha256": {f.path: f.sha256 for f in self.files},
            "source_bytes": sum(f.size for f in self.files),
        }
        if self.original_column_names:
            metadata["original_column_names"] = dict(self.original_column_names)
        if self.null_markers_in_text:
            metadata["null_markers_in_text"] = dict(self.null_markers_in_text)
        return metadata


class _LocalFiles:
    """The machine's own filesystem, used when no source is given."""

    def list(self, pattern: str = "*", recursive: bool = False) -> list[RemoteFile]:
        paths = globlib.glob(pattern, recursive=recursive)
        files = []
        for p in sorted(paths):
            if os.path.isfile(p):
                stat = os.stat(p)
                files.append(RemoteFile(p, stat.st_size, utc_from_timestamp(stat.st_mtime)))
        return files

    def local_path(self, path: str) -> str:
        return path

    def describe(self, path: str = "") -> str:
        return f"file://{os.path.abspath(path)}" if path else "the local filesystem"

    def download(self, path: str, local_path) -> None:  # pragma: no cover - local files are read in place
        raise NotImplementedError


def _resolve(source: Any, path_or_glob: str, recursive: bool) -> list[RemoteFile]:
    files = source.list(path_or_glob, recursive=recursive)
    if not files:
        what = "No file matches" if has_glob(path_or_glob) else "No such file"
        raise FileNotFoundError(f"{what} `{path_or_glob}` on {source.describe()}.")
    return files


def _schema_from_spec(spec: Any) -> pa.Schema | None:
    if isinstance(spec, pa.Schema):
        return spec
    if spec:
        return pa.schema([pa.field(name, arrow_type(t, name)) for name, t in spec.items()])
    return None


def _conform(batch: pa.RecordBatch, schema: pa.Schema, label: str) -> pa.RecordBatch:
    if batch.schema.names != schema.names:
        raise FileParseError(
            label,
            f"its columns {batch.schema.names} differ from the first file's columns {schema.names}; "
            "all files of one load must have the same columns.",
        )
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    columns = []
    for f, column in zip(schema, batch.columns, strict=True):
        if not column.type.equals(f.type):
            try:
                cast = pc.cast(column, f.type)
                back = pc.cast(cast, column.type)  # `01000` -> 1000 -> `1000`, 2 -> true -> 1: changed
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                cast = back = None
            if back is None or not _same_values(back, column):
                raise FileParseError(
                    label,
                    f"column `{f.name}` holds {column.type} here but {f.type} in the first file, and its "
                    f"values would not stay the same as {f.type}; give its type in `schema` "
                    f"(e.g. {{{f.name!r}: 'string'}}).",
                ) from None
            column = cast
        columns.append(column)
    return record_batch(columns, schema)


def _same_values(a: pa.Array, b: pa.Array) -> bool:
    """True if `a` and `b` hold the same values (NaN equal to NaN)."""
    if a.equals(b):
        return True
    if not pa.types.is_floating(a.type) or a.null_count != b.null_count:
        return False
    same = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_nan(a), pc.is_nan(b)))
    return pc.all(pc.fill_null(same, True)).as_py()


def _count_text_markers(batch: pa.RecordBatch, counts: dict[str, int]) -> None:
    """Add up, per text column, the values that are null markers (`NA`, `NULL`…) kept as text."""
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            found = pc.sum(pc.is_in(column, value_set=pa.array(NULL_MARKERS, column.type))).as_py()
            if found:
                counts[name] = counts.get(name, 0) + found


def _warn_text_markers(counts: dict[str, int], where: str) -> None:
    if counts:
        listed = ", ".join(f"`{name}` ({n:,})" for name, n in counts.items())
        _log.warning(
            f"{where}: text column(s) {listed} hold null markers ({', '.join(NULL_MARKERS)}), kept as text. "
            "If they mean a missing value, pass null_values=['', 'NA', 'N/A', 'NULL'] (or the markers the "
            "file uses) to read them as NULL."
        )


def _with_source(batch: pa.RecordBatch, column: str | None, path: str) -> pa.RecordBatch:
    if not column:
        return batch
    return batch.append_column(pa.field(column, pa.string()), pa.array([path] * batch.num_rows, pa.string()))


def load_file_to_lakehouse(
    path_or_glob: str,
    lakehouse: Any,
    lakehouse_path: str,
    *,
    source: FileSource | None = None,
    format: str | None = None,
    recursive: bool = False,
    options: ReadOptions | None = None,
    source_file_column: str | None = None,
    temp_dir: str | None = None,
) -> FileLoadResult:
    """Load one file, or every file matching a glob, into ONE Parquet file of the lakehouse.

    Files are read as streams of Arrow batches (memory stays flat for CSV, JSON and Parquet however
    big the file); remote files are first downloaded to a temporary file, one at a time. The
    lakehouse file is published atomically at the end: if any file fails, nothing is written.

    Args:
        path_or_glob: a file (`"inbox/eleves.csv"`) or a glob (`"inbox/eleves_*.csv"`) on `source`.
        lakehouse: a lakehouse resource (anything with `write_table(batches, path)`).
        lakehouse_path: target, e.g. `"enseignement/stg/eleves.parquet"`.
        source: an FTP/SFTP/NFS resource; None reads the local filesystem.
        format: `csv`, `excel`, `json`, `ndjson` or `parquet`; default: from the extension.
        recursive: with a glob, also search sub-folders.
        options: how to read the files (`ReadOptions`; default: its defaults). Build it from flat
            names with `ReadOptions.from_keywords(delimiter=";", encoding="windows-1252", …)`:
            - CSV reading (`delimiter`, `quote_char`, `encoding`, `header`, `skip_rows`,
              `decimal_comma`, `null_values`, `timestamp_formats`, `sample_bytes`, `block_bytes`:
              see `CsvOptions`); memory for a CSV is about 32 x `block_bytes` (32 MiB by default)
              whatever its size. Default `null_values` (None): an empty field is NULL everywhere;
              `NA`, `N/A`, `NULL`… are NULL in number/date/true-false columns and kept as text in
              text columns (listed in `result.null_markers_in_text` and logged as a warning).
            - `schema`: column types, e.g. `{"code": "string", "montant": "decimal(12,2)"}` (any
              format); a column is named as in the file (`Sample Number`) or in snake_case.
            - `sheet`, `header_row`: Excel sheet (name or 0-based index) and 0-based row of the names.
            - `batch_rows`: rows per Arrow batch for Excel, JSON and Parquet.
            - `column_names`: `snake_case` (default): columns renamed to safe identifiers (`Date
              d'œuf` → `date_d_oeuf`, duplicates suffixed `_2`), the file's names kept in
              `result.original_column_names` and in the Parquet field metadata; `as_is`: names kept
              exactly (a database export refuses names that are not plain identifiers).
        source_file_column: if set, a column of that name holds each row's source file path.
        temp_dir: folder for downloads (default: the system's temporary folder).

    Returns:
        FileLoadResult: lakehouse path, rows, columns, bytes and each source file's size and SHA-256
        (`result.metadata` is ready for `MaterializeResult`).

    Raises:
        FileNotFoundError: nothing matches `path_or_glob` (the message names the server).
        FileParseError: a file cannot be parsed (the message names server, path and line).

    Example:
        >>> options = ReadOptions.from_keywords(delimiter=";", encoding="windows-1252", decimal_comma=True)
        >>> result = load_file_to_lakehouse("data/eleves_*.csv", lakehouse, "ens/stg/eleves.parquet",
        ...                                 options=options)
        >>> result.rows, result.columns
    """
    started = time.monotonic()
    src: Any = source if source is not None else _LocalFiles()
    opts = options if options is not None else ReadOptions()
    check_column_names_mode(opts.column_names)
    schema, header = opts.csv.schema, opts.csv.header
    markers: dict[str, int] = {}
    count_markers = opts.csv.null_values is None
    files = _resolve(src, path_or_glob, recursive)
    fmts = [detect_format(f.path, format) for f in files]
    done: list[SourceFile] = []

    checksums: dict[int, Future] = {}
    # The SHA-256 of each file is computed in a background thread while the file is parsed.
    with (
        tempfile.TemporaryDirectory(prefix="cfwb-files-", dir=temp_dir) as workdir,
        ThreadPoolExecutor(1) as hasher,
    ):

        def fetch(index: int) -> str:
            remote = files[index]
            local = getattr(src, "local_path", lambda _p: None)(remote.path)
            if local is None:
                local = str(Path(workdir) / f"{index}-{remote.name}")
                src.download(remote.path, local)
            checksums[index] = hasher.submit(file_sha256, local)
            return local

        def record(index: int, local: str, rows: int) -> None:
            remote = files[index]
            modified = remote.modified.isoformat() if remote.modified else None
            sha256 = checksums.pop(index).result()
            done.append(SourceFile(remote.path, os.path.getsize(local), sha256, rows, modified))

        def drop(index: int, local: str) -> None:
            if str(local).startswith(workdir):
                Path(local).unlink(missing_ok=True)

        # Open the first non-empty file to learn the schema (unless given in full).
        first_index, first_batches, target = None, None, None
        for i in range(len(files)):
            local = fetch(i)
            if os.path.getsize(local) == 0 and fmts[i] != "excel":
                record(i, local, 0)
                drop(i, local)
                continue
            target, first_batches = open_file_batches(local, fmts[i], opts, src.describe(files[i].path))
            first_index, first_local = i, local
            break
        if target is None:
            target = _schema_from_spec(schema)
            if target is not None:
                target = rename_schema(target, opts.column_names)
            if target is None or (isinstance(schema, dict) and not header and fmts[0] == "csv"):
                raise FileParseError(
                    src.describe(files[0].path),
                    "the file is empty: there are no columns to load.",
                    hint="Give every column's type in `schema` to write an empty table.",
                )
        if source_file_column:
            target = target.append(pa.field(source_file_column, pa.string()))

        def batches() -> Iterator[pa.RecordBatch]:
            if first_index is None or first_batches is None:
                return
            rows = 0
            for batch in first_batches:
                rows += batch.num_rows
                if count_markers and fmts[first_index] == "csv":
                    _count_text_markers(batch, markers)
                yield _with_source(batch, source_file_column, files[first_index].path)
            record(first_index, first_local, rows)
            drop(first_index, first_local)
            for i in range(first_index + 1, len(files)):
                local = fetch(i)
                rows = 0
                if os.path.getsize(local) > 0 or fmts[i] == "excel":
                    label = src.describe(files[i].path)
                    _, file_batches = open_file_batches(local, fmts[i], opts, label)
                    for batch in file_batches:
                        if count_markers and fmts[i] == "csv":
                            _count_text_markers(batch, markers)
                        batch = _with_source(batch, source_file_column, files[i].path)
                        rows += batch.num_rows
                        yield _conform(batch, target, label)
                record(i, local, rows)
                drop(i, local)

        written = lakehouse.write_table(ArrowStream(target, batches()), lakehouse_path)
    _warn_text_markers(markers, src.describe(path_or_glob))
    return FileLoadResult(
        path=written.path,
        rows=written.rows,
        columns=list(written.schema.names),
        bytes=written.bytes,
        files=done,
        seconds=time.monotonic() - started,
        original_column_names=original_names(target),
        null_markers_in_text=markers,
        schema=target,
    )


_LOAD_KEYWORDS = ("format", "recursive", "source_file_column", "temp_dir")


def load_keywords(**options: Any) -> dict[str, Any]:
    """Keyword arguments of `load_file_to_lakehouse` from flat names (a resource's `to_lakehouse`
    keywords): `format`, `recursive`, `source_file_column`, `temp_dir` pass through, the reading options
    become one `ReadOptions` (`options=`).

    Raises:
        TypeError: an unknown option (see `ReadOptions.from_keywords`).

    Example:
        >>> sorted(load_keywords(delimiter=";", recursive=True))
        ['options', 'recursive']
    """
    passed = {name: options.pop(name) for name in _LOAD_KEYWORDS if name in options}
    return {**passed, "options": ReadOptions.from_keywords(**options)}
