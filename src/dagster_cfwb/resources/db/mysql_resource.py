"""MySQL and MariaDB as a Dagster resource: query, stream, and bulk-load by LOAD DATA LOCAL INFILE."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import quote

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.db.sql_resource import SQLDatabaseResource
from dagster_cfwb.transfer.mysql.catalog import MySQLCatalog
from dagster_cfwb.transfer.mysql.connectorx_reader import (
    ConnectorxError,
    connectorx_url,
    describe_query,
    iter_connectorx_batches,
    not_exact_reason,
)
from dagster_cfwb.transfer.mysql.extract import iter_mysql_batches
from dagster_cfwb.transfer.mysql.load import MySQLDialect
from dagster_cfwb.transfer.mysql.result_types import mysql_result_schema
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = ["MySQLResource"]


def _require_file(path: str, field: str) -> None:
    """Raise FileNotFoundError naming the field and the path when `path` is not a readable file."""
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        problem = "is not readable" if os.path.isfile(path) else "does not exist (or is not a file)"
        raise FileNotFoundError(
            f"The `{field}` file `{path}` {problem}; set `{field}` to the path of the CA certificate "
            "(PEM) that signed the server's certificate, readable by the Dagster process."
        )


_NOT_TRANSIENT = (1044, 1045, 1049, 1251, 1698)  # access denied, unknown database, auth plugin


class MySQLResource(SQLDatabaseResource):
    """A MySQL or MariaDB database: run SQL, stream results as Arrow, and bulk-load tables fast.

    `copy_from_df(df, "table")` loads a polars/pandas DataFrame, an Arrow table or a stream of
    Arrow batches with `LOAD DATA LOCAL INFILE` fed from small temporary files written while the
    server loads the previous one (if the server refuses local files, a warning is logged and
    multi-row INSERTs are used instead). Because MySQL commits every `CREATE`/`RENAME` on its
    own, `mode="replace"` loads a staging table first and then swaps it in with one atomic
    `RENAME TABLE`: until that instant the old table and its rows are untouched, and a failure
    removes the staging table. `mode="upsert"` uses `INSERT … ON DUPLICATE KEY UPDATE` where a
    primary key or unique index covers exactly `keys`, and otherwise deletes the matching keys then
    inserts, in one transaction. Column types: see
    `dagster_cfwb.transfer.mysql.types` (text is stored as utf8mb4, so any Unicode fits).

    Queries are read by connectorx (fast) when every result column is of a type it reads exactly and
    there are no `params`, else by our pymysql reader; both give the same types and values (see
    `dagster_cfwb.transfer.mysql.connectorx_reader`). `extract_path(sql)` says which one a query gets.
    Every MariaDB type is read exactly (`BOOLEAN` as the `int8` it holds, `TIME` as a duration), as
    the server's text (`ENUM`, `SET`, `JSON`, `INET6`, `UUID`), or refused before the first batch
    with an error naming the column and the cast to use (`FLOAT`: `CAST(col AS DOUBLE)`; spatial
    types: `ST_AsText(col)`; a zero date `0000-00-00`: `NULLIF(col, '0000-00-00')`). The whole table
    is in `docs/databases.md` ("MariaDB extract type table").

    Example:

    ```python
    from dagster import EnvVar
    mysql = MySQLResource(
        host="mariadb.intranet.example", user="etl", database="rh",
        password=EnvVar("MYSQL_PASSWORD"),
    )
    mysql.copy_from_df(df, "agents")                         # replace, atomically
    mysql.copy_from_df(df, "agents", mode="upsert", keys=["matricule"])
    df = mysql.query("SELECT * FROM agents WHERE service = %s", params=["finances"])
    ```
    """

    host: str = Field(
        default="localhost",
        description="MySQL/MariaDB server host name or IP, e.g. `mariadb.intranet.example`.",
    )
    port: int = Field(default=3306, description="MySQL/MariaDB port (default 3306).")
    user: str = Field(default="root", description="MySQL/MariaDB user to sign in as.")
    database: str = Field(
        default="", description="Database (schema) to use; tables without a `schema.` prefix live here."
    )
    ssl_ca: str | None = Field(
        default=None,
        description="Path of the CA certificate file; when set, the connection uses TLS and checks the server.",
    )
    bulk_method: Literal["auto", "load_data", "insert"] = Field(
        default="auto",
        description=(
            "How `copy_from_df` sends rows: `auto` (LOAD DATA LOCAL INFILE, falling back to INSERTs with a "
            "warning when the server refuses it), `load_data` (fail if refused) or `insert` (multi-row INSERTs)."
        ),
    )
    read_timeout_seconds: int | None = Field(
        default=None,
        description="Fail a query whose server does not answer for this many seconds (empty: no limit).",
    )
    extract_reader: Literal["auto", "connectorx", "pymysql"] = Field(
        default="auto",
        description=(
            "How `query`/`iter_batches`/`extract_to_lakehouse` read rows: `auto` uses connectorx (about twice "
            "as fast) when every result column is of a type it reads exactly and the query has no `params`, "
            "else our own pymysql reader; `connectorx` always uses connectorx and fails, saying why, when it "
            "cannot read a query exactly; `pymysql` always uses our reader. Both give the same types and "
            "values (see the MariaDB extract type table in `docs/databases.md`)."
        ),
    )

    dialect = "mysql"
    asset_kind = "mysql"
    catalog = MySQLCatalog()
    engine_label = "MySQL/MariaDB"

    def _open_connection(self):
        try:
            import pymysql
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("MySQLResource needs pymysql: pip install 'dagster-cfwb[mysql]'") from e
        options = {}
        if self.ssl_ca:
            _require_file(self.ssl_ca, "ssl_ca")
            options["ssl"] = {"ca": self.ssl_ca}
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or "",
            database=self.database or None,
            charset="utf8mb4",
            local_infile=self.bulk_method != "insert",
            autocommit=False,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            # Strict: a value that does not fit is an error, never silently truncated; UTC for TIMESTAMP columns.
            init_command="SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES,NO_ZERO_DATE'), time_zone = '+00:00'",
            **options,
        )

    def _is_transient(self, error: Exception) -> bool:
        if isinstance(error, FileNotFoundError | PermissionError | IsADirectoryError):
            return False  # a configuration mistake: retrying cannot help
        code = error.args[0] if error.args and isinstance(error.args[0], int) else None
        return code not in _NOT_TRANSIENT

    def _connectorx_plan(self, conn, sql: str, params) -> tuple[list | None, str]:
        """(column definitions, "connectorx") when connectorx can read `sql` exactly, else (None, why not).

        Raises UnsupportedTypeError for a column no reader gives exactly (the wire reader would too).
        """
        if self.extract_reader == "pymysql":
            return None, "extract_reader='pymysql'"
        if params is not None:
            return None, "the query has params (connectorx binds no values)"
        if self.ssl_ca or self.read_timeout_seconds:
            return None, "ssl_ca/read_timeout_seconds are set (our reader applies them)"
        try:
            import connectorx  # noqa: F401
        except ImportError:
            return None, "connectorx is not installed"
        described = describe_query(conn, sql)
        if described is None:
            return None, "the server cannot prepare the statement"
        fields, placeholders = described
        if placeholders:
            return None, "the statement has ? placeholders"
        mysql_result_schema(fields)  # a column no reader gives exactly is refused here, by name
        reason = not_exact_reason(fields)
        return (None, reason) if reason else (fields, "connectorx")

    def extract_path(self, sql: str, params: Any = None) -> str:
        """Which reader `iter_batches(sql, params)` would use: `"connectorx"`, `"pymysql: <why>"`, or
        `"refused: <why>"` when a column has a type no reader gives exactly (FLOAT, spatial)."""
        with self.get_connection() as conn:
            try:
                fields, why = self._connectorx_plan(conn, sql, params)
            except UnsupportedTypeError as e:
                return f"refused: {e}"
        return "connectorx" if fields is not None else f"pymysql: {why}"

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        fields, why = self._connectorx_plan(conn, sql, params)
        log = dg.get_dagster_logger()
        forced = self.extract_reader == "connectorx"
        if forced and fields is None:
            raise ValueError(
                f"{self._describe()}: extract_reader='connectorx' cannot read this query exactly ({why}); "
                "use extract_reader='auto' (connectorx where exact, else our pymysql reader) or 'pymysql'."
            )
        if fields is not None:
            url = connectorx_url(self.host, self.port, self.user, self.password, self.database)
            hide = [self.password, quote(self.password or "", safe=""), url]
            yielded = False
            try:
                for batch in iter_connectorx_batches(
                    conn, url, sql, fields, batch_rows=batch_rows, hide=hide
                ):
                    yielded = True
                    yield batch
                return
            except ConnectorxError as e:
                if yielded or forced:
                    raise
                why = str(e)
                log.warning(f"{self._describe()}: {why}; reading with pymysql instead")
        log.debug(f"{self._describe()}: extract with pymysql ({why})")
        yield from iter_mysql_batches(conn, sql, params, batch_rows=batch_rows)

    def _sql_dialect(self) -> MySQLDialect:
        return MySQLDialect(method=self.bulk_method)
