import datetime as dt

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.transfer.arrow_stream import normalize_schema, to_arrow_stream, to_output


def _rows(stream):
    return sum(b.num_rows for b in stream)


def test_polars_string_view_becomes_large_string_and_is_sliced():
    df = pl.DataFrame({"s": ["a", None, "c"] * 10, "i": list(range(30))})
    stream = to_arrow_stream(df, batch_rows=7)
    assert stream.schema.field("s").type == pa.large_string()
    batches = list(stream)
    assert [b.num_rows for b in batches] == [7, 7, 7, 7, 2]
    assert all(b.schema.equals(stream.schema) for b in batches)


def test_pandas_nanoseconds_become_microseconds_only_when_whole():
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:00.123456"])})
    stream = to_arrow_stream(frame)
    assert stream.schema.field("t").type == pa.timestamp("us")
    assert next(iter(stream)).column(0)[0].as_py() == dt.datetime(2024, 1, 1, 0, 0, 0, 123456)
    with pytest.raises(ValueError, match=r"Column `t` .* some values would change.*dt.floor\('us'\)"):
        list(to_arrow_stream(pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:00.123456789"])})))


def test_a_later_batch_of_text_is_never_parsed_into_the_numbers_of_the_first():
    first = pa.record_batch({"code": pa.array([1], pa.int64())})
    later = pa.record_batch({"code": pa.array(["01000"])})
    with pytest.raises(ValueError, match="Column `code` .* is `string` but is loaded as `int64`"):
        list(to_arrow_stream(iter([first, later])))
    widened = pa.record_batch({"code": pa.array([7], pa.int32())})
    assert [b.column(0).to_pylist() for b in to_arrow_stream(iter([first, widened]))] == [[1], [7]]
    too_big = pa.record_batch({"code": pa.array([2**40], pa.int64())})
    small = pa.record_batch({"code": pa.array([1], pa.int8())})
    with pytest.raises(ValueError, match="Column `code`"):
        list(to_arrow_stream(iter([small, too_big])))


def test_record_batch_refuses_an_array_of_another_type_than_announced():
    from dagster_cfwb.transfer.exact_cast import record_batch

    schema = pa.schema([("n", pa.int64())])
    assert record_batch([pa.array([1])], schema).num_rows == 1
    with pytest.raises(TypeError, match="Column `n` holds Arrow type `string` where `int64` was announced"):
        record_batch([pa.array(["01000"])], schema)


def test_iterator_of_batches_is_consumed_lazily():
    consumed = []

    def gen():
        for i in range(3):
            consumed.append(i)
            yield pa.record_batch({"x": [i]})

    stream = to_arrow_stream(gen())
    assert consumed == [0]  # only the first batch, for the schema
    assert _rows(stream) == 3 and consumed == [0, 1, 2]


def test_null_typed_columns_and_dictionaries_are_normalised():
    schema = pa.schema([("n", pa.null()), ("d", pa.dictionary(pa.int8(), pa.string()))])
    assert normalize_schema(schema).types == [pa.large_string(), pa.string()]
    table = pa.table({"n": pa.nulls(2), "d": pa.array(["a", "b"]).dictionary_encode()})
    batch = next(iter(to_arrow_stream(table)))
    assert batch.column(0).to_pylist() == [None, None] and batch.column(1).to_pylist() == ["a", "b"]


def test_rejects_unknown_input_and_empty_iterators():
    with pytest.raises(TypeError, match="polars or pandas DataFrame"):
        to_arrow_stream(42)
    with pytest.raises(ValueError, match="empty iterator"):
        to_arrow_stream(iter([]))
    with pytest.raises(TypeError, match="record batches"):
        to_arrow_stream([1, 2])


def test_batches_with_other_columns_are_refused_not_matched_by_position():
    first = pa.record_batch({"a": [1], "b": [10]})
    swapped = pa.record_batch({"b": [20], "a": [2]})
    with pytest.raises(ValueError, match=r"columns \['b', 'a'\].*first batch had \['a', 'b'\]"):
        list(to_arrow_stream(iter([first, swapped])))


def test_to_output():
    table = pa.table({"a": [1, 2]})
    assert to_output(table, "polars").shape == (2, 1)
    assert list(to_output(table, "pandas")["a"]) == [1, 2]
    assert to_output(table, "arrow") is table
    with pytest.raises(ValueError, match="polars, arrow, pandas"):
        to_output(table, "excel")


def test_dataframes_are_converted_slice_by_slice_with_one_schema():
    """A DataFrame is turned into Arrow one batch at a time (no second whole copy of its text)."""
    frame = pd.DataFrame({"s": pd.Series([None] * 3 + ["x", "y"], dtype=object), "i": range(5)})
    batches = list(to_arrow_stream(frame, batch_rows=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert all(b.schema.field("s").type == batches[-1].schema.field("s").type != pa.null() for b in batches)
    assert [v for b in batches for v in b.column("s").to_pylist()] == [None, None, None, "x", "y"]
    df = pl.DataFrame({"s": [None, None, "c"], "c": pl.Series(["a", "b", "a"], dtype=pl.Categorical)})
    stream = to_arrow_stream(df, batch_rows=2)
    polars_batches = list(stream)
    assert [b.num_rows for b in polars_batches] == [2, 1]
    assert stream.schema.field("c").type == pa.large_string()
    assert [v for b in polars_batches for v in b.column("c").to_pylist()] == ["a", "b", "a"]
    assert list(to_arrow_stream(pl.DataFrame({"a": []}, schema={"a": pl.Int32})).batches) == []
