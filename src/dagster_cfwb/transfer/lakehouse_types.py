"""Which Arrow types the lakehouse stores exactly, and the refusal for those it cannot.

A lakehouse file is written by pyarrow's Parquet writer and read back by DuckDB. Most Arrow types
survive that trip unchanged; a few would come back changed (a 60-digit decimal as a DOUBLE, a
duration as a bare integer, nanoseconds with a time zone cut to microseconds). This module decides,
before anything is written, what each column becomes:

- **kept**: the Parquet type DuckDB reads back with the same values;
- **converted** to an equivalent type with the same values (dictionary → its values, `null` →
  string, `float16` → `float32`, `date64` → `date32`, times → `time64[us]`, `timestamp[s|ms]` →
  `timestamp[us]`, `timestamp[ns, tz]` → `timestamp[us, tz]`, `decimal128(3, 5)` → `decimal128(5, 5)`),
  with *safe* casts: a value that does not fit (nanoseconds that are not whole microseconds, an
  overflow) is refused, never rounded;
- **refused** with a `TypeError` naming the lakehouse path, the column, its Arrow type and the cast
  to use (decimals over 38 digits, durations, intervals, unions, unknown extension types…).

The full table, tested type by type, is in `docs/lakehouse.md`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.arrow_stream import ArrowStream, to_arrow_stream
from dagster_cfwb.transfer.exact_cast import record_batch, round_trips

__all__ = ["MAX_DECIMAL_PRECISION", "lakehouse_batch", "lakehouse_schema", "lakehouse_stream"]

MAX_DECIMAL_PRECISION = 38  # DuckDB's DECIMAL; wider Parquet decimals are read as DOUBLE
_DAY_US = 86_400 * 1_000_000
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_KEPT_EXTENSIONS = ("arrow.uuid", "arrow.json")  # DuckDB reads them as UUID / JSON (text in Arrow)


def _refuse(path: str, where: str, t: pa.DataType, why: str, fix: str) -> TypeError:
    return TypeError(
        f"Cannot write column `{where}` (Arrow type `{t}`) to lakehouse file `{path}`: {why} "
        f"Nothing was written. {fix}"
    )


def _target_type(t: pa.DataType, where: str, path: str, *, top: bool) -> pa.DataType:
    """The type column `where` is stored as, or a `TypeError` saying why it cannot be."""
    if pa.types.is_null(t):
        return pa.large_string()
    if pa.types.is_dictionary(t):
        return _target_type(t.value_type, where, path, top=top)
    if pa.types.is_run_end_encoded(t) and top:
        return _target_type(t.value_type, where, path, top=top)
    if pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_binary_view(t):
        return pa.large_binary()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_timestamp(t):
        if t.unit == "ns" and t.tz is None:
            return t  # DuckDB TIMESTAMP_NS
        return pa.timestamp("us", t.tz)
    if pa.types.is_decimal(t):
        if t.precision > MAX_DECIMAL_PRECISION:
            raise _refuse(
                path,
                where,
                t,
                f"DuckDB reads decimals of more than {MAX_DECIMAL_PRECISION} digits as DOUBLE, which changes their values.",
                f"Cast it to text (`pa.string()`, polars `pl.String`, in the source SQL `CAST(col AS text)`), "
                f"or to `decimal128({MAX_DECIMAL_PRECISION}, "
                f"{min(t.scale, MAX_DECIMAL_PRECISION)})` if every value fits in {MAX_DECIMAL_PRECISION} digits.",
            )
        if t.scale < 0:
            raise _refuse(
                path,
                where,
                t,
                "Parquet decimals need a scale between 0 and the precision.",
                f"Cast it to `decimal128({min(t.precision - t.scale, MAX_DECIMAL_PRECISION)}, 0)` (exact for these values).",
            )
        if t.scale > t.precision:  # decimal128(3, 5) holds 0.00123: as decimal128(5, 5), the same values
            if t.scale > MAX_DECIMAL_PRECISION:
                raise _refuse(
                    path,
                    where,
                    t,
                    f"its {t.scale} digits after the point need a decimal of more than {MAX_DECIMAL_PRECISION} digits.",
                    "Cast it to text (`pa.string()`, in the source SQL `CAST(col AS text)`).",
                )
            return pa.decimal128(t.scale, t.scale)
        return t
    if pa.types.is_duration(t):
        raise _refuse(
            path,
            where,
            t,
            "Parquet has no duration type; DuckDB would read it back as a plain integer without its unit.",
            f"Cast it to `int64` and put the unit in the column name (e.g. `{where.split('.')[-1]}_{t.unit}`; "
            f"polars: `pl.col(...).dt.total_{_UNIT_NAMES[t.unit]}()`), or to text (from a database: "
            "`EXTRACT(EPOCH FROM col)` or `CAST(col AS text)` in the query).",
        )
    if pa.types.is_interval(t):
        raise _refuse(
            path,
            where,
            t,
            "the Parquet writer cannot store month/day/nanosecond intervals.",
            "Store the months, days and nanoseconds as three `int64` columns, or cast it to text.",
        )
    if pa.types.is_union(t):
        raise _refuse(
            path, where, t, "Parquet has no union type.", "Split it into one column per member type."
        )
    if pa.types.is_run_end_encoded(t):
        raise _refuse(
            path,
            where,
            t,
            "run-end encoding inside a nested type cannot be stored.",
            "Decode it first (`pyarrow.compute.run_end_decode`).",
        )
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name in _KEPT_EXTENSIONS:
            return t
        raise _refuse(
            path,
            where,
            t,
            f"DuckDB does not know the extension type `{t.extension_name}` and would read only its storage values.",
            f"Cast it to its storage type `{t.storage_type}` (`column.storage`) or to a plain Arrow type.",
        )
    if pa.types.is_struct(t):
        if t.num_fields == 0:
            raise _refuse(path, where, t, "Parquet cannot store a struct without fields.", "Drop the column.")
        return pa.struct([_target_field(f, f"{where}.{f.name}", path) for f in t])
    if pa.types.is_map(t):
        key = _target_field(t.key_field, f"{where}{{key}}", path)
        item = _target_field(t.item_field, f"{where}{{value}}", path)
        return pa.map_(key, item, keys_sorted=t.keys_sorted)
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        value = _target_field(t.value_field, f"{where}[]", path)
        if not value.equals(t.value_field):  # pyarrow 26 casts list views wrongly: never cast them
            raise _refuse(
                path,
                where,
                t,
                f"its values (`{t.value_type}`) need a conversion that list views do not support.",
                "Convert the column to a plain list first.",
            )
        return t
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        value = _target_field(t.value_field, f"{where}[]", path)
        if pa.types.is_fixed_size_list(t):
            return pa.list_(value, t.list_size)
        return pa.large_list(value) if pa.types.is_large_list(t) else pa.list_(value)
    return t


def _target_field(f: pa.Field, where: str, path: str) -> pa.Field:
    return pa.field(f.name, _target_type(f.type, where, path, top=False), f.nullable, f.metadata)


def lakehouse_schema(schema: pa.Schema, path: str) -> pa.Schema:
    """The schema a lakehouse file gets for rows of `schema`; `TypeError` if a column is refused,
    `ValueError` if two column names differ only by case.

    Example:
        >>> import pyarrow as pa
        >>> lakehouse_schema(pa.schema([("d", pa.dictionary(pa.int8(), pa.string()))]), "x/stg/t.parquet")
        d: string
    """
    seen: dict[str, str] = {}
    for name in schema.names:  # DuckDB folds case and reads a second `a` (or `A`) back as `a_1`
        if name.lower() in seen:
            raise ValueError(
                f"Cannot write lakehouse file `{path}`: columns `{seen[name.lower()]}` and `{name}` have the "
                "same name to DuckDB (names are compared without case), which would read the second one back "
                "renamed. Nothing was written. Rename one of them (in SQL: `AS other_name`)."
            )
        seen[name.lower()] = name
    fields = [
        pa.field(f.name, _target_type(f.type, f.name, path, top=True), f.nullable, f.metadata) for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _time_leaves(array: pa.Array, where: str) -> Iterator[tuple[str, pa.Array]]:
    """Every time-of-day array inside `array` (nested ones included), with its column path."""
    t = array.type
    if pa.types.is_time(t):
        yield where, array
    elif pa.types.is_struct(t):
        for i, f in enumerate(t):
            yield from _time_leaves(array.field(i), f"{where}.{f.name}")
    elif pa.types.is_map(t):
        yield from _time_leaves(array.keys, f"{where}{{key}}")
        yield from _time_leaves(array.items, f"{where}{{value}}")
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        yield from _time_leaves(array.flatten(), f"{where}[]")


def _convert_column(array: pa.Array, target: pa.DataType, where: str, path: str) -> pa.Array:
    if pa.types.is_run_end_encoded(array.type):
        array = pc.run_end_decode(array)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if not array.type.equals(target):
        try:
            array = pc.cast(array, target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ValueError(
                f"Cannot write column `{where}` (Arrow type `{array.type}`) to lakehouse file `{path}` as "
                f"`{target}` without changing values: {e}. Nothing was written. "
                + _value_fix(array.type, target)
            ) from e
    for leaf_where, leaf in _time_leaves(array, where):
        low, high = pc.min_max(leaf.cast(pa.int64())).values()
        if low.is_valid and (low.as_py() < 0 or high.as_py() > _DAY_US):
            raise ValueError(
                f"Cannot write column `{leaf_where}` (Arrow type `{leaf.type}`) to lakehouse file `{path}`: "
                "a time of day must lie between 00:00:00 and 24:00:00, found "
                f"{low.as_py()} to {high.as_py()} microseconds. Nothing was written. "
                "Store longer spans as an `int64` count of seconds (unit in the column name)."
            )
    return array


def _value_fix(source: pa.DataType, target: pa.DataType) -> str:
    if pa.types.is_timestamp(source) and source.unit == "ns":
        return (
            "DuckDB keeps nanoseconds only for timestamps without a time zone: convert to UTC and drop the "
            "zone (`timestamp('ns')`), or round to microseconds yourself (`pc.floor_temporal(col, "
            "unit='microsecond')`) if that loss is acceptable."
        )
    if pa.types.is_time(source) and source.unit == "ns":
        return (
            "DuckDB reads times of day to the microsecond: round them yourself (`pc.floor_temporal(col, "
            "unit='microsecond')`) if that loss is acceptable, or store an `int64` of nanoseconds since midnight."
        )
    if pa.types.is_timestamp(source):
        return "DuckDB timestamps span about 290,000 years either side of 1970: store the value as text."
    return f"Cast the column to `{target}` yourself and handle the values that do not fit."


def lakehouse_batch(batch: pa.RecordBatch, schema: pa.Schema, path: str) -> pa.RecordBatch:
    """`batch` converted to `schema` (from `lakehouse_schema`); `ValueError` if a value would change."""
    if batch.schema.equals(schema, check_metadata=False) and not any(
        pa.types.is_time(f.type) or pa.types.is_nested(f.type) for f in schema
    ):
        return batch
    columns = [
        _convert_column(column, field.type, field.name, path)
        for column, field in zip(batch.columns, schema, strict=True)
    ]
    return record_batch(columns, schema)


def _drifted(batch: pa.RecordBatch, schema: pa.Schema, first: pa.Schema, path: str) -> pa.RecordBatch:
    """A later batch whose types differ from the first (`first`, stored as `schema`): converted only
    where no value can change."""
    if batch.schema.names != schema.names:
        raise ValueError(
            f"A record batch for lakehouse file `{path}` has columns {batch.schema.names}, but the first batch "
            f"had {schema.names}; every batch of one write must have the same columns in the same order."
        )
    own = lakehouse_batch(batch, lakehouse_schema(batch.schema, path), path)
    columns = []
    for column, field in zip(own.columns, schema, strict=True):
        source = batch.schema.field(field.name).type
        if column.type.equals(field.type):
            columns.append(column)
            continue
        if pa.types.is_null(source):
            columns.append(pa.nulls(len(column), field.type))
            continue
        cast = round_trips(column, field.type)
        if cast is None:
            started = first.field(field.name).type
            began = (
                "only NULLs (Arrow type `null`, stored as text)"
                if pa.types.is_null(started)
                else f"`{started}`" + ("" if started.equals(field.type) else f" (stored as `{field.type}`)")
            )
            raise ValueError(
                f"Column `{field.name}` of lakehouse file `{path}` is `{source}` in a later record batch, but the "
                f"file was started with {began} from the first batch, and these values do not fit it unchanged. "
                "Nothing was written. Cast every batch to one schema before writing (e.g. `batch.cast(schema)`)."
            )
        columns.append(cast)
    return record_batch(columns, schema)


def _is_batch_iterable(data: Any) -> bool:
    plain = (pa.Table, pa.RecordBatch, pa.RecordBatchReader, ArrowStream, str, bytes, dict)
    module = type(data).__module__.split(".")[0]
    return (
        isinstance(data, Iterable)
        and not isinstance(data, plain)
        and module not in ("polars", "pandas")
        and not hasattr(data, "__arrow_c_stream__")
    )


def lakehouse_stream(data: Any, path: str) -> ArrowStream:
    """The rows of `data` as an `ArrowStream` in the types the lakehouse stores exactly.

    The first batch's schema is checked before anything is written (`TypeError` naming the column,
    its type and the cast to use); each batch is converted with safe casts (`ValueError` if a value
    would change); a later batch with other types is accepted only if its values fit unchanged.
    """
    if _is_batch_iterable(data):  # batches may drift: convert each one before to_arrow_stream casts it
        return to_arrow_stream(_CheckedBatches(data, path), normalize=False)
    stream = to_arrow_stream(data, normalize=False)
    schema = lakehouse_schema(stream.schema, path)
    return ArrowStream(schema, (lakehouse_batch(b, schema, path) for b in stream))


class _CheckedBatches:
    """Batches converted to the lakehouse schema of the first one (later ones through `_drifted`)."""

    def __init__(self, batches: Iterable, path: str) -> None:
        self._batches = iter(batches)
        self._path = path
        self._source: pa.Schema | None = None
        self._schema: pa.Schema | None = None
        self._pending: list[Any] = []

    def __iter__(self) -> _CheckedBatches:
        return self

    def __next__(self) -> Any:
        while not self._pending:
            item = next(self._batches)
            self._pending = item.to_batches() if isinstance(item, pa.Table) else [item]
        batch = self._pending.pop(0)
        if not isinstance(batch, pa.RecordBatch):
            return batch  # to_arrow_stream names the wrong item type
        if self._schema is None:
            self._source = batch.schema
            self._schema = lakehouse_schema(batch.schema, self._path)
        if batch.schema.equals(self._source, check_metadata=False):
            return lakehouse_batch(batch, self._schema, self._path)
        return _drifted(batch, self._schema, self._source, self._path)
