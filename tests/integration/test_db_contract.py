"""The shared SQL resource contract, run over every engine that has a server on this machine.

PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) run here; SQL Server and DB2 do not, so
their generated SQL and driver calls are checked in ``tests/unit/test_db_mssql_db2.py`` instead.
Each test works in its own schema (PostgreSQL) or database (MariaDB), dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.transfer.identifiers import IdentifierError
from dagster_cfwb.transfer.load_result import LoadError
from dagster_cfwb.transfer.postgres.types import UnsupportedTypeError

ENGINES = [
    pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("mysql", marks=pytest.mark.mysql, id="mariadb"),  # connectorx where exact, else pymysql
    pytest.param("mysql-pymysql", marks=pytest.mark.mysql, id="mariadb-pymysql"),  # always our reader
]


class Engine:
    """One engine under test: a resource bound to a fresh schema, plus an admin resource."""

    def __init__(self, name, resource, admin, schema):
        self.name, self.db, self.admin, self.schema = name, resource, admin, schema

    def count(self, table: str) -> int:
        return (
            self.db.query(f"SELECT COUNT(*) AS n FROM {self.q(table)}", output="arrow").column(0)[0].as_py()
        )

    def q(self, table: str) -> str:
        quote = '"' if self.name == "postgres" else "`"
        return f"{quote}{self.schema}{quote}.{quote}{table}{quote}"

    def tables(self) -> list[str]:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        return sorted(self.admin.query(sql, params=[self.schema], output="arrow").column(0).to_pylist())

    def kill_loader(self) -> None:
        """Cut the connection that is loading, from another session (never anyone else's)."""
        if self.name == "postgres":
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                [self.db.application_name],
            )
        else:
            ids = self.admin.query(
                "SELECT id FROM information_schema.processlist WHERE db = %s",
                params=[self.schema],
                output="arrow",
            )
            for pid in ids.column(0).to_pylist():
                self.admin.execute(f"KILL CONNECTION {int(pid)}")


@pytest.fixture(params=ENGINES)
def engine(request):
    name = f"t_{secrets.token_hex(4)}"
    if request.param == "postgres":
        from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

        cfg = request.getfixturevalue("pg_config")
        admin = PostgreSQLResource(**cfg)
        admin.execute(f'CREATE SCHEMA "{name}"')
        db = PostgreSQLResource(**cfg, application_name=f"cfwb_{name}", connect_retries=0)
        try:
            yield Engine("postgres", db, admin, name)
        finally:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
    else:
        from dagster_cfwb.resources.db.mysql_resource import MySQLResource

        cfg = dict(request.getfixturevalue("mysql_config"))
        admin = MySQLResource(**cfg)
        admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cfg["database"] = name
        reader = "pymysql" if request.param == "mysql-pymysql" else "auto"
        db = MySQLResource(**cfg, connect_retries=0, extract_reader=reader)
        try:
            yield Engine("mysql", db, admin, name)
        finally:
            admin.execute(f"DROP DATABASE `{name}`")


def _edge_table() -> pa.Table:
    every_byte = bytes(range(256))
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "text": [
                "",
                None,
                "tab\there\nnew line \\ back \\N NULL \"q\" 'q' ,;",
                "é à ü 🎓🚀 中文 \u0000x",
                "x" * 100_000,
            ],
            "amount": pa.array(
                [
                    decimal.Decimal("12345678901234567890123456.1234567890"),
                    decimal.Decimal("-0.0000000001"),
                    None,
                    decimal.Decimal("0"),
                    decimal.Decimal("-99999999999999999999999999.9999999999"),
                ],
                pa.decimal128(36, 10),
            ),
            "born": pa.array(
                [dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29), dt.date(1970, 1, 1)]
            ),
            "seen": pa.array(
                [
                    dt.datetime(1, 1, 1, 0, 0, 0, 1),
                    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                    None,
                    dt.datetime(2024, 5, 1, 12, 30, 0, 123456),
                    dt.datetime(1970, 1, 1),
                ],
                pa.timestamp("us"),
            ),
            "seen_utc": pa.array(
                [
                    dt.datetime(1, 1, 2, 0, 0, 0, 1, tzinfo=dt.UTC),
                    dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),
                    None,
                    dt.datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=dt.UTC),
                    dt.datetime(2038, 1, 20, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "flag": [True, False, None, True, False],
            "score": [0.1, -1e308, None, 5e-324, 1 / 3],
            "ratio": pa.array([0.33333334, None, 1e-30, 3.4e38, -0.0], pa.float32()),
            "big": pa.array([2**63 - 1, -(2**63), None, 0, 1], pa.int64()),
            "blob": [every_byte, b"", None, b"\\N\t\n", b"x" * 70_000],
        }
    )


def _normalised(engine: Engine, column: str, values: list) -> list:
    if engine.name == "mysql" and column == "seen_utc":  # stored as UTC DATETIME: the zone label is not kept
        return [v.replace(tzinfo=None) if v is not None else None for v in values]
    if engine.name == "mysql" and column == "ratio":  # MariaDB stores -0.0 as 0.0
        return [0.0 if v == 0 else v for v in values]
    if engine.name == "postgres" and column == "text":  # PostgreSQL text cannot hold NUL characters
        return [v.replace("\u0000", "") if v else v for v in values]
    return values


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_edge_values_round_trip_exactly(engine):
    source = _edge_table()
    if engine.name == "postgres":
        source = source.set_column(
            1, "text", pa.array(_normalised(engine, "text", source.column("text").to_pylist()))
        )
    result = engine.db.copy_from_df(source, "edge", schema=engine.schema)
    assert result.rows == 5 and result.created

    back = engine.db.query(f"SELECT * FROM {engine.q('edge')} ORDER BY id", output="arrow")
    assert back.column_names == source.column_names
    for name in source.column_names:
        expected = _normalised(engine, name, source.column(name).to_pylist())
        assert back.column(name).to_pylist() == expected, f"{engine.name}: column {name} differs"
    assert back.schema.field("amount").type == pa.decimal128(36, 10)
    assert pa.types.is_timestamp(back.schema.field("seen").type)


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_query_iter_batches_execute(engine):
    db, table = engine.db, engine.q("people")
    assert db.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(50))") in (0, -1)
    assert (
        db.execute(f"INSERT INTO {table} VALUES (%s, %s), (%s, %s), (%s, %s)", [1, "a'b", 2, None, 3, "c"])
        == 3
    )

    frame = db.query(f"SELECT * FROM {table} WHERE id >= %s ORDER BY id", params=[2])
    assert frame.to_dicts() == [{"id": 2, "name": None}, {"id": 3, "name": "c"}]
    assert db.query(f"SELECT * FROM {table}", output="pandas").shape == (3, 2)

    batches = list(db.iter_batches(f"SELECT * FROM {table} ORDER BY id", batch_rows=2))
    assert [b.num_rows for b in batches] == [2, 1]
    empty = list(db.iter_batches(f"SELECT id, name FROM {table} WHERE id < 0"))
    assert len(empty) == 1 and empty[0].num_rows == 0 and empty[0].schema.names == ["id", "name"]

    show = "SHOW server_version" if engine.name == "postgres" else "SHOW VARIABLES LIKE 'version'"
    assert db.query(show).height == 1  # statements that cannot be wrapped still stream

    assert db.table_schema("people", schema=engine.schema).keys() == {"id", "name"}
    with pytest.raises(LookupError, match="nope"):
        db.table_schema("nope", schema=engine.schema)


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_modes_replace_append_upsert(engine):
    db, s = engine.db, engine.schema
    first = pa.table({"id": pa.array([1, 2, 3], pa.int32()), "v": ["a", "b", "c"]})
    assert db.copy_from_df(first, "t", schema=s, keys=["id"]).created
    db.copy_from_df(pa.table({"id": pa.array([4], pa.int32()), "v": ["d"]}), "t", schema=s, mode="append")
    assert engine.count("t") == 4

    change = pa.table({"id": pa.array([3, 5], pa.int32()), "v": ["C", "e"]})
    for _ in range(2):  # a retried upsert neither drops nor duplicates
        db.copy_from_df(change, "t", schema=s, mode="upsert", keys="id")
    rows = db.query(f"SELECT id, v FROM {engine.q('t')} ORDER BY id").rows()
    assert rows == [(1, "a"), (2, "b"), (3, "C"), (4, "d"), (5, "e")]

    # replace with a different shape: the table becomes exactly the new data
    db.copy_from_df(pa.table({"k": ["x"], "n": pa.array([1.5])}), "t", schema=s)
    assert db.query(f"SELECT * FROM {engine.q('t')}").rows() == [("x", 1.5)]
    assert engine.tables() == ["t"]  # no staging or old tables left behind

    # append into a table that does not exist yet creates it; upsert too (keys become its primary key)
    db.copy_from_df(first, "fresh", schema=s, mode="upsert", keys=["id"])
    db.copy_from_df(first, "fresh", schema=s, mode="upsert", keys=["id"])
    assert engine.count("fresh") == 3


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_bad_input_fails_before_writing(engine):
    db, s = engine.db, engine.schema
    db.copy_from_df(
        pa.table({"id": pa.array([1], pa.int32()), "n": pa.array([1], pa.int32())}), "t", schema=s, keys="id"
    )
    data = pa.table({"id": pa.array([2], pa.int32()), "n": pa.array([2], pa.int32())})

    with pytest.raises(ValueError, match="needs `keys`"):
        db.copy_from_df(data, "t", schema=s, mode="upsert")
    with pytest.raises(ValueError, match=r"\['nope'\].*not in the data"):
        db.copy_from_df(data, "t", schema=s, mode="upsert", keys=["nope"])
    with pytest.raises(IdentifierError):
        db.copy_from_df(data, "t; DROP TABLE x", schema=s)
    with pytest.raises(IdentifierError):
        db.copy_from_df(pa.table({'bad"col': [1]}), "t", schema=s)
    with pytest.raises(UnsupportedTypeError, match="`s`"):
        db.copy_from_df(pa.table({"s": pa.array([{"a": 1}])}), "t", schema=s)
    if engine.name == "mysql":  # MariaDB checks the existing column types itself
        with pytest.raises(UnsupportedTypeError, match=r"`n` of table .*`int\(11\)`.*string"):
            db.copy_from_df(
                pa.table({"id": pa.array([3], pa.int32()), "n": ["x"]}), "t", schema=s, mode="append"
            )
    else:  # PostgreSQL refuses the cast in the same transaction, which is rolled back
        with pytest.raises(LoadError, match="unchanged"):
            db.copy_from_df(
                pa.table({"id": pa.array([3], pa.int32()), "n": ["x"]}), "t", schema=s, mode="append"
            )
    assert db.query(f"SELECT * FROM {engine.q('t')}").rows() == [(1, 1)]
    assert engine.tables() == ["t"]


def _batches_then(fail, n_batches: int = 4, rows: int = 1000):
    schema = pa.schema([("id", pa.int64()), ("v", pa.string())])
    for i in range(n_batches):
        yield pa.record_batch(
            [pa.array(range(i * rows, (i + 1) * rows), pa.int64()), pa.array(["x"] * rows)], schema=schema
        )
        if i == 1:
            fail()


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_failure_in_the_middle_of_replace_keeps_the_old_table(engine):
    db, s = engine.db, engine.schema
    db.copy_from_df(pa.table({"id": pa.array([7], pa.int64()), "v": ["old"]}), "t", schema=s)

    def boom():
        raise RuntimeError("source broke after two batches")

    with pytest.raises(LoadError, match="source broke"):
        db.copy_from_df(_batches_then(boom), "t", schema=s)
    assert db.query(f"SELECT * FROM {engine.q('t')}").rows() == [(7, "old")]
    assert engine.tables() == ["t"]


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_cut_connection_mid_load_keeps_the_old_table(engine):
    db, s = engine.db, engine.schema
    db.copy_from_df(pa.table({"id": pa.array([7], pa.int64()), "v": ["old"]}), "t", schema=s)
    killed = threading.Event()

    def cut():
        engine.kill_loader()
        killed.set()
        time.sleep(0.3)  # let the server close the session before more data flows

    with pytest.raises((LoadError, ConnectionError, OSError)):
        db.copy_from_df(_batches_then(cut, n_batches=30, rows=5000), "t", schema=s)
    assert killed.is_set()
    assert engine.admin.query(f"SELECT * FROM {engine.q('t')}").rows() == [(7, "old")]
    # MariaDB drops the staging table at once from a fresh session; PostgreSQL's parallel COPY
    # leaves it to the next load of the same table: the job's re-run cleans up.
    db.copy_from_df(_batches_then(lambda: None, n_batches=3, rows=10), "t", schema=s)
    assert engine.count("t") == 30
    assert engine.tables() == ["t"]


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_extract_to_lakehouse(engine, local_lakehouse):
    source = pa.table({"id": pa.array(range(2500), pa.int64()), "name": [f"élève {i}" for i in range(2500)]})
    engine.db.copy_from_df(source, "eleves", schema=engine.schema)
    result = engine.db.extract_to_lakehouse(
        f"SELECT id, name FROM {engine.q('eleves')} WHERE id >= %s ORDER BY id",
        local_lakehouse,
        "enseignement/stg/eleves.parquet",
        params=[500],
        batch_rows=1000,
    )
    assert result.rows == 2000
    written = pq.read_table(local_lakehouse.root + "/enseignement/stg/eleves.parquet")
    assert written.column("id").to_pylist() == list(range(500, 2500))
    assert (
        local_lakehouse.query_blob_storage(
            "SELECT count(*) AS n FROM 'azure://enseignement/stg/eleves.parquet'"
        ).item()
        == 2000
    )


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_upsert_with_duplicate_keys_in_the_data_is_refused_and_changes_nothing(engine):
    db, s = engine.db, engine.schema
    db.copy_from_df(
        pa.table({"id": pa.array([1], pa.int64()), "v": ["old"]}), "u", schema=s, mode="upsert", keys="id"
    )
    twice = pa.table({"id": pa.array([1, 2, 2], pa.int64()), "v": ["new", "a", "b"]})
    with pytest.raises(ValueError, match=r"several rows for the same key \['id'\] \(for example \(2,\)\)"):
        db.copy_from_df(twice, "u", schema=s, mode="upsert", keys="id")
    assert engine.admin.query(f"SELECT * FROM {engine.q('u')}").rows() == [(1, "old")]
    assert engine.tables() == ["u"]
