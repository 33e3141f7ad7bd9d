"""The platform's lakehouse maintenance job optimizes and vacuums every Delta table of a local lakehouse."""

import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_cfwb.deployment.lakehouse_maintenance import delta_table_paths, maintain_delta_tables

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "platform" / "data_platform" / "src"))

from data_platform.defs.lakehouse_maintenance import (
    lakehouse_maintenance,
    lakehouse_maintenance_nightly,
)


def _three_versions(lakehouse, path: str) -> None:
    for i in range(3):
        lakehouse.write_table(pl.DataFrame({"id": [i, i + 10]}), path, format="delta", mode="append")


def test_the_nightly_job_keeps_history_for_the_retention_then_removes_it(local_lakehouse):
    _three_versions(local_lakehouse, "enseignement/stg/eleves")
    _three_versions(local_lakehouse, "culture/slv/lieux")
    local_lakehouse.write_table(pl.DataFrame({"a": [1]}), "culture/gld/pas_delta.parquet")
    assert delta_table_paths(local_lakehouse) == ["culture/slv/lieux", "enseignement/stg/eleves"]

    # the schedule's run config: 7 days; today's files are all younger, so nothing is deleted
    assert lakehouse_maintenance_nightly.execution_timezone == "Europe/Brussels"
    run_config = (
        lakehouse_maintenance_nightly.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=None))
        .run_requests[0]
        .run_config
    )
    result = lakehouse_maintenance.execute_in_process(
        run_config=run_config, resources={"lakehouse": local_lakehouse}
    )
    assert result.success
    meta = result.get_step_success_events()[0]
    assert meta is not None
    history = local_lakehouse.table_history("enseignement/stg/eleves")
    assert history[0]["operation"] == "OPTIMIZE"  # 3 small files compacted into one, version 3
    assert sorted(local_lakehouse.read_table("enseignement/stg/eleves", version=0)["id"]) == [0, 10]

    # retention 0: only the current version keeps its files; old versions cannot be read any more
    done = list(maintain_delta_tables(local_lakehouse, retention_days=0, prefix="enseignement/"))
    assert [(d.path, d.files_removed > 0) for d in done] == [("enseignement/stg/eleves", True)]
    assert sorted(local_lakehouse.read_table("enseignement/stg/eleves")["id"]) == [0, 1, 2, 10, 11, 12]
    with pytest.raises((ValueError, FileNotFoundError, OSError)):
        local_lakehouse.read_table("enseignement/stg/eleves", version=0)
    assert local_lakehouse.read_table("culture/slv/lieux", version=0).height == 2  # other prefix untouched
