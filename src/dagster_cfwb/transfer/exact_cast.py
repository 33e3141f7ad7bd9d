"""Casts that never change a value, and a record-batch constructor that never casts behind your back.

`pa.RecordBatch.from_arrays(arrays, schema=…)` quietly casts an array whose type differs from its
field (a text `'01000'` becomes the integer `1000`), and Arrow's *safe* casts still parse text into
numbers. Everything in `transfer/` that builds a batch against a schema goes through `record_batch`,
and every conversion of a later batch to the types of the first goes through `exact_cast`: a value
that would change is refused, naming the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["exact_cast", "record_batch", "same_family", "type_family"]


def record_batch(arrays: Sequence[pa.Array | pa.ChunkedArray], schema: pa.Schema) -> pa.RecordBatch:
    """A record batch of `arrays` with `schema`; `TypeError` if an array's type is not its field's.

    A mismatch is a bug of the caller (a reader that produced other types than it announced), never
    something to paper over with a cast.
    """
    for array, field in zip(arrays, schema, strict=True):
        if not array.type.equals(field.type):
            raise TypeError(
                f"Column `{field.name}` holds Arrow type `{array.type}` where `{field.type}` was announced; "
                "nothing was converted. This is a bug of dagster-cfwb: please report it with the source "
                "column's type."
            )
    return pa.RecordBatch.from_arrays(list(arrays), schema=schema)


def type_family(t: pa.DataType) -> str:
    """The kind of value a type holds: casts stay within one family (text is never parsed into numbers)."""
    for name, test in (
        ("integer", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("decimal", pa.types.is_decimal),
        (
            "text",
            lambda x: pa.types.is_string(x) or pa.types.is_large_string(x) or pa.types.is_string_view(x),
        ),
        (
            "bytes",
            lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x) or pa.types.is_binary_view(x),
        ),
        # a wall-clock time without a zone is not an instant: never cast one into the other
        ("timestamp", lambda x: pa.types.is_timestamp(x) and x.tz is None),
        ("timestamp with time zone", pa.types.is_timestamp),
        ("time", pa.types.is_time),
        # nested types differ by child names too (DuckDB names a list's values `l`, pyarrow `item`)
        (
            "list",
            lambda x: pa.types.is_list(x) or pa.types.is_large_list(x) or pa.types.is_fixed_size_list(x),
        ),
        ("struct", pa.types.is_struct),
        ("map", pa.types.is_map),
    ):
        if test(t):
            return name
    return str(t)


def same_family(a: pa.DataType, b: pa.DataType) -> bool:
    return type_family(a) == type_family(b)


def _same_floats(a: pa.Array, b: pa.Array) -> bool:
    if not pa.types.is_floating(a.type):
        return False
    both_nan = pc.and_(pc.is_nan(a), pc.is_nan(b))
    same = pc.or_kleene(pc.equal(a, b), both_nan)
    return a.null_count == b.null_count and pc.all(pc.fill_null(same, True)).as_py()


def round_trips(column: pa.Array, target: pa.DataType) -> pa.Array | None:
    """`column` cast to `target` if the cast is within one family and casting back gives every value
    unchanged; otherwise None."""
    if not same_family(column.type, target):
        return None
    try:
        cast = pc.cast(column, target, safe=True)
        back = pc.cast(cast, column.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return cast if back.equals(column) or _same_floats(back, column) else None


def _fix(source: pa.DataType, target: pa.DataType) -> str:
    if (pa.types.is_timestamp(source) or pa.types.is_time(source)) and source.unit == "ns":
        return (
            "The target keeps microseconds: round the column yourself if that loss is acceptable "
            "(pandas `df[col].dt.floor('us')`, polars `pl.col(col).dt.truncate('1us')`, pyarrow "
            "`pc.floor_temporal(col, unit='microsecond')`)."
        )
    if not same_family(source, target):
        return (
            f"Cast the column to `{target}` yourself first, deciding what happens to values that do not fit."
        )
    return f"Cast the column to `{target}` yourself and handle the values that do not fit."


def exact_cast(column: pa.Array, target: pa.DataType, *, name: str, where: str) -> pa.Array:
    """`column` as `target`, only if no value changes; else `ValueError` naming `name` and `where`.

    An all-NULL column of Arrow type `null` becomes NULLs of `target`; a dictionary column is decoded.
    """
    if column.type.equals(target):
        return column
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), target)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
        if column.type.equals(target):
            return column
    cast = round_trips(column, target)
    if cast is None:
        raise ValueError(
            f"Column `{name}` of {where} is `{column.type}` but is loaded as `{target}`, and some values would "
            f"change. Nothing was written. {_fix(column.type, target)}"
        )
    return cast
