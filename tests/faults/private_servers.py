"""Private PostgreSQL, MariaDB and Azurite instances that the fault tests may restart, crash and kill.

The machine's shared servers (5432, 3306) are never touched: each class below runs its own server
from the Debian/npm binaries in a temporary folder, on a free port, and removes everything on
``stop()``. PostgreSQL binaries refuse to run as root, so they run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import AZURITE_KEY, ROOT, free_port, wait_for_port

__all__ = ["PrivateAzurite", "PrivateMariaDB", "PrivatePostgres"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADBD = Path("/usr/sbin/mariadbd")
MARIADB_INSTALL_DB = Path("/usr/bin/mariadb-install-db")


def _run(args: list[str], *, what: str, timeout: float = 60) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster (trust authentication, database `postgres`)."""

    available = (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cfwb-faults-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.port = free_port()
        self.settings = {"host": "127.0.0.1", "port": self.port, "user": "postgres", "database": "postgres"}

    def _as_postgres(self, *args: str, what: str, timeout: float = 60) -> None:
        _run(["runuser", "-u", "postgres", "--", *args], what=what, timeout=timeout)

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c shared_buffers=32MB -c max_connections=40 -c full_page_writes=off"
        )

    def start(self) -> PrivatePostgres:
        shutil.chown(self.base, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync", "--no-instructions", what="initdb",
        )  # fmt: skip
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-t", "30",
            "-o", self._options(), "start", what="pg_ctl start",
        )  # fmt: skip
        return self

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m <mode>``: every session is cut, the server answers again on return."""
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-t", "30",
            "-m", mode, "-o", self._options(), "restart", what=f"pg_ctl restart -m {mode}",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop",
                what="pg_ctl stop",
            )  # fmt: skip
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


class PrivateMariaDB:
    """A throw-away MariaDB server (root without password over TCP, database `test`)."""

    available = MARIADBD.exists() and MARIADB_INSTALL_DB.exists()

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cfwb-faults-mariadb-"))
        self.data = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.settings = {"host": "127.0.0.1", "port": self.port, "user": "root", "database": "test"}

    def start(self) -> PrivateMariaDB:
        _run(
            [str(MARIADB_INSTALL_DB), "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
            what="mariadb-install-db",
        )  # fmt: skip
        self._launch()
        import pymysql

        conn = pymysql.connect(unix_socket=str(self.socket), user="root")
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
                cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
                cur.execute("CREATE DATABASE IF NOT EXISTS test")
        finally:
            conn.close()
        return self

    def _launch(self) -> None:
        log = open(self.base / "error.log", "ab")  # kept by the child
        self.proc = subprocess.Popen(
            [str(MARIADBD), "--no-defaults", f"--datadir={self.data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve",
             f"--pid-file={self.base / 'mysqld.pid'}", "--skip-log-bin", "--local-infile=1",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M", "--innodb-flush-log-at-trx-commit=2",
             "--max-connections=40", "--skip-external-locking"],
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.base / 'error.log').read_text()[-2000:]}")
            if self.socket.exists() and wait_for_port("127.0.0.1", self.port, timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("mariadbd did not answer within 60 s")

    def crash(self) -> None:
        """``kill -9`` the server."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        """Start the server again on the same port and data (InnoDB recovers from the crash)."""
        self._launch()

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


class PrivateAzurite:
    """An Azurite blob server that can be SIGKILLed and started again on the same port and folder."""

    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    available = binary.exists() and shutil.which("node") is not None

    def __init__(self) -> None:
        self.location = Path(tempfile.mkdtemp(prefix="cfwb-faults-azurite-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.connection_string = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{self.port}/devstoreaccount1;"
        )

    def start(self) -> PrivateAzurite:
        self.proc = subprocess.Popen(
            [str(self.binary), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--location", str(self.location), "--skipApiVersionCheck", "--loose", "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        if not wait_for_port("127.0.0.1", self.port, timeout=60):
            raise RuntimeError("Azurite did not start within 60 s")
        return self

    def kill(self) -> None:
        """SIGKILL Azurite (its whole process group: the npm shim and node)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def restart_gracefully(self) -> None:
        """SIGTERM and start again: Azurite saves its metadata only every 5 s or on a clean exit, so
        this makes what was written so far durable (Azure itself is durable at once)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.start()

    def stop(self) -> None:
        try:
            self.kill()
        finally:
            shutil.rmtree(self.location, ignore_errors=True)
