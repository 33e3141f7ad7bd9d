"""SFTP servers (SSH file transfer) through asyncssh, driven from synchronous code."""

from __future__ import annotations

import asyncio
import stat as stat_module
import threading
from collections.abc import Coroutine
from typing import Any, BinaryIO, TypeVar

from pydantic import Field

from dagster_cfwb.resources.files.file_server_base import (
    FileServerConnectionError,
    FileServerResource,
    FileSession,
    HostKeyError,
)
from dagster_cfwb.transfer.files.listing import RemoteFile, utc_from_timestamp

__all__ = ["SFTPResource"]

T = TypeVar("T")
_CHUNK = 1 << 20


def _asyncssh():
    try:
        import asyncssh
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("SFTPResource needs asyncssh: pip install 'dagster-cfwb[files]'") from e
    return asyncssh


class _LoopThread:
    """A private asyncio loop in a daemon thread, so asyncssh runs under plain synchronous code."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cfwb-sftp", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def _entry(name: str, attrs) -> tuple[RemoteFile, bool]:
    is_dir = attrs.permissions is not None and stat_module.S_ISDIR(attrs.permissions)
    return RemoteFile(name, int(attrs.size or 0), utc_from_timestamp(attrs.mtime)), is_dir


class _SFTPStream:
    """A read-only binary stream over an open SFTP file; a lost connection raises `ConnectionError`."""

    def __init__(self, session: _SFTPSession, handle, size: int | None) -> None:
        self._session, self._handle, self._size, self._got, self.closed = session, handle, size, 0, False

    def read(self, size: int = -1) -> bytes:
        data = self._session._run(self._handle.read(size if size and size > 0 else -1))
        self._got += len(data)
        if not data and self._size is not None and self._got < self._size:
            raise ConnectionError(f"the transfer stopped at byte {self._got:,} of {self._size:,}")
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._session._run(self._handle.close())


class _SFTPSession(FileSession):
    def __init__(self, runner: _LoopThread, conn, sftp) -> None:
        self.runner, self.conn, self.sftp = runner, conn, sftp
        self.asyncssh = _asyncssh()

    def _run(self, coro, timeout: float | None = -1):
        try:
            return self.runner.run(coro, self.runner.timeout if timeout == -1 else timeout)
        except self.asyncssh.SFTPNoSuchFile as e:
            raise FileNotFoundError(str(e)) from None
        except (
            self.asyncssh.ConnectionLost,
            self.asyncssh.SFTPConnectionLost,
            self.asyncssh.SFTPEOFError,
        ) as e:
            raise ConnectionError(f"connection lost: {e}") from None
        except self.asyncssh.DisconnectError as e:
            raise ConnectionError(f"disconnected: {e}") from None

    def listdir(self, folder: str, name_glob: str | None = None) -> list[tuple[RemoteFile, bool]]:
        names = self._run(self.sftp.readdir(folder))
        return [_entry(n.filename, n.attrs) for n in names if n.filename not in (".", "..")]

    def stat(self, path: str) -> RemoteFile | None:
        try:
            attrs = self._run(self.sftp.stat(path))
        except FileNotFoundError:
            return None
        if attrs.permissions is not None and stat_module.S_ISDIR(attrs.permissions):
            return None
        return RemoteFile(path, int(attrs.size or 0), utc_from_timestamp(attrs.mtime))

    def read_into(self, path: str, offset: int, sink: BinaryIO) -> None:
        async def copy() -> None:
            async with self.sftp.open(path, "rb") as handle:
                position = offset
                # A server that stops answering counts as a dropped connection (retried, resumed).
                while data := await asyncio.wait_for(handle.read(_CHUNK, position), self.runner.timeout):
                    sink.write(data)
                    position += len(data)

        self._run(copy(), None)

    def open_read(self, path: str, size: int | None = None) -> BinaryIO:
        async def open_file():
            return await self.sftp.open(path, "rb")

        return _SFTPStream(self, self._run(open_file()), size)  # type: ignore[return-value]

    def write_from(self, local_path: str, path: str) -> None:
        self._run(self.sftp.put(local_path, path), None)

    def rename(self, path: str, new_path: str) -> None:
        try:
            self._run(self.sftp.posix_rename(path, new_path))
        except self.asyncssh.SFTPOpUnsupported:
            if self.stat(new_path) is not None:
                self.remove(new_path)
            self._run(self.sftp.rename(path, new_path))

    def remove(self, path: str) -> None:
        self._run(self.sftp.remove(path))

    def makedirs(self, folder: str) -> None:
        self._run(self.sftp.makedirs(folder, exist_ok=True))

    def close(self) -> None:
        async def shut() -> None:
            self.sftp.exit()
            self.conn.close()
            await self.conn.wait_closed()

        try:
            self.runner.run(shut(), 5)
        except Exception:  # the connection may already be gone
            pass
        finally:
            self.runner.stop()


class SFTPResource(FileServerResource):
    """An SFTP server: list, download, upload and archive files, and load them into the lakehouse.

    Sign in with a password or a private key. The server's identity is checked against
    `known_hosts` (on by default): an unknown or changed host key stops the connection with an
    error showing the key the server presented, so an administrator can confirm it. Downloads are
    atomic and resume at the last byte received; uploads are written under a temporary name, then
    renamed.

    Example:
    ```python
    sftp = SFTPResource(
        host="sftp.partner.example", user="etl", private_key=dg.EnvVar("SFTP_KEY"),
        known_hosts="sftp.partner.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…",
    )
    result = sftp.to_lakehouse(
        "outbox/*.csv", lakehouse, "finances/stg/factures.parquet", delimiter=";"
    )
    ```
    """

    host: str = Field(description="Server host name or IP address, e.g. `sftp.partner.example`.")
    port: int = Field(default=22, description="Server SSH port (usually 22).")
    user: str = Field(description="User name to sign in with.")
    password: str | None = Field(
        default=None,
        description="Password (leave empty when signing in with a key); pass it as `EnvVar('…')`.",
    )
    private_key: str | None = Field(
        default=None,
        description="Private key (PEM/OpenSSH text) to sign in with; pass it as `EnvVar('…')`, never in YAML.",
    )
    private_key_path: str | None = Field(
        default=None,
        description="Path of a private key file on the Dagster machine (instead of `private_key`).",
    )
    private_key_passphrase: str | None = Field(
        default=None, description="Passphrase of an encrypted private key; pass it as `EnvVar('…')`."
    )
    known_hosts: str | None = Field(
        default=None,
        description=(
            "Trusted host key line(s) in OpenSSH `known_hosts` format, e.g. `sftp.example ssh-ed25519 AAAA…` "
            "(or `[host]:2222 …` for another port). Empty: the Dagster user's `~/.ssh/known_hosts`."
        ),
    )
    check_known_hosts: bool = Field(
        default=True,
        description=(
            "Refuse servers whose key is not in `known_hosts` (protects against impostor servers). Turn off "
            "only for a throw-away test server."
        ),
    )

    def describe(self, path: str = "") -> str:
        suffix = f"/{path.lstrip('/')}" if path else ""
        return f"sftp://{self.user}@{self.host}:{self.port}{suffix}"

    def _secrets(self) -> list[str | None]:
        return [self.password, self.private_key, self.private_key_passphrase]

    def _connect_options(self) -> dict[str, Any]:
        asyncssh = _asyncssh()
        options: dict[str, Any] = {
            "username": self.user,
            "password": self.password,
            "connect_timeout": self.timeout_seconds,
            "agent_path": None,
            "client_keys": None,
        }
        if self.private_key:
            options["client_keys"] = [
                asyncssh.import_private_key(self.private_key, self.private_key_passphrase)
            ]
        elif self.private_key_path:
            options["client_keys"] = [
                asyncssh.read_private_key(self.private_key_path, self.private_key_passphrase)
            ]
        if not self.check_known_hosts:
            options["known_hosts"] = None
        elif self.known_hosts:
            options["known_hosts"] = asyncssh.import_known_hosts(self.known_hosts)
        else:
            options["known_hosts"] = ()  # asyncssh reads ~/.ssh/known_hosts
        return options

    def _host_key_hint(self, runner: _LoopThread) -> str:
        asyncssh = _asyncssh()
        try:
            key = runner.run(asyncssh.get_server_host_key(self.host, self.port), self.timeout_seconds)
        except Exception:
            return ""
        if key is None:
            return ""
        host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return (
            f" The server presented key {key.get_fingerprint()}; if an administrator confirms it, add this line "
            f"to `known_hosts`: {host} {key.export_public_key().decode().strip()}"
        )

    def _open_session(self) -> FileSession:
        asyncssh = _asyncssh()
        try:
            options = self._connect_options()
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, OSError, ValueError) as e:
            raise FileServerConnectionError(
                f"Cannot use the private key or known_hosts given for {self.describe()}: {self._safe(e)}"
            ) from None
        runner = _LoopThread(self.timeout_seconds)

        async def open_connection():
            conn = await asyncssh.connect(self.host, self.port, **options)
            try:
                return conn, await conn.start_sftp_client()
            except BaseException:
                conn.close()
                raise

        try:
            conn, sftp = runner.run(open_connection(), self.timeout_seconds + 5)
        except asyncssh.HostKeyNotVerifiable as e:
            hint = self._host_key_hint(runner)
            runner.stop()
            raise HostKeyError(
                f"The host key of {self.describe()} is not trusted ({self._safe(e)}): it is not in `known_hosts`, "
                f"or it changed.{hint}"
            ) from None
        except asyncssh.PermissionDenied as e:
            runner.stop()
            raise FileServerConnectionError(
                f"Sign-in refused by {self.describe()} for user `{self.user}` ({self._safe(e)}). "
                "Check the user name and the password or private key."
            ) from None
        except BaseException:
            runner.stop()
            raise
        return _SFTPSession(runner, conn, sftp)

    def _is_transient(self, error: BaseException) -> bool:
        if isinstance(error, FileServerConnectionError):
            return False
        asyncssh = _asyncssh()
        if isinstance(error, asyncssh.PermissionDenied | asyncssh.HostKeyNotVerifiable):
            return False
        return super()._is_transient(error) or isinstance(
            error, asyncssh.ConnectionLost | asyncssh.DisconnectError
        )
