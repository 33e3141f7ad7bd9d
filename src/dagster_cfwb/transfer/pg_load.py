"""Atomic bulk loads into PostgreSQL: replace (staging table + swap), append and upsert.

Every load runs in one transaction. Any failure — a value PostgreSQL rejects, a cut connection,
an interrupted process — rolls it back, so the target table keeps its previous rows and schema.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier, validate_identifier
from dagster_cfwb.transfer.load_result import LoadError, LoadResult, check_load_request
from dagster_cfwb.transfer.pg_copy import copy_batches_binary
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


def load_postgres(
    conn,
    stream: ArrowStream,
    table: QualifiedName,
    *,
    mode: str = "replace",
    keys=None,
    on_progress: Callable[[int], None] | None = None,
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

    Raises:
        ValueError / IdentifierError / UnsupportedTypeError: bad input, before any SQL runs.
        LoadError: the server refused the load; nothing was changed.
    """
    names = [validate_identifier(f.name, what="column") for f in stream.schema]
    key_list = check_load_request(str(table), mode, keys, names)
    for field in stream.schema:  # refuse unsupported types before any SQL runs
        arrow_to_pg_type(field.type, column=field.name)
    started = time.perf_counter()
    created = False
    try:
        with conn.transaction(), conn.cursor() as cur:
            existing = pg_table_columns(cur, table)
            if mode == "replace":
                staging = _staging_name(table)
                _create_table(cur, staging, stream, key_list)
                rows = copy_batches_binary(cur, staging, stream.schema, stream, on_batch=on_progress)
                if existing is not None:
                    cur.execute(f"DROP TABLE {table.quoted()}")
                cur.execute(f"ALTER TABLE {staging.quoted()} RENAME TO {_q(table.table)}")
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
        table=str(table), mode=mode, rows=rows, seconds=time.perf_counter() - started, created=created, columns=names
    )
