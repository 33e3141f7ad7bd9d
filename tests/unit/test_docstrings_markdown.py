"""The Dagster UI renders docstrings and field descriptions as Markdown: no reStructuredText in them.

Scans every module, public class and public function/method docstring of the package, and every
pydantic field description (resources, component models, YAML models), for RST markup
(`.. code-block::`, `:mod:`-style roles, ``double-backtick`` literals) and for code lines too long
for the UI panel.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

import dagster_cfwb

PACKAGE_DIR = Path(dagster_cfwb.__file__).parent
RST = [
    (re.compile(r"\.\. [a-z-]+::"), "an RST directive (`.. code-block::`); use a ``` fence"),
    (re.compile(r":(?:py:)?[a-z]+:`"), "an RST role (`:mod:`, `:class:`, `:func:`); use single backticks"),
    (re.compile(r"(?<!`)``[^`\s][^`\n]*``(?!`)"), "an RST double-backtick literal; use single backticks"),
    (re.compile(r"::\s*$", re.M), "an RST literal block (`::`); use a ``` fence"),
]
MAX_CODE_LINE = 90  # characters of one line inside a fenced block, after dedenting


def _problems(text: str) -> list[str]:
    found = [why for pattern, why in RST if pattern.search(text)]
    lines = inspect.cleandoc(text).splitlines()
    inside = False
    for line in lines:
        if line.strip().startswith("```"):
            inside = not inside
        elif inside and len(line) > MAX_CODE_LINE:
            found.append(f"a code line of {len(line)} characters (max {MAX_CODE_LINE}): {line.strip()[:40]}…")
    if inside:
        found.append("an unclosed ``` fence")
    return found


def _source_docstrings():
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text())
        rel = path.relative_to(PACKAGE_DIR.parent)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                name = getattr(node, "name", "<module>")
                if doc:
                    yield f"{rel}:{getattr(node, 'lineno', 1)} {name}", doc
            if (
                isinstance(node, ast.keyword)
                and node.arg == "description"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                yield f"{rel}:{node.value.lineno} description", node.value.value


def test_no_rst_in_any_docstring_or_description_of_the_source():
    bad = [f"{where}: {why}" for where, text in _source_docstrings() for why in _problems(text)]
    assert bad == [], "\n".join(bad)


def _package_models() -> list[type[BaseModel]]:
    models = set()
    for info in pkgutil.walk_packages(dagster_cfwb.__path__, "dagster_cfwb."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra not installed here
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseModel) and obj.__module__.startswith("dagster_cfwb"):
                models.add(obj)
    return sorted(models, key=lambda m: f"{m.__module__}.{m.__qualname__}")


def test_no_rst_in_any_pydantic_field_description():
    """What the UI's config tables show (also descriptions built at runtime, not only literals)."""
    bad = []
    models = _package_models()
    assert len(models) > 20
    for model in models:
        for name, field in model.model_fields.items():
            for why in _problems(field.description or ""):
                bad.append(f"{model.__module__}.{model.__qualname__}.{name}: {why}")
        for why in _problems(model.__doc__ or ""):
            bad.append(f"{model.__module__}.{model.__qualname__}: {why}")
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Use ``x``.", "double-backtick"),
        ("See :class:`Foo`.", "RST role"),
        ("Example:\n\n    .. code-block:: python\n\n        x = 1\n", "RST directive"),
        ("Example:\n\n```python\nx = 1\n", "unclosed"),
        ("Example:\n\n```python\n" + "x" * 120 + "\n```\n", "code line of 120"),
    ],
)
def test_the_scanner_catches_rst(text, expected):
    assert any(expected in p for p in _problems(text))


def test_the_scanner_accepts_markdown():
    assert _problems("Use `x` or `` a`b ``.\n\n```yaml\nkey: value\n```\n") == []
