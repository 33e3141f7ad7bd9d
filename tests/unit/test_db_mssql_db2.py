"""SQL Server and DB2: generated SQL, type mapping and driver calls, against a recording fake driver.

No SQL Server or DB2 server can run on this machine, so these tests check what the resources
would send (statements, their order, commits/rollbacks, bulk-copy and array-insert calls) — not
how a live server answers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

import pyarrow as pa
import pytest

from dagster_cfwb.resources.db.db2_resource import DB2Resource, db2_connection_string
from dagster_cfwb.resources.db.mssql_resource import MSSQLResource, mssql_connection_string
from dagster_cfwb.transfer.arrow_stream import to_arrow_stream
from dagster_cfwb.transfer.db2.load import DB2Dialect, iter_db2_batches
from dagster_cfwb.transfer.db2.types import arrow_to_db2_type
from dagster_cfwb.transfer.dialect_load import load_with_dialect
from dagster_cfwb.transfer.identifiers import IdentifierError, QualifiedName
from dagster_cfwb.transfer.load_result import LoadError
from dagster_cfwb.transfer.mssql.load import MSSQLDialect, iter_mssql_batches
from dagster_cfwb.transfer.mssql.types import arrow_to_mssql_type
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.stmt_handler = object()
        self._rows: list = []

    def execute(self, sql, params=None):
        self.conn.log.append(("execute", sql, params))
        if self.conn.fail_on and self.conn.fail_on in sql:
            raise RuntimeError(f"server refused: {sql[:30]}")
        scripted = next((rows for pattern, rows in self.conn.responses.items() if pattern in sql), None)
        if scripted is not None:
            self._rows = list(scripted() if callable(scripted) else scripted)
        elif "sys.columns" in sql or "SYSCAT.COLUMNS" in sql:
            self._rows = list(self.conn.existing)
        else:
            self._rows = list(self.conn.result_rows)

    def executemany(self, sql, rows):
        self.conn.log.append(("executemany", sql, len(rows)))
        self.conn.sent.extend(rows)
        if self.conn.fail_on == "executemany":
            raise RuntimeError("array insert refused")

    def bulkcopy_arrow(self, table_name, source, **options):
        batches = list(source)
        self.conn.log.append(("bulkcopy_arrow", table_name, options))
        self.conn.sent.extend(batches)
        if self.conn.fail_on == "bulkcopy":
            raise RuntimeError("bulk copy refused")
        return {"rows_copied": sum(b.num_rows for b in batches)}

    def arrow_reader(self, batch_size):
        self.conn.log.append(("arrow_reader", batch_size))
        return FakeReader(self.conn.result_batches, self.conn.result_schema)

    def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, n):
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    def close(self):
        pass


class FakeReader:
    def __init__(self, batches, schema):
        self.batches, self.schema, self.closed = batches, schema, False

    def __iter__(self):
        return iter(self.batches)

    def close(self):
        self.closed = True


class FakeConnection:
    """Records every call; ``existing`` are catalog rows for the target table (empty: no table)."""

    def __init__(self, existing=(), fail_on=None):
        self.log: list = []
        self.sent: list = []
        self.existing = existing
        self.fail_on = fail_on
        self.result_rows: list = []
        self.result_batches: list = []
        self.result_schema = pa.schema([])
        # query substring → rows (or a callable giving them): the session id and orphan queries
        self.responses: dict = {
            "@@SPID": [(57,)],
            "MON_GET_APPLICATION_HANDLE": [(57,)],
            "FROM sys.tables": [],
            "FROM SYSCAT.TABLES": [],
        }

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.log.append(("commit",))

    def rollback(self):
        self.log.append(("rollback",))

    def close(self):
        self.log.append(("close",))

    def statements(self) -> list[str]:
        return [e[1] if e[0] == "execute" else e[0] for e in self.log if e[0] != "rollback"]


def _data(n=3) -> pa.Table:
    return pa.table({"id": pa.array(range(n), pa.int64()), "name": [f"n{i}" for i in range(n)]})


def _load(conn, dialect, mode="replace", keys=None, table=None, data=None):
    stream = to_arrow_stream(data if data is not None else _data(), batch_rows=2)
    return load_with_dialect(conn, stream, table or QualifiedName("t", "dbo"), dialect, mode=mode, keys=keys)


def _normal(sql: str) -> str:
    return re.sub(r"_cfwb_(stg|old)_t_57_[0-9a-f]{8}", r"<\1>", sql)


# -- SQL Server ------------------------------------------------------------------------------
MSSQL_EXISTING = [("id", "bigint", 19, 0, 8), ("name", "nvarchar", 0, 0, -1)]


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.bool_(), "BIT"),
        (pa.int8(), "SMALLINT"),
        (pa.uint8(), "TINYINT"),
        (pa.int64(), "BIGINT"),
        (pa.uint64(), "DECIMAL(20,0)"),
        (pa.float32(), "REAL"),
        (pa.float64(), "FLOAT(53)"),
        (pa.decimal128(38, 10), "DECIMAL(38,10)"),
        (pa.large_string(), "NVARCHAR(MAX)"),
        (pa.binary(), "VARBINARY(MAX)"),
        (pa.date32(), "DATE"),
        (pa.time64("us"), "TIME(6)"),
        (pa.timestamp("us"), "DATETIME2(6)"),
        (pa.timestamp("us", tz="Europe/Paris"), "DATETIMEOFFSET(6)"),
    ],
)
def test_mssql_type_mapping(arrow_type, expected):
    assert arrow_to_mssql_type(arrow_type) == expected


def test_mssql_refuses_what_it_cannot_hold():
    with pytest.raises(UnsupportedTypeError, match=r"`amount` of table `t`.*decimal256\(50, 2\)"):
        arrow_to_mssql_type(pa.decimal256(50, 2), column="amount", table="t")


def test_mssql_replace_bulk_copies_a_staging_table_then_renames_in_one_transaction():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    result = _load(conn, MSSQLDialect(), keys=["id"])
    assert result.rows == 3 and not result.created
    catalog = (
        "SELECT c.name, TYPE_NAME(c.user_type_id), c.precision, c.scale, c.max_length FROM sys.columns c "
        "WHERE c.object_id = OBJECT_ID(?) ORDER BY c.column_id"
    )
    assert [_normal(s) for s in conn.statements()] == [
        "SELECT @@SPID",  # this session's id ends the staging names (orphan cleanup)
        "SELECT t.name, t.create_date FROM sys.tables t WHERE t.schema_id = SCHEMA_ID(COALESCE(?, SCHEMA_NAME())) "
        "AND t.name LIKE '\\_cfwb\\_%' ESCAPE '\\'",
        catalog,
        "CREATE TABLE [dbo].[<stg>] ([id] BIGINT NOT NULL, [name] NVARCHAR(MAX), PRIMARY KEY ([id]))",
        "commit",
        "bulkcopy_arrow",
        "commit",
        catalog,  # read again just before the swap: another load may have created the table
        "EXEC sp_rename N'[dbo].[t]', N'<old>', 'OBJECT'",
        "EXEC sp_rename N'[dbo].[<stg>]', N't', 'OBJECT'",
        "commit",
        "DROP TABLE [dbo].[<old>]",
        "commit",
    ]
    bulk = next(e for e in conn.log if e[0] == "bulkcopy_arrow")
    assert _normal(bulk[1]) == "[dbo].[<stg>]"
    assert bulk[2]["column_mappings"] == ["id", "name"] and bulk[2]["keep_nulls"] is True
    assert sum(b.num_rows for b in conn.sent) == 3


def test_mssql_upsert_merges_from_staging():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    _load(conn, MSSQLDialect(), mode="upsert", keys="id")
    merge = next(s for s in conn.statements() if s.startswith("MERGE"))
    assert _normal(merge) == (
        "MERGE INTO [dbo].[t] WITH (HOLDLOCK) AS t USING [dbo].[<stg>] AS s ON t.[id] = s.[id] "
        "WHEN MATCHED THEN UPDATE SET t.[name] = s.[name] "
        "WHEN NOT MATCHED THEN INSERT ([id], [name]) VALUES (s.[id], s.[name]);"
    )
    assert _normal(conn.statements()[-2]) == "DROP TABLE [dbo].[<stg>]"


def test_mssql_upsert_refuses_duplicate_keys_before_the_merge():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    conn.result_rows = [(2,)]  # what the GROUP BY … HAVING COUNT(*) > 1 query finds in the staging table
    with pytest.raises(ValueError, match="several rows for the same key"):
        _load(conn, MSSQLDialect(), mode="upsert", keys="id")
    assert not any(s.startswith("MERGE") for s in conn.statements())
    assert any("HAVING COUNT(*) > 1" in s for s in conn.statements())


def test_mssql_append_goes_through_staging_because_bulk_copy_commits_on_its_own():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    _load(conn, MSSQLDialect(), mode="append")
    statements = [_normal(s) for s in conn.statements()]
    assert "INSERT INTO [dbo].[t] ([id], [name]) SELECT [id], [name] FROM [dbo].[<stg>]" in statements
    assert statements[-2:] == ["DROP TABLE [dbo].[<stg>]", "commit"]


def test_mssql_failed_bulk_copy_never_touches_the_target():
    conn = FakeConnection(existing=MSSQL_EXISTING, fail_on="bulkcopy")
    with pytest.raises(LoadError, match=r"SQL Server table `dbo.t`.*bulk copy refused"):
        _load(conn, MSSQLDialect())
    statements = [_normal(s) for s in conn.statements()]
    assert not any("sp_rename" in s for s in statements)
    assert statements[-2:] == ["DROP TABLE [dbo].[<stg>]", "commit"]


def test_mssql_bad_input_fails_before_any_sql():
    for kwargs, error in [
        ({"mode": "upsert"}, "needs `keys`"),
        ({"mode": "upsert", "keys": ["nope"]}, "not in the data"),
        ({"mode": "merge"}, "Unknown load mode"),
    ]:
        conn = FakeConnection(existing=MSSQL_EXISTING)
        with pytest.raises(ValueError, match=error):
            _load(conn, MSSQLDialect(), **kwargs)
        assert conn.log == []
    conn = FakeConnection(existing=MSSQL_EXISTING)
    with pytest.raises(IdentifierError):
        _load(conn, MSSQLDialect(), data=pa.table({"x]; DROP TABLE t; --": [1]}))
    assert conn.log == []


def test_mssql_existing_column_that_cannot_hold_the_data_is_refused_before_writing():
    conn = FakeConnection(existing=[("id", "bigint", 19, 0, 8), ("name", "int", 10, 0, 4)])
    with pytest.raises(UnsupportedTypeError, match=r"`name` of table `dbo.t` is `int`.*string"):
        _load(conn, MSSQLDialect(), mode="append")
    assert not any(s.startswith(("CREATE", "INSERT", "DROP", "MERGE")) for s in conn.statements())
    assert conn.log[-1] == ("rollback",) and ("commit",) not in conn.log


def test_mssql_extract_streams_driver_batches():
    conn = FakeConnection()
    schema = pa.schema([("id", pa.int64())])
    conn.result_schema = schema
    conn.result_batches = [pa.record_batch([pa.array([1, 2])], schema=schema)]
    batches = list(iter_mssql_batches(conn, "SELECT id FROM t WHERE x = ?", [5], batch_rows=1000))
    assert batches[0].column(0).to_pylist() == [1, 2]
    assert conn.log == [("execute", "SELECT id FROM t WHERE x = ?", [5]), ("arrow_reader", 1000)]
    conn.result_batches = []
    [empty] = list(iter_mssql_batches(conn, "SELECT id FROM t"))
    assert empty.num_rows == 0 and empty.schema == schema


def test_mssql_resource_connects_without_showing_the_password(monkeypatch):
    import mssql_python

    calls = []
    monkeypatch.setattr(mssql_python, "connect", lambda *a, **k: calls.append((a, k)) or FakeConnection())
    resource = MSSQLResource(
        host="sql.example", user="etl", password="s3cr;et}", database="dwh", connect_retries=0
    )
    assert "s3cr" not in repr(resource)
    with resource.get_connection():
        pass
    (connection_string,), options = calls[0]
    assert "PWD={s3cr;et}}}" in connection_string and "Server=tcp:sql.example,1433" in connection_string
    assert options == {"autocommit": False, "timeout": 15}
    assert mssql_connection_string("h", 1, "", "", None, encrypt="yes", trust_server_certificate=False) == (
        "Server=tcp:h,1;Encrypt=yes;Trusted_Connection=yes"
    )


# -- DB2 -------------------------------------------------------------------------------------
DB2_EXISTING = [("id", "BIGINT", 8, 0), ("name", "CLOB", 2147483647, 0)]


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.bool_(), "BOOLEAN"),
        (pa.uint8(), "SMALLINT"),
        (pa.int32(), "INTEGER"),
        (pa.float64(), "DOUBLE"),
        (pa.decimal128(31, 2), "DECIMAL(31,2)"),
        (pa.string(), "CLOB(2G)"),
        (pa.binary(), "BLOB(2G)"),
        (pa.date32(), "DATE"),
        (pa.time64("us"), "TIME"),
        (pa.timestamp("us", tz="UTC"), "TIMESTAMP(6)"),
    ],
)
def test_db2_type_mapping(arrow_type, expected):
    assert arrow_to_db2_type(arrow_type) == expected


def test_db2_refuses_decimals_wider_than_31_digits():
    with pytest.raises(UnsupportedTypeError, match=r"`amount` of table `t`.*at most 31 digits"):
        arrow_to_db2_type(pa.decimal128(38, 2), column="amount", table="t")


def test_db2_replace_array_inserts_then_renames_in_one_transaction():
    conn = FakeConnection(existing=DB2_EXISTING)
    result = _load(conn, DB2Dialect(insert_rows=2), table=QualifiedName("t", "RH"))
    assert result.rows == 3
    statements = [_normal(s) for s in conn.statements()]
    assert statements[:2] == [
        "SELECT MON_GET_APPLICATION_HANDLE() FROM SYSIBM.SYSDUMMY1",
        "SELECT TABNAME, CREATE_TIME FROM SYSCAT.TABLES WHERE TABSCHEMA = COALESCE(CAST(? AS VARCHAR(128)), "
        "CURRENT SCHEMA) AND TABNAME LIKE '\\_cfwb\\_%' ESCAPE '\\'",
    ]
    assert statements[3:] == [
        'CREATE TABLE "RH"."<stg>" ("id" BIGINT, "name" CLOB(2G))',
        "commit",
        "executemany",
        "executemany",
        "commit",
        statements[2],  # the catalog, read again just before the swap
        'RENAME TABLE "RH"."t" TO "<old>"',
        'RENAME TABLE "RH"."<stg>" TO "t"',
        "commit",
        'DROP TABLE "RH"."<old>"',
        "commit",
    ]
    insert = next(e for e in conn.log if e[0] == "executemany")
    assert _normal(insert[1]) == 'INSERT INTO "RH"."<stg>" ("id", "name") VALUES (?, ?)'
    assert conn.sent == [(0, "n0"), (1, "n1"), (2, "n2")]


def test_db2_upsert_merge_sql():
    conn = FakeConnection(existing=DB2_EXISTING)
    _load(conn, DB2Dialect(), mode="upsert", keys=["id"], table=QualifiedName("t", "RH"))
    merge = next(s for s in conn.statements() if s.startswith("MERGE"))
    assert _normal(merge) == (
        'MERGE INTO "RH"."t" AS t USING (SELECT "id", "name" FROM "RH"."<stg>") AS s ON t."id" = s."id" '
        'WHEN MATCHED THEN UPDATE SET "name" = s."name" '
        'WHEN NOT MATCHED THEN INSERT ("id", "name") VALUES (s."id", s."name")'
    )


def test_db2_failed_append_rolls_back_in_the_same_transaction():
    conn = FakeConnection(existing=DB2_EXISTING, fail_on="executemany")
    with pytest.raises(LoadError, match="array insert refused"):
        _load(conn, DB2Dialect(), mode="append", table=QualifiedName("t", "RH"))
    assert conn.log[-1] == ("rollback",)
    assert ("commit",) not in conn.log


def test_db2_refuses_times_with_microseconds_and_converts_zoned_timestamps_to_utc():
    data = pa.table({"t": pa.array([dt.time(10, 0, 0, 5)], pa.time64("us"))})
    with pytest.raises(UnsupportedTypeError, match="`t` of table `RH.x`.*whole seconds"):
        _load(FakeConnection(), DB2Dialect(), mode="append", table=QualifiedName("x", "RH"), data=data)
    paris = dt.timezone(dt.timedelta(hours=2))
    data = pa.table(
        {"ts": pa.array([dt.datetime(2024, 5, 1, 12, tzinfo=paris)], pa.timestamp("us", tz="+02:00"))}
    )
    conn = FakeConnection()
    _load(conn, DB2Dialect(), mode="append", table=QualifiedName("x", "RH"), data=data)
    assert conn.sent == [(dt.datetime(2024, 5, 1, 10),)]


def test_db2_extract_types_every_batch_from_the_driver():
    class Driver:
        num_fields = staticmethod(lambda stmt: 3)
        field_name = staticmethod(lambda stmt, i: ["id", "amount", "name"][i])
        field_type = staticmethod(lambda stmt, i: ["bigint", "decimal", "clob"][i])
        field_precision = staticmethod(lambda stmt, i: [19, 12, 0][i])
        field_scale = staticmethod(lambda stmt, i: [0, 2, 0][i])

    conn = FakeConnection()
    conn.result_rows = [(1, decimal.Decimal("1.50"), "é"), (2, None, None), (3, decimal.Decimal("-2.00"), "")]
    batches = list(iter_db2_batches(conn, "SELECT * FROM t WHERE a = ?", ["x"], batch_rows=2, driver=Driver))
    assert [b.num_rows for b in batches] == [2, 1]
    assert batches[0].schema.field("amount").type == pa.decimal128(12, 2)
    assert batches[1].to_pylist() == [{"id": 3, "amount": decimal.Decimal("-2.00"), "name": ""}]
    assert conn.log[0] == ("execute", "SELECT * FROM t WHERE a = ?", ("x",))


def test_db2_resource_connection_string_and_repr(monkeypatch):
    import ibm_db_dbi

    calls = []

    class Conn(FakeConnection):
        def set_autocommit(self, on):
            calls.append(("autocommit", on))

    monkeypatch.setattr(ibm_db_dbi, "connect", lambda dsn, u, p: calls.append(dsn) or Conn())
    resource = DB2Resource(
        host="db2.example", user="etl", password="pa;ss", database="SIRH", connect_retries=0
    )
    assert "pa;ss" not in repr(resource)
    with resource.get_connection():
        pass
    assert calls[0] == (
        "DATABASE=SIRH;HOSTNAME=db2.example;PORT=50000;PROTOCOL=TCPIP;UID=etl;PWD={pa;ss};CONNECTTIMEOUT=15;"
    )
    assert calls[1] == ("autocommit", False)
    with pytest.raises(ValueError, match="`user` must not contain"):
        db2_connection_string("h", 1, "d", "a;SECURITY=NONE", "", security="", timeout=1)


# -- recovery: orphaned staging tables, lost connection after the swap, upsert paths -------------
T0 = dt.datetime(2026, 1, 1, 8, 0)


def _orphan_responses(conn, tables, sessions, *, allowed=True, sessions_query="sys.dm_exec_sessions"):
    conn.responses["FROM sys.tables"] = tables
    conn.responses["FROM SYSCAT.TABLES"] = tables
    conn.responses["HAS_PERMS_BY_NAME"] = [(1 if allowed else 0,)]
    conn.responses[sessions_query] = sessions


def _drops(conn) -> list[str]:
    return [s for s in conn.statements() if s.startswith("DROP TABLE")]


def test_mssql_drops_staging_tables_of_dead_sessions_only_before_loading():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    tables = [
        ("_cfwb_stg_t_41_aaaaaaaa", T0),  # session 41 gone
        ("_cfwb_old_t_57_bbbbbbbb", T0),  # session 57 alive, logged in before: a live load's table
        ("_cfwb_stg_x_60_cccccccc", T0),  # id 60 reused by a session that logged in later: orphan
        ("_cfwb_notes", T0),  # not one of our names: never touched
    ]
    _orphan_responses(conn, tables, [(57, T0 - dt.timedelta(hours=1)), (60, T0 + dt.timedelta(hours=1))])
    _load(conn, MSSQLDialect(), mode="append")
    drops = _drops(conn)
    assert drops[:2] == [
        "DROP TABLE [dbo].[_cfwb_stg_t_41_aaaaaaaa]",
        "DROP TABLE [dbo].[_cfwb_stg_x_60_cccccccc]",
    ]
    first_bulk = next(i for i, e in enumerate(conn.log) if e[0] == "bulkcopy_arrow")
    last_drop = max(i for i, e in enumerate(conn.log) if e[0] == "execute" and "_cfwb_stg_x_60" in e[1])
    assert last_drop < first_bulk  # cleaned before the load
    assert not any("_57_bbbbbbbb" in d or "_cfwb_notes" in d for d in drops)


def test_mssql_without_view_server_state_drops_nothing_and_says_so(caplog):
    conn = FakeConnection(existing=MSSQL_EXISTING)
    _orphan_responses(conn, [("_cfwb_stg_t_41_aaaaaaaa", T0)], [], allowed=False)
    _load(conn, MSSQLDialect(), mode="append")
    assert not any("_41_" in d for d in _drops(conn))
    assert "cannot see other sessions" in caplog.text
    assert not any("dm_exec_sessions" in s for s in conn.statements())


def test_db2_drops_tables_of_ended_connections_from_mon_get_connection():
    conn = FakeConnection(existing=DB2_EXISTING)
    _orphan_responses(
        conn,
        [("_cfwb_stg_t_900_aaaaaaaa", T0), ("_cfwb_old_t_57_bbbbbbbb", T0)],
        [(57, T0 - dt.timedelta(minutes=5))],
        sessions_query="MON_GET_CONNECTION",
    )
    _load(conn, DB2Dialect(), mode="append", table=QualifiedName("t", "RH"))
    assert _drops(conn) == ['DROP TABLE "RH"."_cfwb_stg_t_900_aaaaaaaa"']
    assert any("TABLE(MON_GET_CONNECTION(CAST(NULL AS BIGINT), -2))" in s for s in conn.statements())


def test_db2_without_rights_on_mon_get_connection_drops_nothing():
    conn = FakeConnection(existing=DB2_EXISTING, fail_on="MON_GET_CONNECTION")
    conn.responses["FROM SYSCAT.TABLES"] = [("_cfwb_stg_t_900_aaaaaaaa", T0)]
    result = _load(conn, DB2Dialect(), mode="append", table=QualifiedName("t", "RH"))
    assert result.rows == 3 and _drops(conn) == []


def test_staging_names_fit_the_server_and_keep_session_and_suffix():
    for dialect, limit in ((MSSQLDialect(), 128), (DB2Dialect(), 128)):
        target = QualifiedName("é" * 64, "dbo", dialect=dialect.name)  # 128 bytes for DB2, 64 chars
        name = dialect.staging_name(target, "stg", "57_deadbeef").table
        assert name.endswith("_57_deadbeef") and name.startswith("_cfwb_stg_é")
        size = len(name.encode()) if dialect.name == "db2" else len(name)
        assert size <= limit and (dialect.name == "mssql" or size >= limit - 1)


def test_mssql_refuses_columns_differing_only_by_case_before_any_sql_db2_keeps_them():
    data = pa.table({"ID": [1], "id": [2]})
    conn = FakeConnection()
    with pytest.raises(IdentifierError, match="`ID` and `id`.*SQL Server"):
        _load(conn, MSSQLDialect(), data=data)
    assert conn.log == []
    conn = FakeConnection()
    _load(conn, DB2Dialect(), data=data, table=QualifiedName("t", "RH"))  # DB2: quoted names keep their case
    assert any('"ID" BIGINT, "id" BIGINT' in s for s in conn.statements())


def test_upsert_into_a_table_without_unique_index_is_a_merge_on_both_engines():
    for dialect, table in (
        (MSSQLDialect(), QualifiedName("t", "dbo")),
        (DB2Dialect(), QualifiedName("t", "RH")),
    ):
        existing = MSSQL_EXISTING if dialect.name == "mssql" else DB2_EXISTING
        conn = FakeConnection(existing=existing)  # no index anywhere: MERGE needs none
        result = _load(conn, dialect, mode="upsert", keys=["id"], table=table)
        assert result.method == "merge"
        statements = conn.statements()
        assert any(s.startswith("MERGE INTO") for s in statements)
        assert not any("indexes" in s.lower() or s.startswith("DELETE") for s in statements)
        assert any("IS NULL" in s for s in statements)  # NULL keys refused before the MERGE


def test_upsert_refuses_rows_without_a_key():
    conn = FakeConnection(existing=MSSQL_EXISTING)
    conn.responses["IS NULL"] = [(2,)]
    with pytest.raises(ValueError, match=r"2 row\(s\) of the data have no value \(NULL\) in key column"):
        _load(conn, MSSQLDialect(), mode="upsert", keys=["id"])
    assert not any(s.startswith("MERGE") for s in conn.statements())


def test_connection_lost_right_after_the_swap_drops_the_old_table_over_a_fresh_connection():
    conn = FakeConnection(existing=DB2_EXISTING)
    renamed = []

    original_commit = conn.commit

    def commit():
        if any(e[0] == "execute" and e[1].startswith("RENAME TABLE") for e in conn.log) and not renamed:
            renamed.append(True)
            conn.fail_on = "DROP TABLE"  # the connection is gone from now on
            raise ConnectionError("connection lost after the server committed the swap")
        original_commit()

    conn.commit = commit
    fresh_connections = []

    def reconnect():
        fresh = FakeConnection()
        # the server: staging gone (swapped in), target and old table present
        fresh.existing = []
        fresh.responses["SYSCAT.COLUMNS"] = lambda: [] if "stg" in fresh.log[-1][2][1] else DB2_EXISTING
        fresh_connections.append(fresh)
        return fresh

    stream = to_arrow_stream(_data(), batch_rows=2)
    result = load_with_dialect(conn, stream, QualifiedName("t", "RH"), DB2Dialect(), reconnect=reconnect)
    assert result.rows == 3 and result.method == "bulk_swap"
    dropped = [s for f in fresh_connections for s in f.statements() if s.startswith("DROP TABLE")]
    assert [_normal(s) for s in dropped] == ['DROP TABLE "RH"."<old>"']


def test_db2_without_the_session_function_still_loads_and_never_drops_session_0_tables():
    conn = FakeConnection(existing=DB2_EXISTING, fail_on="MON_GET_APPLICATION_HANDLE")
    _orphan_responses(conn, [("_cfwb_stg_t_0_aaaaaaaa", T0)], [], sessions_query="MON_GET_CONNECTION")
    result = _load(conn, DB2Dialect(), table=QualifiedName("t", "RH"))
    assert result.rows == 3
    assert not any("_0_aaaaaaaa" in d for d in _drops(conn))
    assert any(re.search(r'CREATE TABLE "RH"."_cfwb_stg_t_0_[0-9a-f]{8}"', s) for s in conn.statements())
