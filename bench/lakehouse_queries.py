"""Table (d): `query_blob_storage` against DuckDB used directly on the same Parquet files.

A set of 5 × `BENCH_ROWS` rows (10M by default) in 10 files, plus a small dimension file, written
with `write_table` to a local folder and to Azurite (started like the test fixtures, on a free port).
Three queries — a selective filter returning whole rows, a group-by aggregate, a join to the
dimension — run through the library and through a bare DuckDB connection (for Azurite: the same
pip-packaged azure extension and a connection-string secret). The ratio is DuckDB's time over the
library's (1.00: no overhead); the check compares the two results.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from checks import verdict
from peers import duckdb_connect
from runner import Method, Table

PARTS = 10
FACTS = "'azure://bench/stg/facts/*.parquet'"
DIM = "'azure://bench/stg/codes.parquet'"
QUERIES = {
    "filter": f"SELECT * FROM {FACTS} WHERE code = 'code-42'",
    "aggregate": f"SELECT code, count(*) AS n, sum(qty) AS qty, min(amount) AS lo, max(amount) AS hi FROM {FACTS} GROUP BY code",
    "join": f"SELECT d.region, count(*) AS n, sum(f.qty) AS qty FROM {FACTS} f JOIN {DIM} d USING (code) GROUP BY d.region",
}
BACKENDS = {"local": "local folder", "azurite": "Azurite (native azure extension)"}
_AZURITE = []  # the Azurite process started by setup()


def _lake(ctx: dict, backend: str):
    if backend == "local":
        from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

        return LocalLakehouseResource(root=ctx["lake"]["root"])
    from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

    return AzureAdlsResource(connection_string=ctx["lake"]["cs"], engine="native")


def ours(ctx: dict, backend: str, query: str):
    lake = _lake(ctx, backend)
    return lambda: lake.query_blob_storage(QUERIES[query], output="arrow")


def direct(ctx: dict, backend: str, query: str):
    if backend == "local":
        sql, extensions = QUERIES[query].replace("'azure://", f"'{ctx['lake']['root']}/"), ()
    else:
        sql, extensions = QUERIES[query].replace("'azure://", "'az://lakehouse/"), ("azure",)

    def job():
        with duckdb_connect(*extensions) as con:
            if backend == "azurite":
                con.execute(f"CREATE SECRET lake (TYPE azure, CONNECTION_STRING '{ctx['lake']['cs']}')")
            return con.execute(sql).to_arrow_table()

    return job


def tables() -> list[Table]:
    methods = []
    for backend in BACKENDS:
        for query in QUERIES:
            methods.append(Method(f"{backend} {query} direct", "lakehouse_queries:direct", (backend, query)))
            methods.append(
                Method(f"{backend} {query} ours", "lakehouse_queries:ours", (backend, query), ours=True)
            )
    return [Table("Lakehouse queries", methods)]


def render(table: Table, ctx: dict) -> str:
    rows = ctx["lake"]["rows"]
    lines = [
        f"| lakehouse query ({rows:,} rows, {PARTS} files) | backend | DuckDB directly | "
        "**`query_blob_storage`** | ratio | peak RSS direct / ours | check |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    results = iter(table.results)
    for direct_result, ours_result in zip(results, results, strict=True):
        backend, query = direct_result.method.args
        if direct_result.error or ours_result.error:
            lines.append(
                f"| {query} | {BACKENDS[backend]} | — | — | — | — | failed: "
                f"{(direct_result.error or ours_result.error).replace('|', '/')} |"
            )
            continue
        lines.append(
            f"| {query} | {BACKENDS[backend]} | {direct_result.seconds:.2f} s | **{ours_result.seconds:.2f} s** | "
            f"**{direct_result.seconds / ours_result.seconds:.2f}** | "
            f"{direct_result.rss_mb:,.0f} / {ours_result.rss_mb:,.0f} MB | {verdict(ours_result.check, direct_result.check)} |"
        )
    lines += ["", "Queries: " + "; ".join(f"{name}: `{sql}`" for name, sql in QUERIES.items()) + "."]
    return "\n".join(lines)


def setup(ctx: dict) -> None:
    """The Parquet set, written by `write_table` to a local folder and to a fresh Azurite."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from _data import mixed_table
    from lakehouse_read import start_azurite

    rows = 5 * ctx["rows"]
    folder = os.path.join(ctx["work"], "lake")
    proc, cs = start_azurite(os.path.join(folder, "azurite"))
    _AZURITE.append(proc)
    ctx["lake"] = {"rows": rows, "root": os.path.join(folder, "local"), "cs": cs}
    ctx["columns"], ctx["saved_columns"] = None, ctx["columns"]  # the checks compare whole results
    lakes = [_lake(ctx, "local"), _lake(ctx, "azurite")]
    codes = pa.array([f"code-{i}" for i in range(9973)])
    dim = pa.table({"code": codes, "region": pa.array(np.arange(9973) % 12, pa.int32())})
    for lake in lakes:
        lake.write_table(dim, "bench/stg/codes.parquet")
    step = -(-rows // PARTS)
    for i, start in enumerate(range(0, rows, step)):
        part = mixed_table(min(step, rows - start), seed=start)
        part = part.set_column(0, "id", pc.add(part.column("id"), start))
        for lake in lakes:
            lake.write_table(part, f"bench/stg/facts/part-{i:02d}.parquet")


def teardown(ctx: dict) -> None:
    for proc in _AZURITE:
        proc.terminate()
        try:
            proc.wait(timeout=60)  # Azurite can take a while to exit on a loaded machine
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _AZURITE.clear()
    shutil.rmtree(os.path.join(ctx["work"], "lake"), ignore_errors=True)
    ctx["columns"] = ctx.pop("saved_columns")
