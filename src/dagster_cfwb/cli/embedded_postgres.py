"""An embedded PostgreSQL for the demo, from the `pgserver` package (PostgreSQL binaries on PyPI).

No server to install: `start_embedded_postgres(folder)` initialises a data folder on first use and
starts PostgreSQL listening on a Unix socket in that folder only (no TCP port, so nothing else on
the machine can reach it). PostgreSQL refuses to run as root; when we are root, pgserver runs it as
a system user `pgserver` it creates, and the data folder goes under `/var/tmp` so that no
parent folder of the project has to be opened to that user.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EmbeddedPostgres",
    "embedded_postgres_dir",
    "running_embedded_postgres",
    "start_embedded_postgres",
    "stop_embedded_postgres",
]


@dataclass(frozen=True)
class EmbeddedPostgres:
    """Where the embedded server listens: `host` is the socket folder (psycopg accepts it as host)."""

    data_dir: Path
    host: str
    port: int
    user: str = "postgres"
    database: str = "postgres"

    def env(self) -> dict[str, str]:
        """The `CFWB_PG_*` variables that point the platform's `postgresql` resource here."""
        return {
            "CFWB_PG_HOST": self.host,
            "CFWB_PG_PORT": str(self.port),
            "CFWB_PG_USER": self.user,
            "CFWB_PG_DATABASE": self.database,
        }


def embedded_postgres_dir(dagster_home: Path) -> Path:
    """Data folder of the demo's PostgreSQL: in DAGSTER_HOME, or under /var/tmp when running as root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        digest = hashlib.sha256(str(dagster_home.resolve()).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"cfwb-demo-postgres-{digest}"
    return dagster_home / "postgres"


def _require_pgserver():
    try:
        import pgserver
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "The embedded PostgreSQL needs the `pgserver` package: pip install 'dagster-cfwb[embedded]', "
            "or point the demo at a PostgreSQL server with CFWB_PG_HOST/CFWB_PG_PORT/CFWB_PG_USER/"
            "CFWB_PG_PASSWORD/CFWB_PG_DATABASE."
        ) from e
    return pgserver


def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or find running) the embedded PostgreSQL whose data lives in `data_dir`; it keeps running.

    The server is left running after this process exits, so `dagster dev` can use it; stop it with
    `cfwb postgres stop` (`stop_embedded_postgres`).
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, root)
        warnings.simplefilter("ignore")
        pgserver = _require_pgserver()
        server = pgserver.get_server(data_dir, cleanup_mode=None)
    info = server.get_postmaster_info()
    return EmbeddedPostgres(data_dir=data_dir, host=str(info.socket_dir), port=int(info.port or 5432))


def running_embedded_postgres(data_dir: Path) -> EmbeddedPostgres | None:
    """The embedded PostgreSQL of `data_dir` if it is running, else None (nothing is started)."""
    if not data_dir.is_dir():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.utils import PostmasterInfo

            info = PostmasterInfo.read_from_pgdata(data_dir)
            if info is None or not info.is_running():
                return None
    except Exception:  # pgserver missing or unreadable pid file: not running
        return None
    return EmbeddedPostgres(data_dir=data_dir, host=str(info.socket_dir), port=int(info.port or 5432))


def stop_embedded_postgres(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL of `data_dir`; return False when it was not running."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        _require_pgserver()
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # set by setattr at import
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.is_dir() else None
    if info is None or not info.is_running():
        return False
    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    return True
