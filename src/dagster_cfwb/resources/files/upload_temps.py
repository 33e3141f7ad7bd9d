"""Temporary names of uploads in progress, and removing the ones a failed or dead upload left behind.

An upload writes `.<name>.<8 hex>.part` beside its target and renames it when complete. A failed
upload removes it; one that could not (the server went away) is removed by the next upload of the
same target once untouched for a while (a live upload by another run keeps writing, so keeps it fresh).
"""

from __future__ import annotations

import posixpath
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from dagster_cfwb.resources.files.file_session import FileSession

__all__ = ["remove_stale_uploads", "temporary_upload_name"]


def temporary_upload_name(path: str) -> str:
    """`inbox/x.csv` → `inbox/.x.csv.<8 hex>.part` (hidden, so `*` globs and sensors skip it)."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f".{name}.{secrets.token_hex(4)}.part")


def remove_stale_uploads(
    session: FileSession, path: str, keep: str, older_than_seconds: float, log: Callable[[str], None]
) -> list[str]:
    """Remove temporary files of uploads of `path` untouched for `older_than_seconds`; best effort.

    Returns the paths removed. `keep` (this upload's own temporary name) is never removed; nor is a
    file whose time the server does not give.
    """
    folder, name = posixpath.split(path)
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{8}}\.part")
    limit = time.time() - older_than_seconds
    try:
        entries = session.list_hidden(folder or ".")
    except Exception:  # a listing problem must not fail the upload
        return []
    removed = []
    for entry, is_dir in entries:
        temp = posixpath.join(folder, entry.name) if folder else entry.name
        stale = entry.modified is not None and entry.modified.timestamp() < limit
        if is_dir or not stale or temp == keep or not pattern.fullmatch(entry.name):
            continue
        try:
            session.remove(temp)
        except Exception:  # another run may have removed it
            continue
        removed.append(temp)
        log(f"Removed `{temp}`, left by an earlier upload that did not finish")
    return removed
