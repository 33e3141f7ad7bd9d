"""Session fixtures of the fault tests: private servers started once, always torn down.

Imported by each fault test module (``from fault_fixtures import …``): a conftest.py here would
shadow ``tests/conftest.py`` for the modules that ``from conftest import free_port``.
"""

from __future__ import annotations

import tempfile

import pytest
from private_servers import PrivateAzurite, PrivateMariaDB, PrivatePostgres

__all__ = ["private_azurite", "private_mariadb", "private_pg", "private_tmpdir"]


@pytest.fixture(scope="session")
def private_pg():
    """A private PostgreSQL 15 the tests may restart and whose backends they may kill."""
    if not PrivatePostgres.available:
        pytest.skip("PostgreSQL 15 binaries not installed (/usr/lib/postgresql/15/bin)")
    server = PrivatePostgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def private_mariadb():
    """A private MariaDB the tests may crash (kill -9) and restart, and whose connections they may KILL."""
    if not PrivateMariaDB.available:
        pytest.skip("MariaDB server not installed (/usr/sbin/mariadbd, mariadb-install-db)")
    server = PrivateMariaDB()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def private_azurite():
    """A private Azurite blob server the tests may SIGKILL and start again on the same port and folder."""
    if not PrivateAzurite.available:
        pytest.skip("Azurite is not installed (run `make test`, which runs `npm ci`)")
    server = PrivateAzurite()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def private_tmpdir(tmp_path, monkeypatch):
    """This test's TMPDIR (for this process and the workers it starts), checked for leftovers."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder
