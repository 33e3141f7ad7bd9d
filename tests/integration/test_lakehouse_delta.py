"""Delta tables on both lakehouse backends (a local folder and Azurite): writes, history, SQL, errors."""

import datetime as dt
import threading

import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
from dagster_cfwb.transfer.delta import DeltaWriteResult

T = "enseignement/stg/eleves"


@pytest.fixture(params=["local", pytest.param("azure", marks=pytest.mark.azurite)])
def lakehouse(request, tmp_path):
    if request.param == "local":
        return LocalLakehouseResource(root=str(tmp_path / "lake"))
    return AzureAdlsResource(
        connection_string=request.getfixturevalue("azurite"),
        container=f"delta-{tmp_path.name[-8:].lower().replace('_', '-')}",
    )


def _eleves(ids, names, **more) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "nom": names, **more})


def _rows(lakehouse, path=T, **kwargs) -> list[tuple]:
    df = lakehouse.read_table(path, **kwargs)
    return df.sort("id").select(sorted(df.columns)).rows()


def test_replace_append_merge_are_one_commit_each_with_row_counts(lakehouse):
    first = lakehouse.write_table(_eleves([1, 2, 3], ["a", "b", "c"]), T, format="delta")
    assert isinstance(first, DeltaWriteResult)
    assert (first.path, first.version, first.operation, first.rows_inserted) == (
        f"azure://{T}",
        0,
        "WRITE",
        3,
    )
    appended = lakehouse.write_table(_eleves([4], ["d"]), T, format="delta", mode="append")
    assert (appended.version, appended.rows_inserted, appended.rows_deleted) == (1, 1, 0)
    merged = lakehouse.write_table(_eleves([1, 5], ["A", "e"]), T, format="delta", mode="merge", keys=["id"])
    assert (merged.version, merged.operation) == (2, "MERGE")
    assert (merged.rows_inserted, merged.rows_updated, merged.rows_deleted, merged.num_rows) == (1, 1, 0, 2)
    assert _rows(lakehouse) == [(1, "A"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]
    replaced = lakehouse.write_table(_eleves([9], ["z"]), T, format="delta")
    assert (replaced.version, replaced.rows_inserted, replaced.rows_deleted) == (3, 1, 5)
    assert lakehouse.is_delta_table(T) and not lakehouse.is_delta_table("enseignement/stg/autre")
    history = lakehouse.table_history(T)
    assert [h["version"] for h in history] == [3, 2, 1, 0]
    assert [h["operation"] for h in history] == ["WRITE", "MERGE", "WRITE", "WRITE"]
    assert history[1]["metrics"]["num_target_rows_updated"] == 1
    assert isinstance(history[0]["timestamp"], dt.datetime)


def test_sql_reads_delta_tables_with_time_travel(lakehouse):
    lakehouse.write_table(_eleves([1, 2], ["a", "b"]), T, format="delta")
    lakehouse.write_table(_eleves([3], ["c"]), T, format="delta", mode="append")
    now = lakehouse.query_blob_storage(f"SELECT count(*) AS n FROM delta_scan('azure://{T}')")
    then = lakehouse.query_blob_storage(f"SELECT count(*) AS n FROM delta_scan('azure://{T}', version => 0)")
    assert (now["n"][0], then["n"][0]) == (3, 2)
    assert _rows(lakehouse, version=0) == [(1, "a"), (2, "b")]
    if isinstance(lakehouse, LocalLakehouseResource):  # Azure's commit-file times are whole seconds
        first_commit = lakehouse.table_history(T)[-1]["timestamp"]
        assert _rows(lakehouse, version=first_commit) == [(1, "a"), (2, "b")]  # "as of" a moment
        assert len(_rows(lakehouse, version=first_commit.isoformat())) == 2
    batches = list(lakehouse.iter_batches(f"SELECT * FROM delta_scan('azure://{T}') ORDER BY id"))
    assert sum(b.num_rows for b in batches) == 3


@pytest.mark.parametrize("backend", ["local", pytest.param("azure-fsspec", marks=pytest.mark.azurite)])
def test_sql_reads_through_delta_rs_when_asked_or_where_the_extension_cannot_reach(
    backend, request, tmp_path
):
    if backend == "local":
        lakehouse = LocalLakehouseResource(root=str(tmp_path / "lake"), delta_reader="delta-rs")
    else:  # adlfs is invisible to DuckDB's delta extension
        lakehouse = AzureAdlsResource(
            connection_string=request.getfixturevalue("azurite"), container="delta-fsspec", engine="fsspec"
        )
    lakehouse.write_table(_eleves([1, 2], ["a", "b"]), T, format="delta")
    lakehouse.write_table(_eleves([3], ["c"]), T, format="delta", mode="append")
    df = lakehouse.query_blob_storage(
        f"SELECT (SELECT count(*) FROM delta_scan('azure://{T}')) AS now, "
        f"(SELECT count(*) FROM delta_scan('azure://{T}', version => 0)) AS then"
    )
    assert df.rows() == [(3, 2)]


def test_two_concurrent_appenders_both_land(lakehouse):
    lakehouse.write_table(_eleves([0], ["start"]), T, format="delta")
    errors: list[BaseException] = []

    def append(offset: int) -> None:
        try:
            for i in range(3):
                lakehouse.write_table(_eleves([offset + i], [f"w{offset}"]), T, format="delta", mode="append")
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=append, args=(offset,)) for offset in (100, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r[0] for r in _rows(lakehouse)] == [0, 100, 101, 102, 200, 201, 202]
    assert lakehouse.table_history(T)[0]["version"] == 6


def test_a_merge_conflicting_with_another_writer_fails_clearly_and_keeps_the_other_version(
    tmp_path, monkeypatch
):
    from dagster_cfwb.transfer.delta import DeltaConflictError, delta_write

    lakehouse = LocalLakehouseResource(root=str(tmp_path / "lake"))
    lakehouse.write_table(_eleves([1, 2], ["a", "b"]), T, format="delta")
    opened = delta_write.open_delta

    def open_then_another_writer_replaces(*args, **kwargs):
        table = opened(*args, **kwargs)  # our snapshot: version 0
        monkeypatch.setattr(delta_write, "open_delta", opened)
        lakehouse.write_table(_eleves([7], ["autre"]), T, format="delta")  # version 1, by someone else
        return table

    monkeypatch.setattr(delta_write, "open_delta", open_then_another_writer_replaces)
    with pytest.raises(DeltaConflictError, match="Another writer changed Delta table .* Run the write again"):
        lakehouse.write_table(_eleves([1], ["A"]), T, format="delta", mode="merge", keys=["id"])
    assert _rows(lakehouse) == [(7, "autre")]
    assert lakehouse.table_history(T)[0]["version"] == 1


def test_schema_evolution_adds_columns_and_refuses_type_changes(lakehouse):
    lakehouse.write_table(_eleves([1], ["a"]), T, format="delta")
    added = lakehouse.write_table(_eleves([2], ["b"], age=[12]), T, format="delta", mode="append")
    assert added.columns_added == ("age",) and added.columns == ["id", "nom", "age"]
    assert _rows(lakehouse) == [(None, 1, "a"), (12, 2, "b")]
    widened = pl.DataFrame({"id": pl.Series([3], dtype=pl.Int32), "nom": ["c"]})  # int32 into int64: exact
    lakehouse.write_table(widened, T, format="delta", mode="append")
    with pytest.raises(TypeError) as e:
        lakehouse.write_table(pl.DataFrame({"id": ["x"], "age": [1.5]}), T, format="delta", mode="append")
    assert "`id`: table has `int64`, data has `string`" in str(e.value)
    assert "`age`: table has `int64`, data has `double`" in str(e.value)
    assert lakehouse.table_history(T)[0]["version"] == 2  # nothing committed


def test_bad_input_is_refused_before_any_commit(lakehouse):
    assert not lakehouse.is_delta_table(T)  # on Azure: not even the container exists yet
    with pytest.raises(FileNotFoundError, match=f"No Delta table at lakehouse path `{T}`"):
        lakehouse.table_history(T)
    lakehouse.write_table(_eleves([1, 2], ["a", "b"]), T, format="delta")
    with pytest.raises(ValueError, match="needs `keys`"):
        lakehouse.write_table(_eleves([3], ["c"]), T, format="delta", mode="merge")
    with pytest.raises(ValueError, match=r"appear more than once.*\{'id': 1\}"):
        lakehouse.write_table(_eleves([1, 1], ["x", "y"]), T, format="delta", mode="merge", keys=["id"])
    with pytest.raises(ValueError, match="null in 1 row"):
        lakehouse.write_table(_eleves([None, 4], ["x", "y"]), T, format="delta", mode="merge", keys=["id"])
    with pytest.raises(ValueError, match="can only be replaced as a whole"):
        lakehouse.write_table(_eleves([1], ["a"]), "enseignement/stg/f.parquet", mode="append")
    with pytest.raises(TypeError, match="no time-of-day type"):
        lakehouse.write_table(
            pl.DataFrame({"id": [1], "t": [dt.time(8, 0)]}), T, format="delta", mode="append"
        )
    with pytest.raises(ValueError, match="Version 7 of Delta table"):
        lakehouse.read_table(T, version=7)
    assert lakehouse.table_history(T)[0]["version"] == 0
    assert _rows(lakehouse) == [(1, "a"), (2, "b")]


def test_restore_undoes_a_bad_load_and_vacuum_makes_old_versions_unreadable(lakehouse):
    lakehouse.write_table(_eleves([1, 2], ["a", "b"]), T, format="delta")
    lakehouse.write_table(_eleves([666], ["bad"]), T, format="delta")  # a bad load replaced everything
    restored = lakehouse.restore_table(T, 0)
    assert restored["version"] == 2 and restored["restored_version"] == 0
    assert _rows(lakehouse) == [(1, "a"), (2, "b")]
    assert lakehouse.table_history(T)[0]["operation"] == "RESTORE"
    lakehouse.write_table(_eleves([3], ["c"]), T, format="delta")  # replaces: version 2's files are unused
    removed = lakehouse.vacuum_table(T, retention_days=0)
    assert removed
    with pytest.raises(ValueError, match="Version 2 of Delta table .* cannot be read"):
        lakehouse.read_table(T, version=2)
    with pytest.raises(ValueError, match="Version 1 of Delta table .* cannot be read"):
        lakehouse.restore_table(T, 1)
    assert _rows(lakehouse) == [(3, "c")]


def test_partitions_are_replaced_one_at_a_time(lakehouse):
    day1, day2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
    lakehouse.write_table(
        _eleves([1, 2], ["a", "b"], jour=[day1, day2]), T, format="delta", partition_by=["jour"]
    )
    result = lakehouse.write_table(
        _eleves([3], ["c"], jour=[day2]), T, format="delta", replace_where={"jour": day2}
    )
    assert (result.rows_inserted, result.rows_deleted) == (1, 1)
    assert _rows(lakehouse) == [(1, day1, "a"), (3, day2, "c")]
    with pytest.raises(ValueError, match="outside the replaced part"):
        lakehouse.write_table(
            _eleves([4], ["d"], jour=[day1]), T, format="delta", replace_where={"jour": day2}
        )
    optimized = lakehouse.optimize_table(T)
    assert optimized["version"] >= 1
    assert _rows(lakehouse) == [(1, day1, "a"), (3, day2, "c")]


def test_types_round_trip_exactly_or_are_refused(lakehouse):
    table = pa.table(
        {
            "u8": pa.array([200], pa.uint8()),
            "ts": pa.array([dt.datetime(2026, 1, 1, 8, 0, 0, 1)], pa.timestamp("ns")),
            "tz": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)], pa.timestamp("us", "Europe/Paris")),
            "dec": pa.array([None], pa.decimal128(38, 10)),
        }
    )
    lakehouse.write_table(table, T, format="delta")
    back = lakehouse.read_table(T, output="arrow")
    assert back.column("u8").to_pylist() == [200]
    assert back.column("ts").to_pylist() == [dt.datetime(2026, 1, 1, 8, 0, 0, 1)]
    assert back.column("tz").to_pylist()[0] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    good = pa.record_batch({"ts": pa.array([dt.datetime(2026, 1, 1)] * 50_000, pa.timestamp("ns"))})
    nanos = pa.record_batch({"ts": pa.array([1], pa.timestamp("ns"))})
    with pytest.raises(ValueError, match="would change"):  # found in the second batch, after a file was begun
        lakehouse.write_table(iter([good, nanos]), "enseignement/stg/nanos", format="delta")
    assert lakehouse.list("enseignement/stg/nanos") == []  # a table never created leaves nothing behind
    with pytest.raises(TypeError, match="no unsigned integers"):
        lakehouse.write_table(
            pa.table({"n": pa.array([1], pa.uint64())}), "enseignement/stg/u", format="delta"
        )
