"""Stream a PostgreSQL query result as Arrow record batches with bounded memory.

The fast path is the ADBC PostgreSQL driver (``adbc-driver-postgresql``): the server sends the rows
with ``COPY … TO STDOUT (FORMAT binary)`` and the driver decodes them in C++ straight into Arrow
batches, which we re-slice to ``batch_rows`` and make exact:

* ``numeric(p, s)`` arrives as text and is cast to ``decimal128(p, s)`` (``decimal256`` above 38
  digits) using the column's type modifier — no float rounding; a ``numeric`` without precision
  stays text (any number of digits, exact): cast it in SQL (``amount::numeric(18,2)``) for a decimal.
* ``json``/``jsonb`` arrive as text, ``uuid`` as its canonical text form.
* ``interval`` becomes a ``duration[us]`` (a month counts 30 days, as psycopg does).

Without ADBC installed, a server-side (named) psycopg cursor is used instead (slower, same types).
Query parameters are bound by psycopg (``%s`` placeholders) in both paths.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["fetch_batches", "iter_postgres_batches", "pg_oid_to_arrow", "rows_to_batch"]

_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.large_binary(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
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
    1186: pa.duration("us"),
}
_DAY_US = 86_400_000_000
_NOT_COPYABLE = ("SQLSTATE: 42601", "SQLSTATE: 0A000")  # syntax error / not supported inside COPY (…)


def _numeric_type(precision: int | None, scale: int | None) -> pa.DataType:
    if precision is None or precision <= 0:
        return pa.large_string()
    if precision <= 38:
        return pa.decimal128(precision, scale or 0)
    return pa.decimal256(min(precision, 76), scale or 0)


def pg_oid_to_arrow(
    type_code: int, precision: int | None = None, scale: int | None = None
) -> pa.DataType | None:
    """Arrow type for a PostgreSQL type OID (None: let Arrow infer from the values)."""
    if type_code == 1700:  # numeric
        return _numeric_type(precision, scale)
    return _OID_TYPES.get(type_code)


# -- ADBC path ---------------------------------------------------------------------------------
def _numeric_from_typmod(field: pa.Field) -> pa.DataType:
    typmod = int((field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return pa.large_string()
    typmod -= 4
    return _numeric_type((typmod >> 16) & 0xFFFF, typmod & 0xFFFF)


def _interval_to_duration(column: pa.Array) -> pa.Array:
    values = [
        None if v is None else (v.months * 30 + v.days) * _DAY_US + v.nanoseconds // 1000
        for v in column.to_pylist()
    ]
    return pa.array(values, pa.int64()).cast(pa.duration("us"))


def _plan(schema: pa.Schema) -> list:
    """One converter per column: (target type, function(array) -> array)."""
    plan = []
    for field in schema:
        t = field.type
        typname = (field.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
        if isinstance(t, pa.BaseExtensionType) and typname == "numeric":
            target = _numeric_from_typmod(field)
            plan.append((target, lambda a, target=target: pc.cast(a.storage, target)))
        elif typname == "uuid":
            plan.append(
                (
                    pa.large_string(),
                    lambda a: pa.array(
                        [None if v is None else str(uuid.UUID(bytes=v)) for v in a.storage.to_pylist()],
                        pa.large_string(),
                    ),
                )
            )
        elif isinstance(t, pa.BaseExtensionType):  # json, jsonb and other text-like extension types
            target = t.storage_type
            plan.append((target, lambda a: a.storage))
        elif pa.types.is_interval(t):
            plan.append((pa.duration("us"), _interval_to_duration))
        else:
            plan.append((t, None))
    return plan


def _iter_adbc(conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc
    import psycopg
    from psycopg.conninfo import make_conninfo

    bound = psycopg.ClientCursor(conn).mogrify(sql, params) if params is not None else sql  # psycopg escaping
    settings = conn.info.get_parameters()
    if conn.info.password:
        settings["password"] = conn.info.password
    with adbc.connect(make_conninfo(**settings)) as aconn, aconn.cursor() as cur:
        try:
            cur.execute(bound)
        except adbc.Error as e:
            if not any(code in str(e) for code in _NOT_COPYABLE):
                raise
            # SHOW, EXPLAIN…: cannot run inside COPY (…) TO STDOUT; small results, read them plainly.
            yield from _iter_cursor(conn, sql, params, batch_rows, named=False)
            return
        reader = cur.fetch_record_batch()
        plan = _plan(reader.schema)
        names = reader.schema.names
        schema = pa.schema([pa.field(n, t) for n, (t, _) in zip(names, plan, strict=True)])

        def convert(batch: pa.RecordBatch) -> pa.RecordBatch:
            arrays = [fn(col) if fn else col for col, (_, fn) in zip(batch.columns, plan, strict=True)]
            return pa.RecordBatch.from_arrays(arrays, schema=schema)

        yielded = False
        for batch in reader:  # the driver's batches (~16 MB); sliced zero-copy to batch_rows
            for offset in range(0, batch.num_rows, batch_rows):
                yield convert(batch.slice(offset, batch_rows))
                yielded = True
        if not yielded:
            yield pa.RecordBatch.from_arrays([pa.array([], t) for t, _ in plan], schema=schema)


# -- psycopg fallback --------------------------------------------------------------------------
def _text(value) -> str:
    if isinstance(value, dict | list):  # json/jsonb decoded by psycopg: back to JSON text, as ADBC gives
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _column(values: list, data_type: pa.DataType | None) -> pa.Array:
    if data_type is None:
        # A type without a fixed mapping (arrays, inet, ranges, money…) is kept as its text, so
        # every batch has the same schema whatever values (or NULLs) it happens to hold.
        data_type = pa.large_string()
    if pa.types.is_large_string(data_type):
        # uuid, json and unconstrained numeric (kept exact as text) arrive as Python objects
        values = [v if v is None or isinstance(v, str) else _text(v) for v in values]
    if pa.types.is_duration(data_type):
        values = [v if v is None or isinstance(v, dt.timedelta) else dt.timedelta(v) for v in values]
    return pa.array(values, type=data_type)


def rows_to_batch(description, rows: list) -> pa.RecordBatch:
    """One Arrow batch from psycopg rows, typed from the cursor ``description`` (see the OID table)."""
    names = [d.name for d in description]
    types = [pg_oid_to_arrow(d.type_code, d.precision, d.scale) for d in description]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    arrays = [_column(list(col), t) for col, t in zip(columns, types, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def fetch_batches(fetch: Callable[[], tuple], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Call ``fetch()`` → ``(description, rows)`` (at most ``batch_rows`` rows) until the rows run out.

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


def _iter_cursor(conn, sql: str, params, batch_rows: int, *, named: bool = True) -> Iterator[pa.RecordBatch]:
    with conn.cursor(name=f"cfwb_cursor_{secrets.token_hex(4)}") if named else conn.cursor() as cur:
        if named:
            cur.itersize = batch_rows
        cur.execute(sql, params)
        yield from fetch_batches(lambda: (cur.description, cur.fetchmany(batch_rows)), batch_rows)


def _adbc_available() -> bool:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def iter_postgres_batches(
    conn, sql: str, params=None, *, batch_rows: int = 65_536, engine: str = "auto"
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``sql`` as record batches of at most ``batch_rows`` rows.

    Args:
        conn: an open psycopg 3 connection; the ADBC path opens its own second connection with
            the same settings (and password) and closes it when the stream ends.
        sql: the query; values go in ``params`` with ``%s`` placeholders.
        batch_rows: rows per yielded batch (memory grows with it, not with the result size).
        engine: ``auto`` (ADBC when installed), ``adbc`` or ``psycopg`` (server-side cursor).

    At least one batch is always yielded, so an empty result still carries its schema.
    """
    use_adbc = engine == "adbc" or (engine == "auto" and _adbc_available())
    if use_adbc:
        yield from _iter_adbc(conn, sql, params, batch_rows)
    else:
        yield from _iter_cursor(conn, sql, params, batch_rows)
