"""docs/architecture.md cannot go stale: its folder map lists every package and top-level module of
`src/dagster_cfwb/` and nothing else, every path it names exists, and the README links it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "dagster_cfwb"
DOC = ROOT / "docs" / "architecture.md"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_folder_map_lists_every_package_and_top_level_module():
    table = _section(DOC.read_text(encoding="utf-8"), "Folder map")
    listed = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    expected = {f"{p.parent.relative_to(PACKAGE).as_posix()}/" for p in PACKAGE.rglob("__init__.py")}
    expected = {e for e in expected if e != "./"} | {p.name for p in PACKAGE.glob("*.py")}
    assert sorted(set(listed) - expected) == [], "listed but not in src/dagster_cfwb (stale line)"
    assert sorted(expected - set(listed)) == [], "in src/dagster_cfwb but missing from the folder map"
    assert len(listed) == len(set(listed)), "a path is listed twice"


def test_every_path_the_page_names_exists():
    text = DOC.read_text(encoding="utf-8")
    paths = {token for token in re.findall(r"`([\w./-]+)`", text) if "/" in token}
    places = (PACKAGE, ROOT / "src", ROOT)
    missing = [p for p in sorted(paths) if not any((place / p).exists() for place in places)]
    assert missing == []


def test_page_is_short_and_linked_from_the_readme():
    assert len(DOC.read_text(encoding="utf-8").splitlines()) <= 200
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
