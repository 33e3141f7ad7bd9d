"""The layers of docs/architecture.md, checked: data flows down, nothing imports upward.

Read from the source with `ast` (nothing is imported), every `import` and `from … import`,
relative ones resolved, including those inside functions:

- `transfer/` is plain Python: it imports no Dagster package (`dagster`, `dagster_*`) and,
  from this package, only `dagster_cfwb.transfer` (and `dagster_cfwb.errors`, which imports nothing).
- `resources/` never imports `components`, `cli`, `deployment`, `sensors` or `io_managers`.
- `notifications/` and `sensors/` never import `components`, `cli` or `deployment`;
  `notifications/` never imports `sensors` (sensors send notifications, not the reverse).
- `cli` is imported by nobody in the package but `cli` itself; outside, only the `cfwb`
  console script names it.
- The platform template (`platform/**/*.py`) imports only the public package: any existing
  `dagster_cfwb` module except `dagster_cfwb.cli…`, the sub-modules of `dagster_cfwb.transfer`
  (its package-level names are public) and modules whose name starts with `_`.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "dagster_cfwb"

FORBIDDEN = {
    "resources": ("components", "cli", "deployment", "sensors", "io_managers"),
    "notifications": ("components", "cli", "deployment", "sensors"),
    "sensors": ("components", "cli", "deployment"),
    "io_managers": ("components", "cli", "deployment", "sensors"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    base = SRC.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in `path`; `from m import x` also yields `m.x` when that is a module."""
    if package is None:
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [
                (node.lineno, f"{module}.{a.name}")
                for a in node.names
                if module.startswith("dagster_cfwb") and _exists(f"{module}.{a.name}")
            ]
    return found


def _within(module: str, parent: str) -> bool:
    return module == parent or module.startswith(parent + ".")


def _package_imports(layer: str | None = None):
    """(where, module) of every import of the package's modules (of one layer when given)."""
    folder = PACKAGE / layer if layer else PACKAGE
    for path in sorted(folder.rglob("*.py")):
        for line, module in _imports(path):
            yield f"{path.relative_to(SRC)}:{line}", module


# `dagster_cfwb/errors.py` (CfwbError) imports nothing (tests/unit/test_error_classes.py): every layer may use it.
ROOT_ERROR = "dagster_cfwb.errors"


def test_transfer_is_plain_python():
    bad = [
        f"{where} imports `{module}`"
        for where, module in _package_imports("transfer")
        if (module.split(".")[0].startswith("dagster") and not _within(module, "dagster_cfwb"))
        or (
            _within(module, "dagster_cfwb")
            and not _within(module, "dagster_cfwb.transfer")
            and module != ROOT_ERROR
        )
    ]
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_upward_imports(layer):
    forbidden = [f"dagster_cfwb.{name}" for name in FORBIDDEN[layer]]
    bad = [
        f"{where} imports `{module}`"
        for where, module in _package_imports(layer)
        if any(_within(module, f) for f in forbidden)
    ]
    assert bad == [], "\n".join(bad)


def test_cli_is_imported_only_by_cli_and_the_console_script():
    bad = [
        f"{where} imports `{module}`"
        for where, module in _package_imports()
        if _within(module, "dagster_cfwb.cli") and not where.startswith("dagster_cfwb/cli/")
    ]
    assert bad == [], "\n".join(bad)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    points = {f"{group}:{name}": target for group, entries in project.get("entry-points", {}).items()
              for name, target in entries.items()}  # fmt: skip
    assert not [p for p, target in points.items() if _within(target.split(":")[0], "dagster_cfwb.cli")]
    assert project["scripts"]["cfwb"] == "dagster_cfwb.cli:main"


def _is_public(module: str) -> bool:
    parts = module.split(".")
    return (
        _exists(module)
        and not _within(module, "dagster_cfwb.cli")
        and not (module.startswith("dagster_cfwb.transfer.") and len(parts) > 2)
        and not any(p.startswith("_") and p != "__init__" for p in parts)
    )


def test_platform_template_imports_only_the_public_package():
    files = sorted((ROOT / "platform").rglob("*.py"))
    assert files, "no platform/**/*.py found"
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports `{module}` (not a public module of dagster_cfwb)"
        for path in files
        if ".venv" not in path.parts
        for line, module in _imports(path, package="platform")
        if _within(module, "dagster_cfwb") and not _is_public(module)
    ]
    assert bad == [], "\n".join(bad)


def test_the_checker_sees_what_it_must():
    """The rules above are only as good as the import reader: it resolves relative and nested imports."""
    here = PACKAGE / "transfer" / "postgres" / "copy.py"
    modules = {m for _, m in _imports(here)}
    assert "dagster_cfwb.transfer.prefetch" in modules
    assert "dagster_cfwb.transfer.postgres.types" in modules  # imported inside a function
    assert not _is_public("dagster_cfwb.cli.run") and not _is_public("dagster_cfwb.transfer.postgres.copy")
    assert _is_public("dagster_cfwb.transfer") and _is_public("dagster_cfwb.sensors")
    assert not _is_public("dagster_cfwb.resources.files.file_sensor")  # moved: a stale path is refused
