"""The column that holds an asset's partition: its value for a key, and the rows of each key.

An asset declares it with metadata `cfwb/partition_column`. The column holds the partition's own
value on every row: for a daily (weekly, monthly…) partition the **date** its window starts
(a `date` column) or that instant (a `timestamp` column); for an hourly one the start timestamp;
for a static or dynamic partition the key itself (a text column) or its number (an integer column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["partition_value", "split_by_partition"]


def partition_value(key: str, start: datetime | None, column_type: pa.DataType, *, where: str):
    """The value column `where` holds for partition `key` (window start `start` for time partitions).

    Raises:
        TypeError: the column's type cannot hold this kind of partition (the message says which can).
    """
    if (
        pa.types.is_string(column_type)
        or pa.types.is_large_string(column_type)
        or pa.types.is_string_view(column_type)
    ):
        return key
    if start is not None and pa.types.is_date(column_type):
        if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0):
            raise TypeError(
                f"{where} is a date, but partition `{key}` starts at {start.isoformat()}, within a day: "
                "use a timestamp column for partitions shorter than a day."
            )
        return date(start.year, start.month, start.day)
    if start is not None and pa.types.is_timestamp(column_type):
        return start if column_type.tz else start.replace(tzinfo=None)
    if start is None and pa.types.is_integer(column_type) and key.lstrip("-").isdigit():
        return int(key)
    expected = (
        "a date or timestamp column" if start is not None else "a text (or, for numeric keys, integer) column"
    )
    raise TypeError(f"{where} has Arrow type `{column_type}`; partition `{key}` needs {expected}.")


def split_by_partition(
    table: pa.Table, column: str, values: Mapping[str, object], *, asset: str
) -> dict[str, pa.Table]:
    """The rows of each partition key (`values`: key → its column value), every row accounted for.

    Raises:
        KeyError: `column` is not a column of `table`.
        ValueError: some rows hold a value of no partition of this run (null included): storing
            them under one of its keys would mislabel them.
    """
    if column not in table.column_names:
        raise KeyError(
            f"Asset `{asset}` declares `cfwb/partition_column: {column}`, but it returned no column "
            f"`{column}` (columns: {', '.join(table.column_names) or 'none'}). Nothing was written."
        )
    data = table.column(column)
    parts: dict[str, pa.Table] = {}
    matched = 0
    for key, value in values.items():
        mask = pc.fill_null(pc.equal(data, pa.scalar(value, data.type)), False)
        parts[key] = table.filter(mask)
        matched += parts[key].num_rows
    if matched != table.num_rows:
        keys: Sequence[str] = list(values)
        shown = ", ".join(f"`{k}`" for k in keys[:3]) + (" …" if len(keys) > 3 else "")
        outside = table.filter(
            pc.invert(pc.fill_null(pc.is_in(data, pa.array(list(values.values()), data.type)), False))
        )
        sample = outside.column(column).slice(0, 3).to_pylist()
        raise ValueError(
            f"Asset `{asset}` returned {table.num_rows - matched:,} rows whose `{column}` is of no partition "
            f"of this run ({shown}), e.g. {sample}. Nothing was written. Return only the rows of the "
            f"partitions being materialised, with `{column}` set to each one's value."
        )
    return parts
