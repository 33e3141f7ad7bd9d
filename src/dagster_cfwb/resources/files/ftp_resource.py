"""FTP and FTPS (explicit or implicit TLS) file servers, through Python's `ftplib` in passive mode."""

from __future__ import annotations

import ftplib
import posixpath
import socket
import ssl
from collections.abc import Callable
from datetime import tzinfo
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
from pydantic import Field, field_validator

from dagster_cfwb.resources.files.file_server_base import (
    FileServerConnectionError,
    FileServerError,
    FileServerResource,
    FileSession,
)
from dagster_cfwb.resources.files.ftp_listing import FTPLister, reply_code
from dagster_cfwb.transfer.files.listing import RemoteFile

__all__ = ["FTPResource"]

_CHUNK = 1 << 18


class _FTPS(ftplib.FTP_TLS):
    """Explicit FTPS whose data connections resume the control connection's TLS session.

    vsftpd (`require_ssl_reuse=YES`, its default), FileZilla Server and others refuse a data
    connection that does not reuse the session (`522 … session reuse required`); `ftplib` does
    not reuse it, this class does.
    """

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]  # FTP_TLS's own flag (set by prot_p), not in typeshed
            try:
                # the control connection is an SSLSocket once logged in: it has a TLS session
                session = self.sock.session  # type: ignore[union-attr]
                conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
            except BaseException:
                conn.close()
                raise
        return conn, size


class _ImplicitFTPS(_FTPS):
    """Implicit FTPS (usually port 990): TLS from the first byte, no `AUTH TLS`."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if source_address is not None:
            self.source_address = source_address
        raw = socket.create_connection(
            (self.host, self.port), self.timeout, source_address=self.source_address
        )
        try:
            self.sock = self.context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def _end_transfer(ftp: ftplib.FTP, conn: socket.socket) -> None:
    """Close a data connection that reached its end, then read the transfer's final reply.

    A failed TLS close (server cut the connection) is not an error by itself: the final reply and
    the size check decide. The final reply is raised when it is not a success (`426`, `451`:
    transient; `522`, `550`: refused), so a refused transfer never looks like an empty file.
    """
    try:
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()
    except (OSError, ValueError):
        pass
    finally:
        conn.close()
    ftp.voidresp()


class _FTPStream:
    """A read-only binary stream over an FTP data connection; errors surface from `read`."""

    def __init__(self, ftp: ftplib.FTP, conn, path: str, size: int | None, where: str) -> None:
        self._ftp, self._conn, self._path, self._size, self._where = ftp, conn, path, size, where
        self._eof, self._got, self.closed = False, 0, False

    def read(self, size: int = -1) -> bytes:
        if self._eof:
            return b""
        if size is None or size < 0:
            parts = []
            while chunk := self.read(_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        data = self._conn.recv(size)
        if data:
            self._got += len(data)
            return data
        self._eof = True
        try:
            _end_transfer(self._ftp, self._conn)
        except ftplib.Error as e:
            raise FileServerError(
                f"Reading {self._where} failed: the server ended the transfer with `{e}` after "
                f"{self._got:,} bytes."
            ) from None
        if self._size is not None and self._got != self._size:
            raise ConnectionError(
                f"Reading {self._where} failed: the transfer stopped at byte {self._got:,} of {self._size:,}."
            )
        return b""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._eof:
            return  # ended (and checked) in read
        self._conn.close()  # closed early: the transfer is aborted (426), the session is closed next
        try:
            self._ftp.voidresp()
        except (ftplib.Error, OSError, EOFError):
            pass


class _FTPSession(FileSession):
    def __init__(self, ftp: ftplib.FTP, where: Callable[[str], str], server_timezone: tzinfo | None) -> None:
        self.ftp, self.where = ftp, where
        self.lister = FTPLister(ftp, ftp.pwd(), server_timezone)

    def listdir(self, folder: str, name_glob: str | None = None) -> list[tuple[RemoteFile, bool]]:
        return self.lister.listdir(folder, name_glob=name_glob)

    def list_hidden(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        return self.lister.listdir(folder, hidden=True)

    def stat(self, path: str) -> RemoteFile | None:
        size = self.lister._size(path)
        if size is None:
            return None
        return RemoteFile(path, size, self.lister._mdtm(path))

    def _transfer(self, path: str, offset: int):
        self.ftp.voidcmd("TYPE I")
        try:
            return self.ftp.transfercmd(f"RETR {path}", rest=offset or None)
        except ftplib.error_perm as e:
            if reply_code(e) == "550":
                raise FileNotFoundError(path) from None
            raise

    def read_into(self, path: str, offset: int, sink: BinaryIO) -> None:
        conn = self._transfer(path, offset)
        try:
            while chunk := conn.recv(_CHUNK):
                sink.write(chunk)
        except BaseException:
            conn.close()  # the data connection is closed even when the transfer or the local write fails
            raise
        _end_transfer(self.ftp, conn)

    def open_read(self, path: str, size: int | None = None) -> BinaryIO:
        stream = _FTPStream(self.ftp, self._transfer(path, 0), path, size, self.where(path))
        return stream  # type: ignore[return-value]

    def write_from(self, local_path: str, path: str) -> None:
        with open(local_path, "rb") as f:
            self.ftp.storbinary(f"STOR {path}", f, blocksize=_CHUNK)

    def rename(self, path: str, new_path: str) -> None:
        try:
            self.ftp.rename(path, new_path)
        except ftplib.error_perm:
            if self.stat(path) is None or self.stat(new_path) is None:
                raise
            self.ftp.delete(new_path)  # servers that refuse to overwrite: not atomic, but rare
            self.ftp.rename(path, new_path)

    def remove(self, path: str) -> None:
        try:
            self.ftp.delete(path)
        except ftplib.error_perm as e:
            if reply_code(e) == "550" and self.stat(path) is None:
                raise FileNotFoundError(path) from None
            raise

    def makedirs(self, folder: str) -> None:
        current = "/" if folder.startswith("/") else ""
        for part in [p for p in folder.split("/") if p]:
            current = posixpath.join(current, part) if current else part
            try:
                self.ftp.mkd(current)
            except ftplib.error_perm:
                pass  # already there

    def close(self) -> None:
        try:
            self.ftp.quit()
        except (ftplib.Error, OSError, EOFError):
            self.ftp.close()


class FTPResource(FileServerResource):
    """An FTP or FTPS server: list, download, upload and archive files, and load them into the lakehouse.

    Transfers use passive mode and binary type. With `tls=True` the connection is explicit FTPS
    (`AUTH TLS` on port 21, encrypted commands and data; data connections reuse the TLS session, as
    vsftpd requires by default); with `implicit_tls=True` it is implicit FTPS (TLS from the first byte,
    usually port 990). Listing works without `MLSD` (vsftpd): `LIST`, then `NLST`, are used instead.
    Downloads are atomic and resume after a dropped connection (`REST`); uploads are written under a
    temporary name then renamed, and a failed upload removes its temporary file. Tested against
    vsftpd 3.0.3 (plain FTP, explicit and implicit FTPS) and pyftpdlib.

    Example:
    ```python
    ftp = FTPResource(
        host="ftp.intranet", user="etl", password=dg.EnvVar("FTP_PASSWORD"), tls=True
    )
    for f in ftp.list("inbox/*.csv"):
        print(f.path, f.size, f.modified)
    result = ftp.to_lakehouse(
        "inbox/eleves.csv", lakehouse, "enseignement/stg/eleves.parquet",
        delimiter=";", encoding="windows-1252",
    )
    ftp.move("inbox/eleves.csv", "archive/eleves.csv")

    # A server that only offers implicit FTPS (TLS from the first byte):
    old_ftp = FTPResource(host="ftp.old.example", port=990, implicit_tls=True, user="etl",
                          password=dg.EnvVar("OLD_FTP_PASSWORD"))
    ```
    """

    host: str = Field(description="Server host name or IP address, e.g. `ftp.intranet.example`.")
    port: int = Field(
        default=21,
        description="Server TCP port: 21 for FTP and explicit FTPS, usually 990 for implicit FTPS.",
    )
    user: str = Field(default="anonymous", description="User name to sign in with.")
    password: str | None = Field(
        default=None,
        description="Password; always pass it as `EnvVar('…')` so it never sits in code or YAML.",
    )
    tls: bool = Field(
        default=False,
        description="True for explicit FTPS (`AUTH TLS`): commands and file contents are encrypted.",
    )
    implicit_tls: bool = Field(
        default=False,
        description=(
            "True for implicit FTPS: TLS from the first byte, without `AUTH TLS` (usually on port 990, "
            "set `port: 990`). Only for servers that offer no explicit FTPS; implies `tls`."
        ),
    )
    verify_tls: bool = Field(
        default=True, description="Check the FTPS server's certificate (turn off only for a test server)."
    )
    ca_certificate: str | None = Field(
        default=None,
        description=(
            "PEM text of the certificate authority (or self-signed certificate) that signed the server's "
            "certificate, when it is not in the system's trusted list."
        ),
    )
    passive: bool = Field(default=True, description="Passive mode (the usual choice through firewalls).")
    server_timezone: str | None = Field(
        default=None,
        description=(
            "Leave empty for servers that give file times in UTC, as the FTP standard says. Set it to the "
            "server's time zone, e.g. `Europe/Zurich`, when the server gives local times: vsftpd with "
            "`use_localtime=YES` (the setting in Debian's and Ubuntu's shipped `/etc/vsftpd.conf`). "
            "Symptom: `modified` times off by whole hours, and `new_files_sensor` waiting that long."
        ),
    )

    @field_validator("server_timezone", mode="before")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value and not isinstance(value, dg.EnvVar):  # an EnvVar is checked when the run resolves it
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"Unknown time zone `{value}` in `server_timezone`: expected an IANA name such as "
                    "`Europe/Zurich`, `Europe/Paris` or `UTC`."
                ) from None
        return value

    def describe(self, path: str = "") -> str:
        scheme = "ftps" if self.tls or self.implicit_tls else "ftp"
        suffix = f"/{path.lstrip('/')}" if path else ""
        return f"{scheme}://{self.user}@{self.host}:{self.port}{suffix}"

    def _secrets(self) -> list[str | None]:
        return [self.password]

    def _tls_context(self) -> ssl.SSLContext:
        context = (
            ssl.create_default_context(cadata=self.ca_certificate)
            if self.ca_certificate
            else (ssl.create_default_context())
        )
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _open_session(self) -> FileSession:
        ftp: ftplib.FTP
        if self.implicit_tls:
            ftp = _ImplicitFTPS(context=self._tls_context())
        elif self.tls:
            ftp = _FTPS(context=self._tls_context())
        else:
            ftp = ftplib.FTP()
        try:
            ftp.connect(self.host, self.port, timeout=self.timeout_seconds)
            try:
                ftp.login(self.user, self.password or "")
            except ftplib.error_perm as e:
                raise FileServerConnectionError(
                    f"Sign-in refused by {self.describe()} for user `{self.user}`: {self._safe(e).rstrip('.')}. "
                    "Check the user name and password."
                ) from None
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(self.passive)
        except ssl.SSLError as e:
            ftp.close()
            raise FileServerConnectionError(
                f"TLS handshake with {self.describe()} failed: {self._safe(e)}"
            ) from None
        except BaseException:
            ftp.close()
            raise
        try:
            timezone = ZoneInfo(self.server_timezone) if self.server_timezone else None
            return _FTPSession(ftp, self.describe, timezone)
        except BaseException:
            ftp.close()
            raise

    def _is_transient(self, error: BaseException) -> bool:
        """Also transient: FTP 4xx replies (`421`, `425`, `426`, `451`) and a TLS connection cut
        mid-transfer (`SSLEOFError` and other TLS errors; a refused certificate is not transient)."""
        if isinstance(error, ssl.SSLCertVerificationError):
            return False
        return super()._is_transient(error) or isinstance(error, ftplib.error_temp | ssl.SSLError)
