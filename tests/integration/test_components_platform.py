"""The enseignement location's YAML components load, run end to end, and a broken copy fails `dg check defs` on the line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCATION = ROOT / "platform" / "enseignement"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets  # noqa: E402

pytestmark = [pytest.mark.platform]


def _load_enseignement() -> dg.Definitions:
    sys.path.insert(0, str(LOCATION / "src"))
    try:
        from enseignement.definitions import defs

        return defs()
    finally:
        sys.path.remove(str(LOCATION / "src"))


@pytest.mark.postgres
def test_enseignement_components_run_end_to_end(local_lakehouse, postgresql):
    definitions = _load_enseignement()
    from dagster_cfwb.components import check_resource_keys

    check_resource_keys(definitions)
    sensors = {s.name for s in definitions.sensors}
    assert {"enseignement_alertes_on_run_failure", "enseignement_alertes_on_run_success"} <= sensors
    keys = [
        ["enseignement", "stg", "etablissements"],
        ["enseignement", "slv", "etablissements"],
        ["enseignement", "stg", "classes"],
        ["enseignement", "stg", "ecoles_partenaires"],
        ["enseignement", "pg", "gld_classes_par_commune"],
    ]
    resources = {
        **definitions.resources,
        "lakehouse": local_lakehouse,
        "azure_adls": local_lakehouse,
        "postgresql": postgresql,
    }
    location = dg.Definitions(assets=definitions.assets, asset_checks=definitions.asset_checks)
    try:
        result = run_assets(location, resources, selection=dg.AssetSelection.assets(*keys))
        assert result.success
        checks = {
            (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
        }
        assert all(checks.values()), checks
        assert len(checks) >= 14
        exported = postgresql.query(
            "SELECT sum(nb_classes)::bigint AS n FROM enseignement_gld_classes_par_commune", output="arrow"
        )
        assert exported["n"][0].as_py() > 0
        partners = local_lakehouse.read_table("enseignement/stg/ecoles_partenaires.parquet")
        assert partners.height == 5 and "Athénée royal de Namur" in partners["nom"].to_list()
    finally:
        postgresql.execute("DROP TABLE IF EXISTS enseignement_gld_classes_par_commune")


def test_broken_copy_fails_dg_check_defs_on_the_line(tmp_path):
    copy = tmp_path / "enseignement"
    shutil.copytree(
        LOCATION, copy, ignore=shutil.ignore_patterns("lakehouse", "target", "__pycache__", ".venv")
    )
    broken = copy / "src" / "enseignement" / "defs" / "import_partage" / "defs.yaml"
    broken.write_text(broken.read_text().replace("kind: file", "kind: fichier"))
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "dg"), "check", "defs"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    # `dg check yaml` (run first by `dg check defs`) keeps only one file per component type, so with two
    # LakehouseImportComponent files it may not see this one; our own validation at load time does.
    assert (
        f"{broken}, line 7, field `imports[0].source.kind`: expected one of 'denodo', 'database', 'file', 'api'; "
        "found 'fichier'."
    ) in output
