"""`cfwb check [PATH]`: the fast check of a code location's `defs.yaml` files.

PATH is a code location folder (e.g. `platform/enseignement`), a `defs` folder, one
`defs.yaml`, or the platform folder (every location in it); by default the current folder.
Every document of every `defs.yaml` is validated against its component (see
`dagster_cfwb.components.defs_check`); each problem is printed once, without a traceback,
and the exit code is 1 when there is any.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TextIO

__all__ = ["run_check"]


def run_check(path: str | Path | None = None, *, out: TextIO | None = None) -> int:
    """Check the `defs.yaml` files under `path`; print the problems; return the exit code."""
    started = time.perf_counter()
    out = out or sys.stdout
    target = Path(path or ".").resolve()
    if not target.exists():
        print(
            f"cfwb check: `{path}` does not exist (give a code location folder, a defs folder or a defs.yaml)",
            file=out,
        )
        return 1
    from dagster_cfwb.components.defs_check import check_defs_files, find_defs_files, find_project_root

    files = find_defs_files(target)
    if not files:
        located = find_project_root(target) is not None
        print(
            f"cfwb check: no defs.yaml under {target}" + (" (nothing to check)" if located else ""), file=out
        )
        return 0 if located else 1
    by_project: dict[Path | None, list[Path]] = defaultdict(list)
    for file in files:
        by_project[find_project_root(file)].append(file)
    problems: list[str] = []
    not_checked: list[str] = []
    components, narrowed = 0, False
    for project_root, project_files in by_project.items():
        # One file or folder of a location is checked with all the others: a `resource_key` declared
        # in `defs/ressources/defs.yaml` is then known; only the problems of `project_files` are shown.
        everything = find_defs_files(project_root) if project_root is not None else []
        if set(project_files) < set(everything):
            narrowed = True
            report = check_defs_files(everything, project_root)
            wanted = tuple(f"{Path(f).resolve()}{sep}" for f in project_files for sep in (",", ":"))
            problems.extend(p for p in report.all_problems if p.startswith(wanted))
        else:
            report = check_defs_files(project_files, project_root)
            problems.extend(report.all_problems)
            components += report.components
        not_checked.extend(report.not_checked)
    for problem in problems:
        print(f"- {_relative(problem)}", file=out)
    for item in not_checked:
        print(f"  not checked: {_relative(item)}", file=out)
    seconds = time.perf_counter() - started
    counted = f"{len(files)} defs.yaml file{'s' if len(files) != 1 else ''}"
    if not narrowed:
        counted += f", {components} component{'s' if components != 1 else ''}"
    if problems:
        print(
            f"cfwb check: {len(problems)} problem{'s' if len(problems) > 1 else ''} in {counted} ({seconds:.1f} s)",
            file=out,
        )
        return 1
    print(f"cfwb check: OK, {counted} checked ({seconds:.1f} s)", file=out)
    return 0


def _relative(text: str) -> str:
    """Paths shown relative to the current folder when they are below it (shorter lines)."""
    cwd = str(Path.cwd().resolve())
    return text.replace(cwd + "/", "") if cwd != "/" else text
