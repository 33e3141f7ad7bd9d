"""Check that every resource key named in a component's YAML exists in the code location.

A component cannot see the resources a location binds in Python, so this check runs on the final
`Definitions`: call `check_resource_keys` in the location's `definitions.py` (the platform
template does). A missing key is reported with the YAML file and line that names it, the field, and
the keys that do exist.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import dagster as dg

from dagster_cfwb.components.yaml_errors import ComponentYamlError

__all__ = ["check_resource_keys"]

_KEY_FIELDS = ("resource_key", "lakehouse_resource_key")


def _yaml_files(definition) -> list[str]:
    files = []
    specs = getattr(definition, "specs", None) or []
    for spec in specs:
        refs = spec.metadata.get("dagster/code_references") if spec.metadata else None
        for ref in getattr(refs, "code_references", []) or []:
            path = getattr(ref, "file_path", None)
            if path and path.endswith((".yaml", ".yml")):
                files.append(path)
    return files


def _locate(files: list[str], key: str) -> tuple[str, int, str] | None:
    pattern = re.compile(rf"\b({'|'.join(_KEY_FIELDS)})\s*:\s*['\"]?{re.escape(key)}['\"]?\s*(?:[,}}#]|$)")
    for file in dict.fromkeys(files):
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            match = pattern.search(line)
            if match:
                return file, number, match.group(1)
    return None


def check_resource_keys(defs: dg.Definitions) -> dg.Definitions:
    """Return `defs` unchanged, or raise ComponentYamlError listing each unknown resource key.

    Example:

    ```python
    @dg.definitions
    def defs():
        location = dg.load_from_defs_folder(...)
        return check_resource_keys(dg.Definitions.merge(location, resources_defs))
    ```
    """
    provided = set((defs.resources or {}).keys()) | {"io_manager"}
    problems = []
    for definition in [*(defs.assets or []), *(defs.asset_checks or [])]:
        required = set(getattr(definition, "required_resource_keys", set()) or set())
        for key in sorted(required - provided):
            close = difflib.get_close_matches(key, sorted(provided), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            located = _locate(_yaml_files(definition), key)
            where = f"{located[0]}, line {located[1]}, field `{located[2]}`" if located else "a component"
            names = ", ".join(f"`{k}`" for k in sorted(provided - {"io_manager"})) or "none"
            problems.append(
                f"- {where}: unknown resource key `{key}`.{hint} Resources of this code location: {names}."
            )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ComponentYamlError(
            f"{len(unique)} unknown resource key(s) — declare the resource (ResourcesComponent or the location's "
            "definitions.py) or fix the name:\n" + "\n".join(unique)
        )
    return defs
