"""How the benchmark reaches the peers: DuckDB's pip-packaged extensions, the Sling binary, dlt's settings.

Nothing here downloads: DuckDB loads its extensions from the `duckdb-extension-*` packages, Sling runs
from `sling-linux-amd64` and writes Parquet through the `duckdb-cli` package with the json and httpfs
extensions copied into a private home folder (Sling would download all three).
"""

from __future__ import annotations

import glob
import importlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager

# Imported here, before any timing, so a method's time never includes loading them (DuckDB imports
# pyarrow lazily at its first Arrow result).
import duckdb
import pyarrow
import pyarrow.parquet  # noqa: F401


def extension_path(name: str) -> str:
    package = importlib.import_module(f"duckdb_extension_{name}")
    folder = os.path.join(os.path.dirname(package.__file__), "extensions", f"v{duckdb.__version__}")
    return os.path.join(folder, f"{name}.duckdb_extension")


@contextmanager
def duckdb_connect(*extensions: str):
    con = duckdb.connect()
    try:
        for name in extensions:
            con.execute(f"LOAD '{extension_path(name)}'")
        yield con
    finally:
        con.close()


def pg_libpq(ctx: dict) -> str:
    pg = ctx["pg"]
    return f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={pg['database']}"


def pg_connect(ctx: dict):
    """An autocommit psycopg connection to the bench server (DDL, `COPY … FROM` a server file, `VACUUM`)."""
    import psycopg

    return psycopg.connect(pg_libpq(ctx), autocommit=True)


def pg_url(ctx: dict) -> str:
    pg = ctx["pg"]
    return f"postgresql://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}"


def my_url(ctx: dict, database: str, scheme: str = "mysql") -> str:
    my = ctx["my"]
    return f"{scheme}://{my['user']}@{my['host']}:{my['port']}/{database}"


def attach_postgres(con, ctx: dict, alias: str, read_only: bool = True) -> None:
    mode = ", READ_ONLY" if read_only else ""
    con.execute(f"ATTACH '{pg_libpq(ctx)}' AS {alias} (TYPE postgres{mode})")


def attach_mysql(con, ctx: dict, database: str, alias: str, read_only: bool = True) -> None:
    my = ctx["my"]
    dsn = f"host={my['host']} port={my['port']} user={my['user']} database={database}"
    con.execute(f"ATTACH '{dsn}' AS {alias} (TYPE mysql{', READ_ONLY' if read_only else ''})")


# -- Sling ---------------------------------------------------------------------------------------
def sling_command(ctx: dict) -> tuple[list[str], dict]:
    """The Sling binary and an environment that finds the DuckDB CLI and its extensions offline."""
    import sling_linux_amd64

    binary = glob.glob(os.path.join(os.path.dirname(sling_linux_amd64.__file__), "bin", "sling-*"))[0]
    home = os.path.join(ctx["work"], "sling-home")
    folder = os.path.join(home, ".duckdb", "extensions", f"v{duckdb.__version__}", "linux_amd64")
    os.makedirs(folder, exist_ok=True)
    for name in ("json", "httpfs"):
        shutil.copy(extension_path(name), folder)
    env = dict(
        os.environ,
        HOME=home,
        DUCKDB_PATH=shutil.which("duckdb", path=os.path.dirname(sys.executable)) or shutil.which("duckdb"),
        SLING_DISABLE_TELEMETRY="true",
    )
    return [binary], env


def run_sling(ctx: dict, *args: str, **connections: str) -> None:
    command, env = sling_command(ctx)
    env.update(connections)
    proc = subprocess.run([*command, "run", *args], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"sling failed: {(proc.stderr or proc.stdout)[-1500:]}")


# -- dlt -----------------------------------------------------------------------------------------
def dlt_pipeline(ctx: dict, name: str, destination, dataset: str):
    """A dlt pipeline whose state lives in the work folder (not ~/.dlt), telemetry off."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    return dlt.pipeline(
        pipeline_name=name,
        destination=destination,
        dataset_name=dataset,
        pipelines_dir=os.path.join(ctx["work"], "dlt-pipelines"),
        dev_mode=False,
    )


def warm_library_imports(*names: str) -> None:
    """Import the drivers the library imports lazily on its first call, before the clock starts.

    Every peer imports its own driver outside the timed job; without this the library's first call
    would pay for importing ADBC, pgpq or connectorx inside it. Only the named modules are imported,
    so the method's peak memory holds what it uses.
    """
    import importlib

    for name in names:
        importlib.import_module(name)
