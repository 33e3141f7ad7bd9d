"""The layers of DESIGN.md, checked: data flows down, nothing imports upward.

`transfer/` is plain Python (no Dagster, no `resources`/`components`); `resources/` never imports
`components`, `cli` or `deployment`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "dagster_cfwb"

RULES = {
    "transfer": ("dagster", "dagster_cfwb.resources", "dagster_cfwb.components", "dagster_cfwb.cli",
                 "dagster_cfwb.deployment", "dagster_cfwb.checks", "dagster_cfwb.notifications"),
    "resources": ("dagster_cfwb.components", "dagster_cfwb.cli", "dagster_cfwb.deployment"),
}  # fmt: skip


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(RULES))
def test_no_upward_imports(layer):
    forbidden = RULES[layer]
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports `{module}`"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for line, module in _imports(path)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    ]
    assert bad == [], "\n".join(bad)
