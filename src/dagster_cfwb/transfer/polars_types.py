"""Arrow tables handed out as polars DataFrames, exactly or not at all.

polars holds most Arrow types as they are. Where it does not, the table is converted first when the
values stay the same, and refused (naming the column) when they would not:

| Arrow type                          | polars                                                     |
|-------------------------------------|------------------------------------------------------------|
| `decimal256(p, s)` with p ≤ 38      | `Decimal(p, s)` (same values, narrower storage)            |
| `decimal256(p, s)` with p > 38      | refused: use `output="arrow"` or cast the column to text   |
| `date64`                            | `Date` (polars would make it a `Datetime`)                 |
| `month_day_nano_interval`           | refused: use `output="arrow"`                              |
| anything else                       | as polars reads it from Arrow                              |
"""

from __future__ import annotations

import pyarrow as pa

from dagster_cfwb.errors import CfwbError

__all__ = ["PolarsTypeError", "to_polars"]


class PolarsTypeError(CfwbError, TypeError):
    """A column has no exact polars equivalent (the message names it and says what to use instead)."""


def _polars_type(data_type: pa.DataType, column: str) -> pa.DataType:
    """The Arrow type to hand to polars for `data_type` (the same when polars takes it as it is)."""
    t = data_type
    if pa.types.is_decimal256(t):
        if t.precision > 38:
            raise PolarsTypeError(
                f"Column `{column}` is {t} ({t.precision} digits): polars holds at most 38 digits. "
                'Ask for `output="arrow"` (exact), or cast the column to text in the query.'
            )
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_interval(t):
        raise PolarsTypeError(
            f"Column `{column}` is {t} (months, days and nanoseconds): polars has no such type. "
            'Ask for `output="arrow"`, or cast the column to text in the query.'
        )
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = _polars_type(t.value_type, column)
        if inner == t.value_type:
            return t
        field = t.value_field.with_type(inner)
        if pa.types.is_fixed_size_list(t):
            return pa.list_(field, t.list_size)
        return pa.large_list(field) if pa.types.is_large_list(t) else pa.list_(field)
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        converted = [f.with_type(_polars_type(f.type, f"{column}.{f.name}")) for f in fields]
        return t if converted == fields else pa.struct(converted)
    return t


def to_polars(table: pa.Table):
    """`table` as a polars DataFrame with the same values (see the module table).

    Raises:
        PolarsTypeError: a column's values have no exact polars form; the message names it.
    """
    import polars as pl

    target = pa.schema([f.with_type(_polars_type(f.type, f.name)) for f in table.schema])
    if target != table.schema:
        table = table.cast(target)  # safe casts only: same values, e.g. decimal256(20,2) -> decimal128
    return pl.from_arrow(table)
