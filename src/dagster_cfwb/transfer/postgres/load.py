"""Atomic bulk loads into PostgreSQL: replace (staging table + swap), append and upsert.

Every load runs in one transaction. Any failure — a value PostgreSQL rejects, a cut connection,
an interrupted process — rolls it back, so the target table keeps its previous rows and schema.

`upsert` writes `INSERT … ON CONFLICT (keys) DO UPDATE` when a primary key or unique index
covers exactly the keys; on any other table (e.g. one created by a `replace`) it deletes the
rows whose keys are in the data, then inserts the data — in the same transaction, with the table
locked against concurrent writers (`SHARE ROW EXCLUSIVE`; readers are not blocked).
`decimal256` columns travel as exact decimal text and are cast to `numeric(p,s)` by the server.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier, validate_identifier
from dagster_cfwb.transfer.load_result import (
    LoadError,
    LoadResult,
    check_load_request,
    refuse_duplicate_keys,
    refuse_null_keys,
)
from dagster_cfwb.transfer.postgres.copy import copy_batches_binary, text_carried, wire_schema
from dagster_cfwb.transfer.postgres.parallel_copy import parallel_copy_binary
from dagster_cfwb.transfer.postgres.staging import drop_orphan_staging, mark_staging, staging_name, swap_in
from dagster_cfwb.transfer.postgres.types import arrow_to_pg_type, pg_column_definitions

__all__ = ["load_postgres", "pg_table_columns"]

_log = logging.getLogger(__name__)


_FORMAT_TYPE_NAMES = {
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
}


def _same_type(existing: str, arrow_type) -> bool:
    wanted = arrow_to_pg_type(arrow_type)
    return existing == _FORMAT_TYPE_NAMES.get(wanted, wanted)


def _q(name: str) -> str:
    return quote_identifier(name, "postgres")


def pg_table_columns(cursor, table: QualifiedName) -> dict[str, str] | None:
    """Column name → formatted type of an existing table, or None when the table does not exist."""
    cursor.execute("SELECT to_regclass(%s)::oid", (table.quoted(),))
    row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (row[0],),
    )
    return dict(cursor.fetchall())


def _has_unique_index(cursor, table: QualifiedName, keys: list[str]) -> bool:
    cursor.execute(
        "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indpred IS NULL GROUP BY i.indexrelid",
        (table.quoted(),),
    )
    wanted = sorted(keys)
    return any(sorted(r[0]) == wanted for r in cursor.fetchall())


def _create_table(cursor, table: QualifiedName, schema: pa.Schema, keys: list[str], *, temp: bool = False):
    columns = pg_column_definitions(schema, _q)
    if keys:
        columns.append(f"PRIMARY KEY ({', '.join(_q(k) for k in keys)})")
    kind = "TEMP TABLE" if temp else "TABLE"
    suffix = " ON COMMIT DROP" if temp else ""
    cursor.execute(f"CREATE {kind} {table.quoted()} ({', '.join(columns)}){suffix}")


def _value(field: pa.Field, alias: str = "") -> str:
    """A staged column as the target expects it (text-carried decimals cast back to numeric)."""
    column = f"{alias}{_q(field.name)}"
    return f"{column}::{arrow_to_pg_type(field.type)}" if pa.types.is_decimal256(field.type) else column


def _restore_types(cur, staging: QualifiedName, schema: pa.Schema) -> None:
    """Turn a replace's text-carried columns into their real type before the staging table is swapped in."""
    carried = text_carried(schema)
    if carried:
        clauses = [
            f"ALTER COLUMN {_q(f.name)} TYPE {arrow_to_pg_type(f.type)} USING {_value(f)}" for f in carried
        ]
        cur.execute(f"ALTER TABLE {staging.quoted()} {', '.join(clauses)}")


def _write_from_staging(cur, table, staging, schema: pa.Schema, mode: str, keys: list[str]) -> str:
    """Move the staged rows into `table` (append or upsert); return the method used."""
    names = schema.names
    cols = ", ".join(_q(n) for n in names)
    select = f"SELECT {', '.join(_value(f) for f in schema)} FROM {staging.quoted()}"
    insert = f"INSERT INTO {table.quoted()} ({cols}) {select}"
    if mode != "upsert":
        cur.execute(insert)
        return "insert_select"
    quoted_keys = [_q(k) for k in keys]
    refuse_duplicate_keys(cur, staging.quoted(), quoted_keys, str(table), keys)
    refuse_null_keys(cur, staging.quoted(), quoted_keys, str(table), keys)
    if _has_unique_index(cur, table, keys):
        updates = [f"{_q(n)} = EXCLUDED.{_q(n)}" for n in names if n not in keys]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        cur.execute(f"{insert} ON CONFLICT ({', '.join(quoted_keys)}) {action}")
        return "on_conflict"
    # No unique index on the keys: delete the keys present in the data, then insert it. The lock
    # makes concurrent upserts of the same table take turns (readers still read the old rows).
    cur.execute(f"LOCK TABLE {table.quoted()} IN SHARE ROW EXCLUSIVE MODE")
    fields = {f.name: f for f in schema}
    match = " AND ".join(f"t.{_q(k)} = {_value(fields[k], 's.')}" for k in keys)
    cur.execute(f"DELETE FROM {table.quoted()} AS t USING {staging.quoted()} AS s WHERE {match}")
    cur.execute(insert)
    return "delete_insert"


def _replace_parallel(conn, stream, table, keys, names, connect, streams, on_progress, started) -> LoadResult:
    """`replace` over several COPY streams: committed staging table, parallel COPY, swap in one transaction."""
    staging = staging_name(table)
    try:
        with conn.transaction(), conn.cursor() as cur:
            _create_table(cur, staging, wire_schema(stream.schema), [])
            mark_staging(cur, staging)
        rows = parallel_copy_binary(
            connect, staging, stream.schema, stream, streams=streams, on_batch=on_progress
        )
        with conn.transaction(), conn.cursor() as cur:
            _restore_types(cur, staging, stream.schema)
            existed = swap_in(cur, staging, table, keys)
    except Exception as e:
        _drop_quietly(conn, staging)
        if isinstance(e, ValueError | TypeError):
            raise
        raise LoadError(
            f"Loading into PostgreSQL table `{table}` (mode=replace) failed and was rolled back; "
            f"the table is unchanged. Cause: {type(e).__name__}: {str(e).strip()}"
        ) from e
    return LoadResult(
        table=str(table),
        mode="replace",
        rows=rows,
        seconds=time.perf_counter() - started,
        created=not existed,
        columns=names,
        method="parallel_copy",
    )


def _drop_orphans(conn, table: QualifiedName) -> None:
    """Drop staging tables of dead sessions in a short transaction of its own, never failing the load.

    Its own transaction, so the locks on the dropped tables are not held for the whole load (a
    concurrent load would wait on them); a lock held elsewhere is waited for 5 s at most.
    """
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '5s'")
            dropped = drop_orphan_staging(cur, table)
        if dropped:
            _log.info(f"PostgreSQL: dropped staging table(s) left by ended loads: {dropped}")
    except Exception as e:  # cleanup only: the next load tries again
        _log.warning(f"PostgreSQL: could not drop staging tables left by ended loads near `{table}`: {e}")


def _drop_quietly(conn, table: QualifiedName) -> None:
    try:
        conn.rollback()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table.quoted()}")
    except Exception:  # the connection may be gone; the orphan is dropped by the next load
        pass


def load_postgres(
    conn,
    stream: ArrowStream,
    table: QualifiedName,
    *,
    mode: str = "replace",
    keys=None,
    on_progress: Callable[[int], None] | None = None,
    connect: Callable[[], object] | None = None,
    streams: int = 1,
) -> LoadResult:
    """Load an Arrow stream into `table` by binary COPY, atomically.

    Args:
        conn: an open psycopg 3 connection (not in autocommit mode); it is left idle, not closed.
        stream: the rows (see `dagster_cfwb.transfer.arrow_stream.to_arrow_stream`).
        table: the target table.
        mode: `replace` — the table becomes exactly the data (created from the data's schema,
            swapped in at commit); `append` — rows are added (the table is created if missing);
            `upsert` — rows whose `keys` exist are updated, others inserted (see the module
            docstring for the two paths).
        keys: key column(s) for `upsert` (also made the primary key of a table we create).
        on_progress: called with the cumulative row count after each batch.
        connect: opens another connection like `conn`; with `streams` > 1 a `replace` of more
            than one batch is copied over that many connections in parallel (see
            `dagster_cfwb.transfer.postgres.parallel_copy`), then swapped in by `conn`.
        streams: number of parallel COPY streams for `replace`.

    Raises:
        ValueError / IdentifierError / UnsupportedTypeError: bad input, before any SQL runs.
        LoadError: the server refused the load; nothing was changed.
    """
    table.quoted("postgres")  # PostgreSQL's own name rules (63 bytes), before any SQL runs
    names = [validate_identifier(f.name, what="column", dialect="postgres") for f in stream.schema]
    key_list = check_load_request(str(table), mode, keys, names)
    for field in stream.schema:  # refuse unsupported types before any SQL runs
        arrow_to_pg_type(field.type, column=field.name)
    started = time.perf_counter()
    _drop_orphans(conn, table)
    if mode == "replace" and streams > 1 and connect is not None:
        first = next(stream.batches, None)
        second = next(stream.batches, None) if first is not None else None
        head = [b for b in (first, second) if b is not None]
        stream = ArrowStream(stream.schema, itertools.chain(head, stream.batches))
        if second is not None:
            return _replace_parallel(
                conn, stream, table, key_list, names, connect, streams, on_progress, started
            )
    created = False
    carried = bool(text_carried(stream.schema))
    try:
        with conn.transaction(), conn.cursor() as cur:
            # replace looks the target up only after the swap lock (see pg_staging.swap_in): a lookup
            # made earlier would be cached by this backend and miss a concurrent replace's new table
            existing = pg_table_columns(cur, table) if mode != "replace" else None
            if mode == "replace":
                staging = staging_name(table)
                _create_table(cur, staging, wire_schema(stream.schema), [])
                rows = copy_batches_binary(cur, staging, stream.schema, stream, on_batch=on_progress)
                _restore_types(cur, staging, stream.schema)
                created = not swap_in(cur, staging, table, key_list)
                method = "copy"
            elif existing is None and not carried:
                _create_table(cur, table, stream.schema, key_list)
                rows = copy_batches_binary(cur, table, stream.schema, stream, on_batch=on_progress)
                created, method = True, "copy"
            else:
                if existing is None:  # created here, filled from a staging table (text-carried columns)
                    _create_table(cur, table, stream.schema, key_list)
                    created = True
                    existing = pg_table_columns(cur, table) or {}  # just created: never None
                missing = [n for n in names if n not in existing]
                if missing:
                    raise ValueError(
                        f"Table `{table}` has no column(s) {missing}; it has {list(existing)}. "
                        "Add the columns, or load with mode='replace' to recreate the table."
                    )
                exact = not carried and all(_same_type(existing[f.name], f.type) for f in stream.schema)
                if mode == "append" and exact:
                    rows = copy_batches_binary(cur, table, stream.schema, stream, on_batch=on_progress)
                    method = "copy"
                else:
                    staging = QualifiedName(f"_cfwb_tmp_{secrets.token_hex(4)}")
                    _create_table(cur, staging, wire_schema(stream.schema), [], temp=True)
                    rows = copy_batches_binary(cur, staging, stream.schema, stream, on_batch=on_progress)
                    method = _write_from_staging(cur, table, staging, stream.schema, mode, key_list)
    except (ValueError, TypeError):
        raise
    except Exception as e:
        raise LoadError(
            f"Loading into PostgreSQL table `{table}` (mode={mode}) failed and was rolled back; "
            f"the table is unchanged. Cause: {type(e).__name__}: {str(e).strip()}"
        ) from e
    return LoadResult(
        table=str(table),
        mode=mode,
        rows=rows,
        seconds=time.perf_counter() - started,
        created=created,
        columns=names,
        method=method,
    )
