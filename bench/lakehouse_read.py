"""Benchmark: reading the lakehouse on Azure (Azurite) — native DuckDB azure extension vs adlfs/fsspec.

Run: ``.venv/bin/python bench/lakehouse_read.py [--rows 2000000]``. Starts Azurite from
node_modules on a free port, writes one Parquet file with ``write_table`` and then, in one run:
- the full scan and an aggregate with ``engine="native"`` (duckdb-extension-azure from pip),
- the same with ``engine="fsspec"`` (adlfs registered in DuckDB, Python callbacks),
- the same on a local folder (the disk's own limit for DuckDB on this machine).
This is the measurement behind AzureAdlsResource's default ``engine="auto"`` (native when installed).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _data import mixed_table

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

ROOT = Path(__file__).resolve().parents[1]
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def start_azurite(folder: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(ROOT / "node_modules/.bin/azurite-blob"),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            folder,
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    cs = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    return proc, cs


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    table = mixed_table(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        proc, cs = start_azurite(os.path.join(tmp, "azurite"))
        try:
            backends = {
                "azure native (duckdb-extension-azure)": AzureAdlsResource(
                    connection_string=cs, engine="native"
                ),
                "azure fsspec (adlfs)": AzureAdlsResource(connection_string=cs, engine="fsspec"),
                "local folder": LocalLakehouseResource(root=os.path.join(tmp, "lake")),
            }
            written = None
            for lake in backends.values():
                written = lake.write_table(table, "bench/stg/mixed.parquet")
            print(f"{args.rows:,} rows, Parquet file {written.bytes / 1e6:,.0f} MB")
            queries = {
                "full scan": "SELECT * FROM 'azure://bench/stg/mixed.parquet'",
                "aggregate": "SELECT code, sum(amount), count(*) FROM 'azure://bench/stg/mixed.parquet' GROUP BY code",
            }
            results = {}
            for name, lake in backends.items():
                for qname, sql in queries.items():
                    results[(name, qname)] = best(
                        lambda lake=lake, sql=sql: lake.query_blob_storage(sql, output="arrow"), args.repeat
                    )
            print(f"\n{'backend':40} {'query':10} {'seconds':>8} {'rows/s':>12} {'vs native':>10}")
            for (name, qname), secs in results.items():
                ref = results[("azure native (duckdb-extension-azure)", qname)]
                print(f"{name:40} {qname:10} {secs:8.2f} {args.rows / secs:12,.0f} {ref / secs:9.2f}x")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
