"""Run the fault suite and write its outcome tables into `docs/reliability.md`.

    .venv/bin/python tests/faults/reliability_report.py            # run tests/faults, update the doc
    .venv/bin/python tests/faults/reliability_report.py --junit X  # render from an existing JUnit XML

Each fault test records its measured outcome (`fault_checks.record_outcome`: survived, rows lost,
rows duplicated, what was left behind) as a JUnit property; this script reads them back, so the
table always says what the tests measured. `test_reliability_doc.py` fails when the doc's list of
faults and the suite's tests differ.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- fault-table:start -->", "<!-- fault-table:end -->"


def run_suite(junit: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pytest", "tests/faults", "-m", "faults", "-q", "-p", "no:cacheprovider",
         "-o", "junit_family=legacy", f"--junitxml={junit}"],
        cwd=ROOT, check=False,
    )  # fmt: skip


def read_outcomes(junit: Path) -> list[dict]:
    """One dict per fault test: id, status (pass / xfail / fail / skip), reason and the recorded outcome."""
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "fault_outcome" not in props:
            continue
        status, reason = "pass", ""
        skipped, failure = case.find("skipped"), case.find("failure")
        if skipped is not None and skipped.get("type") == "pytest.xfail":
            status, reason = "xfail", skipped.get("message", "")
        elif skipped is not None:
            status, reason = "skip", skipped.get("message", "")
        elif failure is not None or case.find("error") is not None:
            status = "fail"
        out.append(
            {"id": case.get("name"), "status": status, "reason": reason, **json.loads(props["fault_outcome"])}
        )
    return sorted(out, key=lambda o: (o["engine"], o["id"]))


def _kinds(left: list[str]) -> str:
    """`table test._cfwb_stg_x` → `_cfwb_stg_*` table: a short description of what was left."""
    kinds = []
    for item in left:
        name = item.rsplit("/", 1)[-1].rsplit(".", 1)[-1] if item.startswith("table ") else Path(item).name
        for pattern, label in (
            (r"^_cfwb_stg_", "`_cfwb_stg_*` table"), (r"^_cfwb_old_", "`_cfwb_old_*` table"),
            (r"^_cfwb_", "`_cfwb_*` table"), (r"^cfwb_load_", "`cfwb_load_*` folder"),
            (r"^\.cfwb-.*\.tmp$", "`.cfwb-*.tmp` file"), (r"uncommitted", "uncommitted blocks"),
        ):  # fmt: skip
            if re.search(pattern, name) or (pattern == "uncommitted" and pattern in item):
                kinds.append(label)
                break
        else:
            kinds.append("`_incoming` file" if "_incoming" in item else f"`{name}`")
    return ", ".join(sorted(set(kinds)))


def render(outcomes: list[dict]) -> str:
    by_engine: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        by_engine[o["engine"]].append(o)
    lines = [
        "| Engine | Faults tried | Survived | Rows lost | Rows duplicated | Objects left behind |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for engine, items in by_engine.items():
        lines.append(
            f"| {engine} | {len(items)} | {sum(o['survived'] for o in items)} | "
            f"{sum(o['rows_lost'] for o in items)} | {sum(o['rows_duplicated'] for o in items)} | "
            f"{sum(len(o['left_behind']) for o in items)} |"
        )
    lines += [
        "",
        "| Test | Engine | Fault, mode | Survived | Lost | Duplicated | Left behind after the next run | Status |",
        "|---|---|---|---|---:|---:|---|---|",
    ]
    for o in outcomes:
        status = o["status"] if not o["reason"] else f"{o['status']}: {o['reason']}"
        lines.append(
            f"| `{o['id']}` | {o['engine']} | {o['fault']} | {'yes' if o['survived'] else '**no**'} | "
            f"{o['rows_lost']} | {o['rows_duplicated']} | {_kinds(o['left_behind']) or '—'} | {status} |"
        )
    return "\n".join(lines)


def update_doc(table: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junit", type=Path, help="render from this JUnit XML instead of running the suite")
    args = parser.parse_args()
    if args.junit:
        outcomes = read_outcomes(args.junit)
    else:
        with tempfile.TemporaryDirectory() as folder:
            junit = Path(folder) / "faults.xml"
            run_suite(junit)
            outcomes = read_outcomes(junit)
    update_doc(render(outcomes))
    print(f"{DOC.relative_to(ROOT)}: {len(outcomes)} faults")


if __name__ == "__main__":
    main()
