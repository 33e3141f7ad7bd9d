"""Benchmark: pulling a paginated JSON API into the lakehouse with RestApiResource.

Run: ``.venv/bin/python bench/rest_api.py [--records 100000 --page-size 500]``. Starts the test API
(tests/http_api_server.py) in a separate process, then measures in one run:

- ``httpx floor``: a bare httpx loop that GETs every page and parses its JSON (nothing else) — the
  limit set by the server and the network; every other line is compared with it;
- ``iter_pages``: RestApiResource.iter_pages (retries, auth hook, paginator, masking) — our overhead;
- ``to_lakehouse``: iter_pages + records→Arrow typing + streamed atomic Parquet file;
- ``alternative``: what an analyst might write instead — the httpx loop, every record kept in a
  Python list, ``polars.from_dicts`` and ``write_parquet`` at the end (all rows in memory at once).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port, wait_for_port  # noqa: E402

from dagster_cfwb.resources.api.rest import OffsetPaginator  # noqa: E402
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource  # noqa: E402
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource  # noqa: E402

SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from http_api_server import ApiServer
server = ApiServer(port={port}, total={total}).start()
while True:
    time.sleep(3600)
"""


def timed(label: str, fn, floor: float | None = None) -> float:
    started = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - started
    ratio = f"  {seconds / floor:5.2f}× floor" if floor else ""
    print(f"{label:<14} {rows:>9,} records  {seconds:6.2f}s  {rows / seconds:>10,.0f} rec/s{ratio}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    port = free_port()
    code = SERVER.format(tests=str(ROOT / "tests"), port=port, total=args.records)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        if not wait_for_port("127.0.0.1", port, timeout=20):
            raise SystemExit("test API did not start")
        base = f"http://127.0.0.1:{port}"
        size = args.page_size

        def floor() -> int:
            n = 0
            with httpx.Client(base_url=base) as client:
                for offset in range(0, args.records, size):
                    n += len(
                        client.get("/offset", params={"offset": offset, "limit": size}).json()["results"]
                    )
            return n

        api = RestApiResource(base_url=base)
        paginator = OffsetPaginator(limit=size, total_path="total")

        def pages() -> int:
            return sum(len(p) for p in api.iter_pages("offset", paginator=paginator, record_path="results"))

        with tempfile.TemporaryDirectory() as folder:
            lakehouse = LocalLakehouseResource(root=folder)

            def to_lakehouse() -> int:
                return api.to_lakehouse(
                    "offset", lakehouse, "bench/stg/items.parquet", paginator=paginator, record_path="results"
                ).rows

            def alternative() -> int:
                records: list[dict] = []
                with httpx.Client(base_url=base) as client:
                    for offset in range(0, args.records, size):
                        records += client.get("/offset", params={"offset": offset, "limit": size}).json()[
                            "results"
                        ]
                frame = pl.from_dicts(records)
                frame.write_parquet(os.path.join(folder, "alt.parquet"))
                return frame.height

            floor()  # warm up imports and the server
            print(f"{args.records:,} records, {size} per page, {-(-args.records // size)} pages")
            base_seconds = timed("httpx floor", floor)
            timed("iter_pages", pages, base_seconds)
            timed("to_lakehouse", to_lakehouse, base_seconds)
            timed("alternative", alternative, base_seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
