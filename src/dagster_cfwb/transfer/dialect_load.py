"""Atomic bulk loads for engines described by a :class:`LoadDialect` (MySQL/MariaDB, SQL Server, DB2).

The plan works even where DDL commits implicitly (MySQL, MariaDB):

* ``replace``: create a staging table, bulk-load it, commit; then swap it in with one atomic
  statement (MySQL ``RENAME TABLE t TO old, stg TO t``) or one transaction (SQL Server, DB2), and
  drop the old table. Any failure before the swap drops the staging table: the old table and its
  rows are never touched.
* ``append``: bulk-load straight into the table inside one transaction; a failure rolls it back.
  (Where the bulk path commits on its own — SQL Server bulk copy — via a staging table and one
  ``INSERT … SELECT`` instead.)
* ``upsert``: bulk-load a staging table, then one ``INSERT … ON DUPLICATE KEY UPDATE`` / ``MERGE``
  transaction; the staging table is dropped afterwards. Retrying a failed upsert is safe: keys that
  were already written are updated, not duplicated.

Bad input (unknown mode, missing keys, a key or column the data/table lacks, an Arrow type the
engine cannot hold, a bad identifier) raises before any SQL runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, validate_identifier
from dagster_cfwb.transfer.load_result import LoadError, LoadResult, check_load_request, refuse_duplicate_keys
from dagster_cfwb.transfer.sql_dialect import LoadDialect

__all__ = ["load_with_dialect"]

_log = logging.getLogger(__name__)


def _run(conn, sql: str) -> None:
    cur = conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()
    conn.commit()


def _quietly(conn, dialect: LoadDialect, sql: str, reconnect: Callable[[], object] | None = None) -> None:
    """Run cleanup SQL, never masking the original error; on a dead connection use a fresh one."""
    try:
        _run(conn, sql)
        return
    except Exception as e:  # cleanup only
        error = e
    if reconnect is not None:
        try:
            fresh = reconnect()
            try:
                _run(fresh, sql)
                return
            finally:
                fresh.close()
        except Exception as e:
            error = e
    _log.warning(f"{dialect.engine}: cleanup `{sql}` failed: {error}")


def _rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:  # the connection may already be gone
        pass


def _check_existing(
    dialect: LoadDialect, cur, table: QualifiedName, stream: ArrowStream, existing, mode, keys
):
    names = [f.name for f in stream.schema]
    missing = [n for n in names if n not in existing]
    if missing:
        raise ValueError(
            f"Table `{table}` has no column(s) {missing}; it has {list(existing)}. "
            "Add the columns, or load with mode='replace' to recreate the table."
        )
    for field in stream.schema:
        dialect.check_target_type(existing[field.name], field.type, column=field.name, table=str(table))
    if mode == "upsert" and not dialect.has_unique_key(cur, table, keys):
        raise ValueError(
            f"mode='upsert' into `{table}` needs a primary key or unique index on {keys}; add one, e.g. "
            f"ALTER TABLE {dialect.table(table)} ADD PRIMARY KEY ({', '.join(dialect.q(k) for k in keys)})."
        )


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
    """Load an Arrow stream into ``table`` with ``dialect``'s bulk path (see the module docstring).

    Args:
        conn: an open DB-API connection with autocommit off; left open, not closed.
        stream: the rows (see :func:`dagster_cfwb.transfer.arrow_stream.to_arrow_stream`).
        table: the target table.
        dialect: the engine's :class:`LoadDialect`.
        mode: ``replace``, ``append`` or ``upsert``.
        keys: key column(s) for ``upsert`` (also the primary key of a table we create).
        on_progress: called with the cumulative row count after each batch.
        reconnect: opens a fresh connection, used only to drop our staging table when ``conn``
            died mid-load (a cut connection must not leave a stray table behind).

    Raises:
        ValueError / IdentifierError / UnsupportedTypeError: bad input, before any SQL runs.
        LoadError: the server refused the load; the target table is as it was.
    """
    names = [validate_identifier(f.name, what="column") for f in stream.schema]
    key_list = check_load_request(str(table), mode, keys, names)
    for field in stream.schema:  # refuse types the engine cannot hold before any SQL runs
        dialect.column_type(field.type, column=field.name, table=str(table), key=field.name in key_list)
    create_sql = dialect.create_table_sql(table, stream.schema, key_list)
    started = time.perf_counter()
    staging: QualifiedName | None = None
    created = False
    failed = drop_on_failure = False
    cur = conn.cursor()
    try:
        existing = dialect.table_columns(cur, table)
        if existing is not None and mode != "replace":
            _check_existing(dialect, cur, table, stream, existing, mode, key_list)
        _rollback(conn)  # end the catalog read; nothing written yet
        staged = mode == "upsert" or (mode == "append" and not dialect.transactional_bulk)
        if mode == "replace" or (staged and existing is not None):
            staging = dialect.staging_name(table)
            cur.execute(
                dialect.create_table_sql(staging, stream.schema, key_list if mode == "replace" else [])
            )
            conn.commit()
            rows = dialect.bulk_insert(conn, staging, stream, on_progress=on_progress, label=str(table))
            conn.commit()
            if mode == "replace":
                old = dialect.staging_name(table, "old") if existing is not None else None
                for sql in dialect.swap_statements(table, staging, old):
                    cur.execute(sql)
                conn.commit()
                staging, created = None, existing is None
                if old is not None:
                    _quietly(conn, dialect, dialect.drop_table_sql(old))
            else:
                if mode == "upsert":
                    refuse_duplicate_keys(
                        cur, dialect.table(staging), [dialect.q(k) for k in key_list], str(table), key_list
                    )
                    cur.execute(dialect.upsert_sql(table, staging, names, key_list))
                else:
                    cur.execute(dialect.insert_select_sql(table, staging, names))
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
        failed = True
        _rollback(conn)
        raise LoadError(
            f"Loading into {dialect.engine} table `{table}` (mode={mode}) failed; the table was left as it was "
            f"before the load. Cause: {type(e).__name__}: {str(e).strip()}"
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
    return LoadResult(
        table=str(table),
        mode=mode,
        rows=rows,
        seconds=time.perf_counter() - started,
        created=created,
        columns=names,
    )
