"""Parquet files written from a stream: the dictionary decision and exact values."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from dagster_cfwb.transfer.arrow_stream import to_arrow_stream
from dagster_cfwb.transfer.parquet_files import dictionary_columns, write_parquet_stream


def _rows(n: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "code": pa.array([f"c{i % 7}" for i in range(n)]),
            "comment": pa.array([f"free text number {i} ✓" if i % 5 else None for i in range(n)]),
            "active": pa.array([i % 3 == 0 for i in range(n)]),
        }
    )


def test_mostly_distinct_columns_are_written_plain_others_keep_a_dictionary():
    batch = _rows(20_000).to_batches()[0]
    assert dictionary_columns(batch) == ["code", "active"]
    # within the page limit, every column keeps its dictionary
    assert dictionary_columns(batch, page_bytes=10**9) == ["id", "code", "comment", "active"]


def test_small_first_batches_and_nested_columns_keep_the_writers_default():
    assert dictionary_columns(_rows(10).to_batches()[0]) is True
    nested = pa.record_batch({"tags": pa.array([[1, 2]] * 5_000)})
    assert dictionary_columns(nested) is True


def test_the_file_holds_every_value_and_the_chosen_encodings(tmp_path):
    table = _rows(50_000)
    path = tmp_path / "t.parquet"
    rows = write_parquet_stream(to_arrow_stream(table, batch_rows=20_000), str(path))
    assert rows == 50_000
    assert pq.read_table(path).equals(table)
    chunks = {
        c.path_in_schema: c for c in (pq.ParquetFile(path).metadata.row_group(0).column(i) for i in range(4))
    }
    assert chunks["code"].has_dictionary_page  # (Parquet never dictionary-encodes booleans)
    assert not chunks["id"].has_dictionary_page and not chunks["comment"].has_dictionary_page


def test_an_empty_stream_writes_a_file_with_the_schema(tmp_path):
    path = tmp_path / "empty.parquet"
    stream = to_arrow_stream(_rows(0))
    assert write_parquet_stream(stream, str(path)) == 0
    assert pq.read_table(path).schema.equals(stream.schema)
