"""Temporary files of writers, named after their owner, and removal of the ones a dead writer left.

A lakehouse write goes to `.cfwb-<owner>-<pid>-<start>-<random>.parquet.tmp` first (beside the target for
a local folder, in the system temp folder for Azure), then publishes it. A writer killed in between
(SIGKILL, a lost container) cannot remove it; the next write in the same folder does:

- a temp file of **this machine** (same host name and PID namespace, i.e. `<owner>` matches) is
  removed when its process no longer exists (`os.kill(pid, 0)`, a zombie counts as dead) or is
  another process that got the same PID later (its start time `<start>` differs); a live writer's
  file is never touched, however old;
- a temp file of **another machine** (a shared NFS folder), or one whose name does not say its
  owner (written before names carried it), is removed once untouched for
  `ORPHAN_MAX_AGE_SECONDS` (24 hours): a live writer touches its file at least once a minute while
  batches arrive (`touching`).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

__all__ = [
    "ORPHAN_MAX_AGE_SECONDS",
    "TOUCH_EVERY_SECONDS",
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "create_temp_file",
    "remove_orphaned_temp_files",
    "touching",
]

TEMP_PREFIX = ".cfwb-"
TEMP_SUFFIX = ".parquet.tmp"
ORPHAN_MAX_AGE_SECONDS = 24 * 3600
TOUCH_EVERY_SECONDS = 60.0
_NAME = re.compile(r"\.cfwb-(?:(?P<owner>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-)?[^/]*\.parquet\.tmp\Z")


@cache
def _owner() -> str:
    """8 hex digits naming this host and PID namespace (PIDs mean nothing outside both)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:8]


def _process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of a process, from `/proc`; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def create_temp_file(folder: str | None) -> str:
    """Create an empty temp file in `folder` (None: the system temp folder); return its path."""
    pid = os.getpid()
    state = _process_state(pid)
    start = state[1] if state else 0
    fd, path = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{_owner()}-{pid}-{start}-", suffix=TEMP_SUFFIX, dir=folder
    )
    os.close(fd)
    return path


def _alive(pid: int, start: int) -> bool:
    """True if the process that created a temp file may still run (when unsure: True)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # PermissionError: it exists, owned by another user
    state = _process_state(pid)
    if state is None:
        return True
    letter, started = state
    return letter not in ("Z", "X") and (start == 0 or started == start)


def remove_orphaned_temp_files(
    folder: str | None, *, max_age_seconds: float = ORPHAN_MAX_AGE_SECONDS
) -> list[str]:
    """Remove the temp files of dead writers in `folder` (see the module doc); return their paths.

    Never raises: a file that vanished meanwhile, or one we may not remove, is skipped.
    """
    base = Path(folder or tempfile.gettempdir())
    removed: list[str] = []
    try:
        candidates = list(base.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    now = time.time()
    for candidate in candidates:
        match = _NAME.match(candidate.name)
        if not match:
            continue
        owner, pid, start = match.group("owner"), match.group("pid"), match.group("start")
        try:
            if owner == _owner() and pid is not None:
                if int(pid) == os.getpid() or _alive(int(pid), int(start)):
                    continue
            elif now - candidate.stat().st_mtime < max_age_seconds:
                continue
            candidate.unlink()
        except OSError:
            continue
        removed.append(str(candidate))
    return removed


def touching(items: Iterable[T], path: str, *, every_seconds: float = TOUCH_EVERY_SECONDS) -> Iterator[T]:
    """Yield `items`, refreshing the modification time of `path` at most every `every_seconds`.

    Keeps a slow writer's temp file from looking abandoned to writers on other machines.
    """
    last = time.monotonic()
    for item in items:
        now = time.monotonic()
        if now - last >= every_seconds:
            try:
                os.utime(path)
            except OSError:
                pass
            last = now
        yield item
