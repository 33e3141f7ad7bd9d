"""The resources every code location of the platform binds, chosen from environment variables.

One function call gives a code location its `azure_adls` / `lakehouse` (the same object) and
`postgresql` resources, so the same asset code runs on a laptop (local lakehouse folder, embedded
PostgreSQL started by `cfwb demo`) and in production (Azure Data Lake Storage, the real
PostgreSQL). Which backend is chosen, by which variable:

======================================  ==================================================
Variable set                            Lakehouse resource bound to `azure_adls`
======================================  ==================================================
`AZURE_STORAGE_CONNECTION_STRING`     `AzureAdlsResource(connection_string=...)`
`AZURE_STORAGE_ACCOUNT_NAME`          `AzureAdlsResource(account_name=..., default credential)`
neither                                 `LocalLakehouseResource(root=$CFWB_LAKEHOUSE_ROOT or ./lakehouse)`
======================================  ==================================================

PostgreSQL reads `CFWB_PG_HOST`, `CFWB_PG_PORT`, `CFWB_PG_USER`, `CFWB_PG_PASSWORD` and
`CFWB_PG_DATABASE` (defaults: localhost, 5432, postgres, no password, postgres). Secrets are
passed as `dagster.EnvVar`, so their values never show in the UI or the logs.

These functions run when Dagster loads a code location's definitions (not at import time).
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from dagster_cfwb.io_managers.lakehouse_io_manager import LakehouseIOManager
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

__all__ = ["lakehouse_from_env", "platform_resources", "postgresql_from_env"]

DEFAULT_LAKEHOUSE_ROOT = "lakehouse"


def lakehouse_from_env() -> LakehouseResource:
    """Return the lakehouse resource the environment asks for (see the module table).

    Example:
        >>> import os
        >>> os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None) or None
        >>> os.environ.pop("AZURE_STORAGE_ACCOUNT_NAME", None) or None
        >>> type(lakehouse_from_env()).__name__
        'LocalLakehouseResource'
    """
    container = os.environ.get("CFWB_LAKEHOUSE_CONTAINER", "lakehouse")
    if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        return AzureAdlsResource(
            connection_string=dg.EnvVar("AZURE_STORAGE_CONNECTION_STRING"), container=container
        )
    if os.environ.get("AZURE_STORAGE_ACCOUNT_NAME"):
        return AzureAdlsResource(account_name=dg.EnvVar("AZURE_STORAGE_ACCOUNT_NAME"), container=container)
    return LocalLakehouseResource(root=os.environ.get("CFWB_LAKEHOUSE_ROOT", DEFAULT_LAKEHOUSE_ROOT))


def postgresql_from_env(application_name: str = "dagster-cfwb") -> PostgreSQLResource:
    """Return the PostgreSQL resource described by the `CFWB_PG_*` environment variables.

    Args:
        application_name: name shown for the sessions in `pg_stat_activity` (the code location).
    """
    env = os.environ
    port = env.get("CFWB_PG_PORT", "5432").strip()
    if not port.isdigit():
        raise ValueError(f"CFWB_PG_PORT must be a port number, e.g. 5432; found {port!r}.")
    return PostgreSQLResource(
        host=env.get("CFWB_PG_HOST", "localhost"),
        port=int(port),
        user=env.get("CFWB_PG_USER", "postgres"),
        password=dg.EnvVar("CFWB_PG_PASSWORD") if env.get("CFWB_PG_PASSWORD") else None,
        database=env.get("CFWB_PG_DATABASE", "postgres"),
        application_name=application_name,
    )


def platform_resources(code_location: str) -> dict[str, Any]:
    """Resources a code location binds: `azure_adls` and `lakehouse` (one object), `postgresql`,
    and `lakehouse_io_manager` (a `LakehouseIOManager` over that lakehouse, for Python assets that
    return a DataFrame: `@dg.asset(io_manager_key="lakehouse_io_manager")`).

    Args:
        code_location: name of the code location, e.g. `"enseignement"` (shown in PostgreSQL sessions,
            and the IO manager's `code_location` for asset keys that do not name one).
    """
    lakehouse = lakehouse_from_env()
    return {
        "azure_adls": lakehouse,
        "lakehouse": lakehouse,
        "lakehouse_io_manager": LakehouseIOManager(lakehouse=lakehouse, code_location=code_location),
        "postgresql": postgresql_from_env(application_name=f"dagster-cfwb/{code_location}"),
    }
