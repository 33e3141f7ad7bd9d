"""Stream a PostgreSQL query result as Arrow record batches with bounded memory.

Both readers follow one per-column plan (`dagster_cfwb.transfer.postgres.read_plan`, the extract type
table in `docs/databases.md`): each value arrives exact in a natural Arrow type, or in PostgreSQL's
own text form, or the read stops with an error naming the column, its type and the cast to use.

* `adbc` (the default when `adbc-driver-postgresql` is installed): the server sends the rows
  with `COPY … TO STDOUT (FORMAT binary)` and the driver decodes them in C++ straight into Arrow
  batches, which are made exact column by column with vectorised Arrow kernels (no Python per row)
  and re-sliced to `batch_rows`. The driver reads ahead on a background thread
  (`dagster_cfwb.transfer.prefetch`), so decoding overlaps the caller's work.
* `psycopg`: a server-side (named) psycopg cursor, slower (Python objects per value), same types
  and values.

Query parameters are bound by psycopg (`%s` placeholders) on both readers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.postgres.read_plan import (
    TEXT_SETTINGS,
    UnrepresentableValueError,
    arrow_schema,
    check_columns,
    describe_query,
    finish_batch,
    hidden_columns,
    wrapped_sql,
)
from dagster_cfwb.transfer.prefetch import prefetch

__all__ = [
    "UnrepresentableValueError",
    "bind_client_side",
    "fetch_batches",
    "iter_postgres_batches",
    "pg_oid_to_arrow",
    "rows_to_batch",
    "text_loaders",
]

# Types read by OID where no plan is made (Denodo's DECLARE/FETCH reader, SHOW/EXPLAIN results).
_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.large_binary(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.uint32(),
    25: pa.large_string(),
    1042: pa.large_string(),
    1043: pa.large_string(),
    19: pa.large_string(),
    114: pa.large_string(),
    3802: pa.large_string(),
    2950: pa.large_string(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.large_string(),
}
_TEXT_LOADED = (114, 3802, 1186)  # json, jsonb, interval: kept as the server's text
_UTILITY = re.compile(r"\s*(show|explain)\b", re.IGNORECASE)
_NOT_COPYABLE = ("SQLSTATE: 42601", "SQLSTATE: 0A000")  # syntax error / not supported inside COPY (…)


def _numeric_type(precision: int | None, scale: int | None) -> pa.DataType:
    if precision is None or precision <= 0 or precision > 76:
        return pa.large_string()
    if precision <= 38:
        return pa.decimal128(precision, scale or 0)
    return pa.decimal256(precision, scale or 0)


def pg_oid_to_arrow(
    type_code: int, precision: int | None = None, scale: int | None = None
) -> pa.DataType | None:
    """Arrow type for a PostgreSQL type OID (None: read as text)."""
    if type_code == 1700:  # numeric
        return _numeric_type(precision, scale)
    return _OID_TYPES.get(type_code)


def bind_client_side(conn, sql: str, params=None) -> str:
    """The SQL text with `params` merged in by psycopg (quoted, escaped); unchanged when `params` is None."""
    if params is None:
        return sql
    import psycopg

    with psycopg.ClientCursor(conn) as cur:
        return cur.mogrify(sql, params)


def text_loaders(cursor) -> None:
    """Make `cursor` return json, jsonb and interval values as the server's text (exact, as sent)."""
    from psycopg.types.string import TextLoader

    for oid in _TEXT_LOADED:
        cursor.adapters.register_loader(oid, TextLoader)


# -- ADBC path ---------------------------------------------------------------------------------
def _adbc_conninfo(conn) -> str:
    """The psycopg connection's settings for the ADBC connection, with the fixed text settings."""
    from psycopg.conninfo import make_conninfo

    settings = conn.info.get_parameters()
    if conn.info.password:
        settings["password"] = conn.info.password
    values = dict(TEXT_SETTINGS)
    # `-c DateStyle=ISO` at sign-in would reset the day/month order of date literals to MDY (a
    # database's `ISO, DMY` is applied after it): keep the session's order
    order = (conn.info.parameter_status("DateStyle") or "").partition(",")[2].strip()
    if order.isalpha():
        values["DateStyle"] += f",{order}"
    fixed = " ".join(f"-c {name}={value}" for name, value in values.items())
    settings["options"] = f"{settings.get('options', '')} {fixed}".strip()
    return make_conninfo(**settings)


def _planned(conn, sql: str, params) -> tuple[str, list | None]:
    """The query with its values bound, and its column plan (None: read it plainly, typed by OID)."""
    bound = bind_client_side(conn, sql, params).rstrip().rstrip(";")
    if _UTILITY.match(bound):  # SHOW, EXPLAIN: small text results that cannot be wrapped or declared
        return bound, None
    return bound, describe_query(conn, bound)


# The driver cuts its batches at about this many bytes of rows. Its default, 16 MB, holds ~30 MB
# more at a time for no measurable speed; at 4 MB the extract ran ~5 % slower (2M rows, bench/).
ADBC_BATCH_BYTES = 8 * 1024 * 1024


@contextmanager
def _adbc_reader(conninfo: str, sql: str) -> Iterator[pa.RecordBatchReader]:
    """The rows of `sql` from the ADBC driver, on its own connection.

    The driver manager's low-level API: its DB-API module also imports polars and pandas when they
    are installed (~90 MB more, held for the whole run), for parameter binding this reader never uses.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql

    with (
        adbc_driver_postgresql.connect(conninfo) as database,
        adbc_driver_manager.AdbcConnection(database) as connection,
        adbc_driver_manager.AdbcStatement(connection) as statement,
    ):
        statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(ADBC_BATCH_BYTES)})
        statement.set_sql_query(sql)
        handle, _ = statement.execute_query()
        with pa.RecordBatchReader._import_from_c(handle.address) as reader:
            yield reader


def _iter_adbc(conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import adbc_driver_manager

    bound, plan = _planned(conn, sql, params)
    if plan is None:
        yield from _iter_plain(conn, sql, params, batch_rows)
        return
    schema = arrow_schema(plan)
    with ExitStack() as stack:
        try:
            reader = stack.enter_context(_adbc_reader(_adbc_conninfo(conn), wrapped_sql(bound, plan, "adbc")))
        except adbc_driver_manager.Error as e:
            if not any(code in str(e) for code in _NOT_COPYABLE):
                raise
            # cannot run inside COPY (…) TO STDOUT: the psycopg reader, same plan
            yield from _iter_psycopg(conn, sql, params, batch_rows)
            return
        yielded = False
        for batch in reader:  # the driver's batches (~8 MB), checked whole
            exact = finish_batch(plan, batch, schema)
            for offset in range(0, exact.num_rows, batch_rows):  # sliced zero-copy to batch_rows
                yield exact.slice(offset, batch_rows)
                yielded = True
        if not yielded:
            yield _empty(schema)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return record_batch([pa.array([], f.type) for f in schema], schema)


# -- psycopg reader ----------------------------------------------------------------------------
def _iter_psycopg(conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import psycopg

    bound, plan = _planned(conn, sql, params)
    if plan is None:
        yield from _iter_plain(conn, sql, params, batch_rows)
        return
    schema = arrow_schema(plan)
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:  # text forms fixed for this transaction
        cur.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(TEXT_SETTINGS)),
            [x for item in TEXT_SETTINGS.items() for x in item],
        )
    with conn.cursor(name=f"cfwb_cursor_{secrets.token_hex(4)}", row_factory=psycopg.rows.tuple_row) as cur:
        cur.itersize = batch_rows
        cur.execute(wrapped_sql(bound, plan, "psycopg"))
        types = [p.psycopg_type() for p in plan] + [t for _, _, t in hidden_columns(plan, "psycopg")]
        yielded = False
        while True:
            rows = cur.fetchmany(batch_rows)
            if not rows and yielded:
                return
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in types]
            names = [d.name for d in cur.description]
            # the checks first: a refused value (a 2-D array…) may not even build its column
            check_columns(
                plan,
                {
                    n: pa.array(columns[j], pa.bool_())
                    for j, n in enumerate(names)
                    if j >= len(plan) and n.startswith("__cfwb_check_")
                },
            )
            arrays = [pa.array(list(col), t) for col, t in zip(columns, types, strict=True)]
            raw = pa.RecordBatch.from_arrays(arrays, names=names)
            yield finish_batch(plan, raw, schema)
            yielded = True
            if len(rows) < batch_rows:
                return


# -- rows typed by OID (Denodo, statements without a result description) ------------------------
def _text(value) -> str:
    return str(value)


def _column(values: list, data_type: pa.DataType | None, name: str) -> pa.Array:
    if data_type is None:
        # A type without a fixed mapping (arrays, inet, ranges, money…) is kept as its text, so
        # every batch has the same schema whatever values (or NULLs) it happens to hold.
        data_type = pa.large_string()
    if pa.types.is_large_string(data_type):
        # uuid and unconstrained numeric (kept exact as text) arrive as Python objects
        values = [v if v is None or isinstance(v, str) else _text(v) for v in values]
    try:
        return pa.array(values, type=data_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        bad = next((v for v in values if v is not None and not _fits(v, data_type)), "?")
        raise UnrepresentableValueError(
            f"Column `{name}` holds `{bad}`, which Arrow {data_type} cannot hold exactly. "
            f'Cast it in the query, e.g. `"{name}"::text`.'
        ) from e


def _fits(value, data_type: pa.DataType) -> bool:
    try:
        pa.array([value], type=data_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def rows_to_batch(description, rows: list) -> pa.RecordBatch:
    """One Arrow batch from psycopg rows, typed from the cursor `description` (see the OID table)."""
    names = [d.name for d in description]
    types = [pg_oid_to_arrow(d.type_code, d.precision, d.scale) for d in description]
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    arrays = [_column(list(col), t, n) for col, t, n in zip(columns, types, names, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def fetch_batches(fetch: Callable[[], tuple], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Call `fetch()` → `(description, rows)` (at most `batch_rows` rows) until the rows run out.

    At least one batch is yielded, so an empty result still carries its schema.
    """
    yielded = False
    while True:
        description, rows = fetch()
        if not rows and yielded:
            return
        yield rows_to_batch(description or [], rows)
        yielded = True
        if len(rows) < batch_rows:
            return


def _iter_plain(conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """A statement that has no plan (`SHOW`, `EXPLAIN`…) on a plain cursor, typed by OID."""
    with conn.cursor() as cur:
        text_loaders(cur)
        cur.execute(sql, params)
        yield from fetch_batches(lambda: (cur.description, cur.fetchmany(batch_rows)), batch_rows)


def _adbc_available() -> bool:
    try:
        import adbc_driver_manager  # noqa: F401
        import adbc_driver_postgresql  # noqa: F401  (not its .dbapi: that imports polars, see _adbc_reader)
    except ImportError:
        return False
    return True


def iter_postgres_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS, engine: str = "auto"
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of `sql` as record batches of at most `batch_rows` rows.

    Args:
        conn: an open psycopg 3 connection; the ADBC path opens its own second connection with
            the same settings (and password) and closes it when the stream ends.
        sql: the query; values go in `params` with `%s` placeholders.
        batch_rows: rows per yielded batch (memory grows with it, not with the result size).
        engine: `auto` (ADBC when installed), `adbc` or `psycopg` (server-side cursor).

    At least one batch is always yielded, so an empty result still carries its schema.

    Raises:
        UnrepresentableValueError: a value has no exact form in its column's Arrow type (the
            message names the column, its type and the cast to use).
        ValueError: `engine` is not one of the three.
    """
    if engine not in ("auto", "adbc", "psycopg"):
        raise ValueError(f"Unknown PostgreSQL reader `{engine}`; expected `auto`, `adbc` or `psycopg`.")
    use_adbc = engine == "adbc" or (engine == "auto" and _adbc_available())
    if use_adbc:
        # the driver decodes the next batches on its own thread while the caller encodes this one
        yield from prefetch(lambda: _iter_adbc(conn, sql, params, batch_rows), name="cfwb-pg-extract")
    else:
        yield from _iter_psycopg(conn, sql, params, batch_rows)
