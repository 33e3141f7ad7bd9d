"""An incremental YAML import (`LakehouseImportComponent`, `mode: incremental`, PostgreSQL source,
local lakehouse) whose run process is SIGKILLed between reading the new rows and writing the
table, then retried: the table holds exactly one copy of each source row, nothing is left behind.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs
from fault_checks import (
    Outcome,
    Version,
    assert_nothing_left,
    lakehouse_state,
    leftover_local_files,
    record_outcome,
    sigkill,
    start_worker,
    wait_until,
)
from fault_fixtures import private_pg, private_tmpdir  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(180)]

TARGET = "faults/stg/eleves.parquet"


def _yaml(table: str, keys: str) -> str:
    keys_line = f"\n          keys: {keys}" if keys else ""
    return f"""
    type: dagster_cfwb.LakehouseImportComponent
    attributes:
      imports:
        - source: {{kind: database, resource_key: postgresql, table: public.{table}}}
          target: {{code_location: faults, layer: stg, table: eleves}}
          mode: incremental
          watermark_column: updated_at{keys_line}
    """


def _insert(source, table: str, first: int, last: int) -> None:
    source.execute(
        f"INSERT INTO {table} SELECT g, 'src-' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' "
        f"FROM generate_series({first}, {last}) g"
    )


@pytest.mark.parametrize("keys", ["", "[id]"], ids=["rows-compared-whole", "keys-id"])
def test_incremental_run_killed_between_read_and_write(
    private_pg,  # noqa: F811
    tmp_path,
    private_tmpdir,  # noqa: F811
    record_property,
    keys,
):
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    table = f"src_{secrets.token_hex(4)}"
    source = PostgreSQLResource(**private_pg.settings, connect_retries=0)
    source.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, label text, updated_at timestamptz)")
    _insert(source, table, 1, 20_000)
    root = tmp_path / "lake"
    lakehouse = LocalLakehouseResource(root=str(root))
    resources = {"postgresql": source, "lakehouse": lakehouse}
    with yaml_defs({"imports/defs.yaml": _yaml(table, keys)}) as defs:
        assert run_assets(defs, resources).success
    first = Version.of("src", range(1, 20_001))
    _insert(source, table, 20_001, 30_000)
    everything = Version.of("src", range(1, 30_001))

    marker = tmp_path / "read-everything"
    job = {
        "kind": "import", "yaml": _yaml(table, keys), "settings": private_pg.settings, "root": str(root),
        "path": TARGET, "marker": str(marker),
    }  # fmt: skip
    worker = start_worker(job, private_tmpdir)
    wait_until(marker.exists, timeout=120, what="the run to have read the new rows", interval=0.1)
    sigkill(worker)
    assert worker.returncode == -9, worker.stdout.read()

    version, lost_now, dup_now = lakehouse_state(lakehouse, TARGET).compare(first, everything)
    with yaml_defs({"imports/defs.yaml": _yaml(table, keys)}) as defs:
        assert run_assets(defs, resources).success  # the retry
    retried, lost, dup = lakehouse_state(lakehouse, TARGET).compare(everything)
    left = leftover_local_files(root, private_tmpdir)
    record_outcome(
        record_property,
        Outcome(
            engine="Incremental import (PostgreSQL → local lakehouse)",
            fault=f"run SIGKILLed between reading and writing, retried ({f'keys: {keys}' if keys else 'no keys'})",
            survived=version is not None and retried is everything and not left,
            rows_lost=lost_now + lost,
            rows_duplicated=dup_now + dup,
            left_behind=left,
        ),
    )
    assert int(marker.read_text()) == 30_000  # the killed run had read the old table and the new rows
    assert version is first, (
        f"after the kill the table is not the first run's: lost {lost_now}, dup {dup_now}"
    )
    assert retried is everything, f"the retry gave lost {lost}, duplicated {dup}"
    assert_nothing_left(left)
