"""PostgreSQL extract and load methods, each timed in a fresh child process (entry points for `make bench`).

Run: ``.venv/bin/python bench/pg_methods.py [--rows 2000000] [--repeat 3] [--only extract|load]``
(develop with ``--rows 500000``).

Every method runs in its own subprocess, so one method's memory never counts against another's:
the figure is the child's peak RSS (``VmHWM``, reset after the setup, so a whole-table load is
measured on top of the table it was handed, which ``setup_rss_mb`` shows). Methods are run
interleaved (A B C A B C …) and the best run of each is kept, so load from other processes on a
shared machine hits every method alike. Besides wall time, each run reports the CPU seconds of the
client process and of the PostgreSQL backends serving it (``/proc/<pid>/stat`` utime + stime): on
a busy machine, CPU seconds are the steadier figure, and they show where a ceiling is.

For the harness:

- ``EXTRACT_METHODS`` / ``LOAD_METHODS``: name → one-line description;
- ``prepare_extract(rows)`` → the source table (``bench_speed.t<rows>``, 9 columns of
  ``bench/_data.py``), ``prepare_load(rows)`` → the Parquet file the loads read;
- ``measure(method, rows)`` → ``Measurement`` (rows, seconds, peak RSS, CPU, check) of one run in a
  child process; ``compare(methods, rows, repeat)`` → the best ``Measurement`` of each, interleaved;
- ``cleanup()`` drops the schema and files.

A method whose package is missing (DuckDB's postgres extension) raises ``ModuleNotFoundError`` in
the child; ``compare`` reports it as skipped.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(__file__))

from runner import reset_peak_rss, status_mb

SCHEMA = "bench_speed"
WORK = os.environ.get("CFWB_BENCH_DIR", "/tmp/cfwb_bench_speed")
PG = {
    "host": os.environ.get("CFWB_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("CFWB_PG_PORT", "5432")),
    "user": os.environ.get("CFWB_PG_USER", "postgres"),
    "database": os.environ.get("CFWB_PG_DATABASE", "test"),
}
PG_URL = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{PG['database']}"
COLUMNS = "id, amount, qty, code, comment, day, created_at, seen_at, active"

EXTRACT_METHODS = {
    "ours extract_to_lakehouse": "PostgreSQLResource.extract_to_lakehouse into a LocalLakehouseResource",
    "ours, reader not ahead": "the same, the ADBC reader on the caller's thread (the previous code)",
    "DuckDB postgres scanner COPY TO parquet": "ATTACH (TYPE postgres) + COPY (SELECT …) TO 'x.parquet'",
    "ADBC fetch_arrow_table + pq.write_table": "the whole result in memory, then one Parquet write",
}
LOAD_METHODS = {
    "server COPY FROM file (binary)": "the server reading a binary COPY file of the same rows from its disk",
    "ours copy_from_df(whole table)": "an Arrow table already in memory, default copy_streams",
    "ours copy_from_df(whole table), 1 stream": "the same with copy_streams=1",
    "ours copy_from_df(polars DataFrame)": "a polars DataFrame already in memory (the design's example)",
    "ours copy_from_df(pq.read_table(f))": "the read of the whole file counted in the load",
    "ours copy_from_df(iter_batches)": "ParquetFile.iter_batches streamed, default copy_streams",
    "ours copy_from_df(iter_batches), 1 stream": "the same with copy_streams=1",
}


@dataclass
class Measurement:
    method: str
    rows: int
    seconds: float
    peak_rss_mb: float
    setup_rss_mb: float
    client_cpu_seconds: float
    server_cpu_seconds: float
    check: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


# -- data ---------------------------------------------------------------------------------------
def _resource(**options):
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    return PostgreSQLResource(**PG, **options)


def _batches(rows: int, batch: int = 65_536):
    import pyarrow.compute as pc
    from _data import mixed_table

    for start in range(0, rows, batch):
        table = mixed_table(min(batch, rows - start), seed=start)
        yield from table.set_column(0, "id", pc.add(table.column("id"), start)).to_batches()


def source_table(rows: int) -> str:
    return f"{SCHEMA}.t{rows}"


def prepare_extract(rows: int) -> str:
    """Create (once) and vacuum the 9-column source table of `rows` rows; return its name."""
    import psycopg

    pg = _resource()
    pg.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (source_table(rows),)).fetchone()[0]
    if not exists:
        pg.copy_from_df(_batches(rows), source_table(rows))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {source_table(rows)}")  # hint bits set, as in a settled table
    return source_table(rows)


def load_file(rows: int) -> str:
    return os.path.join(WORK, f"load_{rows}.parquet")


def prepare_load(rows: int) -> str:
    """Write (once) the Parquet file of `rows` rows the loads read (122,880-row groups); return its path."""
    import pyarrow.parquet as pq

    os.makedirs(WORK, exist_ok=True)
    path = load_file(rows)
    if not os.path.exists(path):
        first = next(_batches(rows))
        with pq.ParquetWriter(path + ".tmp", first.schema, compression="zstd") as writer:
            for batch in _batches(rows, 122_880):
                writer.write_batch(batch, row_group_size=122_880)
        os.replace(path + ".tmp", path)
    return path


def cleanup() -> None:
    _resource().execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    shutil.rmtree(WORK, ignore_errors=True)


# -- measuring (in the child) -----------------------------------------------------------------------
def _proc_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_ports() -> set[int]:
    """Local TCP ports of this process's sockets (to find the backends serving them)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as fh:
                for line in fh.readlines()[1:]:
                    parts = line.split()
                    if parts[9] in inodes:
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


class _BackendCPU:
    """CPU seconds of the PostgreSQL backends that serve this process, sampled every 50 ms."""

    def __init__(self):
        import psycopg

        self._conn = psycopg.connect(PG_URL, autocommit=True)
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._own = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sampler = self._conn.info.backend_pid
        while not self._stop.is_set():
            rows = self._conn.execute(
                "SELECT pid, client_port FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            ).fetchall()
            ports = _own_ports()
            for pid, port in rows:
                if port in ports and pid != sampler:
                    cpu = _proc_cpu(pid)
                    if cpu is not None:
                        self._seen[pid] = cpu  # a backend born in the run: its whole CPU is ours
            self._own = time.thread_time()
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._conn.close()

    @property
    def server_seconds(self) -> float:
        return sum(self._seen.values())

    @property
    def sampler_seconds(self) -> float:
        return self._own


def _duckdb_postgres_extension() -> str:
    import duckdb
    import duckdb_extension_postgres_scanner as package  # pip: duckdb-extension-postgres-scanner

    folder = os.path.join(os.path.dirname(package.__file__), "extensions", f"v{duckdb.__version__}")
    found = glob.glob(os.path.join(folder, "*.duckdb_extension"))
    if not found:
        raise ModuleNotFoundError(f"no DuckDB postgres extension for DuckDB {duckdb.__version__}")
    return found[0]


def _parquet_check(path: str) -> str:
    import duckdb

    row = duckdb.sql(f"SELECT count(*), sum(id), sum(length(comment)), count(qty) FROM '{path}'").fetchone()
    return "/".join(str(v) for v in row)


def _table_check(table: str) -> str:
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(
            f"SELECT count(*), sum(id), sum(length(comment)), count(qty) FROM {table}"
        ).fetchone()
    return "/".join(str(v) for v in row)


def _extract(method: str, rows: int):
    """(setup, run, check) of one extract method."""
    sql = f"SELECT {COLUMNS} FROM {source_table(rows)}"  # fixed names
    out = os.path.join(WORK, "out")
    target = os.path.join(out, "x", "stg", "extract.parquet")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if method in ("ours extract_to_lakehouse", "ours, reader not ahead"):
        import adbc_driver_postgresql.dbapi  # noqa: F401 - imported before the clock starts, like DuckDB
        import pyarrow.compute
        import pyarrow.parquet  # noqa: F401

        from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

        if method == "ours, reader not ahead":
            import dagster_cfwb.transfer.postgres.extract as extract

            extract.prefetch = lambda make, name="": make()
        pg, lakehouse = _resource(), LocalLakehouseResource(root=out)
        return lambda: pg.extract_to_lakehouse(sql, lakehouse, "x/stg/extract.parquet").rows, target
    if method == "DuckDB postgres scanner COPY TO parquet":
        import duckdb

        extension = _duckdb_postgres_extension()

        def duck() -> int:
            con = duckdb.connect()
            try:
                con.execute(f"LOAD '{extension}'")
                con.execute(f"ATTACH '{PG_URL}' AS pg (TYPE postgres, READ_ONLY)")
                scan = f"SELECT {COLUMNS} FROM pg.{source_table(rows)}"
                return con.execute(f"COPY ({scan}) TO '{target}' (FORMAT parquet)").fetchone()[0]
            finally:
                con.close()

        return duck, target
    if method == "ADBC fetch_arrow_table + pq.write_table":
        import adbc_driver_postgresql.dbapi as adbc
        import pyarrow.parquet as pq

        def whole() -> int:
            with adbc.connect(PG_URL) as conn, conn.cursor() as cur:
                cur.execute(sql)
                table = cur.fetch_arrow_table()
            pq.write_table(table, target, compression="zstd")
            return table.num_rows

        return whole, target
    raise KeyError(method)


def _load(method: str, rows: int):
    """(run, table to check) of one load method; the data it is handed is set up before timing."""
    import pyarrow.parquet as pq

    path = load_file(rows)
    streams = {"copy_streams": 1} if method.endswith("1 stream") else {}
    target = f"{SCHEMA}.load_{list(LOAD_METHODS).index(method)}"
    if method == "server COPY FROM file (binary)":
        import pgpq
        import psycopg

        from dagster_cfwb.transfer.postgres.types import pg_column_definitions

        table = pq.read_table(path)
        copy_file = os.path.join(WORK, f"load_{rows}.pgcopy")
        encoder = pgpq.ArrowToPostgresBinaryEncoder(table.schema)
        with open(copy_file, "wb") as fh:
            fh.write(encoder.write_header())
            for batch in table.to_batches(max_chunksize=65_536):
                fh.write(encoder.write_batch(batch))
            fh.write(encoder.finish())
        os.chmod(copy_file, 0o644)
        columns = ", ".join(pg_column_definitions(table.schema, lambda n: f'"{n}"'))
        del table

        def server() -> int:
            with psycopg.connect(PG_URL) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {target}")
                conn.execute(f"CREATE TABLE {target} ({columns})")
                return conn.execute(f"COPY {target} FROM '{copy_file}' (FORMAT binary)").rowcount

        return server, target
    pg = _resource(**streams)
    if method.startswith("ours copy_from_df(whole table)"):
        table = pq.read_table(path)
        return lambda: pg.copy_from_df(table, target).rows, target
    if method == "ours copy_from_df(polars DataFrame)":
        import polars as pl

        frame = pl.read_parquet(path)
        return lambda: pg.copy_from_df(frame, target).rows, target
    if method == "ours copy_from_df(pq.read_table(f))":
        return lambda: pg.copy_from_df(pq.read_table(path), target).rows, target
    if method.startswith("ours copy_from_df(iter_batches)"):
        return lambda: pg.copy_from_df(pq.ParquetFile(path).iter_batches(65_536), target).rows, target
    raise KeyError(method)


def _child(method: str, rows: int) -> Measurement:
    if method in EXTRACT_METHODS:
        run, target = _extract(method, rows)
        check = _parquet_check
    else:
        run, target = _load(method, rows)
        check = _table_check
    import gc

    gc.collect()
    setup, _ = reset_peak_rss()  # the peak from here on
    before = resource.getrusage(resource.RUSAGE_SELF)
    with _BackendCPU() as server:
        start = time.perf_counter()
        got = run()
        seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = status_mb("VmHWM")
    client = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime - server.sampler_seconds
    if got != rows:
        raise AssertionError(f"{method}: {got} rows, expected {rows}")
    return Measurement(method, rows, seconds, peak, setup, client, server.server_seconds, check(target))


def measure(method: str, rows: int) -> Measurement:
    """Run `method` once on `rows` rows in a fresh child process (prepare the data first)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, str(rows)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        if "ModuleNotFoundError" in done.stderr:
            raise ModuleNotFoundError(done.stderr.strip().splitlines()[-1])
        raise RuntimeError(f"{method} failed:\n{done.stderr[-3000:]}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def compare(methods: list[str], rows: int, repeat: int = 3) -> dict[str, Measurement | str]:
    """Each of `methods` `repeat` times, interleaved; the fastest run of each (or why it was skipped)."""
    best: dict[str, Measurement | str] = {}
    for _ in range(repeat):
        for method in methods:
            if isinstance(best.get(method), str):
                continue
            try:
                m = measure(method, rows)
            except ModuleNotFoundError as e:
                best[method] = f"skipped: {e}"
                continue
            old = best.get(method)
            if old is None or m.seconds < old.seconds:
                best[method] = m
    return best


def report(title: str, results: dict[str, Measurement | str], reference: str | None = None) -> None:
    done = {k: v for k, v in results.items() if isinstance(v, Measurement)}
    if not done:
        return
    ref = done[reference] if reference in done else max(done.values(), key=lambda m: m.rows_per_second)
    print(f"\n{title} (ratio to `{ref.method}`; CPU seconds of the client and of its PostgreSQL backends)")
    print(
        f"{'method':44} {'rows/s':>10} {'ratio':>6} {'peak RSS':>9} {'setup':>6} {'cpu cli':>8} "
        f"{'cpu srv':>8} {'cpu ratio':>9}  check"
    )
    ref_cpu = ref.client_cpu_seconds + ref.server_cpu_seconds
    for name, m in results.items():
        if isinstance(m, str):
            print(f"{name:44} {m}")
            continue
        cpu = m.client_cpu_seconds + m.server_cpu_seconds
        print(
            f"{name:44} {m.rows_per_second:>10,.0f} {m.rows_per_second / ref.rows_per_second:>5.2f}x "
            f"{m.peak_rss_mb:>7,.0f}MB {m.setup_rss_mb:>5,.0f}M {m.client_cpu_seconds:>7.2f}s "
            f"{m.server_cpu_seconds:>7.2f}s {ref_cpu / cpu:>8.2f}x  {m.check}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["extract", "load"])
    parser.add_argument("--methods", help="comma-separated method names (default: all of the section)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the source table and files for the next run"
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asdict(_child(args.child[0], int(args.child[1])))))
        return
    chosen = args.methods.split(",") if args.methods else None
    try:
        if args.only in (None, "extract"):
            prepare_extract(args.rows)
            methods = [m for m in EXTRACT_METHODS if chosen is None or m in chosen]
            report(
                f"PostgreSQL -> Parquet, {args.rows:,} rows x 9 columns",
                compare(methods, args.rows, args.repeat),
            )
        if args.only in (None, "load"):
            prepare_load(args.rows)
            methods = [m for m in LOAD_METHODS if chosen is None or m in chosen]
            results = compare(methods, args.rows, args.repeat)
            report(
                f"Parquet/Arrow -> PostgreSQL (replace), {args.rows:,} rows x 9 columns",
                results,
                "server COPY FROM file (binary)",
            )
    finally:
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
