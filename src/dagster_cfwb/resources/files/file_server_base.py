"""What the FTP, SFTP and NFS resources share: listing, streaming, atomic and resumable transfers,
retries on dropped connections, loading into the lakehouse, and errors without secrets.

A protocol module only says how to open a `FileSession` (connect, list a folder, read from an
offset, write, rename, delete); everything else is written once here.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import dagster as dg
from pydantic import Field

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.resources.files.file_session import FileSession
from dagster_cfwb.resources.files.upload_temps import remove_stale_uploads, temporary_upload_name
from dagster_cfwb.resources.secrets import RedactedReprMixin, redact
from dagster_cfwb.transfer.files.listing import RemoteFile, has_glob, match_files, split_pattern
from dagster_cfwb.transfer.files.load import FileLoadResult, load_file_to_lakehouse, load_keywords

__all__ = [
    "FileServerConnectionError",
    "FileServerError",
    "FileServerResource",
    "FileSession",
    "HostKeyError",
]

T = TypeVar("T")


class FileServerConnectionError(CfwbError, ConnectionError):
    """Could not connect or sign in to a file server (the message never holds a password or key)."""


class FileServerError(CfwbError, OSError):
    """A file server refused an operation (permission denied, disk full…); the message names the server."""


class HostKeyError(FileServerConnectionError):
    """The SFTP server's host key is not the one expected in `known_hosts`."""


class FileServerResource(RedactedReprMixin, dg.ConfigurableResource):
    """Shared fields and verbs of the FTP, SFTP and NFS resources (not used directly)."""

    retries: int = Field(
        default=3,
        description=(
            "How many times a dropped or refused connection is retried (see `retry_delay_seconds`) before the "
            "step fails. A download resumes where it stopped when the server allows it."
        ),
    )
    retry_delay_seconds: float = Field(
        default=1.0, description="Seconds before the first retry; each further retry waits twice as long."
    )
    timeout_seconds: float = Field(
        default=30,
        description="Seconds to wait for the server to answer before the connection counts as lost.",
    )

    # -- what a protocol provides --------------------------------------------------------------
    def _open_session(self) -> FileSession:
        raise NotImplementedError

    def describe(self, path: str = "") -> str:
        """Where `path` lives, e.g. `ftp://etl@files.intranet:21/inbox/x.csv` (never a password)."""
        raise NotImplementedError

    def _secrets(self) -> list[str | None]:
        return []

    def _is_transient(self, error: BaseException) -> bool:
        """True for errors worth a retry: dropped connection, timeout, refused connection."""
        if isinstance(error, FileServerConnectionError):
            return False
        return isinstance(error, ConnectionError | EOFError | TimeoutError)

    def _retry_delay(self, attempt: int) -> float:
        return self.retry_delay_seconds * 2 ** (attempt - 1)

    # -- shared behaviour ------------------------------------------------------------------------
    def _safe(self, error: BaseException) -> str:
        return redact(str(error).strip() or type(error).__name__, self._secrets())

    def _open_checked(self) -> FileSession:
        """One connection attempt: transient errors pass through raw (the caller's loop retries them)."""
        try:
            return self._open_session()
        except (FileServerConnectionError, FileNotFoundError):
            raise
        except Exception as e:  # protocol-specific error types
            if self._is_transient(e):
                raise
            raise FileServerConnectionError(
                f"Could not connect to {self.describe()}: {self._safe(e)}"
            ) from None

    @staticmethod
    def _close(session: FileSession) -> None:
        try:
            session.close()
        except Exception:  # the connection may already be gone
            pass

    @contextmanager
    def connect(self) -> Iterator[FileSession]:
        """Open a connection (retried on transient failures); always closed on exit.

        Raises:
            FileServerConnectionError: the server refused the connection or the sign-in; the message names
                the server and user, never the password.
        """
        session = self._attempts(f"Connecting to {self.describe()}", lambda s: None, keep_open=True)
        try:
            yield session
        finally:
            self._close(session)

    def _wait(self, attempt: int, doing: str, error: BaseException) -> None:
        delay = self._retry_delay(attempt)
        dg.get_dagster_logger().warning(
            f"{doing} failed ({type(error).__name__}: {self._safe(error)}); retry {attempt} of {self.retries} in {delay:g} s"
        )
        time.sleep(delay)

    def _attempts(self, doing: str, work: Callable[[FileSession], Any], keep_open: bool = False) -> Any:
        """The one retry loop of an operation: connecting and working share `retries + 1` attempts.

        A transient failure (dropped connection, timeout, refused connection, FTP 4xx, TLS cut) while
        connecting or working starts the next attempt on a new connection; anything else, or the last
        attempt's failure, is raised: `FileServerConnectionError` if the connection could not be made,
        `FileServerError` if the operation failed, `FileNotFoundError` as is.
        """
        attempts = max(self.retries, 0) + 1
        for attempt in range(1, attempts + 1):
            connecting = True
            try:
                session = self._open_checked()
                connecting = False
                if keep_open:
                    return session
                try:
                    return work(session)
                finally:
                    self._close(session)
            except (FileNotFoundError, FileServerConnectionError):
                raise
            except Exception as e:
                if attempt < attempts and self._is_transient(e):
                    self._wait(attempt, doing, e)
                    continue
                if connecting:
                    raise FileServerConnectionError(
                        f"Could not connect to {self.describe()}: {type(e).__name__}: {self._safe(e)}"
                    ) from None
                raise FileServerError(f"{doing} failed: {type(e).__name__}: {self._safe(e)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _with_retries(self, doing: str, work: Callable[[FileSession], T]) -> T:
        return self._attempts(doing, work)

    def _missing(self, path: str) -> FileNotFoundError:
        return FileNotFoundError(f"No such file `{path}` on {self.describe()} ({self.describe(path)}).")

    def list(self, pattern: str = "*", recursive: bool = False) -> list[RemoteFile]:
        """Files matching `pattern`, with size and modification time, sorted by path.

        Args:
            pattern: a folder and a file-name glob, e.g. `"inbox/*.csv"`, `"inbox/eleves_2024.csv"`
                or `"*"` (glob characters in the file name only).
            recursive: also search the sub-folders of the pattern's folder.

        Returns:
            list of RemoteFile (`path`, `size` in bytes, `modified` UTC datetime).
        """
        folder, name_glob = split_pattern(pattern)

        def work(session: FileSession) -> list[RemoteFile]:
            found: list[RemoteFile] = []
            pending = [folder]
            while pending:
                current = pending.pop()
                try:
                    entries = session.listdir(current or ".", name_glob)
                except FileNotFoundError:
                    if current == folder and not has_glob(pattern):
                        return []
                    raise FileNotFoundError(f"No folder `{current or '.'}` on {self.describe()}.") from None
                for entry, is_dir in entries:
                    path = posixpath.join(current, entry.name) if current else entry.name
                    if is_dir:
                        if recursive:
                            pending.append(path)
                    else:
                        found.append(RemoteFile(path, entry.size, entry.modified))
            return match_files(found, name_glob)

        return self._with_retries(f"Listing `{pattern}` on {self.describe()}", work)

    def exists(self, path: str) -> bool:
        """True if the file `path` exists on the server."""
        return self._with_retries(f"Checking `{path}`", lambda s: s.stat(path) is not None)

    def stat(self, path: str) -> RemoteFile:
        """Size and modification time of `path`.

        Raises:
            FileNotFoundError: there is no such file (the message names the server).
        """

        def work(session: FileSession) -> RemoteFile:
            info = session.stat(path)
            if info is None:
                raise self._missing(path)
            return info

        return self._with_retries(f"Reading the size of `{path}`", work)

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        """Stream the file `path`: `with ftp.open("inbox/x.csv") as f: f.read(65536)`.

        The connection is opened for the block and closed after it; nothing is kept in memory.
        Not retried (a stream cannot be replayed); use `download` for a resumable copy.
        """
        with self.connect() as session:
            info = session.stat(path)
            if info is None:
                raise self._missing(path)
            stream = session.open_read(path, info.size)
            try:
                yield stream
            finally:
                try:
                    stream.close()
                except Exception:  # closing an aborted transfer may fail
                    pass

    def download(self, path: str, local_path: str | os.PathLike) -> RemoteFile:
        """Copy `path` to the local file `local_path`, atomically, resuming after a dropped connection.

        Bytes go to `.<name>.part` beside `local_path`, renamed only once the size matches the
        server's: `local_path` never holds a partial file. After a drop, the transfer restarts from
        the last byte received (FTP `REST`, SFTP read offset).

        Returns:
            the RemoteFile that was downloaded (path, size, modified).

        Raises:
            FileNotFoundError: no such file on the server (the message names the server and path).
        """
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        seen: dict[str, RemoteFile] = {}

        def work(session: FileSession) -> RemoteFile:
            info = session.stat(path)
            if info is None:
                raise self._missing(path)
            if "first" in seen and seen["first"].signature != info.signature:
                part.unlink(missing_ok=True)  # the file changed on the server: start again
            seen["first"] = info
            offset = part.stat().st_size if part.exists() else 0
            if offset > info.size:
                part.unlink()
                offset = 0
            with open(part, "ab") as sink:
                session.read_into(path, offset, sink)
            got = part.stat().st_size
            if got != info.size:
                raise ConnectionError(f"transfer of `{path}` stopped at byte {got:,} of {info.size:,}")
            return info

        try:
            info = self._with_retries(f"Downloading {self.describe(path)}", work)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return info

    def upload(self, local_path: str | os.PathLike, path: str) -> RemoteFile:
        """Copy the local file to `path` on the server under a temporary name, then rename it.

        Readers of the server (and `new_files_sensor`) never see a half-written `path`.
        Missing folders are created. A failed upload removes its temporary `.<name>.<hex>.part`
        (on a new connection if the old one dropped); temporary files of the same target left by
        runs that died (untouched for 2 minutes, or 4 x `timeout_seconds`) are removed first.
        """
        local = Path(local_path)
        if not local.is_file():
            raise FileNotFoundError(f"No local file `{local}` to upload.")
        folder = posixpath.dirname(path)
        temp = temporary_upload_name(path)
        log = dg.get_dagster_logger()

        def work(session: FileSession) -> RemoteFile:
            if folder:
                session.makedirs(folder)
            stale_after = max(120.0, 4 * self.timeout_seconds)  # a live upload keeps its file fresher
            remove_stale_uploads(
                session, path, temp, stale_after, lambda m: log.info(f"{m} on {self.describe()}")
            )
            try:
                session.write_from(str(local), temp)
                session.rename(temp, path)
            except BaseException:
                try:
                    session.remove(temp)
                except Exception:  # the connection may be gone: removed below on a new one
                    pass
                raise
            info = session.stat(path)
            if info is None or info.size != local.stat().st_size:
                raise ConnectionError(f"upload of `{path}` is incomplete on the server")
            return info

        try:
            return self._with_retries(f"Uploading `{local}` to {self.describe(path)}", work)
        except BaseException:
            self._remove_after_failure(temp)
            raise

    def _remove_after_failure(self, temp: str) -> None:
        """After a failed upload, remove its temporary file on a fresh connection (one try, best effort)."""
        session = None
        try:
            session = self._open_checked()
            if session.stat(temp) is not None:
                session.remove(temp)
        except Exception as e:
            dg.get_dagster_logger().warning(
                f"Could not remove `{temp}` on {self.describe()} after the failed upload ({self._safe(e)}); "
                "the next upload of this file removes it."
            )
        finally:
            if session is not None:
                self._close(session)

    def move(self, path: str, new_path: str) -> None:
        """Rename or move `path` to `new_path` on the server (e.g. into `archive/` once loaded)."""

        def work(session: FileSession) -> None:
            if session.stat(path) is None:
                raise self._missing(path)
            folder = posixpath.dirname(new_path)
            if folder:
                session.makedirs(folder)
            session.rename(path, new_path)

        self._with_retries(f"Moving `{path}` to `{new_path}` on {self.describe()}", work)

    def delete(self, path: str) -> bool:
        """Delete the file `path`; returns False if it did not exist."""

        def work(session: FileSession) -> bool:
            if session.stat(path) is None:
                return False
            session.remove(path)
            return True

        return self._with_retries(f"Deleting `{path}` on {self.describe()}", work)

    def to_lakehouse(
        self,
        path_or_glob: str,
        lakehouse: Any,
        lakehouse_path: str,
        *,
        format: str | None = None,
        **options: Any,
    ) -> FileLoadResult:
        """Load a file (or every file matching a glob) from this server into one lakehouse Parquet file.

        Args:
            path_or_glob: e.g. `"inbox/eleves.csv"` or `"inbox/eleves_*.csv"`.
            lakehouse: the lakehouse resource (`AzureAdlsResource` or `LocalLakehouseResource`).
            lakehouse_path: e.g. `"enseignement/stg/eleves.parquet"`.
            format: `csv`, `excel`, `json`, `ndjson`, `parquet`; default from the extension.
            **options: reading options (`delimiter`, `encoding`, `decimal_comma`, `schema`, `sheet`…:
                see `dagster_cfwb.transfer.files.formats.ReadOptions.from_keywords`) and `recursive`,
                `source_file_column`, `temp_dir` of `dagster_cfwb.transfer.files.load.load_file_to_lakehouse`.

        Returns:
            FileLoadResult; `result.metadata` (rows, columns, source files and SHA-256) is ready for
            `MaterializeResult`.

        Example:
        ```python
        result = sftp.to_lakehouse(
            "inbox/eleves_*.csv", lakehouse, "enseignement/stg/eleves.parquet",
            delimiter=";", encoding="windows-1252", decimal_comma=True,
        )
        return dg.MaterializeResult(metadata=result.metadata)
        ```
        """
        return load_file_to_lakehouse(
            path_or_glob, lakehouse, lakehouse_path, source=self, format=format, **load_keywords(**options)
        )
