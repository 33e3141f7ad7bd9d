"""The platform folder's layout, plain Python: find it, read its workspace, load a code location's
definitions, check and build dbt manifests (used by the `cfwb` command and the platform template)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = [
    "CodeLocation",
    "dbt_manifest_is_current",
    "find_platform_dir",
    "load_location_definitions",
    "parse_dbt_projects",
    "read_workspace",
]


@dataclass(frozen=True)
class CodeLocation:
    """One `python_module` entry of `workspace.yaml`."""

    name: str
    module_name: str
    working_directory: Path  # absolute

    @property
    def project_dir(self) -> Path:
        """The location's dg project folder (holding `pyproject.toml`)."""
        return (
            self.working_directory.parent if self.working_directory.name == "src" else self.working_directory
        )


def find_platform_dir(start: str | os.PathLike | None = None) -> Path:
    """The platform folder: `start` if given, else `$CFWB_PLATFORM_DIR`, else `./platform` or a parent's.

    Raises:
        FileNotFoundError: no folder with a `workspace.yaml` was found (the message says where we looked).
    """
    if start is not None or os.environ.get("CFWB_PLATFORM_DIR"):
        candidate = Path(start or os.environ["CFWB_PLATFORM_DIR"]).expanduser().resolve()
        if not (candidate / "workspace.yaml").is_file():
            raise FileNotFoundError(f"`{candidate}` is not a platform folder: it has no `workspace.yaml`.")
        return candidate
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        for candidate in (folder, folder / "platform"):
            if (candidate / "workspace.yaml").is_file():
                return candidate
    raise FileNotFoundError(
        f"No platform folder found from `{here}`: expected `platform/workspace.yaml` here or in a parent "
        "folder. Pass --platform-dir or set CFWB_PLATFORM_DIR."
    )


def read_workspace(platform_dir: Path) -> list[CodeLocation]:
    """The code locations listed in `<platform_dir>/workspace.yaml`.

    Entries are `python_file` (`relative_path` of `<src>/<package>/definitions.py` and its
    `working_directory`, both relative to the workspace file) or `python_module`.
    """
    workspace_file = platform_dir / "workspace.yaml"
    content = yaml.safe_load(workspace_file.read_text(encoding="utf-8")) or {}
    locations = []
    for i, entry in enumerate(content.get("load_from") or []):
        entry = entry or {}
        if isinstance(entry.get("python_file"), dict) and "relative_path" in entry["python_file"]:
            spec = entry["python_file"]
            file = (platform_dir / spec["relative_path"]).resolve()
            working_directory = (platform_dir / spec.get("working_directory", ".")).resolve()
            try:
                module_name = ".".join(file.relative_to(working_directory).with_suffix("").parts)
            except ValueError:
                raise ValueError(
                    f"`{workspace_file}`: load_from[{i}]: `{spec['relative_path']}` is not inside its "
                    f"working_directory `{spec.get('working_directory')}`."
                ) from None
        elif isinstance(entry.get("python_module"), dict) and "module_name" in entry["python_module"]:
            spec = entry["python_module"]
            module_name = spec["module_name"]
            working_directory = (platform_dir / spec.get("working_directory", ".")).resolve()
        else:
            raise ValueError(
                f"`{workspace_file}`: load_from[{i}] must be a `python_file` with `relative_path` (or a "
                f"`python_module` with `module_name`); got {entry!r}."
            )
        locations.append(
            CodeLocation(
                name=spec.get("location_name") or module_name.split(".")[0],
                module_name=module_name,
                working_directory=working_directory,
            )
        )
    return locations


def load_location_definitions(location: CodeLocation):
    """Import a location's definitions module as Dagster does and return its `Definitions`.

    The working directory is put first on `sys.path` (as `workspace.yaml` asks). A module-level
    `Definitions` or a `@dg.definitions` function named `defs` is accepted.
    """
    import dagster as dg

    path = str(location.working_directory)
    if path not in sys.path:
        sys.path.insert(0, path)
    module = importlib.import_module(location.module_name)
    defs = getattr(module, "defs", None)
    if defs is None:
        raise AttributeError(f"Module `{location.module_name}` of location `{location.name}` has no `defs`.")
    if isinstance(defs, dg.Definitions):
        return defs
    loaded = defs()
    if not isinstance(loaded, dg.Definitions):
        raise TypeError(
            f"`{location.module_name}.defs()` returned {type(loaded).__name__}, expected Definitions."
        )
    return loaded


def dbt_manifest_is_current(project_dir: Path) -> bool:
    """True when `target/manifest.json` is newer than every model, macro, test and YAML file."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.is_file():
        return False
    built = manifest.stat().st_mtime
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds", "snapshots"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return all(p.stat().st_mtime <= built for p in sources if p.exists())


def parse_dbt_projects(platform_dir: Path, *, quiet: bool = True, only_if_stale: bool = False) -> list[Path]:
    """Run `dbt parse` in every `<location>/dbt_project` so each has `target/manifest.json`.

    This is the packaging step (image build, `cfwb demo`): code locations read the manifest at
    load time and never run dbt to build it in production.

    Args:
        platform_dir: the platform folder.
        quiet: pass `--quiet` to dbt.
        only_if_stale: skip projects whose manifest is newer than all their files.
    """
    dbt = Path(sys.prefix) / "bin" / "dbt"
    parsed = []
    for project in sorted(platform_dir.glob("*/dbt_project/dbt_project.yml")):
        folder = project.parent
        if only_if_stale and dbt_manifest_is_current(folder):
            continue
        command = [str(dbt) if dbt.exists() else "dbt", "parse", "--profiles-dir", str(folder)]
        if quiet:
            command.append("--quiet")
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"`dbt parse` failed in `{folder}` (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        parsed.append(folder)
    return parsed
