"""Benchmark: writing a Delta table (replace, append, merge) against a plain Parquet write, in one run.

Run: ``.venv/bin/python bench/delta_write.py [--rows 1000000]``. On a local lakehouse folder
(the same writers run on Azure; the storage adds its own upload time to both formats), with the
mixed table of ``_data.py``:

- Parquet: ``write_table(t, "x/stg/t.parquet")`` (one file, atomic rename) — the baseline;
- Delta replace: ``write_table(t, "x/stg/t", format="delta")`` (first commit);
- Delta append: the same rows again (``mode="append"``, a second commit);
- Delta merge: ``mode="merge", keys=["id"]`` of 10% of the rows changed + 10% new, into the table
  of 2 × rows (what an incremental import commits), against rewriting the whole table in Parquet.

Prints rows/s and each Delta figure as a ratio of the Parquet write of the same rows, then the time of
`delta_scan` queries with each `delta_reader` (DuckDB's extension, loaded per query, or delta-rs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.dirname(__file__))
from _data import mixed_table

from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = args.rows
    table = mixed_table(rows)
    tenth = rows // 10
    changed = table.slice(0, tenth).set_column(
        1, "amount", pc.add(table.column("amount").slice(0, tenth), 1.0)
    )
    new = mixed_table(tenth, seed=7)
    new = new.set_column(0, "id", pa.array(range(10 * rows, 10 * rows + tenth), pa.int64()))
    batch = pa.concat_tables([changed, new])
    doubled = pa.concat_tables([table, table.set_column(0, "id", pc.add(table.column("id"), rows))])

    with tempfile.TemporaryDirectory(prefix="cfwb-bench-delta-") as folder:
        lake = LocalLakehouseResource(root=folder)
        lake.write_table(table.slice(0, 10), "b/stg/warm", format="delta")  # one-time delta-rs start-up
        lake.query_blob_storage("FROM delta_scan('azure://b/stg/warm')")
        parquet = _timed(lambda: lake.write_table(table, "b/stg/p.parquet"))
        parquet_big = _timed(lambda: lake.write_table(doubled, "b/stg/p2.parquet"))
        replace = _timed(lambda: lake.write_table(table, "b/stg/d", format="delta"))
        append = _timed(lambda: lake.write_table(table, "b/stg/d", format="delta", mode="append"))
        lake.write_table(doubled, "b/stg/m", format="delta")
        merge = _timed(lambda: lake.write_table(batch, "b/stg/m", format="delta", mode="merge", keys=["id"]))
        aggregate = "SELECT count(*), sum(amount), count(DISTINCT code) FROM delta_scan('azure://b/stg/m')"
        full = "FROM delta_scan('azure://b/stg/m')"
        arrow = LocalLakehouseResource(root=folder, delta_reader="delta-rs")
        reads = {
            (reader, name): _timed(lambda r=r, q=q: r.query_blob_storage(q, output="arrow"))
            for reader, r in (("duckdb", lake), ("delta-rs", arrow))
            for name, q in (("aggregate", aggregate), ("full scan", full))
        }
        parquet_read = _timed(
            lambda: lake.query_blob_storage("FROM 'azure://b/stg/p2.parquet'", output="arrow")
        )

    def line(name: str, seconds: float, n: int, baseline: float | None) -> str:
        ratio = f"{seconds / baseline:5.2f}× the Parquet time" if baseline else "baseline"
        return f"{name:<44} {seconds:7.2f} s  {n / seconds:>12,.0f} rows/s  {ratio}"

    print(f"Delta vs Parquet writes, {rows:,} rows ({table.nbytes / 1e6:,.0f} MB in Arrow), local folder")
    print(line("Parquet write (one file)", parquet, rows, None))
    print(line("Delta replace (first commit)", replace, rows, parquet))
    print(line("Delta append (second commit)", append, rows, parquet))
    print(line(f"Parquet rewrite of {2 * rows:,} rows", parquet_big, 2 * rows, None))
    print(line(f"Delta merge of {len(batch):,} rows into {2 * rows:,}", merge, len(batch), parquet_big))
    print(
        f"Reading the merged table ({2 * rows + len(new):,} rows) in SQL, each query on a fresh connection:"
    )
    print(f"{'  Parquet file, full scan':<44} {parquet_read:7.2f} s")
    for (reader, name), seconds in reads.items():
        print(f"{f'  delta_scan, delta_reader={reader}, {name}':<44} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
