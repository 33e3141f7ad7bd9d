"""What a SQL engine must say about itself so `load_with_dialect` can load it atomically.

An engine (MySQL/MariaDB, SQL Server, DB2) subclasses `LoadDialect` and fills in only what
differs: identifier quoting, the Arrow → column type table, the bulk path, the swap statements and
the upsert statement. PostgreSQL keeps its own loader (`dagster_cfwb.transfer.postgres.load`),
because its DDL is transactional and the whole load fits in one transaction.

Staging and old tables are named `_cfwb_stg_<target>_<session>_<8 hex>` / `_cfwb_old_…`:
`<session>` is the server's id of the connection that created them (`@@SPID`,
`MON_GET_APPLICATION_HANDLE()`, `CONNECTION_ID()`), the target part is shortened to fit the
server's limit and the random suffix is never cut. `LoadDialect.find_orphans` lists the
ones whose session is gone; the loader drops them at the start of every load. A staging table
is only ever used by the connection that created it (never after a reconnect), so a concurrent
load's cleanup can never drop a table that is still in use.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, derived_name, quote_identifier
from dagster_cfwb.transfer.type_errors import UnsupportedTypeError

__all__ = ["STAGING_NAME", "LoadDialect", "UnsupportedTypeError"]

_log = logging.getLogger(__name__)

# _cfwb_<stg|old>_<target part>_<session id>_<8 hex>
STAGING_NAME = re.compile(r"_cfwb_(stg|old)_.*_(\d+)_([0-9a-f]{8})", re.IGNORECASE)


class LoadDialect:
    """Base class: the engine-specific parts of a bulk load (see the module docstring)."""

    name: str = "?"  # quoting dialect key of `quote_identifier`
    engine: str = "?"  # human name used in messages, e.g. "MariaDB"
    # True when bulk_insert runs inside the caller's transaction (so a failed append rolls back);
    # False when the bulk path commits on its own connection (SQL Server bulk copy): appends then
    # go through a staging table and one INSERT … SELECT.
    transactional_bulk: bool = True
    native_upsert: str = "merge"  # LoadResult.method of upsert_sql

    # -- identifiers --------------------------------------------------------------------------
    def q(self, name: str) -> str:
        return quote_identifier(name, self.name, what="column")

    def table(self, table: QualifiedName) -> str:
        return table.quoted(self.name)

    def staging_name(self, table: QualifiedName, tag: str = "stg", owner: str | None = None) -> QualifiedName:
        """`_cfwb_<tag>_<target>_<owner>`, fitting the server's limit (the owner part is never cut).

        `owner` is `<session id>_<8 hex>` from `begin_load`; without it a random one.
        """
        owner = owner or f"0_{secrets.token_hex(4)}"
        name = derived_name(f"_cfwb_{tag}_", table.table, f"_{owner}", self.name)
        return QualifiedName(name, table.schema, dialect=self.name)

    # -- sessions and orphans -------------------------------------------------------------------
    def session_sql(self) -> str:
        """A query returning this connection's server session id (one row, one integer)."""
        raise NotImplementedError

    def begin_load(self, cursor) -> str:
        """Mark this connection as a loader; return the owner part of its staging names."""
        try:
            cursor.execute(self.session_sql())
            session = int(cursor.fetchall()[0][0])
        except Exception as e:  # e.g. no right to call the function: the tables say "session 0"
            _log.warning(
                f"{self.engine}: could not read this session's id ({e}); staging tables of this load "
                "cannot be told orphaned later and will not be removed automatically if it is killed."
            )
            session = 0
        return f"{session}_{secrets.token_hex(4)}"

    def end_load(self, conn, owner: str) -> None:
        """Undo `begin_load` (MySQL releases its lock); never raises."""

    def lock_swap(self, cursor, table: QualifiedName) -> None:
        """Make concurrent swaps of `table` take turns (the loader re-reads the table after it)."""

    def unlock_swap(self, conn, table: QualifiedName) -> None:
        """Release `lock_swap`; never raises."""

    def staging_tables_query(self, schema: str | None) -> tuple[str, tuple]:
        """(SQL, params) listing the `_cfwb_*` tables of `schema` (None: the connection's
        default) as (name, creation time) rows."""
        raise NotImplementedError

    def live_sessions(self, cursor) -> dict[int, object] | None:
        """Session id → start time of every session on the server, or None when this user cannot
        see them all (then nothing is dropped: a live load's table must never be)."""
        raise NotImplementedError

    def find_orphans(self, cursor, table: QualifiedName) -> list[str] | None:
        """Names of `_cfwb_stg_*`/`_cfwb_old_*` tables in `table`'s schema whose session is gone.

        A table is orphaned when no session has its id, or the session with that id started after
        the table was created (the id was reused). None when the sessions cannot be listed.
        """
        cursor.execute(*self.staging_tables_query(table.schema))
        candidates = [
            (m, created) for name, created in cursor.fetchall() if (m := STAGING_NAME.fullmatch(name))
        ]
        if not candidates:
            return []
        sessions = self.live_sessions(cursor)
        if sessions is None:
            return None
        orphans = []
        for match, created in candidates:
            name, session = match.group(0), int(match.group(2))
            if session == 0:  # the owner's id was unknown: never guess it is dead
                continue
            started = sessions.get(session)
            if session not in sessions or (started is not None and created is not None and started > created):
                orphans.append(name)
        return orphans

    # -- types --------------------------------------------------------------------------------
    def column_type(self, data_type: pa.DataType, *, column: str, table: str, key: bool = False) -> str:
        """SQL column type for an Arrow type; raise UnsupportedTypeError naming table and column."""
        raise NotImplementedError

    def type_holds(self, existing: str, data_type: pa.DataType) -> bool:
        """True when an existing column declared `existing` can hold `data_type` (default: always)."""
        return True

    def check_target_type(self, existing: str, data_type: pa.DataType, *, column: str, table: str) -> None:
        """Raise UnsupportedTypeError if an existing column of type `existing` cannot hold the data."""
        if not self.type_holds(existing, data_type):
            raise UnsupportedTypeError(
                f"Column `{column}` of table `{table}` is `{existing}`, which cannot hold the data's type "
                f"{data_type} (expected a column like `{self.column_type(data_type, column='?', table='?')}`). "
                "Convert the data, alter the column, or load with mode='replace'."
            )

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

    def delete_matching_sql(self, table: QualifiedName, staging: QualifiedName, keys: list[str]) -> str:
        """Delete the rows of `table` whose keys are in `staging` (the upsert without a unique key)."""
        on = " AND ".join(f"{self.table(table)}.{self.q(k)} = s.{self.q(k)}" for k in keys)
        return (
            f"DELETE FROM {self.table(table)} WHERE EXISTS (SELECT 1 FROM {self.table(staging)} s WHERE {on})"
        )

    def upsert_statements(
        self, cursor, table: QualifiedName, staging: QualifiedName, names: list[str], keys: list[str]
    ) -> tuple[list[str], str]:
        """Statements (one transaction) that upsert `staging` into `table`, and the method's name.

        The native statement where a primary key/unique index covers exactly `keys` (or MERGE,
        which needs none); otherwise delete the matching keys, then insert.
        """
        if self.has_unique_key(cursor, table, keys):
            return [self.upsert_sql(table, staging, names, keys)], self.native_upsert
        return [
            self.delete_matching_sql(table, staging, keys),
            self.insert_select_sql(table, staging, names),
        ], "delete_insert"

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
