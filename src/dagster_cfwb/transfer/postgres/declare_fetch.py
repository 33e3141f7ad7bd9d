"""Stream a query over the PostgreSQL wire protocol with plain `DECLARE … CURSOR` / `FETCH` statements.

This is how the Denodo ODBC driver reads large results (its `UseDeclareFetch=1` setting), and it
needs only the *simple* query protocol: values are bound on the client (psycopg's `ClientCursor`,
every value quoted and escaped by psycopg), and no prepared statement, portal description or binary
transfer is asked of the server. It therefore suits servers that speak the PostgreSQL protocol
without being PostgreSQL, such as Denodo Virtual DataPort, and memory stays flat: `batch_rows` rows
are held at a time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.postgres.extract import bind_client_side, fetch_batches, text_loaders

__all__ = ["bind_client_side", "iter_declare_fetch_batches", "iter_simple_query_batches"]


def iter_simple_query_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Like `iter_declare_fetch_batches`, but one plain query: the driver receives the whole result.

    For servers or views where `DECLARE … CURSOR` is refused. Memory grows with the result size
    (libpq holds every row); the batches handed on are still at most `batch_rows` rows.
    """
    import psycopg

    with psycopg.ClientCursor(conn) as cur:
        text_loaders(cur)
        cur.execute(bind_client_side(conn, sql, params))
        yield from fetch_batches(lambda: (cur.description, cur.fetchmany(batch_rows)), batch_rows)


def iter_declare_fetch_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of `sql` as Arrow record batches of at most `batch_rows` rows.

    The connection must not be in autocommit mode (the cursor lives in the transaction psycopg opens).
    At least one batch is always yielded, so an empty result still carries its schema.
    """
    import psycopg

    name = f"cfwb_cursor_{secrets.token_hex(4)}"
    query = bind_client_side(conn, sql, params)
    with psycopg.ClientCursor(conn) as cur:
        text_loaders(cur)
        cur.execute(f'DECLARE "{name}" CURSOR FOR {query}')

        def fetch() -> tuple:
            cur.execute(f'FETCH {int(batch_rows)} IN "{name}"')
            return cur.description, cur.fetchall()

        try:
            yield from fetch_batches(fetch, batch_rows)
        finally:
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                cur.execute(f'CLOSE "{name}"')
