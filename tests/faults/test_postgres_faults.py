"""Faults injected while loading PostgreSQL (a private server): backend killed, server restarted,
loading process SIGKILLed — in `replace` (parallel and single COPY stream), `append` and `upsert` —
and two concurrent replaces of one table.

Each test asserts the charter's promise: right after the fault the table is exactly its old (or
new) complete content; the retry gives exactly one copy of each row; after that next successful
load nothing is left behind (no `_cfwb_*` table, no relation file no table owns, no temp file).
"""

from __future__ import annotations

import functools
import secrets
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_checks import (
    Hold,
    Outcome,
    Version,
    assert_nothing_left,
    leftover_local_files,
    pg_leftovers,
    pg_state,
    record_outcome,
    run_in_thread,
    sigkill,
    slow_batches,
    start_worker,
    wait_until,
)
from fault_fixtures import private_pg, private_tmpdir  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.timeout(120)]

OLD = Version.of("old", range(30_000))  # the new versions come in 20 batches, 0.02 s apart
NEW = {
    "replace": Version.of("new", range(10_000, 60_000)),
    "append": Version.of("new", range(30_000, 80_000)),
    "upsert": Version.of("new", range(15_000, 65_000)),
}
MODES = ["replace", "replace-1-stream", "append", "upsert"]
FAULTS = ["backend-killed", "server-restarted", "process-sigkilled"]


@functools.cache
def _after(mode: str) -> Version:
    new = NEW[mode]
    if mode == "append":
        return OLD.appended(new)
    return OLD.upserted(new) if mode == "upsert" else new


@pytest.fixture
def admin(private_pg):  # noqa: F811
    """An autocommit connection of the test itself (application_name `faults-admin`), reopened on demand."""
    import psycopg

    class Admin:
        conn = None

        def get(self):
            if self.conn is None or self.conn.closed or self.conn.broken:
                self.conn = psycopg.connect(
                    host="127.0.0.1", port=private_pg.port, user="postgres", dbname="postgres",
                    autocommit=True, application_name="faults-admin",
                )  # fmt: skip
            return self.conn

        def rows(self, sql, params=None):
            try:
                return self.get().execute(sql, params).fetchall()
            except psycopg.OperationalError:  # the server was restarted: reconnect once
                self.conn = None
                return self.get().execute(sql, params).fetchall()

    admin = Admin()
    yield admin
    if admin.conn is not None:
        admin.conn.close()


def _resource(server, mode: str):
    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

    streams = 1 if mode == "replace-1-stream" else 2
    return PostgreSQLResource(**server.settings, copy_streams=streams, connect_retries=0)


def _copying_backend(admin):
    # a COPY in progress; its rows may still sit in the client's buffer (psycopg flushes every 1 MB)
    rows = admin.rows("SELECT pid FROM pg_stat_progress_copy WHERE command = 'COPY FROM' ORDER BY pid")
    return rows[0][0] if rows else None


def _no_load_sessions(admin):
    return not admin.rows("SELECT pid FROM pg_stat_activity WHERE application_name = 'dagster-cfwb'")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS)
def test_postgres_fault_mid_load(private_pg, admin, private_tmpdir, record_property, fault, mode):  # noqa: F811
    load_mode = mode.removesuffix("-1-stream")
    table = f"f_{secrets.token_hex(4)}"
    resource = _resource(private_pg, mode)
    resource.copy_from_df(OLD.arrow(), table, mode="replace", keys=["id"])
    new, expected = NEW[load_mode], _after(load_mode)

    if fault == "process-sigkilled":
        job = {
            "kind": "postgres", "table": table, "mode": load_mode, "keys": ["id"], "version": new.spec(),
            "settings": {**private_pg.settings, "copy_streams": 1 if mode.endswith("stream") else 2},
        }  # fmt: skip
        holding = private_tmpdir.parent / "holding"
        worker = start_worker({**job, "holding": str(holding)}, private_tmpdir)
        wait_until(holding.exists, timeout=60, what="the worker's source to be half-way")
        wait_until(lambda: _copying_backend(admin), what="the worker's COPY to carry rows")
        sigkill(worker)
        assert worker.returncode == -9, worker.stdout.read()
    else:
        hold = Hold()
        load = run_in_thread(
            lambda: resource.copy_from_df(slow_batches(new, hold=hold), table, mode=load_mode, keys=["id"])
        )
        assert hold.reached.wait(60), "the load never reached the half-way point"
        pid = wait_until(lambda: _copying_backend(admin), what="the COPY to carry rows")
        if fault == "backend-killed":
            admin.rows("SELECT pg_terminate_backend(%s)", (pid,))
        else:
            private_pg.restart("fast")
        hold.release()
        load.join(60)
        assert not load.is_alive()
        assert load.error is not None, "the load finished although its session was cut mid-COPY"
        assert type(load.error).__name__ == "LoadError", repr(load.error)
        assert "unchanged" in str(load.error)
    wait_until(lambda: _no_load_sessions(admin), what="the dead load's sessions to end", timeout=10)

    state = pg_state(admin.get(), f'"{table}"')
    version, lost_now, dup_now = state.compare(OLD, expected)
    resource.copy_from_df(new.arrow(), table, mode=load_mode, keys=["id"])  # the retry
    retried, lost, dup = pg_state(admin.get(), f'"{table}"').compare(expected)
    left = pg_leftovers(admin.get(), private_pg.data, table) + leftover_local_files(private_tmpdir)
    outcome = Outcome(
        engine="PostgreSQL 15",
        fault=f"{fault.replace('-', ' ')}, {mode.replace('-1-stream', ' (1 COPY stream)')}",
        survived=version is not None and retried is not None and not left,
        rows_lost=lost_now + lost,
        rows_duplicated=dup_now + dup,
        left_behind=left,
    )
    record_outcome(record_property, outcome)
    assert version is not None, (
        f"after the fault the table is neither old nor new: lost {lost_now}, dup {dup_now}"
    )
    assert retried is expected, f"the retry gave lost {lost}, duplicated {dup}"
    assert_nothing_left(left)


def test_postgres_two_concurrent_replaces(private_pg, admin, private_tmpdir, record_property):  # noqa: F811
    table = f"f_{secrets.token_hex(4)}"
    resource = _resource(private_pg, "replace")
    resource.copy_from_df(OLD.arrow(), table, mode="replace", keys=["id"])
    a, b = Version.of("a", range(0, 40_000)), Version.of("b", range(5_000, 50_000))
    loads = [
        run_in_thread(lambda v=v: resource.copy_from_df(slow_batches(v), table, keys=["id"])) for v in (a, b)
    ]
    for load in loads:
        load.join(60)
    errors = [load.error for load in loads if load.error is not None]
    state = pg_state(admin.get(), f'"{table}"')
    version, lost_now, dup_now = state.compare(a, b)
    c = Version.of("c", range(5_000))
    resource.copy_from_df(c.arrow(), table, keys=["id"])  # the next successful run
    after, lost, dup = pg_state(admin.get(), f'"{table}"').compare(c)
    left = pg_leftovers(admin.get(), private_pg.data, table) + leftover_local_files(private_tmpdir)
    record_outcome(
        record_property,
        Outcome(
            engine="PostgreSQL 15",
            fault="two concurrent replaces, replace",
            survived=version is not None and len(errors) < 2 and after is c and not left,
            rows_lost=lost_now + lost,
            rows_duplicated=dup_now + dup,
            left_behind=left,
        ),
    )
    assert len(errors) < 2, errors
    assert all(type(e).__name__ == "LoadError" for e in errors), errors
    assert version is not None and after is c
    assert_nothing_left(left)


def test_harness_detects_postgres_leftovers(private_pg, admin, private_tmpdir):  # noqa: F811
    """The leftover checks above are not vacuous: a staging table, a stray file, a temp folder are found."""
    table = f"f_{secrets.token_hex(4)}"
    admin.get().execute(f'CREATE TABLE "_cfwb_{table}_0badf00d" (id int)')
    db_oid = admin.rows("SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
    stray = private_pg.data / "base" / str(db_oid) / "999999999"
    stray.touch()
    (private_tmpdir / "cfwb_load_x").mkdir()
    try:
        left = pg_leftovers(admin.get(), private_pg.data, table) + leftover_local_files(private_tmpdir)
    finally:
        stray.unlink()
        admin.get().execute(f'DROP TABLE "_cfwb_{table}_0badf00d"')
    assert left == [
        f"table public._cfwb_{table}_0badf00d",
        f"server file base/{db_oid}/999999999",
        str(private_tmpdir / "cfwb_load_x"),
    ]
