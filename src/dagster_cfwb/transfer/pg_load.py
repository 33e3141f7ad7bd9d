"""Atomic bulk loads into PostgreSQL: replace (staging table + swap), append and upsert.

Every load runs in one transaction. Any failure — a value PostgreSQL rejects, a cut connection,
an interrupted process — rolls it back, so the target table keeps its previous rows and schema.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier, validate_identifier
from dagster_cfwb.transfer.load_result import LoadError, LoadResult, check_load_request, refuse_duplicate_keys
from dagster_cfwb.transfer.pg_copy import copy_batches_binary
from dagster_cfwb.transfer.pg_parallel_copy import parallel_copy_binary
from dagster_cfwb.transfer.pg_types import arrow_to_pg_type, pg_column_definitions

__all__ = ["load_postgres", "pg_table_columns"]


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
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique GROUP BY i.indexrelid",
        (table.quoted(),),
    )
    wanted = sorted(keys)
    return any(sorted(r[0]) == wanted for r in cursor.fetchall())


def _create_table(cursor, table: QualifiedName, stream: ArrowStream, keys: list[str], *, temp: bool = False):
    columns = pg_column_definitions(stream.schema, _q)
    if keys:
        columns.append(f"PRIMARY KEY ({', '.join(_q(k) for k in keys)})")
    kind = "TEMP TABLE" if temp else "TABLE"
    suffix = " ON COMMIT DROP" if temp else ""
    cursor.execute(f"CREATE {kind} {table.quoted()} ({', '.join(columns)}){suffix}")


def _staging_name(table: QualifiedName) -> QualifiedName:
    return table.with_table(f"_cfwb_{table.table[:40]}_{secrets.token_hex(4)}")


def _swap_in(cur, staging: QualifiedName, table: QualifiedName, exists: bool, keys: list[str]) -> None:
    """Replace ``table`` by ``staging`` inside the caller's transaction (the primary key is built last)."""
    if keys:
        cur.execute(f"ALTER TABLE {staging.quoted()} ADD PRIMARY KEY ({', '.join(_q(k) for k in keys)})")
    if exists:
        _carry_over_grants_and_comments(cur, table, staging)
        dependents = _dependent_views(cur, table)
        if dependents:
            raise ValueError(
                f"Cannot replace PostgreSQL table `{table}`: view(s) {dependents} depend on it. Load with "
                "mode='append' after a TRUNCATE, or drop and recreate the views around the load."
            )
        cur.execute(f"DROP TABLE {table.quoted()}")
    cur.execute(f"ALTER TABLE {staging.quoted()} RENAME TO {_q(table.table)}")


def _dependent_views(cur, table: QualifiedName) -> list[str]:
    cur.execute(
        "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = r.ev_class WHERE d.refobjid = to_regclass(%s) AND v.oid <> d.refobjid",
        (table.quoted(),),
    )
    return [r[0] for r in cur.fetchall()]


def _carry_over_grants_and_comments(cur, old: QualifiedName, new: QualifiedName) -> None:
    """Give the new table the old one's privileges and table/column comments (a replace keeps them).

    COMMENT takes no bound parameters, so comment texts are rendered by psycopg's ``sql.Literal``.
    """
    from psycopg import sql

    cur.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, a.privilege_type, "
        "a.is_grantable FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        (old.quoted(),),
    )
    for grantee, privilege, grantable in cur.fetchall():
        option = " WITH GRANT OPTION" if grantable else ""
        # grantee is quoted by the server (quote_ident); privilege is one of PostgreSQL's keywords
        cur.execute(f"GRANT {privilege} ON {new.quoted()} TO {grantee}{option}")
    cur.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (old.quoted(),))
    comment = cur.fetchone()[0]
    if comment is not None:
        cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(sql.SQL(new.quoted()), sql.Literal(comment)))
    cur.execute(
        "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND col_description(a.attrelid, a.attnum) IS NOT NULL",
        (old.quoted(),),
    )
    for column, text in cur.fetchall():
        cur.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
            (new.quoted(), column),
        )
        if cur.fetchone():
            target = sql.SQL(f"{new.quoted()}.{_q(column)}")
            cur.execute(sql.SQL("COMMENT ON COLUMN {} IS {}").format(target, sql.Literal(text)))


def _drop_orphan_staging(cur, table: QualifiedName) -> None:
    """Drop staging tables of ``table`` left by a load whose session no longer exists."""
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = coalesce(%s, current_schema()) AND c.relkind = 'r' AND c.relname LIKE %s "
        "AND obj_description(c.oid, 'pg_class') LIKE 'dagster-cfwb staging, backend %%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE obj_description(c.oid, 'pg_class') "
        "  = 'dagster-cfwb staging, backend ' || a.pid)",
        (table.schema, f"\\_cfwb\\_{table.table[:40]}\\_%"),
    )
    for (name,) in cur.fetchall():
        cur.execute(f"DROP TABLE IF EXISTS {table.with_table(name).quoted()}")


def _replace_parallel(conn, stream, table, keys, names, connect, streams, on_progress, started) -> LoadResult:
    """``replace`` over several COPY streams: committed staging table, parallel COPY, swap in one transaction."""
    staging = _staging_name(table)
    try:
        with conn.transaction(), conn.cursor() as cur:
            _drop_orphan_staging(cur, table)
            _create_table(cur, staging, stream, [])
            cur.execute("SELECT pg_backend_pid()")
            pid = int(cur.fetchone()[0])
            cur.execute(f"COMMENT ON TABLE {staging.quoted()} IS 'dagster-cfwb staging, backend {pid}'")
        rows = parallel_copy_binary(
            connect, staging, stream.schema, stream, streams=streams, on_batch=on_progress
        )
        with conn.transaction(), conn.cursor() as cur:
            existing = pg_table_columns(cur, table)
            _swap_in(cur, staging, table, existing is not None, keys)
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
        created=existing is None,
        columns=names,
    )


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
    """Load an Arrow stream into ``table`` by binary COPY, atomically.

    Args:
        conn: an open psycopg 3 connection (not in autocommit mode); it is left idle, not closed.
        stream: the rows (see :func:`dagster_cfwb.transfer.arrow_stream.to_arrow_stream`).
        table: the target table.
        mode: ``replace`` — the table becomes exactly the data (created from the data's schema,
            swapped in at commit); ``append`` — rows are added (the table is created if missing);
            ``upsert`` — rows whose ``keys`` exist are updated, others inserted.
        keys: key column(s) for ``upsert`` (also made the primary key of a table we create).
        on_progress: called with the cumulative row count after each batch.
        connect: opens another connection like ``conn``; with ``streams`` > 1 a ``replace`` of more
            than one batch is copied over that many connections in parallel (see
            :mod:`dagster_cfwb.transfer.pg_parallel_copy`), then swapped in by ``conn``.
        streams: number of parallel COPY streams for ``replace``.

    Raises:
        ValueError / IdentifierError / UnsupportedTypeError: bad input, before any SQL runs.
        LoadError: the server refused the load; nothing was changed.
    """
    names = [validate_identifier(f.name, what="column") for f in stream.schema]
    key_list = check_load_request(str(table), mode, keys, names)
    for field in stream.schema:  # refuse unsupported types before any SQL runs
        arrow_to_pg_type(field.type, column=field.name)
    started = time.perf_counter()
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
    try:
        with conn.transaction(), conn.cursor() as cur:
            existing = pg_table_columns(cur, table)
            if mode == "replace":
                staging = _staging_name(table)
                _drop_orphan_staging(cur, table)
                _create_table(cur, staging, stream, [])
                rows = copy_batches_binary(cur, staging, stream.schema, stream, on_batch=on_progress)
                _swap_in(cur, staging, table, existing is not None, key_list)
                created = existing is None
            elif existing is None:
                _create_table(cur, table, stream, key_list)
                rows = copy_batches_binary(cur, table, stream.schema, stream, on_batch=on_progress)
                created = True
            else:
                missing = [n for n in names if n not in existing]
                if missing:
                    raise ValueError(
                        f"Table `{table}` has no column(s) {missing}; it has {list(existing)}. "
                        "Add the columns, or load with mode='replace' to recreate the table."
                    )
                if mode == "upsert" and not _has_unique_index(cur, table, key_list):
                    raise ValueError(
                        f"mode='upsert' into `{table}` needs a primary key or unique index on {key_list}; "
                        f"add one, e.g. ALTER TABLE {table.quoted()} ADD PRIMARY KEY "
                        f"({', '.join(_q(k) for k in key_list)})."
                    )
                exact = all(_same_type(existing[f.name], f.type) for f in stream.schema)
                if mode == "append" and exact:
                    rows = copy_batches_binary(cur, table, stream.schema, stream, on_batch=on_progress)
                else:
                    staging = QualifiedName(f"_cfwb_tmp_{secrets.token_hex(4)}")
                    _create_table(cur, staging, stream, [], temp=True)
                    rows = copy_batches_binary(cur, staging, stream.schema, stream, on_batch=on_progress)
                    cols = ", ".join(_q(n) for n in names)
                    insert = f"INSERT INTO {table.quoted()} ({cols}) SELECT {cols} FROM {staging.quoted()}"
                    if mode == "upsert":
                        refuse_duplicate_keys(
                            cur, staging.quoted(), [_q(k) for k in key_list], str(table), key_list
                        )
                        updates = [f"{_q(n)} = EXCLUDED.{_q(n)}" for n in names if n not in key_list]
                        conflict = ", ".join(_q(k) for k in key_list)
                        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
                        insert += f" ON CONFLICT ({conflict}) {action}"
                    cur.execute(insert)
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
    )
