"""Table (b): Arrow/Parquet → PostgreSQL, replacing a table, against the server's own binary COPY.

Every method reads the reference Parquet file and ends with the table holding exactly its rows
(checked by reading it back through DuckDB's postgres scanner). The reference is the server reading
a binary COPY file of the same rows from its own disk (encoded once, before timing).
"""

from __future__ import annotations

import os

from checks import PgTable
from peers import attach_postgres, dlt_pipeline, duckdb_connect, pg_connect, pg_url, warm_library_imports
from runner import Method, Table


def batches(ctx: dict):
    import pyarrow.parquet as pq

    return pq.ParquetFile(ctx["ref"]).iter_batches(65_536)


def ours_load(ctx: dict, how: str = "streamed", copy_streams: int | None = None):
    warm_library_imports("pgpq", "psycopg")
    import pyarrow.parquet as pq

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    settings = dict(ctx["pg"], **({"copy_streams": copy_streams} if copy_streams else {}))
    pg = PostgreSQLResource(**settings)
    table = f"ours_{how}_{copy_streams or 'default'}"
    in_memory = pq.read_table(ctx["ref"]) if how == "memory" else None  # read before timing

    def job():
        data = in_memory if how == "memory" else pq.read_table(ctx["ref"]) if how == "whole" else batches(ctx)
        pg.copy_from_df(data, table, schema=ctx["schema"], mode="replace")
        return PgTable(ctx["schema"], table)

    return job


def server_copy(ctx: dict):
    target = f'"{ctx["schema"]}".server_copy'
    with pg_connect(ctx) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {target}")
        conn.execute(f"CREATE TABLE {target} ({ctx['pg_columns']})")

    def job():
        with pg_connect(ctx) as conn:
            conn.execute(f"COPY {target} FROM '{ctx['pgcopy']}' (FORMAT binary)")
        return PgTable(ctx["schema"], "server_copy")

    return job


def duckdb_attach(ctx: dict):
    target = f'pg."{ctx["schema"]}".duckdb_ctas'
    with duckdb_connect("postgres_scanner") as con:
        attach_postgres(con, ctx, "pg", read_only=False)
        con.execute(f"DROP TABLE IF EXISTS {target}")

    def job():
        with duckdb_connect("postgres_scanner") as con:
            attach_postgres(con, ctx, "pg", read_only=False)
            con.execute(f"CREATE TABLE {target} AS FROM read_parquet('{ctx['ref']}')")
        return PgTable(ctx["schema"], "duckdb_ctas")

    return job


def adbc_ingest(ctx: dict):
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    def job():
        reader = pa.RecordBatchReader.from_batches(pq.read_schema(ctx["ref"]), batches(ctx))
        with adbc.connect(pg_url(ctx)) as conn, conn.cursor() as cur:
            cur.adbc_ingest("adbc_ingest", reader, mode="replace", db_schema_name=ctx["schema"])
            conn.commit()
        return PgTable(ctx["schema"], "adbc_ingest")

    return job


def dlt_load(ctx: dict, destination=None, dataset: str | None = None, output=None):
    import dlt

    dataset = dataset or f"{ctx['schema']}_dlt"
    # dlt insists on a password; the bench server trusts local connections and ignores it
    url = pg_url(ctx).replace("@", ":unused@", 1)
    destination = destination or dlt.destinations.postgres(credentials=url)
    pipeline = dlt_pipeline(ctx, "bench_load", destination, dataset)

    @dlt.resource(name="loaded", write_disposition="replace")
    def rows():
        yield from batches(ctx)

    def job():
        pipeline.run(rows(), loader_file_format="parquet")
        return output or PgTable(dataset, "loaded")

    return job


def tables() -> list[Table]:
    here = "pg_load"
    return [
        Table(
            "Arrow/Parquet → PostgreSQL (load, replace)",
            [
                Method(
                    "`copy_from_df(ParquetFile.iter_batches())` (streamed)", f"{here}:ours_load", ours=True
                ),
                Method(
                    "`copy_from_df(pq.read_table(...))` (a whole table)",
                    f"{here}:ours_load",
                    ("whole",),
                    ours=True,
                ),
                Method(
                    "`copy_from_df(table)` (a whole table already in memory)",
                    f"{here}:ours_load",
                    ("memory",),
                    ours=True,
                ),
                Method(
                    "`copy_from_df(..., copy_streams=1)` (streamed)",
                    f"{here}:ours_load",
                    ("streamed", 1),
                    ours=True,
                ),
                Method(
                    "`copy_from_df(..., copy_streams=2)` (streamed)",
                    f"{here}:ours_load",
                    ("streamed", 2),
                    ours=True,
                ),
                Method("DuckDB `ATTACH … (TYPE postgres)` `CREATE TABLE AS`", f"{here}:duckdb_attach"),
                Method("server `COPY … FROM file (FORMAT binary)`", f"{here}:server_copy"),
                Method("ADBC `adbc_ingest` (streamed)", f"{here}:adbc_ingest"),
                Method("dlt postgres (parquet loader files)", f"{here}:dlt_load", once=True),
            ],
            reference="server `COPY … FROM file (FORMAT binary)`",
        )
    ]


def setup(ctx: dict) -> None:
    """The schema, and the binary COPY file of the reference rows that the server reads."""
    import pgpq
    import pyarrow.parquet as pq

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
    from dagster_cfwb.transfer.postgres.types import pg_column_definitions

    pg = PostgreSQLResource(**ctx["pg"])
    pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{ctx["schema"]}"')
    ctx["pgcopy"] = os.path.join(ctx["work"], "reference.pgcopy")
    schema = pq.read_schema(ctx["ref"])
    ctx["pg_columns"] = ", ".join(pg_column_definitions(schema, lambda n: f'"{n}"'))
    encoder = pgpq.ArrowToPostgresBinaryEncoder(schema)
    with open(ctx["pgcopy"], "wb") as fh:
        fh.write(encoder.write_header())
        for batch in batches(ctx):
            fh.write(encoder.write_batch(batch))
        fh.write(encoder.finish())
    os.chmod(ctx["pgcopy"], 0o644)


def teardown(ctx: dict) -> None:
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    pg = PostgreSQLResource(**ctx["pg"])
    for schema in (ctx["schema"], f"{ctx['schema']}_dlt"):
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    os.unlink(ctx.pop("pgcopy"))
