"""The seed pipeline of the documentation: a table lands in the lakehouse, then goes to PostgreSQL.

``stg_example`` writes ``code_location/stg/example.parquet`` (demo rows generated here, no download);
``gld_example`` is the asset of the documentation, copied verbatim: it reads that file with DuckDB
SQL and bulk-loads it into PostgreSQL table ``example``. In the demo, ``azure_adls`` is the local
lakehouse folder — both lakehouse resources answer the same SQL.
"""

import dagster as dg
import polars as pl
from dagster import MaterializeResult, MetadataValue, asset

from dagster_cfwb.metadata import lakehouse_location, table_metadata
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseResource

EXAMPLE_ROWS = 1_000


def example_rows(n: int = EXAMPLE_ROWS) -> pl.DataFrame:
    """Deterministic demo rows: id, commune, date, amount, flag (some nulls)."""
    ids = pl.int_range(1, n + 1, eager=True)
    communes = ["Bruxelles", "Liège", "Namur", "Charleroi", "Mons", "Tournai", "Arlon"]
    return pl.DataFrame(
        {
            "id": ids,
            "commune": [communes[i % len(communes)] for i in range(n)],
            "date_inscription": pl.date_range(
                pl.date(2024, 1, 1), pl.date(2024, 1, 1) + pl.duration(days=n - 1), eager=True
            ),
            "montant": [round((i * 37 % 1000) / 10, 2) for i in range(n)],
            "actif": [None if i % 50 == 0 else i % 3 != 0 for i in range(n)],
        }
    )


@dg.asset(
    group_name="seed_example",
    kinds={"parquet", "polars"},
    owners=["team:data-platform"],
    tags={"cfwb/layer": "stg"},
    description="Demo rows written to the lakehouse file `code_location/stg/example.parquet`.",
)
def stg_example(context: dg.AssetExecutionContext, azure_adls: LakehouseResource) -> dg.MaterializeResult:
    written = azure_adls.write_table(example_rows(), "code_location/stg/example.parquet")
    context.log.info(f"Wrote {written.rows} rows to `{written.path}`")
    return dg.MaterializeResult(
        metadata=table_metadata(
            schema=written.schema,
            rows=written.rows,
            table_name="code_location/stg/example",
            lakehouse_path=lakehouse_location(azure_adls, written.path),
            bytes=written.bytes,
            source="generated in-process (demo rows)",
        )
    )


# ---- the documentation's asset (issue 2): body verbatim; `deps` added so that one run holding both
# assets writes the file before reading it (Dagster orders steps by declared dependencies only).
# fmt: off
@asset(deps=[stg_example], group_name="seed_example", kinds={"duckdb", "postgres"})
def gld_example(context, azure_adls: AzureAdlsResource, postgresql: PostgreSQLResource):
    df = azure_adls.query_blob_storage("FROM 'azure://code_location/stg/example.parquet'")
    postgresql.copy_from_df(df, "example")
    return MaterializeResult(metadata={"dagster/row_count": df.shape[0], "num_columns": df.shape[1],
        "dashboard_url": MetadataValue.url("https://vizu.intranet.example/dash")})
# fmt: on
# -------------------------------------------------------------------------------------------------
