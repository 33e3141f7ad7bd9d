"""Nothing left behind, names by the server's rules, upsert on any table — against the real servers.

PostgreSQL 15 and MariaDB 10.11 run on this machine. Dead sessions are made for real: a connection
creates a staging table the way a load does and is closed (or killed with ``KILL``) before it can
drop it; the next load must remove it, and must never touch the table of a session still alive.
SQL Server and DB2 get the same checks on generated SQL in ``tests/unit/test_db_mssql_db2.py``.
"""

from __future__ import annotations

import decimal
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time

import pyarrow as pa
import pytest

from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.transfer import load_folders
from dagster_cfwb.transfer.arrow_stream import to_arrow_stream
from dagster_cfwb.transfer.dialect_load import load_with_dialect
from dagster_cfwb.transfer.identifiers import IdentifierError
from dagster_cfwb.transfer.load_result import LoadError
from dagster_cfwb.transfer.mysql.load import MySQLDialect

LONG = "é" * 31  # 62 bytes: the longest all-'é' name PostgreSQL allows
LONGER = "é" * 40  # 80 bytes: refused by PostgreSQL, fine for MariaDB (40 characters)


def _rows(n: int, tag: str) -> pa.Table:
    return pa.table({"id": pa.array(range(n), pa.int64()), "v": [tag] * n})


# -- PostgreSQL ----------------------------------------------------------------------------------
@pytest.fixture
def pg(pg_config, pg_schema):
    return PostgreSQLResource(**pg_config, copy_streams=2, batch_rows=500, connect_retries=0), pg_schema


def _pg_tables(db: PostgreSQLResource, schema: str) -> list[str]:
    sql = "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1"
    return db.query(sql, params=[schema], output="arrow").column(0).to_pylist()


def _pg_staging(db, schema: str, table: str, *, close: bool) -> tuple[str, object]:
    """Create a staging table the way the parallel replace does; close its session when asked."""
    conn = db._open_connection()
    name = f"_cfwb_{table}_{secrets.token_hex(4)}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE TABLE "{schema}"."{name}" (id bigint)')
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        cur.execute(f"""COMMENT ON TABLE "{schema}"."{name}" IS 'dagster-cfwb staging, backend {pid}'""")
    conn.commit()
    if close:
        conn.close()
        for _ in range(50):  # wait until the server has forgotten the backend
            alive = db.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s", params=[pid]).item()
            if not alive:
                break
            time.sleep(0.1)
    return name, conn


@pytest.mark.postgres
def test_pg_next_load_drops_staging_tables_of_dead_sessions_only(pg):
    db, s = pg
    dead, _ = _pg_staging(db, s, "t", close=True)
    live, live_conn = _pg_staging(db, s, "u", close=False)
    try:
        db.copy_from_df(_rows(3, "a"), "other", schema=s, mode="append")  # any load in the schema cleans
        assert _pg_tables(db, s) == sorted([live, "other"])
    finally:
        live_conn.close()
    db.copy_from_df(_rows(3, "a"), "other", schema=s, mode="append")
    assert _pg_tables(db, s) == ["other"]


@pytest.mark.postgres
@pytest.mark.parametrize("streams", [1, 2])
def test_pg_two_concurrent_replaces_of_a_long_accented_name_both_succeed(pg_config, pg_schema, streams):
    db = PostgreSQLResource(**pg_config, copy_streams=streams, batch_rows=500, connect_retries=0)
    if streams == 2:  # the table exists: both swaps replace it; with 1 stream: both create it
        db.copy_from_df(_rows(1, "old"), LONG, schema=pg_schema)
    errors, results = [], []
    start = threading.Barrier(2)

    def replace(tag: str) -> None:
        try:
            start.wait()
            results.append(db.copy_from_df(_rows(3000, tag), LONG, schema=pg_schema))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=replace, args=(tag,)) for tag in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 2
    values = db.query(f'SELECT DISTINCT v, count(*) AS n FROM "{pg_schema}"."{LONG}" GROUP BY v').rows()
    assert values in ([("a", 3000)], [("b", 3000)])  # exactly one complete load won
    assert _pg_tables(db, pg_schema) == [LONG]


@pytest.mark.postgres
def test_pg_names_over_the_byte_limit_or_with_a_newline_are_refused(pg):
    db, s = pg
    with pytest.raises(IdentifierError, match=r"is 80 bytes; PostgreSQL allows 63 bytes for a name"):
        db.copy_from_df(_rows(1, "a"), LONGER, schema=s)
    with pytest.raises(IdentifierError):
        db.copy_from_df(_rows(1, "a"), "t\n", schema=s)
    with pytest.raises(IdentifierError, match="column name .* is 64 bytes; PostgreSQL"):
        db.copy_from_df(pa.table({"é" * 32: [1]}), "t", schema=s)
    assert _pg_tables(db, s) == []
    # quoted names are case-sensitive in PostgreSQL: ID and id are two columns
    db.copy_from_df(pa.table({"ID": [1], "id": [2]}), "cases", schema=s)
    assert db.query(f'SELECT "ID", id FROM "{s}".cases').rows() == [(1, 2)]


@pytest.mark.postgres
def test_pg_upsert_into_a_table_without_unique_index(pg):
    db, s = pg
    db.copy_from_df(_rows(3, "a"), "t", schema=s)  # replace without keys: no primary key
    change = pa.table({"id": pa.array([2, 5], pa.int64()), "v": ["B", "e"]})
    for _ in range(2):  # retried: neither dropped nor duplicated
        result = db.copy_from_df(change, "t", schema=s, mode="upsert", keys=["id"])
    assert result.method == "delete_insert"
    assert db.query(f'SELECT id, v FROM "{s}".t ORDER BY id').rows() == [
        (0, "a"),
        (1, "a"),
        (2, "B"),
        (5, "e"),
    ]
    db.execute(f'ALTER TABLE "{s}".t ADD PRIMARY KEY (id)')
    assert db.copy_from_df(change, "t", schema=s, mode="upsert", keys=["id"]).method == "on_conflict"
    with pytest.raises(ValueError, match=r"1 row\(s\) of the data have no value \(NULL\)"):
        db.copy_from_df(
            pa.table({"id": pa.array([None], pa.int64()), "v": ["x"]}),
            "t",
            schema=s,
            mode="upsert",
            keys="id",
        )
    assert db.query(f'SELECT count(*) AS n FROM "{s}".t').item() == 4


@pytest.mark.postgres
def test_pg_decimal256_loads_exactly_in_every_mode(pg):
    db, s = pg
    values = [decimal.Decimal("-1234567890123456789012345678901234567890.12345678901234567890"), None]
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "d": pa.array(values, pa.decimal256(60, 20))})
    expected = [(1, "-1234567890123456789012345678901234567890.12345678901234567890"), (2, None)]
    sql = f'SELECT id, d::text FROM "{s}".{{}} ORDER BY id'
    db.copy_from_df(data, "r", schema=s, keys="id")  # replace, parallel path off (one batch)
    db.copy_from_df(data, "a", schema=s, mode="append")  # created by the append
    db.copy_from_df(data, "a", schema=s, mode="append")
    db.copy_from_df(data.slice(0, 1), "u", schema=s, mode="upsert", keys="id")
    db.copy_from_df(data, "u", schema=s, mode="upsert", keys="id")
    assert db.query(sql.format("r")).rows() == expected
    assert db.query(sql.format("a")).rows() == sorted(expected * 2, key=lambda r: r[0])
    assert db.query(sql.format("u")).rows() == expected
    types = db.table_schema("r", schema=s)
    assert types["d"] == "numeric(60,20)"
    big = pa.Table.from_batches([data.to_batches()[0]] * 3)  # several batches: the parallel path
    db.copy_from_df(big.combine_chunks().slice(0, 2).to_batches()[0:1] * 3, "p", schema=s)
    assert (
        db.query(f'SELECT count(*) AS n FROM "{s}".p WHERE d::text = %s', params=[expected[0][1]]).item() == 3
    )


# -- MariaDB -------------------------------------------------------------------------------------
@pytest.fixture
def maria(mysql_config):
    name = f"t_{secrets.token_hex(4)}"
    admin = MySQLResource(**mysql_config)
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield MySQLResource(**{**mysql_config, "database": name}, connect_retries=0, batch_rows=500), admin
    finally:
        admin.execute(f"DROP DATABASE `{name}`")


def _maria_tables(db: MySQLResource) -> list[str]:
    return sorted(db.query("SHOW TABLES", output="arrow").column(0).to_pylist())


def _maria_staging(db: MySQLResource, table: str, *, close: bool):
    """Create staging and old tables the way a load does (its lock held); close the session when asked."""
    conn = db._open_connection()
    token = secrets.token_hex(4)
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID(), GET_LOCK(%s, 0)", (f"dagster_cfwb_load_{token}",))
        session, _ = cur.fetchone()
        names = [f"_cfwb_{tag}_{table}_{session}_{token}" for tag in ("stg", "old")]
        for name in names:
            cur.execute(f"CREATE TABLE `{name}` (id BIGINT)")
    conn.commit()
    if close:
        conn.close()
        time.sleep(0.2)  # the server releases the lock as the session ends
    return names, conn


@pytest.mark.mysql
def test_maria_next_load_drops_tables_of_dead_sessions_only(maria):
    db, _ = maria
    dead, _ = _maria_staging(db, "t", close=True)
    live, live_conn = _maria_staging(db, "u", close=False)
    try:
        db.copy_from_df(_rows(3, "a"), "other", mode="append")
        assert _maria_tables(db) == sorted([*live, "other"])
    finally:
        live_conn.close()
    time.sleep(0.2)
    db.copy_from_df(_rows(3, "a"), "other", mode="append")
    assert _maria_tables(db) == ["other"]
    assert dead


@pytest.mark.mysql
def test_maria_staging_tables_of_older_versions_are_dropped_once_a_day_old(maria, monkeypatch):
    from dagster_cfwb.transfer.mysql import load as mysql_load

    db, _ = maria
    db.execute("CREATE TABLE `_cfwb_stg_t_0badc0de` (id BIGINT)")  # the name before load owners
    db.execute("CREATE TABLE `_cfwb_notes` (id BIGINT)")  # not ours: never touched
    db.copy_from_df(_rows(1, "a"), "other")
    assert "_cfwb_stg_t_0badc0de" in _maria_tables(db)  # young: could belong to a running old version
    monkeypatch.setattr(mysql_load, "_LEGACY_AGE_SECONDS", -1)
    db.copy_from_df(_rows(1, "a"), "other")
    assert _maria_tables(db) == ["_cfwb_notes", "other"]


@pytest.mark.mysql
def test_maria_load_killed_mid_way_leaves_a_staging_table_the_next_load_removes(maria):
    db, admin = maria
    db.copy_from_df(_rows(5, "old"), "t")
    conn = db._open_connection()
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        (session,) = cur.fetchone()

    def batches():
        for i in range(6):
            if i == 2:
                admin.execute(f"KILL CONNECTION {int(session)}")
                time.sleep(0.3)
            yield pa.record_batch(
                [pa.array(range(i * 500, (i + 1) * 500), pa.int64()), pa.array(["new"] * 500)],
                names=["id", "v"],
            )

    stream = to_arrow_stream(batches(), batch_rows=500)
    with pytest.raises((LoadError, ConnectionError, OSError)):  # no reconnect: the staging table stays
        load_with_dialect(conn, stream, db.table_name("t"), MySQLDialect())
    conn.close()
    left = [t for t in _maria_tables(db) if t.startswith("_cfwb_stg_t_")]
    assert len(left) == 1 and left[0].split("_")[-2] == str(session)
    assert db.query("SELECT count(*) AS n FROM t").item() == 5  # the old table is whole
    db.copy_from_df(_rows(2, "next"), "other")
    assert _maria_tables(db) == ["other", "t"]


class _LosesConnectionAfterSwap(MySQLDialect):
    """The server swaps, then the connection dies before the client hears back."""

    def swap_statements(self, table, staging, old):
        return [*super().swap_statements(table, staging, old), "KILL CONNECTION CONNECTION_ID()"]


@pytest.mark.mysql
def test_maria_connection_lost_right_after_the_swap_leaves_no_old_table(maria):
    db, _ = maria
    db.copy_from_df(_rows(5, "old"), "t")
    conn = db._open_connection()
    try:
        stream = to_arrow_stream(_rows(7, "new"), batch_rows=500)
        result = load_with_dialect(
            conn, stream, db.table_name("t"), _LosesConnectionAfterSwap(), reconnect=db._open_connection
        )
    finally:
        conn.close()
    assert result.rows == 7
    assert _maria_tables(db) == ["t"]  # the old copy was dropped over a fresh connection
    assert db.query("SELECT count(*) AS n FROM t WHERE v = 'new'").item() == 7


@pytest.mark.mysql
def test_maria_load_data_folders_are_removed_and_orphans_of_dead_processes_too(maria):
    db, _ = maria
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    orphan = os.path.join(tempfile.gettempdir(), f"cfwb_load_{load_folders._host()}_{child.pid}_test")
    os.makedirs(orphan, exist_ok=True)
    with open(os.path.join(orphan, "chunk_0.tsv"), "wb") as fh:
        fh.write(b"1\tsecret row\n")
    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("cfwb_load_")}
    db.copy_from_df(_rows(2000, "x"), "t")  # several LOAD DATA chunks
    after = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("cfwb_load_")}
    assert not os.path.exists(orphan)
    mine = f"cfwb_load_{load_folders._host()}_{os.getpid()}_"
    assert not [n for n in after - before if n.startswith(mine)]


@pytest.mark.mysql
def test_maria_two_concurrent_replaces_of_a_40_accent_name_both_succeed(maria):
    db, _ = maria
    db.copy_from_df(_rows(1, "old"), LONGER)
    errors, start = [], threading.Barrier(2)

    def replace(tag: str) -> None:
        try:
            start.wait()
            db.copy_from_df(_rows(3000, tag), LONGER)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=replace, args=(tag,)) for tag in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.query(f"SELECT DISTINCT v FROM `{LONGER}`").rows() in ([("a",)], [("b",)])
    assert _maria_tables(db) == [LONGER]


@pytest.mark.mysql
def test_maria_names_are_checked_by_its_rules_before_the_server(maria):
    db, _ = maria
    with pytest.raises(IdentifierError, match="columns `ID` and `id`.*MySQL/MariaDB treats as the same name"):
        db.copy_from_df(pa.table({"ID": [1], "id": [2]}), "t")
    with pytest.raises(IdentifierError, match="is 65 characters; MySQL/MariaDB allows 64 characters"):
        db.copy_from_df(_rows(1, "a"), "é" * 65)
    with pytest.raises(IdentifierError):
        db.copy_from_df(_rows(1, "a"), "t\n")
    assert _maria_tables(db) == []
    # like the server, an existing column `id` takes the data's `ID` (case is ignored)
    db.copy_from_df(pa.table({"id": pa.array([1], pa.int64())}), "t")
    db.copy_from_df(pa.table({"ID": pa.array([2], pa.int64())}), "t", mode="append")
    assert db.query("SELECT id FROM t ORDER BY id").rows() == [(1,), (2,)]


@pytest.mark.mysql
def test_maria_cleanup_never_drops_the_staging_table_of_a_load_still_running(maria):
    """The suspected cause of the intermittent `1146 … doesn't exist` on a retried upsert: a staging
    table whose owner looked dead (a reconnect, a session id not visible) dropped by another load.
    A paused upsert must survive a whole other load of the same table and then finish."""
    db, _ = maria
    db.copy_from_df(_rows(3, "a"), "t")  # no unique key: the delete-insert path
    paused, resume = threading.Event(), threading.Event()
    outcome: list = []

    def slow_batches():
        yield pa.record_batch([pa.array([1], pa.int64()), pa.array(["upserted"])], names=["id", "v"])
        paused.set()
        resume.wait(10)
        yield pa.record_batch([pa.array([7], pa.int64()), pa.array(["new"])], names=["id", "v"])

    def upsert():
        try:
            outcome.append(db.copy_from_df(slow_batches(), "t", mode="upsert", keys=["id"]))
        except Exception as e:
            outcome.append(e)

    worker = threading.Thread(target=upsert)
    worker.start()
    assert paused.wait(10)
    db.copy_from_df(_rows(2, "other"), "t2")  # its cleanup sees the paused load's staging table
    assert any(t.startswith("_cfwb_stg_t_") for t in _maria_tables(db))
    resume.set()
    worker.join(20)
    assert not isinstance(outcome[0], Exception), outcome[0]
    assert db.query("SELECT id, v FROM t ORDER BY id").rows() == [
        (0, "a"),
        (1, "upserted"),
        (2, "a"),
        (7, "new"),
    ]
    assert _maria_tables(db) == ["t", "t2"]


@pytest.mark.postgres
def test_pg_date64_and_nanosecond_durations_load_exactly_or_are_refused(pg):
    import datetime as dt

    from dagster_cfwb.transfer.postgres.types import UnsupportedTypeError

    db, s = pg
    data = pa.table(
        {
            "d": pa.array([dt.date(2024, 2, 29), None], pa.date64()),
            "span": pa.array([90_000_000_000_000, None], pa.duration("ns")),  # 25 h, whole microseconds
        }
    )
    db.copy_from_df(data, "t", schema=s)
    db.copy_from_df(data, "t", schema=s, mode="append")
    assert (
        db.query(f'SELECT d::text, (EXTRACT(EPOCH FROM span) * 1000000)::bigint AS us FROM "{s}".t').rows()
        == [("2024-02-29", 90_000_000_000), (None, None)] * 2
    )
    with pytest.raises(UnsupportedTypeError, match="Column `span` of type duration.*cannot store exactly"):
        db.copy_from_df(pa.table({"span": pa.array([1001], pa.duration("ns"))}), "t", schema=s)
    with pytest.raises(UnsupportedTypeError, match="Column `l` is a list of decimal256"):
        db.copy_from_df(pa.table({"l": pa.array([[1]], pa.list_(pa.decimal256(40, 2)))}), "t", schema=s)
    assert db.query(f'SELECT count(*) AS n FROM "{s}".t').item() == 4
