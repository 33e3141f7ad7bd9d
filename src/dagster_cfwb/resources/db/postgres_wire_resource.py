"""What every server speaking the PostgreSQL wire protocol shares: connection settings and reads.

`PostgreSQLResource` (which adds the load verbs and PostgreSQL session settings) and
`DenodoResource` (read-only, Denodo's own way of binding values and fetching) both derive from
`PostgresWireResource`, so each shows in the UI only the settings that apply to it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dagster_cfwb.resources.db.sql_resource import SQLReadResource

__all__ = ["PostgresWireResource"]


class PostgresWireResource(SQLReadResource):
    """Connection settings and read verbs of a PostgreSQL-protocol server (not used directly)."""

    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="prefer",
        description=(
            "TLS mode: `prefer` (TLS if the server offers it), `require` (always TLS), `verify-full` "
            "(TLS and check the server certificate and host name — recommended in production)."
        ),
    )
    sslrootcert: str | None = Field(
        default=None, description="Path of the CA certificate file used with `verify-ca`/`verify-full`."
    )
    sslcert: str | None = Field(
        default=None,
        description="Path of a client certificate file, when the server asks clients to prove who they are with one.",
    )
    sslkey: str | None = Field(
        default=None,
        description="Path of the private key file that goes with `sslcert` (readable by Dagster only).",
    )
    application_name: str = Field(
        default="dagster-cfwb", description="Name shown for our sessions in the server's session list."
    )

    def _connect_kwargs(self) -> dict:
        """Keyword arguments of `psycopg.connect` for this server (the password included: never log them)."""
        kwargs = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "dbname": self.database,
            "sslmode": self.sslmode,
            "connect_timeout": self.connect_timeout_seconds,
            "application_name": self.application_name,
        }
        for option, value in (
            ("sslrootcert", self.sslrootcert),
            ("sslcert", self.sslcert),
            ("sslkey", self.sslkey),
        ):
            if value:
                kwargs[option] = value
        return kwargs

    def _open_connection(self):
        try:
            import psycopg
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"{type(self).__name__} needs psycopg: pip install 'dagster-cfwb[postgres]'"
            ) from e
        return psycopg.connect(**self._connect_kwargs())

    def _is_transient(self, error: Exception) -> bool:
        message = str(error).lower()
        return not any(
            word in message
            for word in ("authentication", "password", "does not exist", "no pg_hba", "permission")
        )
