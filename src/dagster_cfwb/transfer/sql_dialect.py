"""What a SQL engine must say about itself so `load_with_dialect` can load it atomically.

An engine (MySQL/MariaDB, SQL Server, DB2) subclasses `LoadDialect` and fills in only what
differs: identifier quoting, the Arrow → column type table, the bulk path, the swap statements and
the upsert statement. PostgreSQL keeps its own loader (`dagster_cfwb.transfer.pg_load`),
because its DDL is transactional and the whole load fits in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier
from dagster_cfwb.transfer.pg_types import UnsupportedTypeError as _BaseUnsupportedTypeError

__all__ = ["LoadDialect", "UnsupportedTypeError"]


class UnsupportedTypeError(_BaseUnsupportedTypeError):
    """A column's type or value cannot be held by the target database column."""


class LoadDialect:
    """Base class: the engine-specific parts of a bulk load (see the module docstring)."""

    name: str = "?"  # quoting dialect key of :func:`quote_identifier`
    engine: str = "?"  # human name used in messages, e.g. "MariaDB"
    # True when bulk_insert runs inside the caller's transaction (so a failed append rolls back);
    # False when the bulk path commits on its own connection (SQL Server bulk copy): appends then
    # go through a staging table and one INSERT … SELECT.
    transactional_bulk: bool = True

    # -- identifiers --------------------------------------------------------------------------
    def q(self, name: str) -> str:
        return quote_identifier(name, self.name, what="column")

    def table(self, table: QualifiedName) -> str:
        return table.quoted(self.name)

    def staging_name(self, table: QualifiedName, tag: str = "stg") -> QualifiedName:
        return table.with_table(f"_cfwb_{tag}_{table.table[:30]}_{secrets.token_hex(4)}")

    # -- types --------------------------------------------------------------------------------
    def column_type(self, data_type: pa.DataType, *, column: str, table: str, key: bool = False) -> str:
        """SQL column type for an Arrow type; raise UnsupportedTypeError naming table and column."""
        raise NotImplementedError

    def check_target_type(self, existing: str, data_type: pa.DataType, *, column: str, table: str) -> None:
        """Raise UnsupportedTypeError if an existing column of type `existing` cannot hold the data."""

    def check_batch(self, batch: pa.RecordBatch, *, table: str) -> None:
        """Raise UnsupportedTypeError if a value in `batch` cannot be stored (before it is sent)."""

    # -- catalog ------------------------------------------------------------------------------
    def table_columns(self, cursor, table: QualifiedName) -> dict[str, str] | None:
        """Column name → type of an existing table, or None when the table does not exist."""
        raise NotImplementedError

    def has_unique_key(self, cursor, table: QualifiedName, keys: list[str]) -> bool:
        """True when a primary key or unique index covers exactly `keys` (needed by some upserts)."""
        return True

    # -- DDL and DML --------------------------------------------------------------------------
    def create_table_sql(self, table: QualifiedName, schema: pa.Schema, keys: list[str]) -> str:
        columns = [
            f"{self.q(f.name)} {self.column_type(f.type, column=f.name, table=str(table), key=f.name in keys)}"
            + (" NOT NULL" if f.name in keys else "")
            for f in schema
        ]
        if keys:
            columns.append(f"PRIMARY KEY ({', '.join(self.q(k) for k in keys)})")
        return f"CREATE TABLE {self.table(table)} ({', '.join(columns)})"

    def drop_table_sql(self, table: QualifiedName) -> str:
        return f"DROP TABLE {self.table(table)}"

    def swap_statements(
        self, table: QualifiedName, staging: QualifiedName, old: QualifiedName | None
    ) -> list[str]:
        """Statements that make `staging` become `table` (`old` receives the previous table)."""
        raise NotImplementedError

    def swap_is_transactional(self) -> bool:
        """True when the swap statements can run in one transaction (rolled back on failure)."""
        return True

    def insert_select_sql(self, table: QualifiedName, staging: QualifiedName, names: list[str]) -> str:
        cols = ", ".join(self.q(n) for n in names)
        return f"INSERT INTO {self.table(table)} ({cols}) SELECT {cols} FROM {self.table(staging)}"

    def upsert_sql(
        self, table: QualifiedName, staging: QualifiedName, names: list[str], keys: list[str]
    ) -> str:
        raise NotImplementedError

    def merge_sql(
        self,
        table: QualifiedName,
        source: str,
        names: list[str],
        keys: list[str],
        *,
        target_hint: str = "",
        qualify_updates: bool = False,
        terminator: str = "",
    ) -> str:
        """Standard `MERGE` of `source` (aliased `s`) into `table` (aliased `t`) on `keys`.

        Engines differ only in a table hint (SQL Server's `WITH (HOLDLOCK)`), whether updated
        columns are written `t.col`, and the statement terminator.
        """
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in keys)
        cols = ", ".join(self.q(n) for n in names)
        values = ", ".join(f"s.{self.q(n)}" for n in names)
        prefix = "t." if qualify_updates else ""
        updates = ", ".join(f"{prefix}{self.q(n)} = s.{self.q(n)}" for n in names if n not in keys)
        matched = f" WHEN MATCHED THEN UPDATE SET {updates}" if updates else ""
        return (
            f"MERGE INTO {self.table(table)}{target_hint} AS t USING {source} AS s ON {on}"
            f"{matched} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values}){terminator}"
        )

    # -- bulk path ----------------------------------------------------------------------------
    def bulk_insert(
        self,
        conn,
        table: QualifiedName,
        stream: ArrowStream,
        *,
        on_progress: Callable[[int], None] | None = None,
        label: str | None = None,
    ) -> int:
        """Send every batch of `stream` into `table` (no commit); return the row count."""
        raise NotImplementedError

    def is_retry_safe_error(self, error: BaseException) -> bool:  # pragma: no cover - hook
        return False
