"""Plain-Python data movement shared by every resource (no Dagster here).

A small generic core — Arrow streams (`arrow_stream`), identifier safety (`identifiers`),
Parquet files (`parquet_files`), lakehouse paths (`lakehouse_paths`), load results
(`load_result`), SQL dialects (`sql_dialect`, `dialect_load`), the background-thread helper
(`prefetch`) — under one sub-package per engine or protocol: `postgres/`, `mysql/`, `mssql/`,
`db2/`, `files/`, `rest/`. See `docs/architecture.md`.
"""

from dagster_cfwb.transfer.arrow_stream import ArrowStream, to_arrow_stream, to_output
from dagster_cfwb.transfer.identifiers import (
    IdentifierError,
    QualifiedName,
    quote_identifier,
    validate_identifier,
)
from dagster_cfwb.transfer.lakehouse_paths import LAYERS, lakehouse_path
from dagster_cfwb.transfer.load_result import LoadError, LoadResult
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult

__all__ = [
    "LAYERS",
    "ArrowStream",
    "IdentifierError",
    "LoadError",
    "LoadResult",
    "ParquetWriteResult",
    "QualifiedName",
    "lakehouse_path",
    "quote_identifier",
    "to_arrow_stream",
    "to_output",
    "validate_identifier",
]
