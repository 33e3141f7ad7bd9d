"""Benchmark: database extracts and MariaDB loads, against each engine's own limit and the alternatives.

Run: ``.venv/bin/python bench/databases.py [--rows 2000000] [--slow-rows 100000]``
(quick run: ``--rows 200000 --slow-rows 20000``).

In one run, on the same synthetic rows (``bench/_data.py`` plus a ``numeric(12,2)`` column):

PostgreSQL extract (rows/s, ratio to connectorx):
  ours ``iter_batches`` (ADBC COPY-binary stream + exact decimals) · the previous psycopg named
  cursor · ADBC raw ``fetch_record_batch`` · connectorx (Arrow, whole result and streamed) ·
  pandas ``read_sql``.
MariaDB load (ratio to the server's own ``LOAD DATA INFILE`` from a server-side file):
  ours ``copy_from_df`` (LOAD DATA LOCAL from streamed temp files) · ours with ``bulk_method=insert``
  (multi-row INSERTs) · pandas ``to_sql`` (SQLAlchemy + pymysql, multi-row).
MariaDB extract (ratio to connectorx): ours ``iter_batches`` with the default ``extract_reader="auto"`` (the
  line names the reader it chose: connectorx when every column is read exactly) · ours with the pymysql
  wire reader forced · connectorx (whole result, and its raw stream) · pandas.
Memory: peak RSS of a streamed load and a streamed extract of 0.5M vs ``--rows`` rows, each in a
fresh subprocess, batches generated on the fly. Measured as ``VmHWM``: Linux carries
``ru_maxrss`` across ``exec``, so a child would report the parent's peak (the parent holds the
benchmark table).

Slow alternatives run on ``--slow-rows`` rows; rates are per row so the ratios stay comparable.
dlt is not measured: it is not installed in this environment.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.dirname(__file__))
from _data import mixed_table

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.mysql.load import MySQLDialect
from dagster_cfwb.transfer.mysql.text_protocol import encode_load_data_rows, is_hex_column

SCHEMA = "bench_db3"
REPEAT = 2  # fast methods: best of two runs
PG = {
    "host": os.environ.get("CFWB_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("CFWB_PG_PORT", "5432")),
    "user": os.environ.get("CFWB_PG_USER", "postgres"),
    "database": os.environ.get("CFWB_PG_DATABASE", "test"),
}
MY = {
    "host": os.environ.get("CFWB_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("CFWB_MYSQL_PORT", "3306")),
    "user": os.environ.get("CFWB_MYSQL_USER", "root"),
}
PG_URL = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{PG['database']}"
MY_URL = f"mysql://{MY['user']}@{MY['host']}:{MY['port']}/{SCHEMA}"


def bench_table(rows: int, seed: int = 42, offset: int = 0) -> pa.Table:
    table = mixed_table(rows, seed)
    if offset:
        table = table.set_column(0, "id", pc.add(table.column("id"), offset))
    cents = np.zeros((rows, 2), dtype=np.int64)  # decimal128 = 16-byte little-endian unscaled integer
    cents[:, 0] = np.arange(offset, offset + rows, dtype=np.int64) % 10_000_000
    price = pa.Array.from_buffers(pa.decimal128(12, 2), rows, [None, pa.py_buffer(cents.tobytes())])
    return table.append_column("price", price)


def streamed(rows: int, batch: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Batches generated on the fly: the source itself never holds more than one batch."""
    for start in range(0, rows, batch):
        yield from bench_table(min(batch, rows - start), seed=start, offset=start).to_batches()


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs (the machine is shared: the best run is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def count_batches(batches) -> int:
    return sum(b.num_rows for b in batches)


def report(title: str, results: dict[str, tuple[int, float]], reference: str) -> None:
    ref_rows, ref_secs = results[reference]
    ref = ref_rows / ref_secs
    print(f"\n{title}\n{'method':44} {'rows':>10} {'seconds':>8} {'rows/s':>11} {'ratio':>8}")
    for name, (rows, secs) in results.items():
        rate = rows / secs
        print(f"{name:44} {rows:>10,} {secs:>8.2f} {rate:>11,.0f} {rate / ref:>7.2f}x")
    print(f"(ratio = rows/s ÷ rows/s of `{reference}`)")


# -- PostgreSQL extract ------------------------------------------------------------------------
def postgres_extract(rows: int, slow_rows: int) -> None:
    import connectorx as cx
    import psycopg

    pg = PostgreSQLResource(**PG)
    pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    pg.copy_from_df(streamed(rows), f"{SCHEMA}.extract")
    sql = f'SELECT * FROM "{SCHEMA}".extract'
    slow_sql = f"{sql} WHERE id < {slow_rows}"
    results: dict[str, tuple[int, float]] = {}
    results["ours iter_batches (ADBC + exact decimals)"] = (
        rows,
        timed(lambda: count_batches(pg.iter_batches(sql)), REPEAT),
    )
    from dagster_cfwb.transfer.postgres.extract import iter_postgres_batches

    def named_cursor() -> None:
        with psycopg.connect(PG_URL) as conn:
            count_batches(iter_postgres_batches(conn, slow_sql, engine="psycopg"))

    results["previous psycopg named cursor"] = (slow_rows, timed(named_cursor))
    try:
        import adbc_driver_postgresql.dbapi as adbc

        def adbc_raw() -> None:
            with adbc.connect(PG_URL) as conn, conn.cursor() as cur:
                cur.execute(sql)
                count_batches(cur.fetch_record_batch())

        results["ADBC fetch_record_batch (numeric as text)"] = (rows, timed(adbc_raw, REPEAT))
    except ImportError:
        print("adbc-driver-postgresql not installed: skipped")
    results["connectorx arrow (whole result)"] = (
        rows,
        timed(lambda: cx.read_sql(PG_URL, sql, return_type="arrow"), REPEAT),
    )
    results["connectorx arrow_stream"] = (
        rows,
        timed(
            lambda: count_batches(
                cx.read_sql(PG_URL, sql, return_type="arrow_stream", batch_size=DEFAULT_BATCH_ROWS)
            ),
            REPEAT,
        ),
    )
    results["pandas read_sql (SQLAlchemy)"] = (
        slow_rows,
        timed(lambda: pandas_read(PG_URL, "postgresql+psycopg", slow_sql)),
    )
    report("PostgreSQL extract", results, "connectorx arrow (whole result)")
    pg.execute(f'DROP SCHEMA "{SCHEMA}" CASCADE')


def pandas_read(url: str, scheme: str, sql: str) -> None:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(scheme + url[url.index("://") :])
    try:
        pd.read_sql(sql, engine)
    finally:
        engine.dispose()


# -- MariaDB ---------------------------------------------------------------------------------
def server_load_data(my: MySQLResource, table: pa.Table) -> float:
    """The server reading a file from its own disk: LOAD DATA INFILE (no LOCAL), same text format."""
    import pymysql

    dialect = MySQLDialect()
    target = QualifiedName("load_server", SCHEMA)
    fd, path = tempfile.mkstemp(suffix=".tsv", dir="/tmp")
    with os.fdopen(fd, "wb") as fh:
        for batch in table.to_batches(max_chunksize=DEFAULT_BATCH_ROWS):
            fh.write(encode_load_data_rows(batch, table="load_server"))
    os.chmod(path, 0o644)
    targets = [f"@v{i}" if is_hex_column(f.type) else dialect.q(f.name) for i, f in enumerate(table.schema)]
    conn = pymysql.connect(**MY, database=SCHEMA, charset="utf8mb4")
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {dialect.table(target)}")
            cur.execute(dialect.create_table_sql(target, table.schema, []))
            sql = (
                f"LOAD DATA INFILE {conn.escape(path)} INTO TABLE {dialect.table(target)} CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
            )
            seconds = timed(lambda: (cur.execute(sql), conn.commit()))
    finally:
        conn.close()
        os.unlink(path)
    return seconds


def mariadb(rows: int, slow_rows: int) -> None:
    import connectorx as cx

    admin = MySQLResource(**MY)
    admin.execute(f"CREATE DATABASE IF NOT EXISTS `{SCHEMA}` CHARACTER SET utf8mb4")
    my = MySQLResource(**MY, database=SCHEMA)
    table = bench_table(rows)
    small = table.slice(0, slow_rows)
    results: dict[str, tuple[int, float]] = {}
    results["server LOAD DATA INFILE (server-side file)"] = (rows, server_load_data(my, table))
    results["ours copy_from_df (LOAD DATA LOCAL, streamed)"] = (
        rows,
        timed(lambda: my.copy_from_df(table, "load_ours")),
    )
    inserts = MySQLResource(**MY, database=SCHEMA, bulk_method="insert")
    results["ours bulk_method=insert (multi-row INSERT)"] = (
        slow_rows,
        timed(lambda: inserts.copy_from_df(small, "load_insert")),
    )

    def pandas_to_sql() -> None:
        import sqlalchemy

        frame = small.to_pandas()
        engine = sqlalchemy.create_engine(
            "mysql+pymysql" + MY_URL[MY_URL.index("://") :] + "?charset=utf8mb4"
        )
        try:
            frame.to_sql(
                "load_pandas", engine, if_exists="replace", index=False, chunksize=10_000, method="multi"
            )
        finally:
            engine.dispose()

    results["pandas to_sql (SQLAlchemy + pymysql, multi)"] = (slow_rows, timed(pandas_to_sql))
    report("MariaDB load", results, "server LOAD DATA INFILE (server-side file)")

    sql = "SELECT * FROM load_ours"
    wire = MySQLResource(**MY, database=SCHEMA, extract_reader="pymysql")
    extract: dict[str, tuple[int, float]] = {}
    path = my.extract_path(sql)  # which reader the default (auto) extract uses for this query
    extract[f"ours iter_batches, auto -> {path[:20]}"] = (
        rows,
        timed(lambda: count_batches(my.iter_batches(sql)), REPEAT),
    )
    extract["ours iter_batches, pymysql wire reader"] = (
        rows,
        timed(lambda: count_batches(wire.iter_batches(sql)), REPEAT),
    )
    extract["connectorx arrow (whole result)"] = (
        rows,
        timed(lambda: cx.read_sql(MY_URL, sql, return_type="arrow"), REPEAT),
    )
    extract["connectorx arrow_stream (raw, no casts)"] = (
        rows,
        timed(
            lambda: count_batches(
                cx.read_sql(MY_URL, sql, return_type="arrow_stream", batch_size=DEFAULT_BATCH_ROWS)
            ),
            REPEAT,
        ),
    )
    extract["pandas read_sql (SQLAlchemy + pymysql)"] = (
        slow_rows,
        timed(lambda: pandas_read(MY_URL, "mysql+pymysql", f"{sql} WHERE id < {slow_rows}")),
    )
    print(f"\nMariaDB extract path for `{sql}`: {path}")
    report("MariaDB extract", extract, "connectorx arrow (whole result)")
    admin.execute(f"DROP DATABASE `{SCHEMA}`")


# -- Memory ----------------------------------------------------------------------------------
def rss_child(engine: str, op: str, rows: int) -> None:
    """Run in a fresh subprocess: one streamed load into, or extract from, table t<rows>; print peak RSS in MB."""
    if engine == "postgres":
        db = PostgreSQLResource(**PG)
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}_rss"')
        table = f"{SCHEMA}_rss.t{rows}"
    else:
        MySQLResource(**MY).execute(f"CREATE DATABASE IF NOT EXISTS `{SCHEMA}_rss`")
        db = MySQLResource(**MY, database=f"{SCHEMA}_rss")
        table = f"t{rows}"
    if op == "load":
        db.copy_from_df(streamed(rows), table)
    else:
        quoted = f'"{SCHEMA}_rss".t{rows}' if engine == "postgres" else table
        count_batches(db.iter_batches(f"SELECT * FROM {quoted}"))
    print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Unlike ``ru_maxrss``, Linux resets it at exec, so a child does
    not inherit the parent's peak (the bench parent holds the 2M-row table)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(rows: int) -> None:
    sizes = [min(500_000, rows), rows]
    print(
        f"\nPeak RSS (MB, VmHWM) of a streamed operation, {sizes[0]:,} vs {sizes[1]:,} rows (fresh subprocess"
        " each; ru_maxrss would show the parent's inherited peak)"
    )
    print(f"{'operation':28} {sizes[0]:>12,} {sizes[1]:>12,} {'growth':>8}")
    for engine in ("postgres", "mysql"):
        for op in ("load", "extract"):
            peaks = []
            for n in sizes:
                out = subprocess.run(
                    [sys.executable, __file__, "--rss-child", engine, op, str(n)],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    raise RuntimeError(out.stderr[-2000:])
                peaks.append(float(out.stdout.split()[-2]))
            print(
                f"{engine + ' ' + op:28} {peaks[0]:>12,.0f} {peaks[1]:>12,.0f} {peaks[1] / peaks[0] - 1:>7.1%}"
            )
    PostgreSQLResource(**PG).execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}_rss" CASCADE')
    MySQLResource(**MY).execute(f"DROP DATABASE IF EXISTS `{SCHEMA}_rss`")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--slow-rows", type=int, default=100_000, help="rows for the slow alternatives")
    parser.add_argument("--only", choices=["postgres", "mariadb", "memory"], help="run one section")
    parser.add_argument("--rss-child", nargs=3, metavar=("ENGINE", "OP", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        engine, op, n = args.rss_child
        rss_child(engine, op, int(n))
        return
    slow = min(args.slow_rows, args.rows)
    print(f"{args.rows:,} rows x {bench_table(1).num_columns} columns; slow alternatives on {slow:,} rows")
    if args.only in (None, "postgres"):
        postgres_extract(args.rows, slow)
    if args.only in (None, "mariadb"):
        mariadb(args.rows, slow)
    if args.only in (None, "memory"):
        memory(args.rows)


if __name__ == "__main__":
    main()
