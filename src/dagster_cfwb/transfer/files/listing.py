"""Describe files on a file server and match them against glob patterns (no Dagster, no network)."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["GLOB_CHARS", "RemoteFile", "has_glob", "match_files", "split_pattern"]

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class RemoteFile:
    """One file on a server or share, as returned by `list`.

    Attributes:
        path: path on the server, e.g. `"inbox/eleves_2024.csv"` (`/`-separated).
        size: size in bytes.
        modified: last modification time (UTC), or None when the server does not say.
    """

    path: str
    size: int
    modified: datetime | None

    @property
    def name(self) -> str:
        """File name without folder, e.g. `"eleves_2024.csv"`."""
        return posixpath.basename(self.path)

    @property
    def signature(self) -> str:
        """`size:mtime` — changes whenever the file is rewritten or still growing."""
        stamp = self.modified.timestamp() if self.modified else ""
        return f"{self.size}:{stamp}"


def has_glob(text: str) -> bool:
    """True if `text` holds a glob character (`*`, `?` or `[`)."""
    return any(c in GLOB_CHARS for c in text)


def split_pattern(pattern: str) -> tuple[str, str]:
    """Split `"inbox/2024/*.csv"` into the folder to list (`"inbox/2024"`) and the name glob.

    Glob characters are allowed in the last part only; the folder part must be literal.

    Raises:
        ValueError: a glob in a folder name, or `..` in the path.
    """
    clean = pattern.strip() or "*"
    folder, name = posixpath.split(clean)
    if ".." in clean.split("/"):
        raise ValueError(f"Pattern `{pattern}` may not contain `..`.")
    if has_glob(folder):
        raise ValueError(
            f"Pattern `{pattern}`: glob characters are allowed in the file name only, not in the folder "
            f"`{folder}`; use recursive=True to search sub-folders."
        )
    return folder, name or "*"


def match_files(files: list[RemoteFile], name_glob: str) -> list[RemoteFile]:
    """Files whose name matches `name_glob` (case-sensitive), sorted by path.

    As in a shell, a wildcard does not match a hidden name (starting with `.`) unless the pattern
    itself starts with `.`: uploads and downloads in progress (`.<name>.<random>.part`) are never
    picked up by a `*` load or sensor.
    """
    show_hidden = name_glob.startswith(".")
    return sorted(
        (
            f
            for f in files
            if fnmatch.fnmatchcase(f.name, name_glob) and (show_hidden or not f.name.startswith("."))
        ),
        key=lambda f: f.path,
    )


def utc_from_timestamp(seconds: float | None) -> datetime | None:
    """A UTC datetime from a POSIX timestamp (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
