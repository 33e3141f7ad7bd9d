"""Keeping the lakehouse's Delta tables fast and small: `optimize`, then `vacuum`, on a schedule.

Every write to a Delta table adds data files and a version; old versions keep their files so that
time travel (`read_table(path, version=…)`) and `restore_table` work. The maintenance job, for
every Delta table of the lakehouse:

1. **optimize** — rewrites many small data files into fewer large ones (same rows, one new version,
   nothing to do when the files are already compact);
2. **vacuum** — deletes the data files that no version of the last `retention_days` days needs.

So time travel and restore keep working for **7 days** by default (`retention_days`); a version
older than that cannot be read any more. The platform template schedules it every night
(`data_platform` location, schedule `lakehouse_maintenance_nightly`, 03:30 Europe/Brussels,
created stopped like every schedule: switch it on in the UI).

Example:

```python
from dagster_cfwb.deployment.lakehouse_maintenance import maintain_delta_tables

for done in maintain_delta_tables(lakehouse, retention_days=7):
    print(done.path, done.files_removed)
```
"""

# No `from __future__ import annotations`: Dagster reads the op's config and resource annotations.

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DeltaMaintenance",
    "LakehouseMaintenanceConfig",
    "delta_table_paths",
    "lakehouse_maintenance_job",
    "lakehouse_maintenance_schedule",
    "maintain_delta_tables",
]

DEFAULT_RETENTION_DAYS = 7
_LOG = "/_delta_log/"


@dataclass(frozen=True)
class DeltaMaintenance:
    """What the maintenance did to one Delta table."""

    path: str
    files_compacted: int  # small files rewritten by optimize (0: already compact)
    files_removed: int  # data files deleted by vacuum
    version: int | None  # table version after optimize, when it made one


def delta_table_paths(lakehouse: LakehouseResource, prefix: str = "") -> list[str]:
    """The lakehouse paths of the Delta tables under `prefix` (folders holding a `_delta_log`), sorted."""
    found = set()
    for file in lakehouse.list(prefix):
        head, sep, _ = ("/" + file.path).partition(_LOG)
        if sep and head.strip("/"):
            found.add(head.strip("/"))
    return sorted(found)


def maintain_delta_tables(
    lakehouse: LakehouseResource,
    *,
    retention_days: float = DEFAULT_RETENTION_DAYS,
    optimize: bool = True,
    prefix: str = "",
) -> Iterator[DeltaMaintenance]:
    """Optimize, then vacuum, every Delta table under `prefix`; yields what was done to each.

    Args:
        lakehouse: the lakehouse resource.
        retention_days: versions of the last `retention_days` days stay readable (time travel,
            restore); older data files no version of that period needs are deleted.
        optimize: compact small files first (a new version when there is something to compact).
        prefix: only the tables under this path, e.g. `enseignement/` (empty: the whole lakehouse).

    Raises:
        ValueError: `retention_days` is negative.
    """
    if retention_days < 0:
        raise ValueError(f"`retention_days` must be 0 or more (days of history kept), got {retention_days}.")
    for path in delta_table_paths(lakehouse, prefix):
        compacted, version = 0, None
        if optimize:
            metrics = lakehouse.optimize_table(path)
            compacted = int(metrics.get("numFilesRemoved", 0) or 0)
            version = metrics.get("version") if compacted else None
        removed = lakehouse.vacuum_table(path, retention_days=retention_days)
        yield DeltaMaintenance(path, compacted, len(removed), version)


class LakehouseMaintenanceConfig(dg.Config):
    """Run configuration of the lakehouse maintenance job."""

    retention_days: float = Field(
        default=DEFAULT_RETENTION_DAYS,
        ge=0,
        description=(
            "Days of history every Delta table keeps: versions of the last `retention_days` days stay "
            "readable with time travel and `restore_table`; data files only older versions need are "
            "deleted. Default 7. `0` keeps only the current version (no undo after that)."
        ),
    )
    optimize: bool = Field(
        default=True,
        description="Compact the small data files of each table first (same rows, one new version).",
    )
    prefix: str = Field(
        default="",
        description="Only the tables under this lakehouse path, e.g. `enseignement/`. Empty: every table.",
    )


@dg.op(
    name="optimize_and_vacuum_delta_tables",
    out=dg.Out(dg.Nothing),
    description="Optimize (compact small files), then vacuum (delete files older versions no longer need) every Delta table.",
)
def _maintain(
    context: dg.OpExecutionContext, config: LakehouseMaintenanceConfig, lakehouse: LakehouseResource
) -> dg.Output:
    done = list(
        maintain_delta_tables(
            lakehouse, retention_days=config.retention_days, optimize=config.optimize, prefix=config.prefix
        )
    )
    for table in done:
        context.log.info(
            f"Delta table `{table.path}`: {table.files_compacted} small files compacted, "
            f"{table.files_removed} old data files removed (history kept: {config.retention_days:g} days)."
        )
    if not done:
        context.log.info(f"No Delta table under `{config.prefix or '(the whole lakehouse)'}`: nothing to do.")
    return dg.Output(
        None,
        metadata={
            "tables": dg.MetadataValue.int(len(done)),
            "files_compacted": dg.MetadataValue.int(sum(t.files_compacted for t in done)),
            "files_removed": dg.MetadataValue.int(sum(t.files_removed for t in done)),
            "retention_days": dg.MetadataValue.float(float(config.retention_days)),
        },
    )


def lakehouse_maintenance_job(name: str = "lakehouse_maintenance") -> dg.JobDefinition:
    """The job that optimizes and vacuums every Delta table (resource key `lakehouse`)."""

    @dg.job(
        name=name,
        description=(
            "Optimize, then vacuum, every Delta table of the lakehouse. Time travel keeps working for "
            f"`retention_days` days ({DEFAULT_RETENTION_DAYS} by default)."
        ),
        tags={"cfwb/source": "lakehouse"},
    )
    def maintenance():
        _maintain()

    return maintenance


def lakehouse_maintenance_schedule(
    job: dg.JobDefinition,
    *,
    cron_schedule: str = "30 3 * * *",
    retention_days: float = DEFAULT_RETENTION_DAYS,
    name: str = "lakehouse_maintenance_nightly",
) -> dg.ScheduleDefinition:
    """A schedule for `job` (default every night at 03:30 Brussels time) with `retention_days`."""
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone="Europe/Brussels",
        run_config={
            "ops": {"optimize_and_vacuum_delta_tables": {"config": {"retention_days": retention_days}}}
        },
        description=(
            f"Optimize and vacuum the lakehouse's Delta tables ({cron_schedule}, Brussels time), keeping "
            f"{retention_days:g} days of history."
        ),
    )
