"""The analyst's walkthrough of docs/components.md, timed: scaffold, check, four mistakes, run, read.

A new analyst (SQL and YAML, no Python) adds to a copy of `platform/enseignement`, with the real
`.venv/bin/cfwb` and `.venv/bin/dg` called by their path (no activated venv, no PYTHONPATH):

1. an import of a semicolon CSV in Windows-1252 (accents, decimal comma, dates `15/01/2026`),
   dropped where the docs say the share is on a laptop (`import_partage/exemple_partage/`), with
   two checks (`not_null` + `unique`, plus `accepted_values` on an accented value);
2. an export of it to a PostgreSQL schema that does not exist yet;
3. `cfwb check`, then the four classic mistakes one at a time — a misspelt key, a wrong value, a
   missing required field, an indentation error — each message naming file, line, field, what was
   expected and found, with no traceback;
4. `cfwb run` of both folders in one run, then the rows in the lakehouse (Parquet) and in
   PostgreSQL, compared value by value (exact decimals, accents, dates).

Each step's wall-clock time is printed and written to `walkthrough_timings.json` in the test's
tmp folder; nothing is asserted on time (timings belong in `bench/`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from platform_copy import copy_platform

pytestmark = [pytest.mark.platform, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin" / "cfwb").exists() else Path(sys.prefix) / "bin"

# What the analyst's file holds: `bénéficiaire` (accent in the header), amounts with a decimal
# comma, day-first dates, accented values checked by `accepted_values`. Saved by Excel on Windows.
CSV = (
    "id;bénéficiaire;commune;montant;date_octroi;statut\r\n"
    "1;Athénée royal de Namur;Namur;1234,56;15/01/2026;accordée\r\n"
    "2;École communale d'Ixelles;Ixelles;980,05;03/02/2026;en_attente\r\n"
    "3;Lycée Émile Jacqmain;Bruxelles;12500,75;28/02/2026;accordée\r\n"
    "4;Institut Saint-Joseph;Liège;0,1;01/03/2026;refusée\r\n"
)
EXPECTED = [
    (1, "Athénée royal de Namur", "Namur", Decimal("1234.56"), dt.datetime(2026, 1, 15), "accordée"),
    (2, "École communale d'Ixelles", "Ixelles", Decimal("980.05"), dt.datetime(2026, 2, 3), "en_attente"),
    (3, "Lycée Émile Jacqmain", "Bruxelles", Decimal("12500.75"), dt.datetime(2026, 2, 28), "accordée"),
    (4, "Institut Saint-Joseph", "Liège", Decimal("0.10"), dt.datetime(2026, 3, 1), "refusée"),
]
COLUMNS = ["id", "beneficiaire", "commune", "montant", "date_octroi", "statut"]

IMPORT_YAML = """\
type: dagster_cfwb.LakehouseImportComponent

attributes:
  imports:
    - source:
        kind: file
        resource_key: partage_enseignement
        path: subventions_2026.csv
        options: {delimiter: ";", encoding: windows-1252, decimal_comma: true,
                  timestamp_formats: ["%d/%m/%Y"], schema: {montant: "decimal(12,2)"}}
      target:
        code_location: enseignement
        layer: stg
        table: subventions
      description: Subventions 2026 octroyées aux écoles (CSV du service financier).
      owners: [anne.martin@example.org]
      checks:
        - {type: not_null, columns: [id, beneficiaire]}
        - {type: unique, columns: [id]}
        - {type: accepted_values, column: statut, values: [accordée, en_attente, refusée]}
"""

EXPORT_YAML = """\
type: dagster_cfwb.DatabaseExportComponent

attributes:
  exports:
    - tables:
        - {{code_location: enseignement, layer: stg, table: subventions}}
      resource_key: postgresql
      table: {schema}.subventions
      mode: replace
      description: Subventions 2026, pour le tableau de bord financier.
"""


class Stopwatch:
    """Wall-clock seconds of each named step, in order."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = round(time.perf_counter() - started, 2)


def _analyst_env(pg_config: dict) -> dict[str, str]:
    """An analyst's terminal: no venv on PATH, no PYTHONPATH, PostgreSQL given as the docs say."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CFWB_", "AZURE_", "DAGSTER_"))}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = "/usr/bin:/bin"
    env.update(
        CFWB_PG_HOST=pg_config["host"],
        CFWB_PG_PORT=str(pg_config["port"]),
        CFWB_PG_USER=pg_config["user"],
        CFWB_PG_DATABASE=pg_config["database"],
    )
    if pg_config.get("password"):
        env["CFWB_PG_PASSWORD"] = pg_config["password"]
    return env


@pytest.fixture
def new_schema(postgresql):
    """A schema name that does not exist yet (the export creates it); dropped afterwards."""
    name = f"walk_{secrets.token_hex(4)}"
    yield name
    postgresql.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_analyst_walkthrough(tmp_path, pg_config, new_schema):
    clock = Stopwatch()
    env = _analyst_env(pg_config)

    def cli(tool: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / tool), *args], cwd=location, env=env, capture_output=True, text=True, timeout=180
        )

    with clock.step("copy platform/"):
        location = copy_platform(tmp_path) / "enseignement"
    defs = location / "src" / "enseignement" / "defs"
    import_yaml = defs / "import_subventions" / "defs.yaml"
    export_yaml = defs / "export_subventions" / "defs.yaml"

    with clock.step("dg scaffold defs (import)"):
        scaffold = cli(
            "dg", "scaffold", "defs", "dagster_cfwb.LakehouseImportComponent", "import_subventions"
        )
    assert scaffold.returncode == 0, scaffold.stdout + scaffold.stderr
    assert "kind: database" in import_yaml.read_text(encoding="utf-8")  # the commented example to edit

    with clock.step("drop the CSV on the share, write the import"):
        share = defs / "import_partage" / "exemple_partage"  # the share's root on a laptop (docs)
        (share / "subventions_2026.csv").write_bytes(CSV.encode("windows-1252"))
        import_yaml.write_text(IMPORT_YAML, encoding="utf-8")

    with clock.step("dg scaffold defs (export)"):
        scaffold = cli("dg", "scaffold", "defs", "dagster_cfwb.DatabaseExportComponent", "export_subventions")
    assert scaffold.returncode == 0, scaffold.stdout + scaffold.stderr
    export_yaml.write_text(EXPORT_YAML.format(schema=new_schema), encoding="utf-8")

    with clock.step("cfwb check (clean)"):
        check = cli("cfwb", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("cfwb check: OK, "), check.stdout

    messages: dict[str, str] = {}

    def mistake(name: str, file: Path, old: str, new: str) -> str:
        good = file.read_text(encoding="utf-8")
        assert good.count(old) == 1, old
        file.write_text(good.replace(old, new), encoding="utf-8")
        try:
            with clock.step(f"cfwb check ({name})"):
                result = cli("cfwb", "check")
        finally:
            file.write_text(good, encoding="utf-8")
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "Traceback" not in output and 'File "' not in output, output
        messages[name] = result.stdout
        return result.stdout

    where = "src/enseignement/defs/import_subventions/defs.yaml"

    out = mistake("misspelt key", import_yaml, "        table: subventions", "        tabel: subventions")
    assert (
        f"- {where}, line 14, field `imports[0].target.tabel`: unknown field `tabel`. "
        "Did you mean `table`? Valid fields here: `code_location`, `layer`, `table`." in out
    ), out
    assert "      14 |         tabel: subventions" in out
    assert "required field `table` is missing" not in out, out  # the typo is one problem, not two

    out = mistake("wrong value", import_yaml, "kind: file", "kind: fichier")
    assert (
        f"- {where}, line 6, field `imports[0].source.kind`: expected one of 'denodo', 'database', "
        "'file', 'api'; found 'fichier'. Did you mean 'file'?" in out
    ), out
    assert "       6 |         kind: fichier" in out
    assert re.search(r"\ncfwb check: 1 problem in \d+ defs.yaml files", out), out

    out = mistake("missing required field", export_yaml, f"      table: {new_schema}.subventions\n", "")
    assert (
        "- src/enseignement/defs/export_subventions/defs.yaml, line 5, field `exports[0].table`: "
        "required field `table` is missing: " in out
    ), out
    assert re.search(r"\ncfwb check: 1 problem in \d+ defs.yaml files", out), out

    out = mistake("indentation", import_yaml, "        layer: stg", "       layer: stg")
    assert f"- {where}, line 13: `layer:` is indented 1 space less than `code_location:` (line 12)" in out, (
        out
    )
    assert "keys of one block must line up" in out
    assert "      13 |        layer: stg\n         |        ^" in out
    assert re.search(r"\ncfwb check: 1 problem in \d+ defs.yaml files", out), out

    with clock.step("cfwb check (fixed)"):
        check = cli("cfwb", "check")
    assert check.returncode == 0, check.stdout + check.stderr

    lakehouse = location.parent / ".dagster_home" / "lakehouse"
    parquet = lakehouse / "enseignement" / "stg" / "subventions.parquet"
    with clock.step("cfwb run --preview (import)"):
        preview = cli("cfwb", "run", "--preview", "src/enseignement/defs/import_subventions")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "Lycée Émile Jacqmain" in preview.stdout and "12500.75" in preview.stdout
    assert "nothing was written" in preview.stdout and not parquet.exists()

    with clock.step("cfwb run (import + export)"):
        run = cli(
            "cfwb",
            "run",
            "src/enseignement/defs/import_subventions",
            "src/enseignement/defs/export_subventions",
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Traceback" not in output
    assert "enseignement/stg/subventions: 4 rows written" in run.stdout
    assert f"data: {parquet}" in run.stdout
    assert "enseignement/pg/subventions: 4 rows written" in run.stdout  # key `<location>/pg/<table>`
    assert f"database table `{new_schema}.subventions`" in run.stdout
    assert "Checks: 3 passed, 0 failed." in run.stdout

    with clock.step("read the rows (Parquet and PostgreSQL)"):
        table = pq.read_table(parquet)
        with psycopg.connect(
            host=pg_config["host"],
            port=pg_config["port"],
            user=pg_config["user"],
            password=pg_config.get("password"),
            dbname=pg_config["database"],
        ) as conn:
            pg_rows = conn.execute(
                f'SELECT {", ".join(COLUMNS)} FROM "{new_schema}".subventions ORDER BY id'
            ).fetchall()
            pg_types = dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = 'subventions'",
                    (new_schema,),
                ).fetchall()
            )
    assert table.column_names == COLUMNS
    assert table.schema.field("beneficiaire").metadata[b"original_name"] == "bénéficiaire".encode()
    assert str(table.schema.field("montant").type) == "decimal128(12, 2)"
    lake_rows = [tuple(r[c] for c in COLUMNS) for r in table.sort_by("id").to_pylist()]
    assert lake_rows == EXPECTED
    assert pg_rows == EXPECTED
    assert pg_types["montant"] == "numeric" and pg_types["date_octroi"].startswith("timestamp")

    timings = {"steps_seconds": clock.steps, "total_seconds": round(sum(clock.steps.values()), 2)}
    (tmp_path / "walkthrough_timings.json").write_text(
        json.dumps({**timings, "messages": messages}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print("\nanalyst walkthrough, seconds per step:")
    for name, seconds in clock.steps.items():
        print(f"  {seconds:6.2f}  {name}")
    print(f"  {timings['total_seconds']:6.2f}  total  ({tmp_path / 'walkthrough_timings.json'})")
