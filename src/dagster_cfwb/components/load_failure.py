"""Explain why a code location failed to load, when the cause is in its `defs.yaml` files.

Dagster stops at the first component that fails and shows it inside a component tree and a stack
trace; `explain_load_failure` lists every problem of the location's YAML instead, in the
format of `cfwb check`. A failure that comes from elsewhere (a Python file) is left as it is.
"""

from __future__ import annotations

import re
from pathlib import Path

from dagster_cfwb.components.defs_check import DefsCheckReport, check_defs_files, file_line, find_defs_files

__all__ = ["explain_load_failure"]

# raised by Dagster for a defs.yaml's `type:` that names no class (before any component tree exists)
_YAML_LOAD_ERRORS = {"DagsterUnresolvableSymbolError"}
# a YAML file marked failed in Dagster's component tree, or a `defs.yaml:<line>` of its file-model error
_FAILED_YAML = re.compile(r"defs\.ya?ml(?:[^\n]*\(error\)|:\d+)")


def explain_load_failure(error: BaseException, defs_folder: Path) -> ValueError | None:
    """A ComponentYamlError listing every problem of the location's defs.yaml, when they explain `error`.

    Called when Dagster failed to load a code location: its own message names only the first
    component that failed, wrapped in a component tree and a stack trace. None when the YAML files
    have no problem (the failure comes from elsewhere, e.g. Python code): re-raise `error` then.
    """
    from dagster_cfwb.components.yaml_errors import ComponentYamlError

    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    ours = next((e for e in chain if isinstance(e, ComponentYamlError)), None)
    from_yaml = ours is not None or any(
        _FAILED_YAML.search(str(e)) or type(e).__name__ in _YAML_LOAD_ERRORS for e in chain
    )
    if not from_yaml:  # e.g. a Python file of defs/ failed: its own error is the right one
        return None
    try:
        report = check_defs_files(find_defs_files(defs_folder))
    except Exception:  # the explanation must never hide the original error
        report = DefsCheckReport()
    problems = sorted(report.problems, key=file_line) or (list(ours.problems) if ours else [])
    if not problems:
        return None
    count = len(problems)
    head = (
        f"{count} problem{'s' if count > 1 else ''} in the defs.yaml files of this code location "
        "(`cfwb check` lists them in seconds):"
    )
    return ComponentYamlError("\n".join([head, *(f"- {p}" for p in problems)]), problems=problems)
