"""What each file protocol implements (FTP, SFTP, NFS): one open connection and its few operations.

Everything built on them (listing with globs, retries, atomic and resumable transfers, loading into
the lakehouse) is written once in `file_server_base`.
"""

from __future__ import annotations

from typing import BinaryIO

from dagster_cfwb.transfer.files.listing import RemoteFile

__all__ = ["FileSession"]


class FileSession:
    """One open connection to a file server; each protocol implements these few operations.

    Paths are `/`-separated, relative to the login folder (or absolute). A missing file raises
    `FileNotFoundError`; a dropped connection raises `ConnectionError`/`EOFError`/`TimeoutError`.
    """

    def listdir(self, folder: str, name_glob: str | None = None) -> list[tuple[RemoteFile, bool]]:
        """Entries of `folder` as (file, is_folder).

        `name_glob` is a hint: a protocol may leave out files whose name does not match it (FTP
        then asks no `MDTM` for them); folders are always returned.
        """
        raise NotImplementedError

    def stat(self, path: str) -> RemoteFile | None:
        """Size and mtime of the file `path`; None if it does not exist."""
        raise NotImplementedError

    def read_into(self, path: str, offset: int, sink: BinaryIO) -> None:
        """Copy the file's bytes from `offset` to the end into `sink`."""
        raise NotImplementedError

    def list_hidden(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        """Like `listdir` but sure to include hidden (`.`) names (temporary upload files)."""
        return self.listdir(folder)

    def open_read(self, path: str, size: int | None = None) -> BinaryIO:
        """A readable binary stream of the file (closing it ends the transfer).

        `size` (from `stat`) lets the stream check that the whole file arrived; a refused or cut
        transfer raises from `read`, never a silent early end.
        """
        raise NotImplementedError

    def write_from(self, local_path: str, path: str) -> None:
        """Write the local file to `path` (overwriting it)."""
        raise NotImplementedError

    def rename(self, path: str, new_path: str) -> None:
        """Rename `path` to `new_path`, replacing `new_path` if it exists."""
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def makedirs(self, folder: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
