"""The example of docs/files.md runs as written: an asset loads deposited CSVs, archives them; a sensor."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg

DOC = Path(__file__).resolve().parents[2] / "docs" / "files.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: files_docs -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/files.md lost its example block"
    return match.group(1)


def test_docs_example_loads_and_archives(tmp_path):
    share = tmp_path / "share"
    (share / "depots").mkdir(parents=True)
    (share / "depots" / "ecole_a.csv").write_bytes("élève;note\nZoé;5,5\n".encode("cp1252"))
    (share / "depots" / "ecole_b.csv").write_bytes("élève;note\nLéo;4,0\nAïcha;6,0\n".encode("cp1252"))
    namespace = {"SHARE_ROOT": str(share), "LAKE_ROOT": str(tmp_path / "lake")}
    exec(compile(_example(), str(DOC), "exec"), namespace)  # our own documentation
    defs: dg.Definitions = namespace["defs"]

    result = dg.materialize([namespace["stg_depots"]], resources=dict(defs.resources))
    assert result.success
    metadata = result.asset_materializations_for_node("stg_depots")[0].metadata
    assert metadata["dagster/row_count"].value == 3
    df = defs.resources["lakehouse"].read_table("enseignement/stg/depots.parquet")
    assert sorted(df["eleve"].to_list()) == ["Aïcha", "Léo", "Zoé"] and df["note"].sum() == 15.5
    assert sorted(p.name for p in (share / "archives").iterdir()) == ["ecole_a.csv", "ecole_b.csv"]
    assert list((share / "depots").iterdir()) == []
