"""Benchmark: loading an Arrow table into PostgreSQL, against the server's own limit and alternatives.

Run: ``make bench`` or ``.venv/bin/python bench/load_postgres.py [--rows 2000000]``.

In one run, on the same rows:
- ``copy_from_df``     PostgreSQLResource.copy_from_df (mode=replace: staging table, binary COPY
                       encoded by pgpq on a second thread, swap) — what users call;
- ``server COPY file`` the server reading a binary COPY file of the same rows from its own disk
                       (``COPY … FROM '<file>' (FORMAT binary)``) — the engine's own limit;
- ``adbc_ingest``      ADBC PostgreSQL driver's bulk ingest;
- ``write_row``        psycopg binary COPY with per-row ``write_row`` (rows scaled down);
- ``pandas to_sql``    pandas + SQLAlchemy ``to_sql`` (rows scaled down).
Prints rows/s and each method's ratio to the server's COPY from file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import pyarrow as pa

sys.path.insert(0, os.path.dirname(__file__))
from _data import mixed_table

from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.postgres.types import pg_column_definitions


def settings() -> dict:
    return {
        "host": os.environ.get("CFWB_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("CFWB_PG_PORT", "5432")),
        "user": os.environ.get("CFWB_PG_USER", "postgres"),
        "password": os.environ.get("CFWB_PG_PASSWORD") or None,
        "database": os.environ.get("CFWB_PG_DATABASE", "test"),
    }


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(n: int, fn) -> float:
    return min(timed(fn) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--slow-rows", type=int, default=100_000, help="rows for the slow alternatives")
    parser.add_argument("--repeat", type=int, default=2, help="runs per method; the best is kept")
    args = parser.parse_args()

    import pgpq
    import psycopg

    cfg = settings()
    pg = PostgreSQLResource(**cfg)
    table = mixed_table(args.rows)
    print(f"{args.rows:,} rows x {table.num_columns} columns, {table.nbytes / 1e6:,.0f} MB in Arrow")
    pg.execute("CREATE SCHEMA IF NOT EXISTS bench")
    results: dict[str, tuple[int, float]] = {}

    # 1. what users call
    results["copy_from_df (replace)"] = (
        args.rows,
        best_of(args.repeat, lambda: pg.copy_from_df(table, "bench.load_ours", mode="replace")),
    )

    # 2. the server reading its own binary COPY file
    encoder = pgpq.ArrowToPostgresBinaryEncoder(table.schema)
    fd, path = tempfile.mkstemp(suffix=".pgcopy", dir="/tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(encoder.write_header())
        for batch in table.to_batches(max_chunksize=DEFAULT_BATCH_ROWS):
            f.write(encoder.write_batch(batch))
        f.write(encoder.finish())
    os.chmod(path, 0o644)
    target = QualifiedName("load_server", "bench")
    columns = ", ".join(pg_column_definitions(table.schema, lambda n: f'"{n}"'))
    dsn = dict(cfg, dbname=cfg.pop("database"))

    def server_copy() -> None:
        with psycopg.connect(**dsn) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {target.quoted()}")
            conn.execute(f"CREATE TABLE {target.quoted()} ({columns})")
            conn.execute(f"COPY {target.quoted()} FROM '{path}' (FORMAT binary)")

    try:
        results["server COPY FROM file (binary)"] = (args.rows, best_of(args.repeat, server_copy))
    finally:
        os.unlink(path)

    # 3. ADBC
    try:
        import adbc_driver_postgresql.dbapi as adbc

        uri = f"postgresql://{dsn['user']}@{dsn['host']}:{dsn['port']}/{dsn['dbname']}"

        def adbc_load() -> None:
            with adbc.connect(uri) as conn, conn.cursor() as cur:
                cur.adbc_ingest("load_adbc", table, mode="replace", db_schema_name="bench")
                conn.commit()

        results["ADBC adbc_ingest"] = (args.rows, best_of(args.repeat, adbc_load))
    except ImportError:
        print("adbc-driver-postgresql not installed: skipped")

    # 4. per-row write_row (scaled)
    small = table.slice(0, args.slow_rows)
    rows_py = small.to_pylist()

    def write_row() -> None:
        with psycopg.connect(**dsn) as conn:
            conn.execute("DROP TABLE IF EXISTS bench.load_rows")
            conn.execute(f"CREATE TABLE bench.load_rows ({columns})")
            names = ", ".join(f'"{n}"' for n in small.column_names)
            with conn.cursor().copy(f"COPY bench.load_rows ({names}) FROM STDIN") as copy:
                for r in rows_py:
                    copy.write_row(tuple(r.values()))

    results["psycopg write_row (per row)"] = (args.slow_rows, best_of(1, write_row))

    # 5. pandas to_sql (scaled)
    try:
        import sqlalchemy

        frame = small.to_pandas()
        engine = sqlalchemy.create_engine(
            f"postgresql+psycopg://{dsn['user']}@{dsn['host']}:{dsn['port']}/{dsn['dbname']}"
        )
        pandas_rows = min(args.slow_rows, 50_000)
        results["pandas to_sql"] = (
            pandas_rows,
            best_of(
                1,
                lambda: frame.head(pandas_rows).to_sql(
                    "load_pandas", engine, schema="bench", if_exists="replace", index=False, chunksize=10_000
                ),
            ),
        )
        engine.dispose()
    except ImportError:
        print("pandas/sqlalchemy not installed: skipped")

    ref_rows, ref_secs = results["server COPY FROM file (binary)"]
    ref = ref_rows / ref_secs
    print(f"\n{'method':34} {'rows':>10} {'seconds':>9} {'rows/s':>12} {'vs server COPY':>15}")
    for name, (rows, secs) in results.items():
        rate = rows / secs
        print(f"{name:34} {rows:>10,} {secs:>9.2f} {rate:>12,.0f} {rate / ref:>14.2f}x")
    pg.execute("DROP SCHEMA bench CASCADE")
    _ = pa  # keep import for type users


if __name__ == "__main__":
    main()
