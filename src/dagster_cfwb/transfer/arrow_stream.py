"""Turn whatever a user hands us into a stream of Arrow record batches, and back.

Every loader in `dagster_cfwb.transfer` consumes an `ArrowStream`: an Arrow schema and
an iterator of record batches. Building one never materialises more than the caller already holds:
a DataFrame is sliced zero-copy, an iterator of batches is consumed lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from dagster_cfwb.transfer.exact_cast import exact_cast, record_batch

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "ArrowStream",
    "Output",
    "normalize_schema",
    "to_arrow_stream",
    "to_output",
]

DEFAULT_BATCH_ROWS = 65_536
Output = Literal["polars", "arrow", "pandas"]
OUTPUTS = ("polars", "arrow", "pandas")


@dataclass
class ArrowStream:
    """An Arrow schema with a one-shot iterator of batches that all conform to it."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self.batches


def _normalize_type(t: pa.DataType) -> pa.DataType:
    """Map Arrow types that database encoders rarely understand to plain equivalents."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.large_string()
    if pa.types.is_binary_view(t):
        return pa.large_binary()
    if pa.types.is_dictionary(t):
        return _normalize_type(t.value_type)
    if pa.types.is_null(t):
        return pa.large_string()
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", t.tz)
    if pa.types.is_time(t) and t.unit == "ns":
        return pa.time64("us")
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return pa.list_(_normalize_type(t.value_type))
    if pa.types.is_list(t):
        return pa.list_(_normalize_type(t.value_type))
    return t


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    """Schema with view/dictionary/null/nanosecond types replaced by plain ones (names kept)."""
    return pa.schema(
        [pa.field(f.name, _normalize_type(f.type), f.nullable, f.metadata) for f in schema],
        metadata=schema.metadata,
    )


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    if batch.schema.names != schema.names:  # columns are matched by position below: never by accident
        raise ValueError(
            f"A record batch has columns {batch.schema.names}, but the first batch had {schema.names}; "
            "every batch of one load must have the same columns in the same order."
        )
    # Nanoseconds become microseconds (no target database keeps more) only when no value changes.
    columns = [
        exact_cast(column, field.type, name=field.name, where="the data to load")
        for column, field in zip(batch.columns, schema, strict=True)
    ]
    return record_batch(columns, schema)


def _rebatch(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if isinstance(batch, pa.Table):
            inner = batch.to_batches(max_chunksize=batch_rows)
        else:
            inner = (
                [batch]
                if batch.num_rows <= batch_rows
                else pa.Table.from_batches([batch]).to_batches(max_chunksize=batch_rows)
            )
        for b in inner:
            if b.num_rows:
                yield _cast_batch(b, schema)


def _polars_slices(frame, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for offset in range(0, frame.height, batch_rows):
        yield from frame.slice(offset, batch_rows).to_arrow().to_batches()


def _pandas_slices(frame, schema: pa.Schema, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for offset in range(0, len(frame), batch_rows):
        part = frame.iloc[offset : offset + batch_rows]
        yield from pa.Table.from_pandas(part, schema=schema, preserve_index=False).to_batches()


def to_arrow_stream(
    data: Any, *, batch_rows: int = DEFAULT_BATCH_ROWS, normalize: bool = True
) -> ArrowStream:
    """Accept a polars/pandas DataFrame, an Arrow table, batch or reader, or an iterable of batches.

    Args:
        data: the rows to load. An iterable of Arrow record batches is consumed lazily, so a
            table far larger than memory can flow through. A polars LazyFrame is collected first:
            its whole result is held in memory.
        batch_rows: largest batch handed downstream; big tables are sliced (zero-copy).
        normalize: replace Arrow view/dictionary/null types by plain ones (see `normalize_schema`).

    Raises:
        TypeError: `data` is none of the accepted kinds.
    """
    schema: pa.Schema
    batches: Iterable[pa.RecordBatch]
    module = type(data).__module__.split(".")[0]
    if isinstance(data, ArrowStream):
        schema, batches = data.schema, data.batches
    elif isinstance(data, pa.Table):
        schema, batches = data.schema, data.to_batches(max_chunksize=batch_rows)
    elif isinstance(data, pa.RecordBatch):
        schema, batches = data.schema, [data]
    elif isinstance(data, pa.RecordBatchReader):
        schema, batches = data.schema, data
    elif module == "polars":
        import polars as pl

        if isinstance(data, pl.LazyFrame):
            data = data.collect()
        # slice by slice: polars' `to_arrow()` copies every string column into one contiguous
        # buffer, so converting the whole frame at once would hold a second copy of its text
        schema, batches = data.head(0).to_arrow().schema, _polars_slices(data, batch_rows)
    elif module == "pandas":
        schema = pa.Schema.from_pandas(data, preserve_index=False)  # types inferred from whole columns
        batches = _pandas_slices(data, schema, batch_rows)
    elif hasattr(data, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(data)
        schema, batches = reader.schema, reader
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
        iterator = iter(data)
        try:
            first = next(iterator)
        except StopIteration:
            raise ValueError(
                "Got an empty iterator of record batches: there is no schema to create the table from."
            ) from None
        if not isinstance(first, pa.RecordBatch | pa.Table):
            raise TypeError(
                f"Expected an iterator of Arrow record batches, got items of type {type(first).__name__}."
            )

        def chained() -> Iterator[pa.RecordBatch]:
            yield first
            yield from iterator

        schema, batches = first.schema, chained()
    else:
        raise TypeError(
            "Expected a polars or pandas DataFrame, a pyarrow Table/RecordBatch/RecordBatchReader or an "
            f"iterator of record batches; got {type(data).__name__}."
        )
    target = normalize_schema(schema) if normalize else schema
    return ArrowStream(target, _rebatch(batches, target, batch_rows))


def to_output(table: pa.Table, output: str = "polars") -> Any:
    """Convert an Arrow table to the caller's preferred frame: `polars` (default), `arrow`, `pandas`.

    polars gets the same values or a clear refusal naming the column (`polars_types.py`).
    """
    if output == "arrow":
        return table
    if output == "polars":
        from dagster_cfwb.transfer.polars_types import to_polars

        return to_polars(table)
    if output == "pandas":
        try:
            return table.to_pandas()
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("output='pandas' needs pandas: pip install 'dagster-cfwb[pandas]'") from e
    raise ValueError(f"Unknown output `{output}`; expected one of {', '.join(OUTPUTS)}.")
