"""Daily enrolments: a daily-partitioned import, loaded one day or a whole range (backfill) per run.

Each day is one lakehouse file ``enseignement/stg/inscriptions/<YYYY-MM-DD>.parquet``; readers take
them all with ``FROM 'azure://enseignement/stg/inscriptions/*.parquet'``. A backfill of many days
runs as **one** run (``BackfillPolicy.single_run``) that writes one file per day, so a month of
history does not queue thirty runs against the source.

Launch a backfill from the UI (asset → Materialize → pick a date range) or the command line:
``dagster asset materialize --select enseignement/stg/inscriptions --partition-range 2026-01-01...2026-01-31``.
"""

from datetime import date, timedelta

import dagster as dg
import polars as pl

from dagster_cfwb.metadata import lakehouse_location, table_metadata
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

from .etablissements import OWNERS, TRANSIENT_RETRY

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=0)


def demo_inscriptions(day: date, n: int = 50) -> pl.DataFrame:
    """Deterministic enrolments of one day (same day → same rows, so re-running is idempotent)."""
    seed = day.toordinal()
    return pl.DataFrame(
        {
            "jour": [day] * n,
            "code_fase": [str(1000 + (seed * 7 + i * 13) % 240) for i in range(n)],
            "niveau": [("P1", "P6", "S1", "S6")[(seed + i) % 4] for i in range(n)],
            "nb_inscrits": [1 + (seed + i * 31) % 5 for i in range(n)],
        }
    )


@dg.asset(
    key=["enseignement", "stg", "inscriptions"],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="inscriptions",
    kinds={"parquet"},
    owners=OWNERS,
    tags={"cfwb/source": "demo", "cfwb/layer": "stg"},
    retry_policy=TRANSIENT_RETRY,
    # Every night at 02:00, import yesterday's partition (once the day is complete).
    automation_condition=dg.AutomationCondition.on_cron("0 2 * * *", cron_timezone="Europe/Brussels"),
    description="Enrolments of each day, one lakehouse file per day (partitioned, backfillable).",
)
def stg_inscriptions(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    start, end = context.partition_time_window
    rows, files = 0, 0
    day = start.date()
    while day < end.date():
        written = lakehouse.write_table(
            demo_inscriptions(day), f"enseignement/stg/inscriptions/{day.isoformat()}.parquet"
        )
        rows, files = rows + written.rows, files + 1
        day += timedelta(days=1)
    context.log.info(f"Imported {rows} enrolments in {files} daily files ({start.date()} … {end.date()})")
    return dg.MaterializeResult(
        metadata=table_metadata(
            schema=written.schema,
            rows=rows,
            table_name="enseignement/stg/inscriptions",
            lakehouse_path=lakehouse_location(lakehouse, "enseignement/stg/inscriptions/*.parquet"),
            source="demo source (generated rows)",
            extra={"days": files},
        )
    )
