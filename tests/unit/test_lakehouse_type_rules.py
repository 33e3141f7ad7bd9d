"""The lakehouse type rules and temp-file names, without DuckDB or storage."""

import doctest
import os

import pyarrow as pa
import pytest

from dagster_cfwb.transfer import lakehouse_types, temp_files
from dagster_cfwb.transfer.lakehouse_types import lakehouse_schema, lakehouse_stream


def test_docstring_examples_run():
    assert doctest.testmod(lakehouse_types).failed == 0


def test_refusal_names_path_nested_column_type_and_fix():
    schema = pa.schema(
        [("ok", pa.int64()), ("s", pa.struct([("m", pa.map_(pa.string(), pa.decimal256(40, 2)))]))]
    )
    with pytest.raises(TypeError) as err:
        lakehouse_schema(schema, "a/stg/t.parquet")
    message = str(err.value)
    for words in ("`s.m{value}`", "`decimal256(40, 2)`", "`a/stg/t.parquet`", "decimal128(38, 2)", "text"):
        assert words in message, message


def test_refusal_happens_when_the_stream_is_built_before_any_batch_is_read():
    def batches():
        yield pa.record_batch({"d": pa.array([1], pa.duration("s"))})
        raise AssertionError("read past the first batch")

    with pytest.raises(TypeError, match="duration"):
        lakehouse_stream(batches(), "a/stg/t.parquet")
    with pytest.raises(TypeError, match="duration"):
        lakehouse_stream(pa.table({"d": pa.array([1], pa.duration("s"))}), "a/stg/t.parquet")


def test_temp_file_names_carry_owner_and_pid(tmp_path):
    path = temp_files.create_temp_file(str(tmp_path))
    name = os.path.basename(path)
    match = temp_files._NAME.match(name)
    assert match and match.group("owner") == temp_files._owner() and match.group("pid") == str(os.getpid())
    assert temp_files.remove_orphaned_temp_files(str(tmp_path)) == []  # ours, and we are alive
    assert os.path.exists(path)


def test_a_slow_writer_keeps_touching_its_temp_file(tmp_path):
    path = temp_files.create_temp_file(str(tmp_path))
    os.utime(path, (0, 0))
    items = list(temp_files.touching(iter(range(3)), path, every_seconds=0))
    assert items == [0, 1, 2] and os.path.getmtime(path) > 0


def test_a_decimal_whose_scale_exceeds_its_precision_is_stored_with_precision_equal_to_scale():
    schema = lakehouse_schema(pa.schema([("c", pa.decimal128(3, 5))]), "a/stg/t.parquet")
    assert schema.field("c").type == pa.decimal128(5, 5)  # Parquet refuses scale > precision
    with pytest.raises(TypeError, match=r"`c`.*decimal128\(3, 40\).*text"):
        lakehouse_schema(pa.schema([("c", pa.decimal128(3, 40))]), "a/stg/t.parquet")


def test_columns_whose_names_differ_only_by_case_are_refused_before_writing(tmp_path):
    """DuckDB folds case and would read the second `a`/`A` back as `a_1`/`A_1`."""
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    lake = LocalLakehouseResource(root=str(tmp_path / "lake"))
    for names in (["id", "a", "a"], ["id", "Name", "name"]):
        table = pa.Table.from_arrays([pa.array([1])] * 3, names=names)
        with pytest.raises(ValueError) as err:
            lake.write_table(table, "a/stg/t.parquet")
        message = str(err.value)
        assert f"`{names[1]}`" in message and f"`{names[2]}`" in message and "`a/stg/t.parquet`" in message
        assert "Nothing was written" in message, message
        assert not lake.exists("a/stg/t.parquet")


@pytest.mark.parametrize(("first", "later"), [(pa.timestamp("us", "UTC"), pa.timestamp("us")),
                                              (pa.timestamp("us"), pa.timestamp("us", "UTC"))])  # fmt: skip
def test_a_later_batch_with_or_without_a_time_zone_unlike_the_first_is_refused(first, later):
    """A wall-clock 12:00 without a zone is not the instant 12:00 UTC (nor the reverse)."""
    import datetime as dt

    noon = dt.datetime(2024, 3, 1, 12)
    batches = [
        pa.record_batch({"at": pa.array([noon], first)}),
        pa.record_batch({"at": pa.array([noon], later)}),
    ]
    with pytest.raises(ValueError, match=r"Column `at`.*later record batch"):
        list(lakehouse_stream(batches, "a/stg/t.parquet"))
