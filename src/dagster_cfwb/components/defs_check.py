"""Validate every `defs.yaml` of a code location against its component, without loading the location.

What `cfwb check` runs. Each YAML document goes through the same steps as when Dagster loads the
location (YAML parse, the file's top-level keys, the component `type:`, `{{ … }}` templates
rendered, the component's own model and validators, then its `build_defs`, which only wires
specs), but no Python file, dbt project or resource of the location is loaded and no
`Definitions` is merged, so it takes a second or two. Across files it checks the `resource_key`s
and that no asset is written twice. Every problem is returned once, in the house format (file,
line, field, expected, found, did-you-mean, the line).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import logging
import re
import sys
import tomllib
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dagster_cfwb.components.yaml_syntax_errors import yaml_syntax_problems

__all__ = [
    "DefsCheckReport",
    "check_defs_files",
    "file_line",
    "find_defs_files",
    "find_project_root",
]

_TOP_LEVEL = ("type", "attributes", "requirements", "template_vars_module", "post_processing")
_SKIPPED_FOLDERS = {".venv", "venv", "node_modules", "__pycache__", ".git", "dbt_packages", ".dagster_home"}
_ENV_USE = re.compile(r"""\benv\(\s*['"]([^'"]+)['"]""")
# What `dagster_cfwb.deployment.platform_resources` binds (importing it costs 2 s: a test keeps these equal).
PLATFORM_RESOURCE_KEYS = ("azure_adls", "lakehouse", "lakehouse_io_manager", "postgresql")
_RESOURCE_KEY_FIELDS = ("resource_key", "lakehouse_resource_key")


@dataclasses.dataclass
class _Seen:
    """What the documents of one location declare and use, for the checks across files."""

    writers: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    resources: set[str] = dataclasses.field(default_factory=set)
    resource_uses: list[tuple[str, Path, int, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DefsCheckReport:
    """What `cfwb check` found: the files and components checked, the problems, what was skipped."""

    files: list[Path] = dataclasses.field(default_factory=list)
    components: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)  # what makes the location fail to load
    requirements: list[str] = dataclasses.field(default_factory=list)  # `env()` not in `requirements: env:`
    not_checked: list[str] = dataclasses.field(default_factory=list)

    @property
    def all_problems(self) -> list[str]:
        """Every problem, in file order (what `cfwb check` prints)."""
        return sorted(dict.fromkeys([*self.problems, *self.requirements]), key=file_line)

    @property
    def ok(self) -> bool:
        return not self.all_problems


def file_line(problem: str) -> tuple[str, int]:
    match = re.match(r"(.*?), line (\d+)", problem)
    return (match.group(1), int(match.group(2))) if match else (problem, 0)


def find_defs_files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else every `defs.yaml`/`defs.yml` below it."""
    if path.is_file():
        return [path]
    found = []
    for file in sorted([*path.rglob("defs.yaml"), *path.rglob("defs.yml")]):
        if not _SKIPPED_FOLDERS.intersection(file.relative_to(path).parts[:-1]):
            found.append(file)
    return found


def find_project_root(path: Path) -> Path | None:
    """The nearest folder at or above `path` holding a `pyproject.toml` (a code location)."""
    start = path if path.is_dir() else path.parent
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def _defs_module(project_root: Path, files: Sequence[Path]) -> types.ModuleType:
    """A stand-in for the location's `<root_module>.defs` package (only its name and path are read)."""
    root_module = None
    try:
        config = tomllib.loads((project_root / "pyproject.toml").read_text(encoding="utf-8"))
        root_module = config.get("tool", {}).get("dg", {}).get("project", {}).get("root_module")
    except (OSError, tomllib.TOMLDecodeError):
        pass
    defs_path = project_root / "src" / root_module / "defs" if root_module else None
    if defs_path is None or not defs_path.is_dir():
        parents = [p for f in files for p in f.parents if p.name == "defs"]
        defs_path = parents[0] if parents else (files[0].parent if files else project_root)
        root_module = defs_path.parent.name
    module = types.ModuleType(f"{root_module}.defs")
    module.__file__ = str(defs_path / "__init__.py")
    return module


def _our_components() -> dict[str, type]:
    import dagster as dg

    from dagster_cfwb import components

    return {
        name: obj
        for name in components.__all__
        if isinstance(obj := getattr(components, name), type) and issubclass(obj, dg.Component)
    }


def check_defs_files(files: Sequence[Path], project_root: Path | None = None) -> DefsCheckReport:
    """Check `files` (defs.yaml of one code location); `project_root` gives `context.project_root`."""
    from dagster.components.core.component_tree import ComponentTree

    report = DefsCheckReport(files=[Path(f).resolve() for f in files])
    if not report.files:
        return report
    root = (project_root or find_project_root(report.files[0]) or report.files[0].parent).resolve()
    if (root / "src").is_dir() and str(root / "src") not in sys.path:
        sys.path.insert(0, str(root / "src"))  # as Dagster does: a `template_vars_module` may be imported
    tree = ComponentTree(defs_module=_defs_module(root, report.files), project_root=root)
    components = _our_components()
    seen = _Seen()
    for file in report.files:
        try:
            _check_file(file, tree, components, report, seen)
        except Exception as e:  # a case this check does not foresee: say so, never a traceback
            report.problems.append(
                f"{file}: `cfwb check` could not check this file ({type(e).__name__}: {e}); "
                "run `dg check defs` to load it"
            )
    _check_resource_keys(root, tree, seen, report)
    for key, places in seen.writers.items():
        if len(places) > 1:
            report.problems.append(
                f"{places[1]}: the asset `{key}` is also written at {places[0]}; each lakehouse table or "
                "export target must be written by one import or export only"
            )
    return report


def _check_file(file: Path, tree: Any, components: dict[str, type], report: DefsCheckReport, seen) -> None:
    from dagster_shared.yaml_utils import parse_yamls_with_source_position

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        report.problems.append(f"{file}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8")
        return
    except OSError as e:
        report.problems.append(f"{file}: cannot be read ({e.strerror})")
        return
    syntax = yaml_syntax_problems(text, str(file))
    if syntax:
        report.problems.extend(p.render(text) for p in syntax)
        return
    documents = parse_yamls_with_source_position(text, filename=str(file))
    if not documents:
        report.problems.append(f"{file}: the file is empty; it needs `type:` and `attributes:`")
    for index, document in enumerate(documents):
        _check_document(file, index, len(documents), document, tree, components, report, seen)


def _line(document: Any, path: Sequence[str | int]) -> int:
    position, _ = document.source_position_tree.lookup_closest_and_path(list(path), None)
    return position.start.line


def _quoted(file: Path, line: int) -> str:
    try:
        text = file.read_text(encoding="utf-8").splitlines()[line - 1].rstrip()
    except (OSError, IndexError):
        return ""
    return f"\n    {line:>4} | {text}"


def _check_document(
    file: Path, index: int, count: int, document: Any, tree: Any, components, report, seen
) -> None:
    value = document.value
    which = f" (document {index + 1} of {count})" if count > 1 else ""
    if not isinstance(value, dict):
        found = "an empty document" if value is None else f"a {type(value).__name__}"
        report.problems.append(
            f"{file}, line {document.source_position_tree.position.start.line}{which}: expected a mapping with "
            f"`type:` and `attributes:`; found {found}"
            + (" (remove the extra `---`?)" if value is None else "")
        )
        return
    problems: list[str] = []
    for key in value:
        if key not in _TOP_LEVEL:
            close = difflib.get_close_matches(str(key), _TOP_LEVEL, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            line = _line(document, [key])
            problems.append(
                f"{file}, line {line}{which}: unknown top-level key `{key}`.{hint} Valid keys: "
                f"{', '.join(f'`{k}`' for k in _TOP_LEVEL)}.{_quoted(file, line)}"
            )
    report.requirements.extend(_requirement_problems(file, which, document))
    type_name = value.get("type")
    component = None
    if not isinstance(type_name, str) or not type_name.strip():
        problems.append(
            f"{file}, line {_line(document, ['type'])}{which}: required key `type` is missing: the component, "
            f"e.g. `type: dagster_cfwb.LakehouseImportComponent`"
        )
    else:
        component = _component_class(file, which, document, type_name, components, problems, report)
    if component is not None and ("attributes" in value or not problems):  # not when `attributes` is misspelt
        loaded = _load(file, index, which, document, component, tree, problems)
        report.components += 1
        if loaded is not None:
            _record_writes(file, document, loaded, seen.writers)
    if component is not None:
        _record_resources(file, which, document, component, seen)
    report.problems.extend(problems)


def _component_class(file, which, document, type_name: str, components, problems, report) -> type | None:
    module, _, name = type_name.strip().rpartition(".")
    if module.split(".")[0] != "dagster_cfwb":
        report.not_checked.append(
            f"{file}{which}: `{type_name}` is not a dagster_cfwb component (`dg check defs` loads it)"
        )
        return None
    if name in components:
        return components[name]
    close = difflib.get_close_matches(name, list(components), n=1, cutoff=0.5)
    hint = f" Did you mean `dagster_cfwb.{close[0]}`?" if close else ""
    line = _line(document, ["type"])
    problems.append(
        f"{file}, line {line}{which}, field `type`: unknown component `{type_name}`.{hint} Components of "
        f"dagster_cfwb: {', '.join(f'`dagster_cfwb.{n}`' for n in components)}.{_quoted(file, line)}"
    )
    return None


def _strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _requirement_problems(file: Path, which: str, document: Any) -> list[str]:
    value = document.value
    requirements = value.get("requirements") if isinstance(value.get("requirements"), dict) else {}
    declared = requirements.get("env") or []
    if not isinstance(declared, list):
        return [
            f"{file}, line {_line(document, ['requirements', 'env'])}{which}, field `requirements.env`: "
            f"expected a list of variable names, e.g. `env: [MY_VARIABLE]`; found {declared!r}"
        ]
    used = list(dict.fromkeys(n for _, t in _strings(value.get("attributes")) for n in _ENV_USE.findall(t)))
    missing = [n for n in used if n not in declared]
    wanted = ", ".join([*declared, *missing])
    problems = []
    for path, text in _strings(value.get("attributes"), ("attributes",)):
        for name in _ENV_USE.findall(text):
            if name not in missing:
                continue
            missing.remove(name)
            line = _line(document, path)
            field = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in path[1:]).lstrip(".")
            problems.append(
                f"{file}, line {line}{which}, field `{field}`: uses `{{{{ env('{name}') }}}}` but "
                f"`requirements: env:` does not list `{name}`; end the document with "
                f"`requirements: {{env: [{wanted}]}}`{_quoted(file, line)}"
            )
    return problems


def _load(file, index, which, document, component, tree, problems) -> Any:
    """Validate one document the way Dagster's loader does, then build its (unbound) definitions.

    `build_defs` of our components only wires specs (no connection, no I/O): it catches what
    Dagster itself refuses, e.g. an invalid asset or check name. Its log lines are silenced.
    """
    from dagster.components.core.context import ComponentLoadContext
    from dagster.components.core.defs_module import ComponentPath, context_with_injected_scope
    from pydantic import TypeAdapter, ValidationError

    from dagster_cfwb.components.yaml_errors import ComponentYamlError

    value = document.value
    try:
        context = tree.decl_load_context.for_component_loc(ComponentPath.from_path(file.parent, index))
        context = context_with_injected_scope(context, component, value.get("template_vars_module"))
        context = context.with_source_position_tree(document.source_position_tree)
        attributes = value.get("attributes")
        model = component.get_model_cls()
        parsed = TypeAdapter(model).validate_python(attributes) if attributes is not None else None
        # a file checked alone has no ComponentDecl; nothing reads it while loading and building defs
        load_context = ComponentLoadContext.from_decl_load_context(context, None)  # type: ignore[arg-type]
        loaded = component.load(parsed, load_context)
        with _quiet_dagster_logs():
            loaded.build_defs(load_context)
        return loaded
    except ComponentYamlError as e:
        problems.extend(f"{p}" for p in e.problems)
    except ValidationError as e:
        problems.append(f"{file}, line {_line(document, ['attributes'])}{which}: {e}")
    except Exception as e:  # a template or a validator that failed otherwise: its message, no traceback
        line = _line(document, ["attributes"])
        problems.append(f"{file}, line {line}{which}: {type(e).__name__}: {e}{_quoted(file, line)}")
    return None


@contextlib.contextmanager
def _quiet_dagster_logs() -> Iterator[None]:
    import dagster as dg

    loggers = {logging.getLogger("dagster"), dg.get_dagster_logger()}
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in levels.items():
            logger.setLevel(level)


def _record_writes(file: Path, document: Any, component: Any, writers: dict[str, list[str]]) -> None:
    """Remember the asset each import and export writes, to report one written twice."""
    for field in ("imports", "exports"):
        for i, entry in enumerate(getattr(component, field, None) or []):
            try:
                key = (entry.target.asset_key if field == "imports" else entry.asset_key).to_user_string()
            except Exception:  # an entry without a computable key was already reported by its model
                continue
            place = f"{file}, line {_line(document, ['attributes', field, i])}"
            writers.setdefault(key, []).append(place)


def _record_resources(file: Path, which: str, document: Any, component: type, seen: _Seen) -> None:
    attributes = document.value.get("attributes")
    if component.__name__ == "ResourcesComponent" and isinstance(attributes, dict):
        resources = attributes.get("resources")
        seen.resources.update(str(k) for k in resources) if isinstance(resources, dict) else None
    for path, text in _strings(attributes, ("attributes",)):
        if path and path[-1] in _RESOURCE_KEY_FIELDS and "{{" not in text:
            field = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in path[1:]).lstrip(".")
            line = _line(document, path)
            seen.resource_uses.append((text, file, line, f"{file}, line {line}{which}, field `{field}`"))


def _bound_in_python(root: Path, tree: Any) -> set[str] | None:
    """Resource keys the location's definitions.py binds, or None when that cannot be read from its text."""
    definitions = Path(tree.defs_module_path).parent / "definitions.py"
    try:
        text = definitions.read_text(encoding="utf-8")
    except OSError:
        return None
    if "location_definitions(" not in text:
        return None
    keys = set(PLATFORM_RESOURCE_KEYS)
    if "extra_resources" in text:
        literal = re.search(r"extra_resources\s*=\s*\{([^{}]*)\}", text)
        if literal is None:
            return None
        keys.update(re.findall(r"""['"](\w+)['"]\s*:""", literal.group(1)))
    return keys


def _check_resource_keys(root: Path, tree: Any, seen: _Seen, report: DefsCheckReport) -> None:
    if not seen.resource_uses:
        return
    bound = _bound_in_python(root, tree)
    if bound is None:
        report.not_checked.append(
            "resource keys: the location's definitions.py binds resources `cfwb check` cannot read "
            "(`dg check defs` checks them)"
        )
        return
    known = sorted(bound | seen.resources)
    for key, file, line, place in seen.resource_uses:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        report.problems.append(
            f"{place}: unknown resource key `{key}`.{hint} Resources of this code location: "
            f"{', '.join(f'`{k}`' for k in known)} (declare others with a ResourcesComponent)."
            f"{_quoted(file, line)}"
        )
