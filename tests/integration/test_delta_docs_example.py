"""The example of docs/lakehouse.md "Parquet files or Delta tables" runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "lakehouse.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: delta_docs -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/lakehouse.md lost its Delta example block"
    return match.group(1)


def test_docs_example_restores_the_version_before_a_bad_load(tmp_path, capsys):
    namespace = {"LAKE_ROOT": str(tmp_path / "lake")}
    exec(compile(_example(), str(DOC), "exec"), namespace)  # our own documentation
    lakehouse, table = namespace["lakehouse"], namespace["table"]
    assert sorted(lakehouse.read_table(table)["nom"].to_list()) == ["Aïcha", "Léon", "Zoé"]
    assert namespace["same"]["nom"].to_list() == ["Zoé", "Léon", "Aïcha"]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["2", "1", "0"] and "MERGE" in printed[1]
    assert lakehouse.table_history(table)[0]["operation"] == "RESTORE"
