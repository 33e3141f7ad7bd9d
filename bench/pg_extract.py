"""Table (a): PostgreSQL → Parquet, the library's `extract_to_lakehouse` against what a user would pick.

The source is the reference table (`bench/_data.py`, loaded once into `<schema>.src`); every method
writes Parquet files into its own folder, checked against the reference. Compression: each tool's
default (the library and connectorx/ADBC via pyarrow: zstd for ours, snappy for the others).
"""

from __future__ import annotations

import os
import shutil

from checks import Parquet
from peers import (
    attach_postgres,
    dlt_pipeline,
    duckdb_connect,
    pg_connect,
    pg_url,
    run_sling,
    warm_library_imports,
)
from runner import Method, Table


def output_folder(ctx: dict, name: str) -> str:
    folder = os.path.join(ctx["work"], "out", name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def source_sql(ctx: dict) -> str:
    return f'SELECT * FROM "{ctx["schema"]}".{ctx["src"]}'


def duckdb_scanner(ctx: dict):
    path = os.path.join(output_folder(ctx, "duckdb"), "src.parquet")

    def job():
        with duckdb_connect("postgres_scanner") as con:
            attach_postgres(con, ctx, "pg")
            con.execute(f"COPY pg.\"{ctx['schema']}\".{ctx['src']} TO '{path}' (FORMAT parquet)")
        return Parquet(path)

    return job


def adbc_table(ctx: dict):
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.parquet as pq

    path = os.path.join(output_folder(ctx, "adbc"), "src.parquet")

    def job():
        with adbc.connect(pg_url(ctx)) as conn, conn.cursor() as cur:
            cur.execute(source_sql(ctx))
            table = cur.fetch_arrow_table()
        pq.write_table(table, path)
        return Parquet(path)

    return job


def connectorx_arrow(ctx: dict, url: str | None = None, sql: str | None = None):
    import connectorx as cx
    import pyarrow.parquet as pq

    path = os.path.join(output_folder(ctx, "cx"), "src.parquet")

    def job():
        pq.write_table(cx.read_sql(url or pg_url(ctx), sql or source_sql(ctx), return_type="arrow"), path)
        return Parquet(path)

    return job


def connectorx_stream(ctx: dict, url: str | None = None, sql: str | None = None):
    import connectorx as cx
    import pyarrow.parquet as pq

    path = os.path.join(output_folder(ctx, "cx-stream"), "src.parquet")

    def job():
        reader = cx.read_sql(
            url or pg_url(ctx), sql or source_sql(ctx), return_type="arrow_stream", batch_size=65_536
        )
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        return Parquet(path)

    return job


def ours_extract(ctx: dict):
    warm_library_imports(
        "adbc_driver_postgresql", "adbc_driver_manager", "psycopg", "pyarrow.compute", "pyarrow.parquet"
    )
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    lake = LocalLakehouseResource(root=output_folder(ctx, "ours"))
    pg = PostgreSQLResource(**ctx["pg"])

    def job():
        pg.extract_to_lakehouse(source_sql(ctx), lake, "bench/stg/src.parquet")
        return Parquet(os.path.join(lake.root, "bench/stg/src.parquet"))

    return job


def dlt_extract(ctx: dict, url: str | None = None, schema: str | None = None):
    import dlt
    from dlt.sources.sql_database import sql_table

    folder = output_folder(ctx, "dlt")
    source = sql_table(
        credentials=url or pg_url(ctx),
        table=ctx["src"],
        schema=schema or ctx["schema"],
        backend="pyarrow",
        chunk_size=65_536,
    )
    destination = dlt.destinations.filesystem(bucket_url="file://" + folder)
    pipeline = dlt_pipeline(ctx, "bench_extract", destination, "bench")

    def job():
        pipeline.run(source, loader_file_format="parquet", write_disposition="replace")
        return Parquet(os.path.join(folder, "bench", ctx["src"], "*.parquet"))

    return job


def sling_extract(ctx: dict, url: str | None = None, stream: str | None = None):
    """Sling into a folder of Parquet files: with a single-file target (`file://…/x.parquet`) Sling 1.4.11
    keeps only its last chunk of a large table (299,446 of 2,000,000 rows here), and says nothing."""
    folder = output_folder(ctx, "sling")

    def job():
        run_sling(
            ctx,
            "--src-conn", "SRC",
            "--src-stream", stream or f"{ctx['schema']}.{ctx['src']}",
            "--tgt-object", f"file://{folder}/",
            "--tgt-options", '{"format": "parquet", "file_max_rows": 500000}',
            SRC=url or pg_url(ctx) + "?sslmode=disable",
        )  # fmt: skip
        return Parquet(os.path.join(folder, "**", "*.parquet"))

    return job


def tables() -> list[Table]:
    here = "pg_extract"
    return [
        Table(
            "PostgreSQL → Parquet (extract)",
            [
                Method("DuckDB postgres scanner `COPY … TO parquet`", f"{here}:duckdb_scanner"),
                Method("ADBC `fetch_arrow_table` + `pq.write_table`", f"{here}:adbc_table"),
                Method("connectorx arrow + `pq.write_table`", f"{here}:connectorx_arrow"),
                Method("connectorx arrow_stream + `ParquetWriter`", f"{here}:connectorx_stream"),
                Method("`extract_to_lakehouse` (LocalLakehouse)", f"{here}:ours_extract", ours=True),
                Method(
                    'dlt `sql_table(backend="pyarrow")` → filesystem parquet',
                    f"{here}:dlt_extract",
                    once=True,
                ),
                Method("Sling postgres → parquet", f"{here}:sling_extract", once=True),
            ],
        )
    ]


def setup(ctx: dict) -> None:
    import pyarrow.parquet as pq

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    pg = PostgreSQLResource(**ctx["pg"])
    pg.execute(f'DROP SCHEMA IF EXISTS "{ctx["schema"]}" CASCADE')
    pg.execute(f'CREATE SCHEMA "{ctx["schema"]}"')
    for c in (ctx, ctx["slow"]):
        pg.copy_from_df(pq.ParquetFile(c["ref"]).iter_batches(65_536), c["src"], schema=ctx["schema"])
    # VACUUM sets every row's hint bits and the visibility map now: otherwise the first method to scan
    # a freshly loaded table pays for that, and autovacuum doing it later moves the figures mid-run
    with pg_connect(ctx) as conn:
        for c in (ctx, ctx["slow"]):
            conn.execute(f'VACUUM (ANALYZE) "{ctx["schema"]}".{c["src"]}')


def teardown(ctx: dict) -> None:
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    PostgreSQLResource(**ctx["pg"]).execute(f'DROP SCHEMA IF EXISTS "{ctx["schema"]}" CASCADE')
