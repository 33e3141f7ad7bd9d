"""`make bench`: every table of docs/performance.md in one run, printed and written to bench/results/latest.md.

Environment knobs:
- `BENCH_ROWS` (default 2,000,000): rows of the database tables; the lakehouse query set has 5×.
- `BENCH_REPEAT` (default 3): runs per method, each in a new process; the fastest is kept.
- `BENCH_SLOW_ROWS` (default a tenth of `BENCH_ROWS`): rows for the peers marked † (one run each),
  which take minutes per run at full size.
- `BENCH_ONLY`: comma-separated families to run (`pg_extract,pg_load,mariadb,lakehouse_queries`).
- `BENCH_WRITE_DOCS=1`: also replace the marked results section of docs/performance.md.

Run inside bench/.venv (bench/setup.sh installs the project and the peers there).
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _data import mixed_table  # noqa: E402
from checks import Parquet, checksum, verdict  # noqa: E402
from runner import Table, env_int, run  # noqa: E402

FAMILIES = ["pg_extract", "pg_load", "mariadb", "lakehouse_queries"]
DOCS = os.path.join(HERE, "..", "docs", "performance.md")
BEGIN, END = "<!-- bench:begin (bench/run.py writes this section) -->", "<!-- bench:end -->"


def write_reference(path: str, rows: int, batch: int = 250_000) -> None:
    """The reference rows as one Parquet file, generated in slices (the parent stays small)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, batch):
        part = mixed_table(min(batch, rows - start), seed=start)
        part = part.set_column(0, "id", pc.add(part.column("id"), start))
        writer = writer or pq.ParquetWriter(path, part.schema)
        writer.write_table(part)
    writer.close()


def render(table: Table, ctx: dict) -> str:
    """Markdown: rows/s, ratio to the reference (or the fastest), peak RSS, correctness."""
    done = [r for r in table.results if r.error is None]
    rates = {r.method.label: (ctx["slow"] if r.method.slow else ctx)["rows"] / r.seconds for r in done}
    ref_label = table.reference or max(rates, key=rates.get, default=None)
    ref_rate = rates.get(ref_label) or 1.0
    vs = f"vs {ref_label}" if table.reference else "vs fastest"
    lines = [
        f"| {table.title} | {table.unit} | {vs} | peak RSS (held at start) | check |",
        "|---|---:|---:|---:|---|",
    ]
    for r in table.results:
        label = (
            f"**{r.method.label}**"
            if r.method.ours
            else r.method.label + (" †" if r.method.slow else " ‡" if r.method.once else "")
        )
        reference = (ctx["slow"] if r.method.slow else ctx)["checksum"]
        if r.error:
            lines.append(f"| {label} | — | — | — | failed: {r.error.replace('|', '/')} |")
            continue
        rate = rates[r.method.label]
        cells = [f"{rate / 1000:,.0f}k", f"{rate / ref_rate:.2f}", f"{r.rss_mb:,.0f} MB ({r.start_mb:,.0f})"]
        if r.method.ours:
            cells = [f"**{c}**" for c in cells]
        lines.append(f"| {label} | {' | '.join(cells)} | {verdict(r.check, reference)} |")
    notes = [table.note] if table.note else []
    if any(m.slow for m in table.methods):
        notes.append(
            f"† one run on {ctx['slow']['rows']:,} rows of the same kind: at full size a run takes many minutes."
        )
    if any(m.once for m in table.methods):
        notes.append("‡ one run at full size: a run takes minutes.")
    return "\n".join(lines + ([""] + notes if notes else []))


def import_rss_mb(modules: str) -> float:
    """Peak RSS of a fresh interpreter that only imports `modules`: the floor under a method's figure."""
    code = f"import {modules}; print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout) / 1024


def header(rows: int, repeat: int, seconds: float) -> str:
    versions = ", ".join(
        f"{p} {version(p)}"
        for p in ("duckdb", "pyarrow", "connectorx", "adbc-driver-postgresql", "dlt", "sling-linux-amd64")
    )
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({platform.machine()}), "
        f"{rows:,} rows × 9 columns, best of {repeat}, every method in its own process; the whole run "
        f"took {seconds / 60:.1f} min. Peak RSS is the client's (the method's process and the largest "
        f"program it ran), not the database server's; importing the library's resources alone takes "
        f"{import_rss_mb('dagster_cfwb.resources.db.postgresql_resource, dagster_cfwb.resources.db.mysql_resource'):,.0f} MB, "
        f"pyarrow + duckdb {import_rss_mb('pyarrow.parquet, duckdb'):,.0f} MB. Versions: {versions}."
    )


def write_docs(text: str) -> None:
    with open(DOCS) as fh:
        doc = fh.read()
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    with open(DOCS, "w") as fh:
        fh.write(doc[:start] + "\n" + text + "\n" + doc[end:])


def main() -> None:
    rows, repeat = env_int("BENCH_ROWS", 2_000_000), env_int("BENCH_REPEAT", 3)
    families = [f for f in os.environ.get("BENCH_ONLY", ",".join(FAMILIES)).split(",") if f]
    began = time.perf_counter()
    work = tempfile.mkdtemp(prefix="cfwb-bench-")
    os.chmod(work, 0o755)  # the servers read their COPY / LOAD DATA files from here
    sections = []
    try:
        ctx = {
            "rows": rows,
            "work": work,
            "ref": os.path.join(work, "reference.parquet"),
            "schema": "bench_bench",
            "pg": {
                "host": os.environ.get("CFWB_PG_HOST", "127.0.0.1"),
                "port": int(os.environ.get("CFWB_PG_PORT", "5432")),
                "user": os.environ.get("CFWB_PG_USER", "postgres"),
                "database": os.environ.get("CFWB_PG_DATABASE", "test"),
            },
            "my": {
                "host": os.environ.get("CFWB_MYSQL_HOST", "127.0.0.1"),
                "port": int(os.environ.get("CFWB_MYSQL_PORT", "3306")),
                "user": os.environ.get("CFWB_MYSQL_USER", "root"),
            },
        }
        slow = min(rows, env_int("BENCH_SLOW_ROWS", max(rows // 10, 1)))
        ctx["src"], ctx["slow"] = (
            "src",
            {"rows": slow, "ref": os.path.join(work, "small.parquet"), "src": "src_small"},
        )
        ctx["columns"] = mixed_table(1).column_names
        for c in (ctx, ctx["slow"]):
            write_reference(c["ref"], c["rows"])
            c["checksum"] = checksum(Parquet(c["ref"]), ctx)
        for name in families:
            module = importlib.import_module(name)
            try:
                module.setup(ctx)
            except Exception as e:  # one family that cannot start must not cost the others' figures
                print(f"setup of {name} failed, its tables are skipped: {e!r}", file=sys.stderr)
                sections.append(f"*{name}: not measured in this run, its setup failed: `{e!r}`*")
                continue
            try:
                for table in module.tables():
                    for method in table.methods:
                        result = run(method, ctx, repeat)
                        table.results.append(result)
                        print(f"  {method.label}: {result.seconds:.2f} s {result.error or ''}", flush=True)
                    text = (getattr(module, "render", None) or render)(table, ctx)
                    print("\n" + text + "\n", flush=True)
                    sections.append(text)
            finally:
                try:
                    module.teardown(ctx)
                except Exception as e:  # the figures stand; say what may be left behind
                    print(f"teardown of {name} failed: {e!r}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = header(rows, repeat, time.perf_counter() - began) + "\n\n" + "\n\n".join(sections)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.md"), "w") as fh:
        fh.write(body + "\n")
    if os.environ.get("BENCH_WRITE_DOCS") == "1":
        write_docs(body)
    print(
        f"written: bench/results/latest.md{' and docs/performance.md' if os.environ.get('BENCH_WRITE_DOCS') == '1' else ''}"
    )


if __name__ == "__main__":
    main()
