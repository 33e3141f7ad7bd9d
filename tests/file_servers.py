"""Real FTP, FTPS and SFTP servers for the file-source tests, started on free 127.0.0.1 ports.

pyftpdlib (FTP, and FTPS with a self-signed certificate made at fixture time) and asyncssh (SFTP,
password or key sign-in) each run in a background thread and serve a temporary folder. Each server
can be told to drop the connection once in the middle of the next download, to test resume.
Imported by ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tls_certificates

USER = "etl"
PASSWORD = "s3cr3t-Pa55word"  # test server only


@dataclass
class DropPlan:
    """Drop the connection once, after ``after_bytes`` of a download (then behave normally)."""

    remaining: int = 0
    after_bytes: int = 0
    dropped: int = 0

    def arm(self, after_bytes: int, times: int = 1) -> None:
        self.after_bytes, self.remaining = after_bytes, times


@dataclass
class FileServer:
    host: str
    port: int
    root: Path
    user: str = USER
    password: str = PASSWORD
    drop: DropPlan = field(default_factory=DropPlan)
    extra: dict = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, str]:
    """Write key+certificate (for 127.0.0.1) to ``folder/server.pem``; return its path and the certificate PEM."""
    cert_path, key_path = tls_certificates.self_signed_certificate(folder)
    cert_pem = cert_path.read_text()
    path = folder / "server.pem"
    path.write_text(key_path.read_text() + cert_pem)
    return path, cert_pem


def _start_ftp(root: Path, tls_cert: Path | None) -> tuple[FileServer, object, threading.Thread]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import DTPHandler, FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

    port = _free_port()
    server_info = FileServer("127.0.0.1", port, root)
    plan = server_info.drop

    def dropping(base):
        class DroppingDTP(base):
            def send(self, data):
                if plan.remaining > 0 and self.tot_bytes_sent >= plan.after_bytes:
                    plan.remaining -= 1
                    plan.dropped += 1
                    # A crashed server: TCP cut under TLS (no close_notify), then both connections closed.
                    cut = getattr(self.socket, "sock_shutdown", None) or self.socket.shutdown
                    try:
                        cut(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    self.cmd_channel.close()
                    return 0
                return super().send(data)

        return DroppingDTP

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    if tls_cert is not None:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        class Handler(TLS_FTPHandler):
            pass

        Handler.dtp_handler = dropping(TLS_DTPHandler)
        Handler.certfile = str(tls_cert)
        Handler.tls_control_required = True
        Handler.tls_data_required = True
    else:

        class Handler(FTPHandler):
            pass

        Handler.dtp_handler = dropping(DTPHandler)
        Handler.use_sendfile = False
    Handler.authorizer = authorizer
    Handler.banner = "cfwb test server"
    Handler.auth_failed_timeout = 0.1  # pyftpdlib waits 3 s after a wrong password by default
    Handler.permit_foreign_addresses = False
    ioloop = IOLoop()
    server = FTPServer(("127.0.0.1", port), Handler, ioloop=ioloop)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    return server_info, server, thread


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory):
    """A plain FTP server (pyftpdlib) serving a temporary folder; user ``etl``."""
    import logging

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    info, server, thread = _start_ftp(tmp_path_factory.mktemp("ftp-root"), None)
    yield info
    server.close_all()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def ftps_server(tmp_path_factory):
    """An explicit-FTPS server (TLS required on commands and data) with a self-signed certificate."""
    cert_path, cert_pem = self_signed_certificate(tmp_path_factory.mktemp("ftps-cert"))
    info, server, thread = _start_ftp(tmp_path_factory.mktemp("ftps-root"), cert_path)
    info.extra["ca_certificate"] = cert_pem
    yield info
    server.close_all()
    thread.join(timeout=5)


def _start_sftp(root: Path) -> tuple[FileServer, asyncio.AbstractEventLoop, threading.Thread, object]:
    import asyncssh

    port = _free_port()
    info = FileServer("127.0.0.1", port, root)
    plan = info.drop
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    info.extra.update(
        known_hosts=f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}",
        client_private_key=client_key.export_private_key().decode(),
        other_host_key=asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip(),
    )

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == USER and password == PASSWORD

    class DroppingSFTP(asyncssh.SFTPServer):
        def __init__(self, chan):
            super().__init__(chan, chroot=str(root).encode())

        def read(self, file_obj, offset, size):
            if plan.remaining > 0 and offset >= plan.after_bytes:
                plan.remaining -= 1
                plan.dropped += 1
                self.connection.abort()
                return b""
            return super().read(file_obj, offset, size)

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start():
            holder["server"] = await asyncssh.create_server(
                Server,
                "127.0.0.1",
                port,
                server_host_keys=[host_key],
                authorized_client_keys=asyncssh.import_authorized_keys(
                    client_key.export_public_key().decode()
                ),
                sftp_factory=DroppingSFTP,
                allow_scp=False,
            )
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(15):
        pytest.fail("The asyncssh SFTP server did not start within 15 s")
    return info, loop, thread, holder["server"]


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory):
    """An SFTP server (asyncssh) serving a temporary folder; password or key sign-in for user ``etl``.

    ``extra`` holds ``known_hosts`` (the line trusting this server), ``client_private_key`` (PEM of a key
    the server accepts) and ``other_host_key`` (a key that is NOT the server's).
    """
    info, loop, thread, server = _start_sftp(tmp_path_factory.mktemp("sftp-root"))
    yield info

    async def stop():
        server.close()
        await server.wait_closed()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
