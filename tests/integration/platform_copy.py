"""Copy platform/ to a temporary folder for tests that change or run it (no demo state, no dbt runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
_SKIP = {".dagster_home", "logs", "__pycache__", ".pytest_cache", "dbt_packages"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n in _SKIP}
    if Path(folder).name == "target":  # keep only the dbt manifest, not the run artefacts
        skipped |= {n for n in names if n != "manifest.json"}
    return skipped


def copy_platform(destination: Path) -> Path:
    """Copy the platform folder into ``destination/platform`` and return that path."""
    target = destination / "platform"
    shutil.copytree(PLATFORM, target, ignore=_ignore)
    return target
