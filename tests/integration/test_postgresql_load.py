"""PostgreSQLResource.copy_from_df against the machine's PostgreSQL: modes, atomicity, bad input."""

import datetime as dt
import decimal

import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.db.sql_resource import DatabaseConnectionError
from dagster_cfwb.transfer.identifiers import IdentifierError
from dagster_cfwb.transfer.load_result import LoadError

pytestmark = pytest.mark.postgres


def _batches(n_batches: int, rows: int, *, poison_batch: int | None = None):
    for b in range(n_batches):
        start = b * rows
        names = [f"row {i}" for i in range(start, start + rows)]
        if b == poison_batch:
            names[rows // 2] = "bad \x00 byte"
        yield pa.record_batch({"id": pa.array(range(start, start + rows), pa.int64()), "name": names})


def _count(pg, table) -> int:
    return pg.query(f"SELECT count(*) AS n FROM {table}")["n"][0]


def test_parallel_replace_loads_every_row_once(pg_config, pg_schema):
    pg = PostgreSQLResource(**pg_config, copy_streams=3, batch_rows=1000)
    result = pg.copy_from_df(_batches(10, 1000), f"{pg_schema}.big")
    assert result.rows == 10_000
    ids = pg.query(f'SELECT id FROM "{pg_schema}".big ORDER BY id')["id"].to_list()
    assert ids == list(range(10_000))


@pytest.mark.parametrize("streams", [1, 3])
def test_failed_replace_keeps_old_table_and_drops_staging(pg_config, pg_schema, streams):
    pg = PostgreSQLResource(**pg_config, copy_streams=streams, batch_rows=1000)
    pg.copy_from_df(pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]}), "t", schema=pg_schema)
    with pytest.raises(LoadError, match="unchanged") as err:
        pg.copy_from_df(_batches(6, 1000, poison_batch=4), "t", schema=pg_schema)
    assert "0x00" in str(err.value)
    assert _count(pg, f'"{pg_schema}".t') == 3
    leftovers = pg.query(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = %s AND tablename LIKE '\\_cfwb%%'",
        params=[pg_schema],
    )["n"][0]
    assert leftovers == 0


@pytest.mark.parametrize("streams", [1, 2])
def test_orphan_staging_table_from_a_dead_session_is_cleaned(pg_config, pg_schema, streams):
    pg = PostgreSQLResource(**pg_config, copy_streams=streams, batch_rows=100)
    pg.execute(f'CREATE TABLE "{pg_schema}"."_cfwb_t_deadbeef" (id bigint)')
    pg.execute(f"""COMMENT ON TABLE "{pg_schema}"."_cfwb_t_deadbeef" IS 'dagster-cfwb staging, backend 1'""")
    pg.copy_from_df(_batches(3, 100), "t", schema=pg_schema)
    tables = pg.query("SELECT tablename FROM pg_tables WHERE schemaname = %s", params=[pg_schema])
    assert tables["tablename"].to_list() == ["t"]


def test_append_upsert_and_retry_neither_drop_nor_duplicate(postgresql, pg_schema):
    table = f"{pg_schema}.facts"
    postgresql.copy_from_df(pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}), table, mode="upsert", keys=["id"])
    postgresql.copy_from_df(pl.DataFrame({"id": [2, 3], "v": ["B", "c"]}), table, mode="upsert", keys="id")
    postgresql.copy_from_df(pl.DataFrame({"id": [2, 3], "v": ["B", "c"]}), table, mode="upsert", keys="id")
    rows = postgresql.query(f'SELECT id, v FROM "{pg_schema}".facts ORDER BY id').rows()
    assert rows == [(1, "a"), (2, "B"), (3, "c")]
    postgresql.copy_from_df(pl.DataFrame({"id": [4], "v": ["d"]}), table, mode="append")
    assert _count(postgresql, f'"{pg_schema}".facts') == 4


def test_append_casts_into_existing_column_types(postgresql, pg_schema):
    postgresql.execute(
        f'CREATE TABLE "{pg_schema}".narrow (id integer, amount numeric(8,2), label varchar(10))'
    )
    data = pa.table({"id": pa.array([1], pa.int64()), "amount": [1.25], "label": ["x"]})
    postgresql.copy_from_df(data, f"{pg_schema}.narrow", mode="append")
    assert postgresql.query(f'SELECT amount FROM "{pg_schema}".narrow', output="arrow")[0][0].as_py() == (
        decimal.Decimal("1.25")
    )


def test_edge_values_round_trip(postgresql, pg_schema):
    data = pa.table(
        {
            "d": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None]),
            "ts": pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), None]),
            "tz": pa.array(
                [
                    dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC),
                    None,
                    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", "UTC"),
            ),
            "n": pa.array(
                [decimal.Decimal("12345678901234567890.123456"), None, decimal.Decimal("-0.000001")],
                pa.decimal128(38, 6),
            ),
            "s": ["", None, "😀 àéîõü " + "x" * 100_000],
            "b": pa.array([b"\x00\xff", None, b""]),
            "flag": [True, False, None],
            "f": [float("inf"), -0.0, None],
        }
    )
    postgresql.copy_from_df(data, "edge", schema=pg_schema)
    back = postgresql.query(f'SELECT * FROM "{pg_schema}".edge', output="arrow")
    for name in data.column_names:
        assert back.column(name).to_pylist() == data.column(name).to_pylist(), name


def test_bad_table_name_is_refused_before_any_sql(postgresql):
    with pytest.raises(IdentifierError, match="not allowed"):
        postgresql.copy_from_df(pl.DataFrame({"a": [1]}), 'x"; DROP TABLE t; --')


def test_upsert_without_keys_or_with_unknown_key_is_refused(postgresql, pg_schema):
    with pytest.raises(ValueError, match="needs `keys`"):
        postgresql.copy_from_df(pl.DataFrame({"a": [1]}), "u", schema=pg_schema, mode="upsert")
    with pytest.raises(ValueError, match=r"Key column\(s\) \['b'\]"):
        postgresql.copy_from_df(pl.DataFrame({"a": [1]}), "u", schema=pg_schema, mode="upsert", keys=["b"])


def test_failed_login_names_server_but_never_the_password(pg_config, caplog):
    secret = "s3cr3t-Pa55word"
    pg = PostgreSQLResource(**{**pg_config, "user": "no_such_user", "password": secret}, connect_retries=0)
    with pytest.raises(DatabaseConnectionError) as err:
        pg.query("SELECT 1")
    message = str(err.value)
    assert "no_such_user" in message and pg_config["host"] in message and pg_config["database"] in message
    assert secret not in message and secret not in repr(pg) and secret not in caplog.text
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_iter_batches_streams_bounded_batches(postgresql):
    batches = list(postgresql.iter_batches("SELECT g AS n FROM generate_series(1, 2500) g", batch_rows=1000))
    assert [b.num_rows for b in batches] == [1000, 1000, 500]


@pytest.mark.parametrize("engine", ["adbc", "psycopg"])
def test_both_extract_engines_give_the_same_values(postgresql, engine):
    import psycopg

    from dagster_cfwb.transfer.postgres.extract import iter_postgres_batches

    sql = (
        'SELECT \'{"a": [1, true], "b": "é"}\'::jsonb AS j, \'[1, 2]\'::json AS k, 12.50::numeric AS n, '
        "interval '1 day 2 hours' AS i, 'x'::text AS t"
    )
    with psycopg.connect(
        host=postgresql.host, port=postgresql.port, user=postgresql.user, dbname=postgresql.database
    ) as conn:
        rows = pa.Table.from_batches(list(iter_postgres_batches(conn, sql, engine=engine))).to_pylist()
    assert rows == [
        {
            "j": '{"a": [1, true], "b": "é"}',
            "k": "[1, 2]",
            "n": "12.50",
            "i": "@ 1 day 2 hours",  # PostgreSQL text form (IntervalStyle postgres_verbose)
            "t": "x",
        }
    ]


def test_types_arrow_cannot_infer_are_read_as_text_without_adbc(postgresql):
    import psycopg

    from dagster_cfwb.transfer.postgres.extract import iter_postgres_batches

    sql = "SELECT inet '10.0.0.1/8' AS net, int4range(1, 5) AS r, ARRAY[1, 2] AS a"
    with psycopg.connect(
        host=postgresql.host, port=postgresql.port, user=postgresql.user, dbname=postgresql.database
    ) as conn:
        [batch] = list(iter_postgres_batches(conn, sql, engine="psycopg"))
    assert batch.to_pylist() == [{"net": "10.0.0.1/8", "r": "[1,5)", "a": [1, 2]}]


def test_unmapped_types_keep_one_schema_across_batches_without_adbc(postgresql):
    import psycopg

    from dagster_cfwb.transfer.postgres.extract import iter_postgres_batches

    sql = "SELECT CASE WHEN g > 3 THEN inet '10.0.0.1' END AS net FROM generate_series(1, 6) g ORDER BY g"
    with psycopg.connect(
        host=postgresql.host, port=postgresql.port, user=postgresql.user, dbname=postgresql.database
    ) as conn:
        batches = list(iter_postgres_batches(conn, sql, batch_rows=3, engine="psycopg"))
    assert [b.schema.field("net").type for b in batches] == [pa.large_string()] * 2
    assert pa.Table.from_batches(batches).column("net").to_pylist() == [None] * 3 + ["10.0.0.1"] * 3


def test_replace_keeps_grants_and_comments(postgresql, pg_schema):
    role = f"reader_{pg_schema}"
    postgresql.execute(f'CREATE ROLE "{role}"')
    try:
        postgresql.copy_from_df(pl.DataFrame({"id": [1], "nom": ["a"]}), "g", schema=pg_schema)
        postgresql.execute(f'GRANT SELECT ON "{pg_schema}".g TO "{role}"')
        postgresql.execute(f"""COMMENT ON TABLE "{pg_schema}".g IS 'Établissements'""")
        postgresql.execute(f"""COMMENT ON COLUMN "{pg_schema}".g.nom IS 'Nom de l''école'""")
        postgresql.copy_from_df(pl.DataFrame({"id": [2, 3], "nom": ["b", "c"]}), "g", schema=pg_schema)
        grants = postgresql.query(
            "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = %s AND table_name = 'g' AND grantee = %s",
            params=[pg_schema, role],
        ).rows()
        assert grants == [(role, "SELECT")]
        comments = postgresql.query(
            "SELECT obj_description(%s::regclass, 'pg_class') AS t, col_description(%s::regclass, 2) AS c",
            params=[f'"{pg_schema}".g', f'"{pg_schema}".g'],
        ).rows()
        assert comments == [("Établissements", "Nom de l'école")]
    finally:
        postgresql.execute(f'DROP TABLE IF EXISTS "{pg_schema}".g')
        postgresql.execute(f'DROP ROLE "{role}"')


def test_replace_under_a_view_fails_clearly_and_keeps_the_table(postgresql, pg_schema):
    postgresql.copy_from_df(pl.DataFrame({"id": [1]}), "base", schema=pg_schema)
    postgresql.execute(f'CREATE VIEW "{pg_schema}".v AS SELECT id FROM "{pg_schema}".base')
    with pytest.raises(ValueError, match=r"view\(s\) .*v.* depend on it"):
        postgresql.copy_from_df(pl.DataFrame({"id": [2, 3]}), "base", schema=pg_schema)
    assert _count(postgresql, f'"{pg_schema}".v') == 1


@pytest.mark.parametrize("streams", [1, 2])
def test_replace_with_keys_names_the_primary_key_after_the_table(pg_config, pg_schema, streams):
    """The key of a replaced table is `<table>_pkey`, as PostgreSQL names it, on every replace —
    never the staging table's `_cfwb_…_pkey` (which changed on each load and looked like a leftover)."""
    pg = PostgreSQLResource(**pg_config, copy_streams=streams, batch_rows=2)
    for _ in range(2):
        pg.copy_from_df(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), f"{pg_schema}.t", keys=["id"])
        indexes = pg.query("SELECT indexname FROM pg_indexes WHERE schemaname = %s", params=[pg_schema])[
            "indexname"
        ].to_list()
        assert indexes == ["t_pkey"]
    pg.copy_from_df(pa.table({"id": [3], "v": ["z"]}), f"{pg_schema}.t", mode="upsert", keys=["id"])
    assert pg.query(f'SELECT v FROM "{pg_schema}".t ORDER BY id')["v"].to_list() == ["a", "b", "z"]
