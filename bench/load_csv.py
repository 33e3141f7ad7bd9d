"""Benchmark: load a large CSV into the lakehouse through ``load_file_to_lakehouse``.

Generates a CSV of ``--gb`` gigabytes (ids, codes with leading zeros, accented names, amounts, dates,
booleans, free text with quotes and delimiters), loads it into a local lakehouse, and reports rows/s,
MB/s and peak RSS. Each load runs in its own subprocess, so ``ru_maxrss`` is that load's peak alone.
With ``--compare`` (default), the same file is also loaded the ways users would otherwise pick:
pyarrow ``read_csv`` of the whole file, polars ``scan_csv().sink_parquet()``, DuckDB ``COPY``.

    .venv/bin/python bench/load_csv.py --gb 1
    .venv/bin/python bench/load_csv.py --gb 1 --encoding windows-1252 --decimal-comma --no-compare
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHUNK_ROWS = 500_000


def _chunk(start: int, rows: int, decimal_comma: bool):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(start)
    ids = np.arange(start, start + rows, dtype=np.int64)
    names = np.array(["Renée", "François", "Zoë", "Jürg", "Ana", "Léo-Paul", "Noémie", "Çelik"])
    cities = np.array(["Genève", "Neuchâtel", "Zürich", "Fribourg", "Delémont"])
    amount = pa.array(np.round(rng.normal(1000, 250, rows), 2))
    amount_text = pc.cast(amount, pa.string())
    if decimal_comma:
        amount_text = pc.replace_substring(amount_text, ".", ",")
    comment = pc.binary_join_element_wise(
        pa.array(names[ids % len(names)]),
        pa.array(np.where(ids % 7 == 0, 'dit "oui", puis non', "ras")),
        " – ",
    )
    return pa.table(
        {
            "id": ids,
            "code": pc.utf8_lpad(pa.array((ids % 99_991).astype(str)), 6, "0"),
            "nom": pa.array(names[(ids * 7) % len(names)]),
            "ville": pa.array(cities[ids % len(cities)]),
            "montant": amount_text,
            "quantite": pa.array(rng.integers(0, 1000, rows, dtype=np.int32)),
            "jour": pa.array((ids % 20_000).astype("int32"), pa.int32()).cast(pa.date32()),
            "actif": pa.array(ids % 3 == 0),
            "commentaire": comment,
        }
    )


def generate(path: Path, gb: float, encoding: str, decimal_comma: bool) -> int:
    """Write the CSV; return its row count."""
    import io

    import pyarrow.csv as pacsv

    target = int(gb * 1e9)
    rows = 0
    delimiter = ";" if decimal_comma else ","
    with open(path, "wb") as out:
        header = True
        while out.tell() < target:
            buffer = io.BytesIO()
            table = _chunk(rows, CHUNK_ROWS, decimal_comma)
            pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=header, delimiter=delimiter))
            data = buffer.getvalue()
            if encoding.lower().replace("-", "") not in ("utf8",):
                data = data.decode("utf-8").encode(encoding)
            out.write(data)
            rows += table.num_rows
            header = False
    return rows


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(method: str, csv_path: str, out_dir: str, encoding: str, decimal_comma: bool) -> dict:
    """Run one load in this process and return timings and peak RSS.

    Each method imports only what it needs before the baseline is taken, so ``peak - baseline`` is
    the memory the load itself added on top of its imports.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if method == "cfwb":
        from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
        from dagster_cfwb.transfer.files.formats import ReadOptions
        from dagster_cfwb.transfer.files.load import load_file_to_lakehouse
    elif method == "polars_sink":
        import polars  # noqa: F401
    elif method == "duckdb_copy":
        import duckdb

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    baseline = _rss_mb()
    delimiter = ";" if decimal_comma else ","
    started = time.perf_counter()
    if method == "cfwb":
        lakehouse = LocalLakehouseResource(root=out_dir)
        result = load_file_to_lakehouse(
            csv_path,
            lakehouse,
            "bench/stg/big.parquet",
            options=ReadOptions.from_keywords(
                delimiter=delimiter, encoding=encoding, decimal_comma=decimal_comma, schema={"code": "string"}
            ),
        )
        rows, parquet = result.rows, Path(out_dir) / "bench/stg/big.parquet"
    elif method == "pyarrow_read_all":
        table = pacsv.read_csv(
            csv_path,
            read_options=pacsv.ReadOptions(encoding="utf8" if encoding.startswith("utf") else encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={"code": "string"}, decimal_point="," if decimal_comma else "."
            ),
        )
        parquet = Path(out_dir) / "pyarrow.parquet"
        pq.write_table(table, parquet, compression="zstd")
        rows = table.num_rows
    elif method == "polars_sink":
        import polars as pl

        parquet = Path(out_dir) / "polars.parquet"
        pl.scan_csv(csv_path, separator=delimiter, schema_overrides={"code": pl.String}).sink_parquet(parquet)
        rows = pl.scan_parquet(parquet).select(pl.len()).collect().item()
    elif method == "duckdb_copy":
        import duckdb

        parquet = Path(out_dir) / "duckdb.parquet"
        con = duckdb.connect(config={"threads": 2})
        con.execute(
            "COPY (SELECT * FROM read_csv(?, delim = ?, types = {'code': 'VARCHAR'})) TO '"
            + str(parquet).replace("'", "''")
            + "' (FORMAT parquet, COMPRESSION zstd)",
            [csv_path, delimiter],
        )
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet)]).fetchone()[0]
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - started
    return {
        "method": method,
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "arrow_peak_mb": pa.default_memory_pool().max_memory() / 2**20,
        "parquet_mb": parquet.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the generated CSV in GB (default 1)")
    parser.add_argument("--encoding", default="utf-8", help="utf-8 (default) or windows-1252")
    parser.add_argument("--decimal-comma", action="store_true", help="';' delimiter and '3,14' numbers")
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time pyarrow read_csv, polars sink_parquet and DuckDB COPY",
    )
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary folder, deleted)")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--generate-only", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        print(generate(Path(args.generate_only), args.gb, args.encoding, args.decimal_comma))
        return
    if args.child:
        method, csv_path, out_dir = args.child
        print(json.dumps(child(method, csv_path, out_dir, args.encoding, args.decimal_comma)))
        return

    work = Path(args.dir or tempfile.mkdtemp(prefix="cfwb-bench-csv-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "big.csv"
    try:
        t = time.perf_counter()
        # Generated in a subprocess: on Linux a child inherits its parent's current RSS as its starting
        # ru_maxrss, so this process must stay small for the loads' peaks to mean anything.
        options = ["--gb", str(args.gb), "--encoding", args.encoding] + (
            ["--decimal-comma"] if args.decimal_comma else []
        )
        made = subprocess.run(
            [sys.executable, __file__, "--generate-only", str(csv_path), *options],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = int(made.stdout.strip().splitlines()[-1])
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {csv_path} : {size_mb:,.0f} MB, {rows:,} rows, {args.encoding}"
            f"{', decimal comma' if args.decimal_comma else ''} in {time.perf_counter() - t:.1f} s"
        )
        methods = ["cfwb"]
        if args.compare and not args.decimal_comma and args.encoding.lower().replace("-", "") == "utf8":
            methods += ["pyarrow_read_all", "polars_sink", "duckdb_copy"]
        results = []
        for method in methods:
            out = work / f"out-{method}"
            command = [
                sys.executable,
                __file__,
                "--child",
                method,
                str(csv_path),
                str(out),
                "--encoding",
                args.encoding,
            ] + (["--decimal-comma"] if args.decimal_comma else [])
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode != 0:
                print(f"{method}: failed\n{done.stderr[-2000:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(r)
            shutil.rmtree(out, ignore_errors=True)
        base = next((r for r in results if r["method"] == "cfwb"), None)
        print(
            f"\n{'method':<18}{'rows':>12}{'s':>8}{'rows/s':>12}{'MB/s':>8}{'peak RSS MB':>13}{'(imports)':>11}{'Arrow peak MB':>15}"
            f"{'parquet MB':>12}{'time vs cfwb':>14}"
        )
        for r in results:
            ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else ""
            print(
                f"{r['method']:<18}{r['rows']:>12,}{r['seconds']:>8.1f}{r['rows'] / r['seconds']:>12,.0f}"
                f"{size_mb / r['seconds']:>8.1f}{r['peak_rss_mb']:>13,.0f}{r['baseline_rss_mb']:>11,.0f}"
                f"{r['arrow_peak_mb']:>15,.0f}{r['parquet_mb']:>12,.0f}{ratio:>14}"
            )
        print(
            f"\nmachine: {os.cpu_count()} cores; file {size_mb:,.0f} MB. peak RSS = ru_maxrss of the load's "
            "subprocess; (imports) = the same before loading; Arrow peak = pyarrow memory pool high-water mark."
        )
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
