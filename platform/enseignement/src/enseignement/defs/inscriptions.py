"""Daily enrolments: a daily-partitioned import, loaded one day or a whole range (backfill) per run.

Both assets are plain Python functions that **return a polars DataFrame**; the platform's
`lakehouse_io_manager` (a `LakehouseIOManager`, see docs/io_manager.md) stores it and hands it to
the asset downstream — no lakehouse call in the asset's body:

- ``enseignement/stg/inscriptions``: each day is one lakehouse file
  ``enseignement/stg/inscriptions/<YYYY-MM-DD>.parquet`` (the IO manager's layout for a partitioned
  Parquet asset); readers take them all with ``FROM 'azure://enseignement/stg/inscriptions/*.parquet'``
  (the dbt project does). A backfill of many days runs as **one** run (``BackfillPolicy.single_run``)
  that returns all its days in one frame; the IO manager splits it by the column ``jour``
  (metadata ``cfwb/partition_column``) and writes one file per day, so a month of history does not
  queue thirty runs against the source.
- ``enseignement/gld/inscriptions_par_niveau``: enrolments per school level over every day imported
  so far; its input is all the days of the import, loaded by the IO manager as **one** frame
  (days not imported yet are skipped: ``cfwb/allow_missing_partitions``).

Launch a backfill from the UI (asset → Materialize → pick a date range) or the command line:
``dagster asset materialize --select enseignement/stg/inscriptions --partition-range 2026-01-01...2026-01-31``.
"""

from datetime import date, timedelta

import dagster as dg
import polars as pl

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
    io_manager_key="lakehouse_io_manager",
    metadata={"cfwb/partition_column": "jour"},
    group_name="inscriptions",
    kinds={"parquet", "polars"},
    owners=OWNERS,
    tags={"cfwb/source": "demo", "cfwb/layer": "stg"},
    retry_policy=TRANSIENT_RETRY,
    # Every night at 02:00, import yesterday's partition (once the day is complete).
    automation_condition=dg.AutomationCondition.on_cron("0 2 * * *", cron_timezone="Europe/Brussels"),
    description="Enrolments of each day, one lakehouse file per day (partitioned, backfillable).",
)
def stg_inscriptions(context: dg.AssetExecutionContext) -> pl.DataFrame:
    start, end = context.partition_time_window
    days = [start.date() + timedelta(days=i) for i in range((end.date() - start.date()).days)]
    context.log.info(f"Importing the enrolments of {len(days)} days ({days[0]} … {days[-1]})")
    return pl.concat([demo_inscriptions(day) for day in days])


@dg.asset(
    key=["enseignement", "gld", "inscriptions_par_niveau"],
    ins={
        "inscriptions": dg.AssetIn(
            key=["enseignement", "stg", "inscriptions"],
            metadata={"cfwb/allow_missing_partitions": True},
        )
    },
    io_manager_key="lakehouse_io_manager",
    group_name="inscriptions",
    kinds={"parquet", "polars"},
    owners=OWNERS,
    automation_condition=dg.AutomationCondition.eager(),
    description="Enrolments per school level over every day imported, ready for dashboards.",
)
def gld_inscriptions_par_niveau(inscriptions: pl.DataFrame) -> pl.DataFrame:
    return (
        inscriptions.group_by("niveau")
        .agg(
            pl.col("nb_inscrits").sum().alias("nb_inscrits"),
            pl.col("jour").n_unique().alias("nb_jours"),
        )
        .sort("niveau")
    )
