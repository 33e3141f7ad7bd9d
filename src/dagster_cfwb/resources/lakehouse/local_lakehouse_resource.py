"""The lakehouse in a local folder or an NFS mount, queried with DuckDB."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from dagster_cfwb.resources.lakehouse.lakehouse_base import (
    LakehouseFile,
    LakehouseResource,
    load_delta_extension,
)

__all__ = ["LocalLakehouseResource"]


class LocalLakehouseResource(LakehouseResource):
    """Lakehouse stored as Parquet files in a local folder or NFS mount, queried with DuckDB.

    It behaves exactly like `AzureAdlsResource`: `'azure://enseignement/stg/eleves.parquet'`
    in SQL means `<root>/enseignement/stg/eleves.parquet`, so the same asset code runs in the demo,
    in tests and in production. Files are written aside and renamed into place, so a reader never
    sees a half-written file; the temp file of a writer killed mid-write is removed by the next write
    in that folder. A column whose Arrow type DuckDB would read back changed (a decimal of more than
    38 digits, a duration) is refused before writing, naming the column and the cast to use.

    Example:

    ```python
    lakehouse = LocalLakehouseResource(root="/mnt/lakehouse")
    lakehouse.write_table(df, "enseignement/stg/eleves.parquet")
    df = lakehouse.query_blob_storage("FROM 'azure://enseignement/stg/eleves.parquet'")
    # a Delta table (a folder with a transaction log): merge, history, time travel
    lakehouse.write_table(df, "enseignement/stg/eleves", format="delta", mode="merge",
                          keys=["id"])
    df = lakehouse.query_blob_storage("FROM delta_scan('azure://enseignement/stg/eleves')")
    ```
    """

    root: str = Field(
        default="lakehouse",
        description=(
            "Folder that holds the lakehouse, e.g. `/mnt/nfs/lakehouse`. A relative path is taken from "
            "the directory Dagster runs in. Created on first write."
        ),
    )

    def _root(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def _describe_root(self) -> str:
        return f"local lakehouse folder `{self._root()}`"

    def _duckdb_location(self, path: str) -> str:
        return str(self._root() / path)

    def _delta_uri(self, path: str) -> str:
        return str(self._root() / path)

    def _remove_folder(self, path: str) -> None:
        import shutil

        shutil.rmtree(self._root() / path, ignore_errors=True)

    def _prepare_delta_scan(self, con) -> bool:
        return load_delta_extension(con)

    def _staging_dir(self, path: str) -> str:
        folder = (self._root() / path).parent
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)  # same filesystem as the target, so the rename is atomic

    def _store_file(self, local_file: str, path: str) -> None:
        os.replace(local_file, self._root() / path)

    def _list(self, prefix: str) -> list[LakehouseFile]:
        root = self._root()
        if not root.is_dir():
            return []
        base = root / prefix
        if base.is_file():
            candidates = [base]
        else:
            folder = base if base.is_dir() else base.parent
            if not folder.is_dir() or not folder.is_relative_to(root):
                return []
            candidates = [p for p in folder.rglob("*") if p.is_file()]
        files = []
        for p in candidates:
            rel = p.relative_to(root).as_posix()
            if not rel.startswith(prefix) or p.name.startswith("."):
                continue
            stat = p.stat()
            files.append(LakehouseFile(rel, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        return files

    def _delete(self, path: str) -> bool:
        target = self._root() / path
        if not target.is_file():
            return False
        target.unlink()
        return True
