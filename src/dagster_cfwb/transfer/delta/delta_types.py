"""Which Arrow types a Delta table stores exactly, and how a write's schema meets the table's.

Delta has fewer types than Parquet: no unsigned integers, no time of day, timestamps in microseconds
(an instant in UTC, or a wall-clock time without zone). Before anything is written, each column is
first checked by the Parquet rules (`lakehouse_types.py`), then:

- **converted** with the same values: `uint8` → `int16`, `uint16` → `int32`, `uint32` → `int64`,
  `timestamp[ns]` → `timestamp[us]` (refused if a value has nanoseconds), a timestamp with a time zone
  → the same instant in `UTC` (Delta keeps instants, not zone names), fixed-size binaries and lists →
  their variable-size kind;
- **refused** with a `TypeError` naming the table, the column and the cast to use: `uint64`, times
  of day, extension types (`uuid`, `json`), list views.

A write into an existing table follows the **schema evolution rule** (`evolve_schema`): a new column
is added (nullable; older rows read it as null), a column the data lacks is filled with nulls, a
narrower type is widened to the table's (`int32` data into an `int64` column, `float32` into
`float64`), and any other type change is refused with a diff of every changed column, before anything
is committed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.lakehouse_types import lakehouse_schema

__all__ = ["conform_batch", "delta_schema", "delta_stream", "evolve_schema", "same_delta_type"]

_UNSIGNED = {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}
_INT_BITS = {pa.int8(): 8, pa.int16(): 16, pa.int32(): 32, pa.int64(): 64}


def _refuse(path: str, where: str, t: pa.DataType, why: str, fix: str) -> TypeError:
    return TypeError(
        f"Cannot write column `{where}` (Arrow type `{t}`) to Delta table `{path}`: {why} "
        f"Nothing was written. {fix}"
    )


def _delta_type(t: pa.DataType, where: str, path: str) -> pa.DataType:
    if pa.types.is_unsigned_integer(t):
        if t.bit_width in _UNSIGNED:
            return _UNSIGNED[t.bit_width]
        raise _refuse(
            path,
            where,
            t,
            "Delta has no unsigned integers and `int64` cannot hold every `uint64`.",
            "Cast it to `int64` if every value is below 2^63, else to `decimal128(20, 0)`.",
        )
    if pa.types.is_time(t):
        raise _refuse(
            path,
            where,
            t,
            "Delta has no time-of-day type.",
            "Cast it to text (`pa.string()`, polars `pl.String`, SQL `CAST(col AS text)`), or store it as "
            "`int64` microseconds since midnight with the unit in the column name.",
        )
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", "UTC" if t.tz else None)
    if pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if isinstance(t, pa.BaseExtensionType):
        raise _refuse(
            path,
            where,
            t,
            f"Delta has no `{t.extension_name}` type.",
            "Cast it to text (`pa.string()`; polars `pl.String`).",
        )
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        raise _refuse(path, where, t, "Delta cannot store list views.", "Convert the column to a plain list.")
    if pa.types.is_struct(t):
        return pa.struct([_delta_field(f, f"{where}.{f.name}", path) for f in t])
    if pa.types.is_map(t):
        key = _delta_field(t.key_field, f"{where}{{key}}", path)
        item = _delta_field(t.item_field, f"{where}{{value}}", path)
        return pa.map_(key, item, keys_sorted=t.keys_sorted)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        value = _delta_field(t.value_field, f"{where}[]", path)
        return pa.large_list(value) if pa.types.is_large_list(t) else pa.list_(value)
    return t


def _delta_field(f: pa.Field, where: str, path: str) -> pa.Field:
    return pa.field(f.name, _delta_type(f.type, where, path), f.nullable, f.metadata)


def delta_schema(schema: pa.Schema, path: str) -> pa.Schema:
    """The schema a Delta table gets for rows of `schema`; `TypeError` for a column Delta cannot store.

    Example:
        >>> import pyarrow as pa
        >>> delta_schema(pa.schema([("n", pa.uint8()), ("t", pa.timestamp("ns", "Europe/Paris"))]), "x/stg/t")
        n: int16
        t: timestamp[us, tz=UTC]
    """
    parquet = lakehouse_schema(schema, path)
    return pa.schema([_delta_field(f, f.name, path) for f in parquet], metadata=schema.metadata)


def _cast(batch: pa.RecordBatch, schema: pa.Schema, path: str) -> pa.RecordBatch:
    try:
        return batch.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ValueError(
            f"Cannot write Delta table `{path}`: a value would change when stored ({e}). Nothing was "
            "committed; the table stays at its last version. Round or cast the column in the source "
            "(for nanoseconds: `dt.truncate('1us')` in polars, or keep it as text)."
        ) from None


def delta_stream(stream: ArrowStream, path: str) -> ArrowStream:
    """`stream` (from `lakehouse_stream`) converted to `delta_schema` by safe casts."""
    target = delta_schema(stream.schema, path)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in stream:
            if batch.schema.equals(target, check_metadata=False):
                yield batch
            else:
                yield _cast(batch, target, path)

    return ArrowStream(target, batches())


def _canonical(t: pa.DataType) -> pa.DataType:
    """`t` with the differences Delta does not keep removed (string vs large string, list field names)."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", "UTC" if t.tz else None)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(_canonical(t.value_type))
    if pa.types.is_map(t):
        return pa.map_(_canonical(t.key_type), _canonical(t.item_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _canonical(f.type)) for f in t])
    return t


def same_delta_type(a: pa.DataType, b: pa.DataType) -> bool:
    """True when Delta stores `a` and `b` as the same type."""
    return _canonical(a).equals(_canonical(b))


def _widens(data: pa.DataType, table: pa.DataType) -> bool:
    """True when every `data` value fits the `table` type unchanged (a safe cast can never fail)."""
    if data in _INT_BITS and table in _INT_BITS:
        return _INT_BITS[data] <= _INT_BITS[table]
    return pa.types.is_float32(data) and pa.types.is_float64(table)


def evolve_schema(table: pa.Schema, data: pa.Schema, path: str) -> tuple[pa.Schema, list[str]]:
    """The schema to write `data` into a Delta table of schema `table`, and the columns it adds.

    The result holds the table's columns in the table's order, with its types, then the data's new
    columns (nullable). `TypeError` lists every column whose type would change, and columns whose
    names differ from the table's only by case.
    """
    by_lower = {f.name.lower(): f for f in table}
    problems: list[str] = []
    added: list[pa.Field] = []
    for f in data:
        existing = table.field(f.name) if f.name in table.names else None
        if existing is None:
            twin = by_lower.get(f.name.lower())
            if twin is not None:
                problems.append(
                    f"`{f.name}`: the table's column is `{twin.name}` (names differ only by case)"
                )
            else:
                added.append(pa.field(f.name, f.type, True, f.metadata))
            continue
        if not same_delta_type(f.type, existing.type) and not _widens(f.type, existing.type):
            problems.append(
                f"`{f.name}`: table has `{_canonical(existing.type)}`, data has `{_canonical(f.type)}`"
            )
    missing_required = [f.name for f in table if f.name not in data.names and not f.nullable]
    problems += [
        f"`{name}`: required by the table (not nullable) but missing from the data"
        for name in missing_required
    ]
    if problems:
        raise TypeError(
            f"Cannot write Delta table `{path}`: the data does not fit the table's schema. Nothing was "
            "committed; the table stays at its last version.\n  - "
            + "\n  - ".join(problems)
            + "\nNew columns are added automatically, but a column's type never changes: cast the column "
            "in the source to the table's type, or write a new table (another path) for the new type."
        )
    fields = [pa.field(f.name, f.type, f.nullable, f.metadata) for f in table] + added
    return pa.schema(fields), [f.name for f in added]


def conform_batch(
    batch: pa.RecordBatch, schema: pa.Schema, path: str, *, fill_missing: bool
) -> pa.RecordBatch:
    """`batch` in the columns and types of `schema` (from `evolve_schema`), by safe casts.

    With `fill_missing`, a column of `schema` the batch lacks becomes nulls; without it, such columns
    are left out (a merge updates only the columns it brings).
    """
    arrays, fields = [], []
    for field in schema:
        if field.name in batch.schema.names:
            column = batch.column(field.name)
            if not column.type.equals(field.type):
                try:
                    column = column.cast(field.type, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise ValueError(
                        f"Cannot write column `{field.name}` to Delta table `{path}` as the table's "
                        f"`{field.type}`: a value does not fit ({e}). Nothing was committed; the table "
                        "stays at its last version."
                    ) from None
        elif fill_missing:
            column = pa.nulls(batch.num_rows, field.type)
        else:
            continue
        arrays.append(column)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
