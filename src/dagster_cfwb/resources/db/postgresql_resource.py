"""PostgreSQL as a Dagster resource: query, stream, and bulk-load by binary COPY."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.db.postgres_wire_resource import PostgresWireResource
from dagster_cfwb.resources.db.sql_resource import SQLDatabaseResource
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.load_result import LoadResult
from dagster_cfwb.transfer.postgres.catalog import PostgresCatalog
from dagster_cfwb.transfer.postgres.extract import iter_postgres_batches
from dagster_cfwb.transfer.postgres.load import load_postgres, pg_table_columns

__all__ = ["PostgreSQLResource"]


class PostgreSQLResource(PostgresWireResource, SQLDatabaseResource):
    """A PostgreSQL database: run SQL, stream results as Arrow, and bulk-load tables fast.

    `copy_from_df(df, "table")` loads a polars/pandas DataFrame, an Arrow table or a stream of
    Arrow batches with PostgreSQL's **binary COPY** (encoded by pgpq). With `mode="replace"` (the
    default) the rows go to a staging table — over `copy_streams` parallel connections for large
    loads — that replaces the old table in one short transaction: if anything fails, the old table
    and its rows are untouched and the staging table is dropped. A missing
    table is created from the data's columns (type table in `dagster_cfwb.transfer.postgres.types`).

    Example:

    ```python
    from dagster import EnvVar
    postgresql = PostgreSQLResource(
        host="pg.intranet.example", user="etl", database="dwh",
        password=EnvVar("PG_PASSWORD"),
    )
    postgresql.copy_from_df(df, "example")                      # replace, atomically
    postgresql.copy_from_df(df, "stats.example", mode="upsert", keys=["id"])
    df = postgresql.query("SELECT * FROM example WHERE year = %s", params=[2024])
    ```
    """

    host: str = Field(
        default="localhost", description="PostgreSQL server host name or IP, e.g. `pg.intranet.example`."
    )
    port: int = Field(default=5432, description="PostgreSQL port (default 5432).")
    user: str = Field(default="postgres", description="PostgreSQL role to sign in as.")
    database: str = Field(default="postgres", description="Database to connect to.")
    statement_timeout_seconds: int | None = Field(
        default=None,
        description="Cancel any single statement running longer than this many seconds (empty: no limit).",
    )
    copy_streams: int = Field(
        default=2,
        description=(
            "Parallel COPY connections for a `replace` load of more than one batch (each keeps one "
            "server process busy). 1 loads over a single connection. Default 2: measured on a 2-core "
            "server, a whole table in memory loads ~18 % faster over two streams than over one and "
            "streamed rows 2–10 % faster, for ~15 % more server CPU; set 1 for a single-core server "
            "(measurements in `docs/performance.md`)."
        ),
    )
    application_name: str = Field(
        default="dagster-cfwb", description="Name shown for our sessions in `pg_stat_activity`."
    )
    reader: Literal["auto", "adbc", "psycopg"] = Field(
        default="auto",
        description=(
            "How query results are read: `auto` (ADBC when `adbc-driver-postgresql` is installed, else "
            "psycopg), `adbc` (binary COPY decoded in C++ on a background thread while the rows already read "
            "are written, fastest) or `psycopg` (a server-side cursor, "
            "slower). Both give the same Arrow types and values (type table in `docs/databases.md`)."
        ),
    )

    dialect = "postgres"
    asset_kind = "postgres"
    catalog = PostgresCatalog()
    engine_label = "PostgreSQL"

    def _connect_kwargs(self) -> dict:
        """Keyword arguments of `psycopg.connect`, with the session's statement timeout."""
        kwargs = super()._connect_kwargs()
        if self.statement_timeout_seconds:
            kwargs["options"] = f"-c statement_timeout={int(self.statement_timeout_seconds) * 1000}"
        return kwargs

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        yield from iter_postgres_batches(conn, sql, params, batch_rows=batch_rows, engine=self.reader)

    def _load(self, conn, stream, table: QualifiedName, mode: str, keys) -> LoadResult:
        return load_postgres(
            conn,
            stream,
            table,
            mode=mode,
            keys=keys,
            connect=self._open_connection,
            streams=self.copy_streams,
        )

    def _table_schema(self, conn, table: QualifiedName) -> dict[str, str]:
        with conn.cursor() as cur:
            columns = pg_table_columns(cur, table)
        conn.rollback()
        if columns is None:
            raise LookupError(f"PostgreSQL table `{table}` does not exist in database `{self.database}`.")
        return columns
