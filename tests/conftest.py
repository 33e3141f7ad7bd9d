"""Shared fixtures: the machine's PostgreSQL and MariaDB, and an Azurite blob server per session.

Server addresses come from environment variables with this machine's defaults:
CFWB_PG_HOST/PORT/USER/PASSWORD/DATABASE (127.0.0.1:5432, postgres, no password, test) and
CFWB_MYSQL_HOST/PORT/USER/PASSWORD/DATABASE (127.0.0.1:3306, root, empty, test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def pg_settings() -> dict:
    return {
        "host": os.environ.get("CFWB_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("CFWB_PG_PORT", "5432")),
        "user": os.environ.get("CFWB_PG_USER", "postgres"),
        "password": os.environ.get("CFWB_PG_PASSWORD") or None,
        "database": os.environ.get("CFWB_PG_DATABASE", "test"),
    }


def mysql_settings() -> dict:
    return {
        "host": os.environ.get("CFWB_MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("CFWB_MYSQL_PORT", "3306")),
        "user": os.environ.get("CFWB_MYSQL_USER", "root"),
        "password": os.environ.get("CFWB_MYSQL_PASSWORD") or None,
        "database": os.environ.get("CFWB_MYSQL_DATABASE", "test"),
    }


@pytest.fixture(scope="session")
def pg_config() -> dict:
    """Connection settings of a reachable PostgreSQL (the test is skipped when there is none)."""
    cfg = pg_settings()
    if not wait_for_port(cfg["host"], cfg["port"], timeout=5):
        pytest.skip(f"PostgreSQL not reachable at {cfg['host']}:{cfg['port']}")
    return cfg


@pytest.fixture
def postgresql(pg_config):
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    return PostgreSQLResource(**pg_config)


@pytest.fixture
def pg_schema(postgresql):
    """A fresh PostgreSQL schema for one test, dropped afterwards (tests never share tables)."""
    name = f"t_{secrets.token_hex(4)}"
    postgresql.execute(f'CREATE SCHEMA "{name}"')
    yield name
    postgresql.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="session")
def mysql_config() -> dict:
    cfg = mysql_settings()
    if not wait_for_port(cfg["host"], cfg["port"], timeout=5):
        pytest.skip(f"MariaDB/MySQL not reachable at {cfg['host']}:{cfg['port']}")
    return cfg


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """Start Azurite's blob service on a free port; yields its connection string."""
    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists() or shutil.which("node") is None:
        pytest.skip("Azurite is not installed (run `make test`, which runs `npm ci`)")
    port = free_port()
    location = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_for_port("127.0.0.1", port, timeout=60):
            pytest.fail("Azurite did not start within 60 s")
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def azure_adls(azurite):
    """An AzureAdlsResource on Azurite, with its own container for this test."""
    from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

    return AzureAdlsResource(connection_string=azurite, container=f"lake-{secrets.token_hex(4)}")


@pytest.fixture
def local_lakehouse(tmp_path):
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    return LocalLakehouseResource(root=str(tmp_path / "lakehouse"))


# File servers (FTP, FTPS, SFTP) for the file-source tests: see tests/file_servers.py.
from file_servers import ftp_server, ftps_server, sftp_server  # noqa: E402, F401

# Real third-party file servers (vsftpd, OpenSSH sshd from Debian): see tests/real_file_servers.py.
from real_file_servers import (  # noqa: E402, F401
    openssh_server,
    real_server_base,
    real_server_user,
    vsftpd_ftps_server,
    vsftpd_implicit_server,
    vsftpd_localtime_server,
    vsftpd_server,
)


@pytest.fixture
def api_server():
    """A local HTTP API (tests/http_api_server.py) on 127.0.0.1 and a free port; stopped afterwards."""
    from http_api_server import ApiServer

    server = ApiServer().start()
    try:
        if not wait_for_port("127.0.0.1", server.server_address[1], timeout=10):
            pytest.fail("The test HTTP API did not start within 10 s")
        yield server
    finally:
        server.stop()
