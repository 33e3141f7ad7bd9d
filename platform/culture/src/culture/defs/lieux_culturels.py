"""Cultural venues (theatres, libraries, museums) through the lakehouse layers.

``culture/stg/lieux`` (raw import, generated here for the demo) → ``culture/slv/lieux`` (cleaned)
→ ``culture/gld/lieux_par_commune`` (seats per commune and type). The data platform's dbt project
joins this with the schools of ``enseignement``.
"""

from datetime import timedelta

import dagster as dg
import polars as pl

from dagster_cfwb.metadata import written_table_metadata
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

GROUP = "lieux_culturels"
OWNERS = ["team:culture-data"]
TYPES = ["bibliothèque", "théâtre", "musée", "centre culturel"]
COMMUNES = ["Bruxelles", "Liège", "Namur", "Charleroi", "Mons", "Tournai", "Arlon", "Wavre"]
RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def demo_lieux(n: int = 120) -> pl.DataFrame:
    """Deterministic demo venues (some without a seat count)."""
    return pl.DataFrame(
        {
            "id_lieu": list(range(1, n + 1)),
            "nom": [f"Lieu {i:03d}" for i in range(1, n + 1)],
            "type": [TYPES[i % len(TYPES)] for i in range(n)],
            "commune": [COMMUNES[(i * 3) % len(COMMUNES)] for i in range(n)],
            "places": [None if i % 17 == 0 else 50 + (i * 41) % 600 for i in range(n)],
        }
    )


def _published(lakehouse, written, table_name: str, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata=written_table_metadata(written, table_name, lakehouse=lakehouse, **extra)
    )


@dg.asset(
    key=["culture", "stg", "lieux"],
    group_name=GROUP,
    kinds={"parquet"},
    owners=OWNERS,
    tags={"cfwb/source": "demo", "cfwb/layer": "stg"},
    retry_policy=RETRY,
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=timedelta(days=8), warn_window=timedelta(days=7)
    ),
    description="Cultural venues as delivered by the source.",
)
def stg_lieux(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    written = lakehouse.write_table(demo_lieux(), "culture/stg/lieux.parquet")
    return _published(lakehouse, written, "culture/stg/lieux", source="demo source (generated rows)")


@dg.asset(
    key=["culture", "slv", "lieux"],
    deps=[stg_lieux],
    group_name=GROUP,
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    automation_condition=dg.AutomationCondition.eager(),
    description="Venues cleaned: unknown seat counts as 0, types in lower case.",
)
def slv_lieux(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    cleaned = lakehouse.iter_batches(
        "SELECT id_lieu, nom, lower(type) AS type, commune, coalesce(places, 0)::INTEGER AS places "
        "FROM 'azure://culture/stg/lieux.parquet'"
    )
    return _published(
        lakehouse, lakehouse.write_table(cleaned, "culture/slv/lieux.parquet"), "culture/slv/lieux"
    )


@dg.asset(
    key=["culture", "gld", "lieux_par_commune"],
    deps=[slv_lieux],
    group_name=GROUP,
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    automation_condition=dg.AutomationCondition.eager(),
    description="Number of venues and seats per commune and type.",
)
def gld_lieux_par_commune(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    summary = lakehouse.iter_batches(
        "SELECT commune, type, count(*) AS nb_lieux, sum(places)::BIGINT AS places "
        "FROM 'azure://culture/slv/lieux.parquet' GROUP BY ALL ORDER BY commune, type"
    )
    written = lakehouse.write_table(summary, "culture/gld/lieux_par_commune.parquet")
    return _published(
        lakehouse,
        written,
        "culture/gld/lieux_par_commune",
        dashboard_url="https://vizu.intranet.example/culture",
    )


lieux_weekly = dg.ScheduleDefinition(
    name="culture_lieux_weekly",
    target=[stg_lieux],
    cron_schedule="0 5 * * 1",
    execution_timezone="Europe/Brussels",
    tags={"cfwb/source": "demo"},
    description="Every Monday at 05:00 (Brussels time): import the venues; the other layers follow.",
)
