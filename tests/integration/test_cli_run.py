"""`cfwb run` from a location folder of a copy of platform/, as an analyst types it (no venv, no PYTHONPATH).

The import reads the example CSV of the share into the demo's lakehouse
(`platform/.dagster_home/lakehouse`), the export writes it to a schema that does not exist yet on
the real PostgreSQL; `--preview` writes nothing; a misspelt file name gives one plain message with
a did-you-mean, the checks of the failed import are "not run", and no traceback is printed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from platform_copy import copy_platform

pytestmark = [pytest.mark.platform, pytest.mark.postgres]

CFWB = Path(sys.prefix) / "bin" / "cfwb"


def _cfwb(args: list[str], cwd: Path, pg_config: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CFWB_", "AZURE_", "DAGSTER_"))}
    env.pop("PYTHONPATH", None)
    env["PATH"] = "/usr/bin:/bin"  # .venv not activated
    env.update(
        CFWB_PG_HOST=pg_config["host"],
        CFWB_PG_PORT=str(pg_config["port"]),
        CFWB_PG_USER=pg_config["user"],
        CFWB_PG_DATABASE=pg_config["database"],
    )
    if pg_config.get("password"):
        env["CFWB_PG_PASSWORD"] = pg_config["password"]
    return subprocess.run(
        [str(CFWB), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture
def fresh_schema(postgresql):
    """A schema name that does not exist yet; dropped afterwards if the test created it."""
    name = f"cfwb_run_{secrets.token_hex(4)}"
    yield name
    postgresql.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_cfwb_run_import_and_export_preview_and_a_missing_file(tmp_path, pg_config, postgresql, fresh_schema):
    platform = copy_platform(tmp_path)
    location = platform / "enseignement"
    defs = location / "src" / "enseignement" / "defs"
    (defs / "export_partenaires").mkdir()
    (defs / "export_partenaires" / "defs.yaml").write_text(
        "type: dagster_cfwb.DatabaseExportComponent\n"
        "attributes:\n"
        "  exports:\n"
        "    - tables: [{code_location: enseignement, layer: stg, table: ecoles_partenaires}]\n"
        "      resource_key: postgresql\n"
        f"      table: {fresh_schema}.partenaires\n",
        encoding="utf-8",
    )
    lakehouse = platform / ".dagster_home" / "lakehouse"
    parquet = lakehouse / "enseignement" / "stg" / "ecoles_partenaires.parquet"

    preview = _cfwb(
        ["run", "--preview", "src/enseignement/defs/import_partage/defs.yaml", "enseignement/pg/partenaires"],
        location,
        pg_config,
    )
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "Athénée royal de Namur" in preview.stdout and "nothing was written" in preview.stdout
    assert "`enseignement/stg/ecoles_partenaires` is not built yet" in preview.stdout  # the export's input
    assert not parquet.exists() and not list(lakehouse.rglob("*.parquet"))

    # The import (a defs folder) and its export (an asset key) in one run, upstream first.
    run = _cfwb(
        ["run", "src/enseignement/defs/import_partage", "enseignement/pg/partenaires"], location, pg_config
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "enseignement/stg/ecoles_partenaires: 5 rows written" in run.stdout
    assert f"data: {parquet}" in run.stdout  # the real local path, not azure://
    assert "enseignement/pg/partenaires: 5 rows written" in run.stdout
    assert f"`{fresh_schema}.partenaires`" in run.stdout
    assert "Checks: 3 passed, 0 failed." in run.stdout
    assert pq.read_table(parquet).num_rows == 5
    rows = postgresql.query(f'SELECT count(*) AS n FROM "{fresh_schema}".partenaires', output="arrow")
    assert rows["n"][0].as_py() == 5  # the schema did not exist: the export created it

    import_yaml = defs / "import_partage" / "defs.yaml"
    import_yaml.write_text(
        import_yaml.read_text(encoding="utf-8").replace(
            "path: ecoles_partenaires.csv", "path: ecoles_partenaire.csv"
        ),
        encoding="utf-8",
    )
    failed = _cfwb(["run", "enseignement/stg/ecoles_partenaires"], location, pg_config)
    assert failed.returncode == 1
    output = failed.stdout + failed.stderr
    assert "Traceback" not in output and 'File "' not in output
    assert "No such file `ecoles_partenaire.csv`" in output
    assert "Did you mean `ecoles_partenaires.csv`?" in output
    assert "3 not run (upstream failed)" in output and "0 failed" in output
