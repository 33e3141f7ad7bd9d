"""FTP and FTPS (explicit TLS) file servers, through Python's ``ftplib`` in passive mode."""

from __future__ import annotations

import ftplib
import posixpath
import ssl
from datetime import UTC, datetime
from typing import BinaryIO

from pydantic import Field

from dagster_cfwb.resources.files.file_server_base import (
    FileServerConnectionError,
    FileServerResource,
    FileSession,
)
from dagster_cfwb.transfer.file_listing import RemoteFile

__all__ = ["FTPResource"]

_CHUNK = 1 << 18


def _mdtm(ftp: ftplib.FTP, path: str) -> datetime | None:
    try:
        reply = ftp.sendcmd(f"MDTM {path}")
    except ftplib.error_perm:
        return None
    return _parse_time(reply.split()[-1])


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _is_missing(error: ftplib.Error) -> bool:
    return str(error).startswith("550")


class _FTPStream:
    """A read-only binary stream over an FTP data connection."""

    def __init__(self, ftp: ftplib.FTP, conn) -> None:
        self._ftp, self._conn, self._eof, self.closed = ftp, conn, False, False

    def read(self, size: int = -1) -> bytes:
        if self._eof:
            return b""
        if size is None or size < 0:
            parts = []
            while chunk := self._conn.recv(_CHUNK):
                parts.append(chunk)
            self._eof = True
            return b"".join(parts)
        data = self._conn.recv(size)
        if not data:
            self._eof = True
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._eof and isinstance(self._conn, ssl.SSLSocket):
                self._conn.unwrap()
        finally:
            self._conn.close()
        try:
            self._ftp.voidresp()
        except (ftplib.Error, OSError, EOFError):
            pass  # an early close aborts the transfer (426); the session is closed next anyway


class _FTPSession(FileSession):
    def __init__(self, ftp: ftplib.FTP) -> None:
        self.ftp = ftp

    def listdir(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        try:
            entries = list(self.ftp.mlsd(folder, facts=["type", "size", "modify"]))
        except ftplib.error_perm as e:
            if _is_missing(e) or str(e).startswith("501"):  # 501: pyftpdlib's "No such directory"
                raise FileNotFoundError(folder) from None
            if not str(e).startswith("500"):
                raise
            return self._listdir_without_mlsd(folder)
        found = []
        for name, facts in entries:
            kind = facts.get("type", "file")
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            modified = _parse_time(facts.get("modify", ""))
            found.append((RemoteFile(name, int(facts.get("size", 0) or 0), modified), kind == "dir"))
        return found

    def _listdir_without_mlsd(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        found = []
        for full in self.ftp.nlst(folder):
            name = posixpath.basename(full)
            info = self.stat(posixpath.join(folder, name))
            found.append((info or RemoteFile(name, 0, None), info is None))
        return [(RemoteFile(posixpath.basename(f.path), f.size, f.modified), d) for f, d in found]

    def stat(self, path: str) -> RemoteFile | None:
        self.ftp.voidcmd("TYPE I")
        try:
            size = self.ftp.size(path)
        except ftplib.error_perm as e:
            if _is_missing(e):
                return None
            raise
        return RemoteFile(path, int(size or 0), _mdtm(self.ftp, path))

    def _transfer(self, path: str, offset: int):
        self.ftp.voidcmd("TYPE I")
        try:
            return self.ftp.transfercmd(f"RETR {path}", rest=offset or None)
        except ftplib.error_perm as e:
            if _is_missing(e):
                raise FileNotFoundError(path) from None
            raise

    def read_into(self, path: str, offset: int, sink: BinaryIO) -> None:
        conn = self._transfer(path, offset)
        stream = _FTPStream(self.ftp, conn)
        try:
            while chunk := stream.read(_CHUNK):
                sink.write(chunk)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
        finally:  # the data connection is closed even when the transfer or the local write fails
            conn.close()
            stream.closed = True
        self.ftp.voidresp()

    def open_read(self, path: str) -> BinaryIO:
        return _FTPStream(self.ftp, self._transfer(path, 0))  # type: ignore[return-value]

    def write_from(self, local_path: str, path: str) -> None:
        with open(local_path, "rb") as f:
            self.ftp.storbinary(f"STOR {path}", f, blocksize=_CHUNK)

    def rename(self, path: str, new_path: str) -> None:
        try:
            self.ftp.rename(path, new_path)
        except ftplib.error_perm:
            self.ftp.delete(new_path)  # servers that refuse to overwrite: not atomic, but rare
            self.ftp.rename(path, new_path)

    def remove(self, path: str) -> None:
        self.ftp.delete(path)

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

    Transfers use passive mode and binary type. With ``tls=True`` the connection is explicit FTPS
    (``AUTH TLS``, encrypted commands and data). Downloads are atomic and resume after a dropped
    connection (``REST``); uploads are written under a temporary name then renamed.

    Example:
        .. code-block:: python

            ftp = FTPResource(host="ftp.intranet", user="etl", password=dg.EnvVar("FTP_PASSWORD"), tls=True)
            for f in ftp.list("inbox/*.csv"):
                print(f.path, f.size, f.modified)
            result = ftp.to_lakehouse("inbox/eleves.csv", lakehouse, "enseignement/stg/eleves.parquet",
                                      delimiter=";", encoding="windows-1252")
            ftp.move("inbox/eleves.csv", "archive/eleves.csv")
    """

    host: str = Field(description="Server host name or IP address, e.g. `ftp.intranet.example`.")
    port: int = Field(default=21, description="Server TCP port (21 for FTP and explicit FTPS).")
    user: str = Field(default="anonymous", description="User name to sign in with.")
    password: str | None = Field(
        default=None,
        description="Password; always pass it as `EnvVar('…')` so it never sits in code or YAML.",
    )
    tls: bool = Field(
        default=False,
        description="True for explicit FTPS (`AUTH TLS`): commands and file contents are encrypted.",
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

    def describe(self, path: str = "") -> str:
        scheme = "ftps" if self.tls else "ftp"
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
        ftp: ftplib.FTP = ftplib.FTP_TLS(context=self._tls_context()) if self.tls else ftplib.FTP()
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
        return _FTPSession(ftp)

    def _is_transient(self, error: BaseException) -> bool:
        return super()._is_transient(error) or isinstance(error, ftplib.error_temp)
