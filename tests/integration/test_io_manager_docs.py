"""The examples of docs/io_manager.md run as written (in a temporary folder), one after the other."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "io_manager.md"


def test_the_examples_of_the_io_manager_page_run(tmp_path, monkeypatch):
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)  # the examples' lakehouse is the relative folder `lakehouse`
    namespace: dict = {"__name__": "io_manager_docs"}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"{DOC.name} example {number}", "exec"), namespace)
    assert sorted(
        p.name for p in (tmp_path / "lakehouse" / "enseignement" / "stg" / "presences").iterdir()
    ) == [
        "2026-01-01.parquet",
        "2026-01-02.parquet",
    ]
    delta = namespace["lakehouse"]
    assert [h["version"] for h in delta.table_history("enseignement/stg/presences")] == [2, 1, 0]
