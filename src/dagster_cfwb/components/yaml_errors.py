"""Turn a pydantic validation error on a `defs.yaml` into a message an analyst can act on.

Each problem names the file, the line, the field (as a YAML path such as
`imports[0].source.kind`), what was expected, what was found, and the valid options; the line
itself is shown. Values of secret-looking fields (password, token…) are never shown.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.resources.secrets import MASK, is_secret_field

__all__ = [
    "ComponentYamlError",
    "field_description",
    "format_template_error",
    "format_validation_error",
    "yaml_field_path",
]


class ComponentYamlError(CfwbError, ValueError):
    """A component's `defs.yaml` is invalid; the message lists every problem with file and line.

    `problems` holds each problem alone (file, line, field and the quoted line), so
    that `cfwb check` can print each one once; it is `[message]` when not given.
    """

    def __init__(self, message: str, problems: typing.Sequence[str] | None = None):
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


def yaml_field_path(loc: typing.Sequence[str | int]) -> str:
    """`("imports", 0, "source", "kind")` → `imports[0].source.kind`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X`, `X | None`, `list[X]`, `dict[str, X]`, `Annotated[X, …]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None:
        return None
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner_model(args[0])
    candidates = args[1:] if origin is dict else args
    if origin in (typing.Union, types.UnionType, list, tuple, dict) or origin is not None:
        for arg in candidates:
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _model_at(model: type[BaseModel], loc: typing.Sequence[str | int]) -> type[BaseModel] | None:
    """Follow field names in `loc` (list indexes and dict keys skipped) down nested models."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            # a dict key (e.g. a resource name) – stay on the model reached so far's value type
            continue
        current = _inner_model(field.annotation)
    return current


def field_description(model: type[BaseModel] | None, field: str) -> str | None:
    """The analyst-facing description of `model.field` (from `Resolver.default` or `Field`)."""
    if model is None or field not in model.model_fields:
        return None
    info = model.model_fields[field]
    for item in info.metadata:
        text = getattr(item, "description", None)
        if isinstance(text, str) and text:
            return text
    return info.description


def _raw_at(raw: Any, loc: typing.Sequence[str | int]) -> Any:
    value = raw
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _show(value: Any, field: str) -> str:
    if is_secret_field(field) and value not in (None, ""):
        return MASK
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _field_list(model: type[BaseModel] | None) -> str:
    return ", ".join(f"`{name}`" for name in model.model_fields) if model else ""


def _close_field(name: str, model: type[BaseModel] | None) -> str | None:
    """The field of `model` an unknown key `name` was most likely meant to be (`tabel` → `table`)."""
    close = difflib.get_close_matches(name, list(model.model_fields) if model else [], n=1)
    return close[0] if close else None


def _meant_fields(locs: list[list[str | int]], model: type[BaseModel]) -> set[tuple]:
    """Locs of the fields that unknown keys were meant to be: their "missing" problem repeats the typo."""
    meant = set()
    for loc in locs:
        close = _close_field(str(loc[-1]), _model_at(model, loc[:-1]))
        if close is not None:
            meant.add((*loc[:-1], close))
    return meant


# Words analysts write for a choice (French, or the medallion names), used only when the choice is valid
# where the mistake is: `kind: fichier` → `file`, `layer: silver` → `slv`.
_CHOICE_SYNONYMS = {
    "fichier": "file",
    "csv": "file",
    "excel": "file",
    "base": "database",
    "bdd": "database",
    "db": "database",
    "sgbd": "database",
    "staging": "stg",
    "silver": "slv",
    "gold": "gld",
    "quotidien": "daily",
    "mensuel": "monthly",
    "avertissement": "warn",
    "erreur": "error",
}


def _close_choice(given: str, options: list[str]) -> str | None:
    """The valid choice `given` was most likely meant to be, or None.

    In order: same word in another case, a known synonym, the one choice `given` starts or
    is the start of (3 letters at least: `files`, `datab`), then the closest spelling.
    """
    word = given.strip().lower()
    for option in options:
        if option.lower() == word:
            return option
    synonym = _CHOICE_SYNONYMS.get(word)
    if synonym in options:
        return synonym
    stems = [
        o for o in options if len(word) >= 3 and (word.startswith(o.lower()) or o.lower().startswith(word))
    ]
    if len(stems) == 1:
        return stems[0]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return close[0] if close else None


def _describe(error: Mapping[str, Any], root: type[BaseModel], raw: Any) -> str:
    loc = [p for p in error["loc"]]
    field = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    kind = error["type"]
    raw_value = _raw_at(raw, loc)
    template = isinstance(raw_value, str) and "{{" in raw_value
    found = _show(raw_value if template else error.get("input"), field)
    parent = _model_at(root, loc[:-1])
    if kind == "extra_forbidden":
        close = _close_field(str(loc[-1]), parent)
        hint = f" Did you mean `{close}`?" if close else ""
        return f"unknown field `{loc[-1]}`.{hint} Valid fields here: {_field_list(parent)}."
    if kind == "missing":
        text = field_description(parent, field)
        return f"required field `{field}` is missing" + (f": {text}" if text else ".")
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        close = _close_choice(str(error.get("input")), options)
        hint = f" Did you mean '{close}'?" if close else ""
        expected = expected.replace(" or ", ", ")
        return f"expected one of {expected}; found {found}.{hint}"
    if kind == "list_type" and isinstance(raw_value, dict):
        return (
            "expected a list, each item starting with `- ` (e.g. `- source:` under `imports:`); found a "
            "mapping (is the `- ` missing?)."
        )
    if kind in ("value_error", "assertion_error"):
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return message
    message = error["msg"][0].lower() + error["msg"][1:]
    suffix = ""
    if template:
        suffix = " (this value comes from a `{{ … }}` template: is the environment variable set?)"
    elif raw_value is None and error.get("input") is None:
        suffix = " (the value is empty)"
    return f"{message}; found {found}{suffix}."


def format_validation_error(
    error: ValidationError,
    *,
    component: str,
    model: type[BaseModel],
    raw: Any,
    source_tree: Any = None,
    prefix: typing.Sequence[str | int] = ("attributes",),
) -> ComponentYamlError:
    """Build a `ComponentYamlError` listing each problem of `error` with file and line.

    Args:
        error: the pydantic error raised while validating the YAML attributes.
        component: the component class name, shown in the first line.
        model: the pydantic model the attributes were validated against (to list valid fields).
        raw: the attributes as written in the YAML (templates not rendered), to show what was found.
        source_tree: Dagster's source-position tree of the YAML document (None outside a YAML file).
        prefix: where the attributes sit in the YAML document.
    """
    problems = []
    seen = set()
    filename = None
    items = []
    for item in error.errors():
        # pydantic puts the tag of a failed model validator in the loc; drop non-field parts
        loc = [
            p
            for p in item["loc"]
            if isinstance(p, int) or not str(p).startswith(("function-", "tagged-union"))
        ]
        items.append((loc, item))
    unknown = [loc for loc, item in items if item["type"] == "extra_forbidden" and loc]
    meant = _meant_fields(unknown, model)
    for loc, item in items:
        key = (tuple(loc), item["type"])
        if key in seen or (item["type"] == "missing" and tuple(loc) in meant):
            continue
        seen.add(key)
        where = f"field `{yaml_field_path(loc)}`"
        snippet = ""
        if source_tree is not None:
            position, _ = source_tree.lookup_closest_and_path([*prefix, *loc], None)
            filename = position.filename
            where = f"{position.filename}, line {position.start.line}, {where}"
            last = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
            snippet = "" if is_secret_field(last) else _line_of(position.filename, position.start.line)
        problems.append(f"{where}: {_describe(item, model, raw)}{snippet}")
    count = len(problems)
    head = f"Invalid `{component}` configuration"
    head += f" in {filename}" if filename else ""
    head += f" ({count} problem{'s' if count > 1 else ''}):"
    return ComponentYamlError("\n".join([head, *(f"- {p}" for p in problems)]), problems=problems)


_TEMPLATE_WHERE = re.compile(r"^(?P<file>.+?):(?P<line>\d+) - (?P<location>\S+)")


def format_template_error(
    error: Exception, component: str, *, raw: Any = None, source_tree: Any = None
) -> ComponentYamlError | None:
    """A located ComponentYamlError for Dagster's `ResolutionException` (a `{{ … }}` that failed).

    Dagster's message embeds a snippet and the template's traceback; here it becomes one line:
    file, line, field, why the template could not be rendered, and the line itself. `raw` and
    `source_tree` locate an `env('X')` whose variable is not set (Dagster gives no line then).
    """
    text = str(error)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    reason = next((ln for ln in lines if ln.startswith("UndefinedError:")), lines[-1])
    reason = re.sub(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): ", r"\1: ", reason)
    reason = re.sub(r"^(?:Exception|ValueError|ResolutionException): ", "", reason)
    where = _TEMPLATE_WHERE.match(text)
    if where is not None:
        parts = where.group("location").split(".")
        loc: list[Any] = [int(p) if p.isdigit() else p for p in parts]
        filename, line = where.group("file"), int(where.group("line"))
    else:
        unset = re.search(r"Environment variable (\w+) is not set", text)
        found = _path_using(raw, f"env('{unset.group(1)}'") if unset else None
        if found is None or source_tree is None:
            return None
        loc = ["attributes", *found]
        position, _ = source_tree.lookup_closest_and_path(loc, None)
        filename, line = position.filename, position.start.line
    field = yaml_field_path(loc[1:] if loc and loc[0] == "attributes" else loc)
    last = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    snippet = "" if is_secret_field(last) else _line_of(filename, line)
    problem = f"{filename}, line {line}, field `{field}`: the `{{{{ … }}}}` template cannot be rendered: {reason}{snippet}"
    return ComponentYamlError(
        f"Invalid `{component}` configuration in {filename}:\n- {problem}", problems=[problem]
    )


def _path_using(value: Any, needle: str, path: tuple = ()) -> list | None:
    """The path of the first string in `value` containing `needle` (quotes normalised)."""
    if isinstance(value, str):
        return list(path) if needle in value.replace('"', "'").replace("( ", "(") else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _path_using(item, needle, (*path, key))
        if found is not None:
            return found
    return None


def _line_of(filename: str, line: int) -> str:
    try:
        with open(filename, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        return ""
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].rstrip()
    return f"\n    {line:>4} | {text}"
