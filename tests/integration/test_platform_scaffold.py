"""`cfwb new location` in a copy of platform/: the new location passes the real `dg check defs` and its test."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from platform_copy import copy_platform

pytestmark = pytest.mark.platform

BIN = Path(sys.prefix) / "bin"


def _run(command: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),  # a throw-away instance, as in CI
        "CFWB_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
    }
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_new_location_passes_dg_check_defs_and_its_test(tmp_path):
    platform = copy_platform(tmp_path)
    created = _run(
        [str(BIN / "cfwb"), "--platform-dir", str(platform), "new", "location", "sante"], tmp_path, tmp_path
    )
    assert created.returncode == 0, created.stderr
    assert "Created code location `sante`" in created.stdout
    workspace = yaml.safe_load((platform / "workspace.yaml").read_text())
    assert workspace["load_from"][-1]["python_module"]["module_name"] == "sante.definitions"

    check = _run([str(BIN / "dg"), "check", "defs"], platform / "sante", tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All definitions loaded successfully" in check.stdout

    # The location's own test file, run here (same interpreter; `pytest platform/sante/tests` in CI).
    spec = importlib.util.spec_from_file_location(
        "test_sante_definitions", platform / "sante/tests/test_sante_definitions.py"
    )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.test_definitions_load()
        module.test_example_import_writes_the_lakehouse(tmp_path / "sante_lakehouse")
    finally:
        sys.path.remove(str(platform / "sante" / "src"))
        for name in [n for n in sys.modules if n == "sante" or n.startswith("sante.")]:
            del sys.modules[name]
