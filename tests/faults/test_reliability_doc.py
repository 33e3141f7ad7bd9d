"""`docs/reliability.md` lists exactly the fault tests of this folder (regenerate it with
`.venv/bin/python tests/faults/reliability_report.py`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reliability_doc_lists_every_fault_test():
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/faults", "-m", "faults", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tests = {line.split("::", 1)[1] for line in collected.splitlines() if "::" in line}
    tests = {t for t in tests if not t.startswith("test_harness_")}  # self-checks of the harness
    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", doc, flags=re.MULTILINE))
    assert tests, collected
    assert sorted(tests - listed) == [], (
        "fault tests missing from docs/reliability.md: rerun reliability_report.py"
    )
    assert sorted(listed - tests) == [], "docs/reliability.md lists faults that are no longer tested"
