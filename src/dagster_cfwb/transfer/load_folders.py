"""Local folders that hold rows on their way to a server (MySQL's LOAD DATA files), and their cleanup.

A folder is named `cfwb_load_<host>_<pid>_<random>` in the system temporary directory. It is
removed in `finally` when the load ends; a process killed mid-load (SIGKILL, OOM) cannot do
that, so every load first removes the folders of this host whose process no longer exists
(`remove_orphan_load_folders`). A folder of a live process — or of another host sharing
the directory — is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["load_folder", "remove_orphan_load_folders"]

_PREFIX = "cfwb_load_"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


@contextmanager
def load_folder(root: str | None = None) -> Iterator[str]:
    """A fresh private folder for one load's files, removed with its content on exit."""
    folder = tempfile.mkdtemp(prefix=f"{_PREFIX}{_host()}_{os.getpid()}_", dir=root)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphan_load_folders(root: str | None = None) -> list[str]:
    """Remove `cfwb_load_*` folders of this host whose process is gone; return their paths."""
    root = root or tempfile.gettempdir()
    pattern = re.compile(rf"{_PREFIX}{re.escape(_host())}_(\d+)_")
    removed: list[str] = []
    try:
        entries = os.listdir(root)
    except OSError:
        return removed
    for name in entries:
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            path = os.path.join(root, name)
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.exists(path):
                removed.append(path)
    return removed
