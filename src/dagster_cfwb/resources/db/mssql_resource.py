"""Microsoft SQL Server as a Dagster resource: query, stream, and bulk-load with mssql-python bulk copy."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.db.sql_resource import SQLDatabaseResource
from dagster_cfwb.transfer.mssql.catalog import MSSQLCatalog
from dagster_cfwb.transfer.mssql.load import MSSQLDialect, iter_mssql_batches

__all__ = ["MSSQLResource", "mssql_connection_string"]

_NOT_TRANSIENT = ("login failed", "cannot open database", "password", "permission", "denied")


def _braced(value: str) -> str:
    """An ODBC connection-string value in braces (`}` doubled), so `;` or `=` in it are data."""
    return "{" + value.replace("}", "}}") + "}"


def mssql_connection_string(
    host: str,
    port: int,
    database: str,
    user: str,
    password: str | None,
    *,
    encrypt: str,
    trust_server_certificate: bool,
) -> str:
    """The ODBC-style connection string mssql-python expects (contains the password: never log it)."""
    parts = [f"Server=tcp:{host},{port}", f"Encrypt={encrypt}"]
    if database:
        parts.append(f"Database={_braced(database)}")
    if user:
        parts += [f"UID={_braced(user)}", f"PWD={_braced(password or '')}"]
    else:
        parts.append("Trusted_Connection=yes")
    if trust_server_certificate:
        parts.append("TrustServerCertificate=yes")
    return ";".join(parts)


class MSSQLResource(SQLDatabaseResource):
    """A Microsoft SQL Server database: run SQL, stream results as Arrow, and bulk-load tables fast.

    `copy_from_df(df, "dbo.table")` sends Arrow batches with the `mssql-python` driver's **bulk
    copy** (TDS bulk load, no per-value Python work). `mode="replace"` loads a staging table and
    swaps it in with two `sp_rename` calls in one transaction, so the old table survives any
    failure; `mode="upsert"` runs one `MERGE` on `keys`; `mode="append"` goes through a
    staging table too, because bulk copy commits on its own connection. Parameters in `query` /
    `execute` use `?` placeholders. Column types: `dagster_cfwb.transfer.mssql.types`.

    **Tested without a server**: no SQL Server can run on the machine that builds this library, so
    the generated SQL, the type mapping and the driver calls are checked by unit tests against a
    recording fake driver — not against a live SQL Server. Try it on a test database first.

    Example:

    ```python
    from dagster import EnvVar
    mssql = MSSQLResource(
        host="sql.intranet.example", user="etl", database="finances",
        password=EnvVar("MSSQL_PASSWORD"),
    )
    mssql.copy_from_df(df, "dbo.budget")                       # replace, atomically
    df = mssql.query("SELECT * FROM dbo.budget WHERE annee = ?", params=[2024])
    ```
    """

    host: str = Field(
        default="localhost", description="SQL Server host name or IP, e.g. `sql.intranet.example`."
    )
    port: int = Field(default=1433, description="SQL Server TCP port (default 1433).")
    user: str = Field(
        default="",
        description="SQL login name; leave empty to sign in with the process's Windows/Kerberos identity.",
    )
    database: str = Field(
        default="", description="Database to connect to (empty: the login's default database)."
    )
    encrypt: str = Field(
        default="yes",
        description="TLS: `yes` (default, recommended), `no`, or `strict` (TDS 8.0, SQL Server 2022+).",
    )
    trust_server_certificate: bool = Field(
        default=False,
        description="Accept the server's certificate without checking it (only for test servers with self-signed certificates).",
    )
    bulk_timeout_seconds: int = Field(
        default=0, description="Give up a bulk copy after this many seconds (0: no limit)."
    )

    dialect = "mssql"
    placeholder = "?"
    asset_kind = "mssql"
    catalog = MSSQLCatalog()
    engine_label = "SQL Server"

    def _open_connection(self):
        try:
            import mssql_python
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("MSSQLResource needs mssql-python: pip install 'dagster-cfwb[mssql]'") from e
        connection_string = mssql_connection_string(
            self.host,
            self.port,
            self.database,
            self.user,
            self.password,
            encrypt=self.encrypt,
            trust_server_certificate=self.trust_server_certificate,
        )
        return mssql_python.connect(connection_string, autocommit=False, timeout=self.connect_timeout_seconds)

    def _is_transient(self, error: Exception) -> bool:
        message = str(error).lower()
        return not any(word in message for word in _NOT_TRANSIENT)

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        yield from iter_mssql_batches(conn, sql, params, batch_rows=batch_rows)

    def _sql_dialect(self) -> MSSQLDialect:
        return MSSQLDialect(bulk_timeout_seconds=self.bulk_timeout_seconds)
