"""Atomic bulk loads for engines described by a `LoadDialect` (MySQL/MariaDB, SQL Server, DB2).

The plan works even where DDL commits implicitly (MySQL, MariaDB):

* first, tables `_cfwb_stg_*`/`_cfwb_old_*` left in the schema by loads whose session is gone
  are dropped (`drop_orphan_tables`), so a killed load leaves nothing behind for long;
* `replace`: create a staging table, bulk-load it, commit; then swap it in with one atomic
  statement (MySQL `RENAME TABLE t TO old, stg TO t`) or one transaction (SQL Server, DB2), and
  drop the old table (over a fresh connection if this one was lost right after the swap). Any
  failure before the swap drops the staging table: the old table and its rows are never touched.
* `append`: bulk-load straight into the table inside one transaction; a failure rolls it back.
  (Where the bulk path commits on its own — SQL Server bulk copy — via a staging table and one
  `INSERT … SELECT` instead.)
* `upsert`: bulk-load a staging table, then one transaction: ``INSERT … ON DUPLICATE KEY
  UPDATE` (MySQL, when a primary key/unique index covers exactly the keys) or `MERGE`` (SQL
  Server, DB2), else delete the rows with matching keys and insert the staged rows. Retrying a
  failed upsert is safe: keys already written are replaced, not duplicated.

Bad input (unknown mode, missing keys, a key or column the data/table lacks, an Arrow type the
engine cannot hold, a bad identifier, columns that differ only by case where the server ignores
case) raises before any SQL runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import (
    QualifiedName,
    folds_case,
    refuse_case_duplicates,
    validate_identifier,
)
from dagster_cfwb.transfer.load_result import (
    LoadError,
    LoadResult,
    check_load_request,
    refuse_duplicate_keys,
    refuse_null_keys,
)
from dagster_cfwb.transfer.sql_dialect import LoadDialect

__all__ = ["drop_orphan_tables", "load_with_dialect"]

_log = logging.getLogger(__name__)


def _run(conn, sql: str) -> None:
    cur = conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()
    conn.commit()


def _quietly(conn, dialect: LoadDialect, sql: str, reconnect: Callable[[], Any] | None = None) -> bool:
    """Run cleanup SQL, never masking the original error; on a dead connection use a fresh one."""
    try:
        _run(conn, sql)
        return True
    except Exception as e:  # cleanup only
        error = e
        _rollback(conn)
    if reconnect is not None:
        try:
            fresh = reconnect()
            try:
                _run(fresh, sql)
                return True
            finally:
                fresh.close()
        except Exception as e:
            error = e
    _log.warning(f"{dialect.engine}: cleanup `{sql}` failed: {error}")
    return False


def _rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:  # the connection may already be gone
        pass


def drop_orphan_tables(conn, dialect: LoadDialect, table: QualifiedName) -> list[str]:
    """Drop `_cfwb_stg_*`/`_cfwb_old_*` tables in `table`'s schema whose loading session is gone.

    Called at the start of every load (so "the next run cleans up" holds after a kill); safe to
    call at any time: tables of live loads are kept. Never raises — a failure is logged.
    Returns the names dropped.
    """
    cur = conn.cursor()
    try:
        orphans = dialect.find_orphans(cur, table)
    except Exception as e:  # e.g. no right to read the session list: keep everything
        _rollback(conn)
        _log.warning(f"{dialect.engine}: could not look for orphaned staging tables of `{table}`: {e}")
        return []
    finally:
        cur.close()
    _rollback(conn)
    if orphans is None:
        _log.warning(
            f"{dialect.engine}: this user cannot see other sessions, so staging tables left by killed loads "
            f"in the schema of `{table}` are not removed; grant the right to list sessions (see docs/databases.md)."
        )
        return []
    dropped = []
    for name in orphans:
        if _quietly(
            conn, dialect, dialect.drop_table_sql(QualifiedName(name, table.schema, dialect=dialect.name))
        ):
            dropped.append(name)
    if dropped:
        _log.info(f"{dialect.engine}: dropped {len(dropped)} staging table(s) left by ended loads: {dropped}")
    return dropped


def _check_existing(dialect: LoadDialect, table: QualifiedName, stream: ArrowStream, existing):
    names = [f.name for f in stream.schema]
    lookup = existing
    if folds_case(dialect.name):  # the server matches the data's `ID` to an existing `id`: so do we
        folded = {k.casefold(): v for k, v in existing.items()}
        lookup = {n: folded[n.casefold()] for n in names if n.casefold() in folded}
    missing = [n for n in names if n not in lookup]
    if missing:
        raise ValueError(
            f"Table `{table}` has no column(s) {missing}; it has {list(existing)}. "
            "Add the columns, or load with mode='replace' to recreate the table."
        )
    for field in stream.schema:
        dialect.check_target_type(lookup[field.name], field.type, column=field.name, table=str(table))


def _swap_happened(dialect: LoadDialect, table, staging, old, reconnect) -> bool:
    """After a failed swap: True when a fresh connection sees it done (staging gone, target and old there)."""
    if reconnect is None:
        return False
    try:
        fresh = reconnect()
        try:
            cur = fresh.cursor()
            try:
                return (
                    dialect.table_columns(cur, staging) is None
                    and dialect.table_columns(cur, table) is not None
                    and (old is None or dialect.table_columns(cur, old) is not None)
                )
            finally:
                cur.close()
        finally:
            fresh.close()
    except Exception:
        return False


def load_with_dialect(
    conn,
    stream: ArrowStream,
    table: QualifiedName,
    dialect: LoadDialect,
    *,
    mode: str = "replace",
    keys=None,
    on_progress: Callable[[int], None] | None = None,
    reconnect: Callable[[], object] | None = None,
) -> LoadResult:
    """Load an Arrow stream into `table` with `dialect`'s bulk path (see the module docstring).

    Args:
        conn: an open DB-API connection with autocommit off; left open, not closed.
        stream: the rows (see `dagster_cfwb.transfer.arrow_stream.to_arrow_stream`).
        table: the target table.
        dialect: the engine's `LoadDialect`.
        mode: `replace`, `append` or `upsert`.
        keys: key column(s) for `upsert` (also the primary key of a table we create).
        on_progress: called with the cumulative row count after each batch.
        reconnect: opens a fresh connection, used only to drop our staging/old table when `conn`
            died mid-load (a cut connection must not leave a stray table behind). A fresh
            connection never loads into a staging table made by another one.

    Raises:
        ValueError / IdentifierError / UnsupportedTypeError: bad input, before any SQL runs.
        LoadError: the server refused the load; the target table is as it was.
    """
    dialect.table(table)  # the server's own name rules, before any SQL runs
    names = [validate_identifier(f.name, what="column", dialect=dialect.name) for f in stream.schema]
    refuse_case_duplicates(names, dialect.name, table=str(table))
    key_list = check_load_request(str(table), mode, keys, names)
    for field in stream.schema:  # refuse types the engine cannot hold before any SQL runs
        dialect.column_type(field.type, column=field.name, table=str(table), key=field.name in key_list)
    create_sql = dialect.create_table_sql(table, stream.schema, key_list)
    started = time.perf_counter()
    staging: QualifiedName | None = None
    old: QualifiedName | None = None
    swapping = False
    created = False
    failed = drop_on_failure = False
    method = "bulk"
    owner = None
    locked = False
    cur = conn.cursor()
    try:
        owner = dialect.begin_load(cur)
        _rollback(conn)
        drop_orphan_tables(conn, dialect, table)
        existing = dialect.table_columns(cur, table)
        if existing is not None and mode != "replace":
            _check_existing(dialect, table, stream, existing)
        _rollback(conn)  # end the catalog read; nothing written yet
        staged = mode == "upsert" or (mode == "append" and not dialect.transactional_bulk)
        if mode == "replace" or (staged and existing is not None):
            staging = dialect.staging_name(table, "stg", owner)
            cur.execute(
                dialect.create_table_sql(staging, stream.schema, key_list if mode == "replace" else [])
            )
            conn.commit()
            rows = dialect.bulk_insert(conn, staging, stream, on_progress=on_progress, label=str(table))
            conn.commit()
            if mode == "replace":
                dialect.lock_swap(cur, table)
                locked = True
                existing = dialect.table_columns(cur, table)  # again: another load may have created it
                _rollback(conn)
                old = dialect.staging_name(table, "old", owner) if existing is not None else None
                swapping = True
                for sql in dialect.swap_statements(table, staging, old):
                    cur.execute(sql)
                conn.commit()
                swapping = False
                dialect.unlock_swap(conn, table)
                locked = False
                staging, created, method = None, existing is None, "bulk_swap"
                if old is not None:
                    _quietly(conn, dialect, dialect.drop_table_sql(old), reconnect)
            else:
                if mode == "upsert":
                    quoted_keys = [dialect.q(k) for k in key_list]
                    refuse_duplicate_keys(cur, dialect.table(staging), quoted_keys, str(table), key_list)
                    refuse_null_keys(cur, dialect.table(staging), quoted_keys, str(table), key_list)
                    statements, method = dialect.upsert_statements(cur, table, staging, names, key_list)
                else:
                    statements, method = [dialect.insert_select_sql(table, staging, names)], "insert_select"
                for sql in statements:
                    cur.execute(sql)
                conn.commit()
        else:
            if existing is None:
                cur.execute(create_sql)
                conn.commit()
                created = drop_on_failure = True
            rows = dialect.bulk_insert(conn, table, stream, on_progress=on_progress, label=str(table))
            conn.commit()
    except (ValueError, TypeError):
        failed = True
        _rollback(conn)
        raise
    except Exception as e:
        _rollback(conn)
        if swapping and _swap_happened(dialect, table, staging, old, reconnect):
            # the connection was lost after the server swapped: the load succeeded; drop the old table
            _log.warning(
                f"{dialect.engine}: connection lost right after swapping `{table}` in; finishing cleanup"
            )
            staging, swapping, created, method = None, False, old is None, "bulk_swap"
            if old is not None:
                _quietly(conn, dialect, dialect.drop_table_sql(old), reconnect)
        else:
            failed = True
            raise LoadError(
                f"Loading into {dialect.engine} table `{table}` (mode={mode}) failed; the table was left as it "
                f"was before the load. Cause: {type(e).__name__}: {str(e).strip()}"
            ) from e
    finally:
        try:
            cur.close()
        except Exception:
            pass
        if staging is not None:
            _quietly(conn, dialect, dialect.drop_table_sql(staging), reconnect)
        if failed and drop_on_failure:  # an append/upsert that created the table leaves nothing behind
            _quietly(conn, dialect, dialect.drop_table_sql(table), reconnect)
        if locked:
            dialect.unlock_swap(conn, table)
        if owner is not None:
            dialect.end_load(conn, owner)
    return LoadResult(
        table=str(table),
        mode=mode,
        rows=rows,
        seconds=time.perf_counter() - started,
        created=created,
        columns=names,
        method=method,
    )
