"""IBM DB2 (LUW) as a Dagster resource: query, stream, and bulk-load with ibm_db array inserts."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.db.sql_resource import SQLDatabaseResource
from dagster_cfwb.transfer.db2.load import DB2Dialect, iter_db2_batches

__all__ = ["DB2Resource", "db2_connection_string"]

_NOT_TRANSIENT = ("sql30082n", "sql1060n", "sql1013n", "password", "authorization")


def db2_connection_string(
    host: str, port: int, database: str, user: str, password: str | None, *, security: str, timeout: int
) -> str:
    """The CLI connection string ibm_db expects (contains the password: never log it).

    Raises:
        ValueError: host, database or user contains `;` or `=` (they would change other settings).
    """
    for field, value in (("host", host), ("database", database), ("user", user)):
        if ";" in value or "=" in value:
            raise ValueError(f"DB2 `{field}` must not contain `;` or `=`; got {value!r}.")
    parts = [
        f"DATABASE={database}",
        f"HOSTNAME={host}",
        f"PORT={port}",
        "PROTOCOL=TCPIP",
        f"UID={user}",
        f"PWD={{{(password or '').replace('}', '}}')}}}",
        f"CONNECTTIMEOUT={timeout}",
    ]
    if security:
        parts.append(f"SECURITY={security}")
    return ";".join(parts) + ";"


class DB2Resource(SQLDatabaseResource):
    """An IBM DB2 (LUW) database: run SQL, stream results as Arrow, and bulk-load tables.

    `copy_from_df(df, "SCHEMA.TABLE")` sends rows with `ibm_db` **array inserts** (one prepared
    INSERT executed for thousands of rows at a time). `mode="replace"` loads a staging table and
    swaps it in with `RENAME TABLE` in one transaction, so the old table survives any failure;
    `mode="upsert"` runs one `MERGE` on `keys`. Parameters use `?` placeholders. DB2 keeps
    names exactly as quoted, so `"eleves"` and `"ELEVES"` are two tables: write names as they
    exist. Column types: `dagster_cfwb.transfer.db2.types`.

    **Tested without a server**: no DB2 can run on the machine that builds this library, so the
    generated SQL, the type mapping and the driver calls are checked by unit tests against a
    recording fake driver — not against a live DB2. Try it on a test database first.

    Example:

    ```python
    from dagster import EnvVar
    db2 = DB2Resource(
        host="db2.intranet.example", user="etl", database="SIRH",
        password=EnvVar("DB2_PASSWORD"),
    )
    db2.copy_from_df(df, "RH.AGENTS")                            # replace, atomically
    df = db2.query('SELECT * FROM "RH"."AGENTS" WHERE "SERVICE" = ?', params=["finances"])
    ```
    """

    host: str = Field(
        default="localhost", description="DB2 server host name or IP, e.g. `db2.intranet.example`."
    )
    port: int = Field(default=50000, description="DB2 TCP port (default 50000; often 50001 with TLS).")
    user: str = Field(default="", description="DB2 user to sign in as.")
    database: str = Field(default="", description="Database name (the catalog alias), e.g. `SIRH`.")
    security: str = Field(
        default="", description="Set to `SSL` to use TLS (then use the server's TLS port, often 50001)."
    )
    insert_rows: int = Field(
        default=10_000, description="Rows sent per array insert in `copy_from_df` (memory grows with it)."
    )

    dialect = "db2"
    placeholder = "?"
    asset_kind = "db2"
    engine_label = "DB2"

    def _open_connection(self):
        try:
            import ibm_db_dbi
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("DB2Resource needs ibm-db: pip install 'dagster-cfwb[db2]'") from e
        dsn = db2_connection_string(
            self.host,
            self.port,
            self.database,
            self.user,
            self.password,
            security=self.security,
            timeout=self.connect_timeout_seconds,
        )
        conn = ibm_db_dbi.connect(dsn, "", "")
        conn.set_autocommit(False)
        return conn

    def _is_transient(self, error: Exception) -> bool:
        message = str(error).lower()
        return not any(word in message for word in _NOT_TRANSIENT)

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        yield from iter_db2_batches(conn, sql, params, batch_rows=batch_rows)

    def _sql_dialect(self) -> DB2Dialect:
        return DB2Dialect(insert_rows=self.insert_rows)
