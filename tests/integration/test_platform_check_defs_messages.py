"""The real `dg check defs` on a broken copy of a location shows our messages, not PyYAML's traceback.

Dagster prints the stack of a code location's load error; what the location can control is that
the message is ours and the stack is two frames (its definitions.py and `location_definitions`).
`dg check defs` first runs Dagster's own YAML check, which cannot be changed from a library (see
docs/components.md): `--no-check-yaml` shows what `dagster dev` shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from platform_copy import copy_platform

pytestmark = pytest.mark.platform

DG = Path(sys.prefix) / "bin" / "dg"
IMPORT = "src/enseignement/defs/import_partage/defs.yaml"
OTHER_IMPORT = "src/enseignement/defs/import_base_scolaire/defs.yaml"


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Path:
    return copy_platform(tmp_path_factory.mktemp("dgcheck"))


def _location(platform: Path, tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    location = Path(shutil.copytree(platform / "enseignement", tmp_path / "enseignement"))
    for relative, (old, new) in edits.items():
        path = location / relative
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return location


def _dg_check_defs(location: Path, tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "CFWB_LAKEHOUSE_ROOT": str(tmp_path / "lh")}
    started = time.perf_counter()
    done = subprocess.run(
        [str(DG), "check", "defs", "--no-check-yaml"],
        cwd=location,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(f"\ndg check defs --no-check-yaml: {time.perf_counter() - started:.1f} s")
    assert done.returncode == 1
    return done.stdout + done.stderr


def test_indentation_mistake_is_explained_without_pyyaml_frames(platform, tmp_path):
    location = _location(platform, tmp_path, {IMPORT: ("      target: {", "     target: {")})
    output = _dg_check_defs(location, tmp_path)
    assert "line 11: `target:` is indented 1 space less than `source:` above it (line 6)" in output
    assert "yaml/parser.py" not in output and "ParserError" not in output
    assert output.count('File "') <= 2, output  # definitions.py and location_definitions


def test_every_component_mistake_of_the_location_is_listed_once(platform, tmp_path):
    edits = {
        IMPORT: ("group: partenariats", "gruop: partenariats"),
        OTHER_IMPORT: ("type: dagster_cfwb.LakehouseImportComponent", "type: dagster_cfwb.LakehouseImport"),
    }
    output = _dg_check_defs(_location(platform, tmp_path, edits), tmp_path)
    assert "2 problems in the defs.yaml files of this code location" in output
    assert output.count("unknown field `gruop`. Did you mean `group`?") == 1
    assert output.count("Did you mean `dagster_cfwb.LakehouseImportComponent`?") == 1
    assert "ComponentTreeException" not in output and "DagsterUnresolvableSymbolError" not in output
    assert output.count('File "') <= 2, output
