"""A shared folder mounted on the Dagster machine (NFS, SMB/CIFS, or any local path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from pydantic import Field

from dagster_cfwb.resources.files.file_server_base import FileServerResource, FileSession
from dagster_cfwb.transfer.files.listing import RemoteFile, utc_from_timestamp

__all__ = ["NFSResource"]

_CHUNK = 1 << 20


class _FolderSession(FileSession):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, path: str) -> Path:
        full = (self.root / path.lstrip("/")).resolve()
        if full != self.root and self.root not in full.parents:
            raise PermissionError(f"`{path}` is outside the share `{self.root}`")
        return full

    def listdir(self, folder: str, name_glob: str | None = None) -> list[tuple[RemoteFile, bool]]:
        base = self._path(folder)
        if not base.is_dir():
            raise FileNotFoundError(folder)
        found = []
        with os.scandir(base) as entries:
            for entry in entries:
                stat = entry.stat()
                info = RemoteFile(entry.name, stat.st_size, utc_from_timestamp(stat.st_mtime))
                found.append((info, entry.is_dir()))
        return found

    def stat(self, path: str) -> RemoteFile | None:
        full = self._path(path)
        if not full.is_file():
            return None
        stat = full.stat()
        return RemoteFile(path, stat.st_size, utc_from_timestamp(stat.st_mtime))

    def read_into(self, path: str, offset: int, sink: BinaryIO) -> None:
        with open(self._path(path), "rb") as f:
            f.seek(offset)
            shutil.copyfileobj(f, sink, _CHUNK)

    def open_read(self, path: str, size: int | None = None) -> BinaryIO:
        return open(self._path(path), "rb")

    def write_from(self, local_path: str, path: str) -> None:
        shutil.copyfile(local_path, self._path(path))

    def rename(self, path: str, new_path: str) -> None:
        os.replace(self._path(path), self._path(new_path))

    def remove(self, path: str) -> None:
        self._path(path).unlink()

    def makedirs(self, folder: str) -> None:
        self._path(folder).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass


class NFSResource(FileServerResource):
    """A shared folder mounted on the Dagster machine (NFS, SMB/CIFS or local): same verbs as FTP/SFTP.

    Paths are relative to `root` and cannot leave it. Files are read in place (no download) when
    loading into the lakehouse; `upload` writes under a temporary name then renames, so other readers
    of the share never see a half-written file.

    Example:
    ```python
    share = NFSResource(root="/mnt/echanges/enseignement")
    result = share.to_lakehouse(
        "depots/*.xlsx", lakehouse, "enseignement/stg/depots.parquet", sheet="Données"
    )
    for f in share.list("depots/*.xlsx"):
        share.move(f.path, f"archives/{f.name}")
    ```
    """

    root: str = Field(
        description="Folder where the share is mounted on the Dagster machine, e.g. `/mnt/echanges/finances`."
    )

    def _root(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def describe(self, path: str = "") -> str:
        suffix = f"/{path.lstrip('/')}" if path else ""
        return f"nfs://{self._root().as_posix().lstrip('/')}{suffix}".replace("nfs://", "nfs:///", 1)

    def _open_session(self) -> FileSession:
        root = self._root()
        if not root.is_dir():
            raise FileNotFoundError(f"The share folder `{root}` does not exist or is not mounted.")
        return _FolderSession(root)

    def local_path(self, path: str) -> str | None:
        """Where `path` is on this machine (used by `to_lakehouse` to read in place)."""
        return str(_FolderSession(self._root())._path(path))
