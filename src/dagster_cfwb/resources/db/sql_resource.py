"""The verbs every SQL database resource offers, written once.

`SQLReadResource` holds the connection settings and the read verbs (`query`, `iter_batches`,
`execute`, `extract_to_lakehouse`) plus what a component asks of a source (`source_select`,
`column_descriptions`, `table_names`: the `ArrowSource` protocol of
`dagster_cfwb.resources.protocols`). `SQLDatabaseResource` adds the load verbs (`copy_from_df`,
`table_schema`, `create_schema_if_missing`: the `DatabaseTarget` protocol). An engine module
(`postgresql_resource.py`, `mysql_resource.py`…) subclasses one of them and provides only what
differs: how to connect, how to stream a query as Arrow batches, how to bulk-load, its catalog SQL
(from its `dagster_cfwb.transfer.<engine>` package).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.resources.secrets import RedactedReprMixin, redact
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS, to_arrow_stream, to_output
from dagster_cfwb.transfer.catalog_sql import CatalogSql
from dagster_cfwb.transfer.identifiers import QualifiedName, split_table_name
from dagster_cfwb.transfer.load_result import LoadResult
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult
from dagster_cfwb.transfer.source_select import Filter, select_sql

__all__ = ["DatabaseConnectionError", "SQLDatabaseResource", "SQLReadResource"]


class DatabaseConnectionError(CfwbError, ConnectionError):
    """Could not connect or sign in to a database (the message never contains the password)."""


class SQLReadResource(RedactedReprMixin, dg.ConfigurableResource):
    """Shared fields and read verbs of the SQL resources (not used directly)."""

    host: str = Field(
        default="localhost", description="Server host name or IP address, e.g. `db.intranet.example`."
    )
    port: int = Field(default=0, description="Server TCP port (each engine has its usual default).")
    user: str = Field(default="", description="User name to sign in with.")
    password: str | None = Field(
        default=None,
        description="Password; always pass it as `EnvVar('…')` so it never sits in code or YAML.",
    )
    database: str = Field(default="", description="Database (catalog) to connect to.")
    connect_timeout_seconds: int = Field(
        default=15, description="Seconds to wait for the server to accept a connection before failing."
    )
    connect_retries: int = Field(
        default=3,
        description="How many times a failed connection is retried (1 s, 2 s, 4 s… apart) before the step fails.",
    )
    batch_rows: int = Field(
        default=DEFAULT_BATCH_ROWS,
        description="Rows per Arrow batch when streaming a query or a load; memory use grows with it.",
    )

    # Overridden by each engine; class attributes, not config fields.
    dialect: ClassVar[str] = "postgres"  # quoting and name rules of `dagster_cfwb.transfer.identifiers`
    placeholder: ClassVar[str] = "%s"  # the driver's parameter marker (`%s` or `?`)
    asset_kind: ClassVar[str] = "sql"  # kind badge of the assets reading or writing it, e.g. "postgres"
    catalog: ClassVar[CatalogSql] = CatalogSql()  # the engine's catalog SQL (`transfer/<engine>/catalog.py`)
    default_schema: ClassVar[str | None] = None
    engine_label: ClassVar[str] = "database"  # e.g. "SQL Server", used in messages

    # -- what an engine provides --------------------------------------------------------------
    def _open_connection(self):
        raise NotImplementedError

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def _is_transient(self, error: Exception) -> bool:
        """True when a connection error is worth retrying (refused, reset, timed out)."""
        return False

    # -- shared behaviour ---------------------------------------------------------------------
    def _describe(self) -> str:
        return f"{type(self).__name__} {self.user}@{self.host}:{self.port}/{self.database}"

    def _safe_message(self, error: BaseException) -> str:
        return redact(str(error).strip(), [self.password])

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        """Open a DB-API connection (retried on transient failures); always closed on exit.

        Raises:
            DatabaseConnectionError: the server refused or could not be reached; the message names
                host, port, user and database — never the password.
        """
        log = dg.get_dagster_logger()
        attempts = max(self.connect_retries, 0) + 1
        conn: Any = None
        for attempt in range(1, attempts + 1):
            try:
                conn = self._open_connection()
                break
            except Exception as e:  # driver-specific error types
                message = self._safe_message(e)
                if attempt < attempts and self._is_transient(e):
                    delay = 2 ** (attempt - 1)
                    log.warning(
                        f"Connection to {self._describe()} failed ({message}); retry {attempt} in {delay}s"
                    )
                    time.sleep(delay)
                    continue
                raise DatabaseConnectionError(
                    f"Could not connect to {self._describe()} (host `{self.host}`, port {self.port}, "
                    f"user `{self.user}`, database `{self.database}`): {message}"
                ) from None
        try:
            yield conn
        finally:
            conn.close()

    def table_name(self, table: str, schema: str | None = None) -> QualifiedName:
        """Validate `table` (or `schema.table`) by this server's name rules; return a QualifiedName."""
        return split_table_name(table, schema if schema is not None else None, dialect=self.dialect)

    def query(self, sql: str, params: Any = None, output: str = "polars"):
        """Run a SELECT and return all rows as a DataFrame (`polars` default, `arrow` or `pandas`).

        Values go in `params` (bound by the driver with the engine's placeholders, e.g. `%s`),
        never into the SQL text.
        """
        batches = list(self.iter_batches(sql, params))
        return to_output(pa.Table.from_batches(batches), output)

    def iter_batches(
        self, sql: str, params: Any = None, batch_rows: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's rows as Arrow record batches of at most `batch_rows` rows.

        Memory stays flat however large the result: rows are fetched from a server-side cursor.
        At least one (possibly empty) batch is yielded so the schema is always known.
        """
        with self.get_connection() as conn:
            yield from self._iter_batches_on(conn, sql, params, batch_rows or self.batch_rows)

    def execute(self, sql: str, params: Any = None) -> int:
        """Run one statement (DDL, INSERT, UPDATE…) in its own transaction; returns the affected row count."""
        with self.get_connection() as conn:
            cur = conn.cursor()
            try:
                cur.execute(sql, params) if params is not None else cur.execute(sql)
                count = cur.rowcount
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
        return count

    def extract_to_lakehouse(
        self, sql: str, lakehouse, path: str, *, params: Any = None, batch_rows: int | None = None
    ) -> ParquetWriteResult:
        """Stream a query's result into one Parquet file of the lakehouse, written atomically.

        Args:
            sql: the SELECT to run.
            lakehouse: an `AzureAdlsResource` or `LocalLakehouseResource`.
            path: lakehouse path, e.g. `"enseignement/stg/eleves.parquet"`.

        Returns:
            ParquetWriteResult (path, rows, bytes, schema) for the asset's metadata.
        """
        batches = self.iter_batches(sql, params, batch_rows)
        return lakehouse.write_table(batches, path)

    # -- what a component asks of a source (the `ArrowSource` protocol) ----------------------------
    def source_select(
        self,
        relation: str | None = None,
        *,
        query: str | None = None,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
    ) -> tuple[str, list[Any] | None]:
        """The SELECT reading table or view `relation` (or wrapping `query`) with `filters`, in
        this engine's quoting and parameter style, and the values to bind.

        Example:
            >>> from dagster_cfwb.resources.db.mssql_resource import MSSQLResource
            >>> MSSQLResource().source_select("dbo.eleves", columns=["id"], filters=[Filter("maj", ">", 5)])
            ('SELECT [id] FROM [dbo].[eleves] WHERE [maj] > ?', [5])
        """
        return select_sql(
            relation,
            query=query,
            columns=columns,
            filters=filters,
            dialect=self.dialect,
            placeholder=self.placeholder,
        )

    def column_descriptions(self, relation: str) -> dict[str, str]:
        """Column → description (comment) the catalog holds for table or view `relation`.

        Empty when the engine keeps none; columns without a description are left out.
        """
        statement = self.catalog.column_comments(split_table_name(relation))
        if statement is None:
            return {}
        table = self.query(statement[0], params=statement[1], output="arrow")
        names, texts = table.column(0).to_pylist(), table.column(1).to_pylist()
        return {str(n): str(d) for n, d in zip(names, texts, strict=True) if d}

    def table_names(self) -> list[str]:
        """`schema.table` of every table and view this user can see (empty when the engine does not
        say); used to suggest a close name when a source table is missing."""
        statement = self.catalog.table_names()
        if statement is None:
            return []
        names = self.query(statement[0], params=statement[1], output="arrow").column(0).to_pylist()
        return [str(n) for n in names if n]


class SQLDatabaseResource(SQLReadResource):
    """Shared fields and verbs of the SQL database resources that are loaded too (not used directly)."""

    # -- what an engine provides --------------------------------------------------------------
    def _sql_dialect(self):
        """The engine's `dagster_cfwb.transfer.sql_dialect.SqlDialect` (engines loaded by
        `dagster_cfwb.transfer.dialect_load.load_with_dialect`)."""
        raise NotImplementedError

    def _load(self, conn, stream, table: QualifiedName, mode: str, keys) -> LoadResult:
        from dagster_cfwb.transfer.dialect_load import load_with_dialect

        return load_with_dialect(
            conn, stream, table, self._sql_dialect(), mode=mode, keys=keys, reconnect=self._open_connection
        )

    def _table_schema(self, conn, table: QualifiedName) -> dict[str, str]:
        cur = conn.cursor()
        try:
            columns = self._sql_dialect().table_columns(cur, table)
        finally:
            cur.close()
        conn.rollback()
        if columns is None:
            raise LookupError(
                f"{self.engine_label} table `{table}` does not exist in database `{table.schema or self.database}`."
            )
        return columns

    # -- load verbs (the `DatabaseTarget` protocol) -------------------------------------------
    def copy_from_df(
        self,
        data: Any,
        table: str,
        *,
        schema: str | None = None,
        mode: str = "replace",
        keys: list[str] | str | None = None,
    ) -> LoadResult:
        """Bulk-load a DataFrame, an Arrow table or a stream of Arrow batches into `table`.

        Args:
            data: polars or pandas DataFrame, Arrow table/reader, or an iterator of record batches.
            table: target table name, optionally `schema.table`.
            schema: target schema (default: the engine's default schema).
            mode: `replace` (the table becomes exactly the data, swapped in atomically),
                `append` (add rows) or `upsert` (update rows whose `keys` exist, insert others).
            keys: key column(s), required for `upsert`.

        Returns:
            LoadResult with the row count and duration.

        Raises:
            IdentifierError / ValueError: bad table, column or key names, before anything is written.
            LoadError: the server refused the data; the table was left as it was.
        """
        target = self.table_name(table, schema if schema is not None else self.default_schema)
        stream = to_arrow_stream(data, batch_rows=self.batch_rows)
        log = dg.get_dagster_logger()
        with self.get_connection() as conn:
            result = self._load(conn, stream, target, mode, keys)
        log.info(
            f"Loaded {result.rows:,} rows into `{result.table}` ({mode}) in {result.seconds:.1f}s "
            f"({result.rows_per_second:,.0f} rows/s)"
        )
        return result

    def table_schema(self, table: str, schema: str | None = None) -> dict[str, str]:
        """Column name → database type of an existing table (raises LookupError if it does not exist)."""
        target = self.table_name(table, schema if schema is not None else self.default_schema)
        with self.get_connection() as conn:
            return self._table_schema(conn, target)

    def create_schema_if_missing(self, schema: str) -> bool:
        """Create `schema` when it does not exist; return True when it was created.

        The existence test binds the name as a value, and `CREATE SCHEMA` alone would need the
        right to create schemas even when the schema is already there (PostgreSQL checks that
        first). An engine that creates a schema with its first table (DB2) is left to do so.
        """
        exists, create = self.catalog.schema_exists(schema), self.catalog.create_schema(schema)
        if exists is None or create is None:
            return False
        found = self.query(exists[0], params=exists[1], output="arrow")
        if int(found.column(0)[0].as_py()):
            return False
        self.execute(create)
        return True
