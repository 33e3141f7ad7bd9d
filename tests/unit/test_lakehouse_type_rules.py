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
