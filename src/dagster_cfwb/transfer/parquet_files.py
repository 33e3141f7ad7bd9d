"""Write Arrow streams to Parquet files atomically, with bounded memory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dagster_cfwb.transfer.arrow_stream import ArrowStream

__all__ = ["ParquetWriteResult", "file_sha256", "write_parquet_atomic", "write_parquet_stream"]


@dataclass(frozen=True)
class ParquetWriteResult:
    """Where a table was written and what it holds."""

    path: str
    rows: int
    bytes: int
    schema: pa.Schema = field(repr=False)

    @property
    def columns(self) -> list[str]:
        return self.schema.names


# DuckDB's own row-group size (it reads row groups in parallel). A column's dictionary is capped at
# 128 KiB: a column of mostly distinct values (ids, free text) falls back to plain encoding, which
# zstd compresses better, so files stay within ~5% of 1M-row groups for an eighth of the memory.
ROW_GROUP_ROWS = 122_880
ROW_GROUP_BYTES = 64 * 1024 * 1024
DICTIONARY_PAGE_BYTES = 128 * 1024


def write_parquet_stream(
    stream: ArrowStream,
    sink,
    *,
    compression: str = "zstd",
    row_group_rows: int = ROW_GROUP_ROWS,
    row_group_bytes: int = ROW_GROUP_BYTES,
) -> int:
    """Write every batch of `stream` to `sink` (a path or binary file); return the row count.

    Batches are gathered into row groups of up to `row_group_rows` rows or `row_group_bytes`
    bytes of Arrow data (whichever comes first), so files stay as compact as a one-shot write
    while memory holds at most one row group.
    """
    rows = 0
    pending: list = []
    pending_rows = pending_bytes = 0
    with pq.ParquetWriter(
        sink, stream.schema, compression=compression, dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES
    ) as writer:

        def flush() -> None:
            nonlocal pending, pending_rows, pending_bytes
            if pending:
                table = pa.Table.from_batches(pending, schema=stream.schema)
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
            pending, pending_rows, pending_bytes = [], 0, 0

        for batch in stream:
            pending.append(batch)
            pending_rows += batch.num_rows
            pending_bytes += batch.nbytes
            rows += batch.num_rows
            if pending_rows >= row_group_rows or pending_bytes >= row_group_bytes:
                flush()
        flush()
    return rows


def write_parquet_atomic(
    stream: ArrowStream, path: str | os.PathLike, *, compression: str = "zstd"
) -> ParquetWriteResult:
    """Write `stream` to a temporary file beside `path`, then rename it into place.

    A reader sees either the old file or the complete new one, never a half-written file; if
    writing fails, the old file is untouched and the temporary file removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        rows = write_parquet_stream(stream, tmp, compression=compression)
        size = os.path.getsize(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ParquetWriteResult(path=str(target), rows=rows, bytes=size, schema=stream.schema)


def file_sha256(path: str | os.PathLike, *, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
