"""Schools of the department, through the three lakehouse layers and out to PostgreSQL.

``enseignement/stg/etablissements`` (raw import) → ``enseignement/slv/etablissements`` (cleaned,
typed, deduplicated with DuckDB SQL) → ``enseignement/gld/etablissements_par_commune`` (one row per
commune) → PostgreSQL table ``enseignement_etablissements_par_commune``.

The import stands in for a source system: its rows are generated here, so the demo needs no
network. In a real location the import is a ``LakehouseImportComponent`` in a ``defs.yaml``.
"""

from datetime import timedelta

import dagster as dg
import polars as pl

from dagster_cfwb.metadata import written_table_metadata
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

GROUP = "etablissements"
OWNERS = ["team:enseignement-data", "steward@enseignement.intranet.example"]
DASHBOARD = "https://vizu.intranet.example/enseignement/etablissements"

# Retries with exponential backoff and jitter: a source or a database that hiccups (restart,
# network cut, lock timeout) gets 3 more tries, 10 s, 20 s, 40 s apart (± jitter).
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
COMMUNES = ["Bruxelles", "Liège", "Namur", "Charleroi", "Mons", "Tournai", "Arlon", "Wavre"]
RESEAUX = ["officiel", "libre", "communal"]


def demo_etablissements(n: int = 240) -> pl.DataFrame:
    """Deterministic demo schools, with the defects a real import has (spaces, duplicates, nulls)."""
    rows = [
        {
            "code_fase": str(1000 + i),
            "nom": f"  École {i:03d} ",
            "commune": COMMUNES[i % len(COMMUNES)],
            "reseau": RESEAUX[i % len(RESEAUX)],
            "nb_eleves": None if i % 40 == 7 else 80 + (i * 53) % 900,
        }
        for i in range(n)
    ]
    rows += rows[:5]  # the source repeats a few rows
    return pl.DataFrame(rows)


def _published(lakehouse, written, table_name: str, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata=written_table_metadata(written, table_name, lakehouse=lakehouse, **extra)
    )


@dg.asset(
    key=["enseignement", "stg", "etablissements"],
    group_name=GROUP,
    kinds={"parquet"},
    owners=OWNERS,
    tags={"cfwb/source": "demo", "cfwb/layer": "stg"},
    retry_policy=TRANSIENT_RETRY,
    # Expected fresh every day: the UI flags the table when the last import is older than 26 h.
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
    description="Schools as delivered by the source (raw: untrimmed names, duplicates, missing counts).",
)
def stg_etablissements(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    written = lakehouse.write_table(demo_etablissements(), "enseignement/stg/etablissements.parquet")
    context.log.info(f"Imported {written.rows} schools")
    return _published(
        lakehouse, written, "enseignement/stg/etablissements", source="demo source (generated rows)"
    )


@dg.asset(
    key=["enseignement", "slv", "etablissements"],
    deps=[stg_etablissements],
    group_name=GROUP,
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    tags={"cfwb/layer": "slv"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Schools cleaned: trimmed names, one row per FASE code, missing pupil counts set to 0.",
)
def slv_etablissements(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    cleaned = lakehouse.iter_batches(
        """
        SELECT DISTINCT ON (code_fase)
               CAST(code_fase AS INTEGER) AS code_fase, trim(nom) AS nom, commune, reseau,
               coalesce(nb_eleves, 0)::INTEGER AS nb_eleves
        FROM 'azure://enseignement/stg/etablissements.parquet'
        ORDER BY code_fase
        """
    )
    written = lakehouse.write_table(cleaned, "enseignement/slv/etablissements.parquet")
    return _published(lakehouse, written, "enseignement/slv/etablissements")


@dg.asset(
    key=["enseignement", "gld", "etablissements_par_commune"],
    deps=[slv_etablissements],
    group_name=GROUP,
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    tags={"cfwb/layer": "gld"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Number of schools and pupils per commune and network, ready for dashboards.",
)
def gld_etablissements_par_commune(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    summary = lakehouse.iter_batches(
        """
        SELECT commune, reseau, count(*) AS nb_etablissements, sum(nb_eleves)::BIGINT AS nb_eleves
        FROM 'azure://enseignement/slv/etablissements.parquet'
        GROUP BY ALL ORDER BY commune, reseau
        """
    )
    written = lakehouse.write_table(summary, "enseignement/gld/etablissements_par_commune.parquet")
    return _published(
        lakehouse, written, "enseignement/gld/etablissements_par_commune", dashboard_url=DASHBOARD
    )


@dg.asset(
    key=["enseignement", "pg", "etablissements_par_commune"],
    deps=[gld_etablissements_par_commune],
    group_name=GROUP,
    kinds={"postgres"},
    owners=OWNERS,
    tags={"cfwb/target": "postgresql"},
    retry_policy=TRANSIENT_RETRY,
    automation_condition=dg.AutomationCondition.eager(),
    description="The gold table copied to PostgreSQL (table `enseignement_etablissements_par_commune`) for Excel and BI.",
)
def pg_etablissements_par_commune(
    lakehouse: LakehouseResource, postgresql: PostgreSQLResource
) -> dg.MaterializeResult:
    batches = lakehouse.iter_batches("FROM 'azure://enseignement/gld/etablissements_par_commune.parquet'")
    loaded = postgresql.copy_from_df(batches, "enseignement_etablissements_par_commune")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": loaded.rows,
            "dagster/table_name": f"{postgresql.database}.public.enseignement_etablissements_par_commune",
            "dashboard_url": dg.MetadataValue.url(DASHBOARD),
        }
    )
