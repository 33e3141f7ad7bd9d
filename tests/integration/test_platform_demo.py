"""`cfwb demo` materialises every location's assets (imports → dbt → exports); the embedded PostgreSQL runs.

The demo test runs the real command on a copy of platform/, against the machine's PostgreSQL in a
database of its own (dropped afterwards); the embedded-server test starts ``pgserver`` as the demo
does when no PostgreSQL is configured — also when the tests run as root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import polars as pl
import psycopg
import pytest
from platform_copy import PLATFORM, copy_platform

from dagster_cfwb.cli.embedded_postgres import (
    embedded_postgres_dir,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

BIN = Path(sys.prefix) / "bin"
DEMO_ASSETS = {
    "stg_example": 1000,
    "gld_example": 1000,
    "enseignement/stg/etablissements": 245,
    "enseignement/slv/etablissements": 240,
    "enseignement/gld/etablissements_par_commune": 24,
    "enseignement/pg/etablissements_par_commune": 24,
    "enseignement/stg/inscriptions": 100,
    "enseignement/gld/inscriptions_par_niveau": 4,  # through the LakehouseIOManager
    "culture/stg/lieux": 120,
    "culture/gld/lieux_par_commune": None,
    "data_platform/stg/inscriptions": 100,
    "data_platform/slv/offre_communale": 8,
    "data_platform/gld/offre_par_commune": 8,
    "data_platform/pg/offre_par_commune": 8,
}


@pytest.fixture
def demo_database(pg_config):
    """A fresh database on the machine's PostgreSQL for the demo's exports; dropped afterwards."""
    name = f"cfwb_demo_{uuid.uuid4().hex[:10]}"
    admin = {k: v for k, v in pg_config.items() if k != "database"}
    with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**admin, dbname=pg_config["database"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.platform
@pytest.mark.dbt
@pytest.mark.postgres
def test_demo_materialises_every_location(tmp_path, pg_config, demo_database):
    platform = copy_platform(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CFWB_", "DAGSTER_", "AZURE_STORAGE"))}
    env.update(
        CFWB_PG_HOST=pg_config["host"],
        CFWB_PG_PORT=str(pg_config["port"]),
        CFWB_PG_USER=pg_config["user"],
        CFWB_PG_DATABASE=demo_database,
    )
    if pg_config.get("password"):
        env["CFWB_PG_PASSWORD"] = pg_config["password"]
    demo = subprocess.run(
        [str(BIN / "cfwb"), "--platform-dir", str(platform), "demo", "--backfill-days", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    output = demo.stdout
    assert demo.returncode == 0, output[-4000:] + demo.stderr[-4000:]
    table = dict(
        line.split(None, 1) if " " in line.strip() else (line.strip(), "") for line in output.splitlines()
    )
    for asset, rows in DEMO_ASSETS.items():
        assert asset in table, f"{asset} missing from the demo's report:\n{output[-3000:]}"
        if rows is not None:
            assert table[asset].strip() == f"{rows:,}", (asset, table[asset])
    checks = re.search(r"Checks: (\d+) passed, (\d+) failed\.", output)
    assert checks and int(checks.group(1)) >= 13 and checks.group(2) == "0", output[-3000:]
    assert "FAILED" not in output
    assert f"cd {platform} && " in output and "/dagster dev" in output
    assert f"DAGSTER_HOME={platform / '.dagster_home'}" in output
    assert (
        platform / ".dagster_home" / "lakehouse" / "data_platform" / "gld" / "offre_par_commune.parquet"
    ).is_file()

    with psycopg.connect(
        host=pg_config["host"],
        port=pg_config["port"],
        user=pg_config["user"],
        dbname=demo_database,
        password=pg_config.get("password"),
    ) as conn:
        assert conn.execute("SELECT count(*) FROM example").fetchone()[0] == 1000
        assert conn.execute("SELECT count(*) FROM offre_par_commune").fetchone()[0] == 8
        assert (
            conn.execute("SELECT count(*) FROM enseignement_etablissements_par_commune").fetchone()[0] == 24
        )

    # The runs are in the demo's instance, so the UI shows them afterwards.
    assert (platform / ".dagster_home" / "history" / "runs.db").is_file()


@pytest.mark.platform
def test_embedded_postgres_starts_loads_and_stops(tmp_path):
    # The demo's own folder rule (under /var/tmp as root): pytest's folders are private to root.
    data_dir = embedded_postgres_dir(tmp_path / f"home-{uuid.uuid4().hex[:8]}")
    server = start_embedded_postgres(data_dir)
    try:
        assert Path(server.host).is_dir()  # a Unix socket folder: no TCP port is opened
        postgresql = PostgreSQLResource(
            host=server.host, port=server.port, user=server.user, database=server.database
        )
        loaded = postgresql.copy_from_df(
            pl.DataFrame({"id": [1, 2, 3], "nom": ["a", "b", None]}), "demo_probe"
        )
        assert loaded.rows == 3
        assert postgresql.query("SELECT count(*) AS n FROM demo_probe")["n"][0] == 3
    finally:
        assert stop_embedded_postgres(data_dir) is True
        if data_dir.is_relative_to("/var/tmp"):
            shutil.rmtree(data_dir, ignore_errors=True)
    assert stop_embedded_postgres(data_dir) is False


@pytest.mark.postgres
def test_production_dagster_yaml_on_postgresql(tmp_path, pg_config, demo_database, monkeypatch):
    """platform/dagster.yaml gives a PostgreSQL-backed instance with the queue, retries and monitoring."""
    pytest.importorskip("dagster_postgres", reason="the `platform` extra installs dagster-postgres")
    import dagster as dg

    (tmp_path / "dagster.yaml").write_text((PLATFORM / "dagster.yaml").read_text())
    for name, value in {
        "DAGSTER_HOME": str(tmp_path),
        "DAGSTER_PG_HOST": pg_config["host"],
        "DAGSTER_PG_PORT": str(pg_config["port"]),
        "DAGSTER_PG_USER": pg_config["user"],
        "DAGSTER_PG_PASSWORD": pg_config.get("password") or "",
        "DAGSTER_PG_DB": demo_database,
        "DAGSTER_MAX_CONCURRENT_RUNS": "10",
        "DAGSTER_COMPUTE_LOGS_DIR": str(tmp_path / "logs"),
    }.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        queue = instance.run_coordinator.get_run_queue_config()
        assert queue.max_concurrent_runs == 10
        assert {"key": "cfwb/source", "value": "denodo", "limit": 3} in queue.tag_concurrency_limits
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
        assert instance.get_runs() == []
