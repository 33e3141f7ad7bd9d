"""Faults injected while loading MariaDB (a private server): connection KILLed, server crashed
(`kill -9 mariadbd`) and restarted, loading process SIGKILLed — in `replace`, `append` and
`upsert` — and two concurrent replaces of one table.

Same promise as the PostgreSQL tests: exactly old or new content after the fault, exactly one copy
after the retry, and nothing left behind after it (no `_cfwb_*` table, no `#sql*`/orphan table
file in the data folder, no `cfwb_load_*` folder of TSV chunks in TMPDIR).
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
    mariadb_leftovers,
    mariadb_state,
    record_outcome,
    run_in_thread,
    sigkill,
    slow_batches,
    start_worker,
    wait_until,
)
from fault_fixtures import private_mariadb, private_tmpdir  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.mysql, pytest.mark.timeout(120)]

OLD = Version.of("old", range(30_000))  # the new versions come in 20 batches, 0.02 s apart
NEW = {
    "replace": Version.of("new", range(10_000, 60_000)),
    "append": Version.of("new", range(30_000, 80_000)),
    "upsert": Version.of("new", range(15_000, 65_000)),
}
FAULTS = ["connection-killed", "server-crashed", "process-sigkilled"]


@functools.cache
def _after(mode: str) -> Version:
    new = NEW[mode]
    if mode == "append":
        return OLD.appended(new)
    return OLD.upserted(new) if mode == "upsert" else new


@pytest.fixture
def admin(private_mariadb):  # noqa: F811
    """An autocommit connection of the test itself, reopened after a crash."""
    import pymysql

    class Admin:
        conn = None

        def get(self):
            if self.conn is None or not self.conn.open:
                self.conn = pymysql.connect(
                    host="127.0.0.1", port=private_mariadb.port, user="root", database="test", autocommit=True
                )
            return self.conn

        def rows(self, sql, params=None):
            for attempt in (1, 2):
                try:
                    with self.get().cursor() as cur:
                        cur.execute(sql, params)
                        return cur.fetchall()
                except pymysql.err.OperationalError:  # the server was restarted: reconnect once
                    self.conn = None
                    if attempt == 2:
                        raise

    admin = Admin()
    yield admin
    if admin.conn is not None and admin.conn.open:
        admin.conn.close()


def _resource(server):
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    return MySQLResource(**server.settings, connect_retries=0)


def _loading_thread(admin):
    # InnoDB refreshes INNODB_TRX only when it was last read > 0.1 s ago: poll slower than that
    rows = admin.rows("SELECT trx_mysql_thread_id, trx_rows_modified FROM information_schema.innodb_trx")
    return next((thread for thread, modified in rows if modified > 0), None)


def _no_load_sessions(admin):
    return not admin.rows(
        "SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND command NOT IN ('Daemon')"
        " AND user = 'root'"
    )


@pytest.mark.parametrize("mode", list(NEW))
@pytest.mark.parametrize("fault", FAULTS)
def test_mariadb_fault_mid_load(private_mariadb, admin, private_tmpdir, record_property, fault, mode):  # noqa: F811
    table = f"f_{secrets.token_hex(4)}"
    resource = _resource(private_mariadb)
    resource.copy_from_df(OLD.arrow(), table, mode="replace", keys=["id"])
    new, expected = NEW[mode], _after(mode)

    if fault == "process-sigkilled":
        job = {
            "kind": "mysql", "table": table, "mode": mode, "keys": ["id"], "version": new.spec(),
            "settings": private_mariadb.settings,
        }  # fmt: skip
        holding = private_tmpdir.parent / "holding"
        worker = start_worker({**job, "holding": str(holding)}, private_tmpdir)
        wait_until(holding.exists, timeout=60, what="the worker's source to be half-way")
        wait_until(lambda: _loading_thread(admin), what="the worker's LOAD DATA to carry rows", interval=0.15)
        sigkill(worker)
        assert worker.returncode == -9, worker.stdout.read()
    else:
        hold = Hold()
        load = run_in_thread(
            lambda: resource.copy_from_df(slow_batches(new, hold=hold), table, mode=mode, keys=["id"])
        )
        assert hold.reached.wait(60), "the load never reached the half-way point"
        thread_id = wait_until(
            lambda: _loading_thread(admin), what="the LOAD DATA to carry rows", interval=0.15
        )
        if fault == "connection-killed":
            admin.rows(f"KILL {int(thread_id)}")
            hold.release()
            load.join(60)
        else:  # the server stays down until the load has failed (its cleanup cannot reach it)
            private_mariadb.crash()
            hold.release()
            load.join(60)
            private_mariadb.restart()
        assert not load.is_alive()
        assert load.error is not None, "the load finished although its connection was cut mid-load"
        assert type(load.error).__name__ == "LoadError", repr(load.error)
    wait_until(lambda: _no_load_sessions(admin), what="the dead load's sessions to end", timeout=10)

    state = mariadb_state(admin.get(), table)
    version, lost_now, dup_now = state.compare(OLD, expected)
    resource.copy_from_df(new.arrow(), table, mode=mode, keys=["id"])  # the retry
    retried, lost, dup = mariadb_state(admin.get(), table).compare(expected)
    left = mariadb_leftovers(admin.get(), private_mariadb.data, table) + leftover_local_files(private_tmpdir)
    record_outcome(
        record_property,
        Outcome(
            engine="MariaDB 10.11",
            fault=f"{fault.replace('-', ' ')}, {mode.replace('-1-stream', ' (1 COPY stream)')}",
            survived=version is not None and retried is not None and not left,
            rows_lost=lost_now + lost,
            rows_duplicated=dup_now + dup,
            left_behind=left,
        ),
    )
    assert version is not None, (
        f"after the fault the table is neither old nor new: lost {lost_now}, dup {dup_now}"
    )
    assert retried is expected, f"the retry gave lost {lost}, duplicated {dup}"
    assert_nothing_left(left)


def test_mariadb_two_concurrent_replaces(private_mariadb, admin, private_tmpdir, record_property):  # noqa: F811
    table = f"f_{secrets.token_hex(4)}"
    resource = _resource(private_mariadb)
    resource.copy_from_df(OLD.arrow(), table, mode="replace", keys=["id"])
    a, b = Version.of("a", range(0, 40_000)), Version.of("b", range(5_000, 50_000))
    loads = [
        run_in_thread(lambda v=v: resource.copy_from_df(slow_batches(v), table, keys=["id"])) for v in (a, b)
    ]
    for load in loads:
        load.join(60)
    errors = [load.error for load in loads if load.error is not None]
    version, lost_now, dup_now = mariadb_state(admin.get(), table).compare(a, b)
    c = Version.of("c", range(5_000))
    resource.copy_from_df(c.arrow(), table, keys=["id"])  # the next successful run
    after, lost, dup = mariadb_state(admin.get(), table).compare(c)
    left = mariadb_leftovers(admin.get(), private_mariadb.data, table) + leftover_local_files(private_tmpdir)
    record_outcome(
        record_property,
        Outcome(
            engine="MariaDB 10.11",
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


def test_harness_detects_mariadb_leftovers(private_mariadb, admin, private_tmpdir):  # noqa: F811
    """The leftover checks above are not vacuous: a staging table, an orphan file, temp files are found."""
    table = f"f_{secrets.token_hex(4)}"
    admin.rows(f"CREATE TABLE `_cfwb_stg_{table}_0badf00d` (id int)")
    orphan = private_mariadb.data / "test" / "#sql-1a2b_3.ibd"
    orphan.touch()
    (private_tmpdir / ".cfwb-x.parquet.tmp").touch()
    (private_tmpdir / "_incoming").mkdir()
    (private_tmpdir / "_incoming" / "t.parquet").touch()
    try:
        left = mariadb_leftovers(admin.get(), private_mariadb.data, table) + leftover_local_files(
            private_tmpdir
        )
    finally:
        orphan.unlink()
        admin.rows(f"DROP TABLE `_cfwb_stg_{table}_0badf00d`")
    assert left == [
        "server file test/#sql-1a2b_3.ibd",
        f"table test._cfwb_stg_{table}_0badf00d",
        str(private_tmpdir / ".cfwb-x.parquet.tmp"),
        str(private_tmpdir / "_incoming" / "t.parquet"),
    ]
