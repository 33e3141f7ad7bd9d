"""The predicates a Delta write sends to delta-rs: merge keys and `replace_where`.

delta-rs takes predicates as SQL text, so names are validated and quoted, and values are written
as typed literals from a closed set of Python types (never arbitrary text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["check_replace_where", "merge_predicate", "quote_column", "replace_where_predicate"]


def quote_column(name: str) -> str:
    """`name` validated and double-quoted for a delta-rs predicate (quoted: its case is kept)."""
    return '"' + validate_identifier(name, what="column") + '"'


def _literal(value: object, column: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, datetime):
        raise TypeError(
            f"`replace_where` of Delta table `{path}`: column `{column}` is compared with a datetime, "
            "which is ambiguous across time zones. Partition by a date or text column instead."
        )
    if isinstance(value, date):
        return f"'{value.isoformat()}'::date"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(
        f"`replace_where` of Delta table `{path}`: the value for column `{column}` is a "
        f"{type(value).__name__}; expected text, an integer, a finite float, a boolean or a date."
    )


def replace_where_predicate(replace_where: Mapping[str, object], path: str) -> str:
    """`"col" = 'value' AND ...` for `replace_where={"col": "value", ...}`."""
    if not replace_where:
        raise ValueError(
            f"`replace_where` of Delta table `{path}` is empty: give at least one column and value."
        )
    return " AND ".join(
        f"{quote_column(column)} = {_literal(value, column, path)}" for column, value in replace_where.items()
    )


def check_replace_where(batch: pa.RecordBatch, replace_where: Mapping[str, object], path: str) -> None:
    """`ValueError` unless every row of `batch` has the `replace_where` values (so none is lost)."""
    for column, value in replace_where.items():
        if column not in batch.schema.names:
            raise ValueError(
                f"`replace_where` of Delta table `{path}` names column `{column}`, which the data does not "
                f"have (columns: {', '.join(batch.schema.names)}). Nothing was committed."
            )
        values = batch.column(column)
        try:
            scalar = pa.scalar(value).cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TypeError(
                f"`replace_where` of Delta table `{path}`: {value!r} cannot be compared with column "
                f"`{column}` of type `{values.type}`."
            ) from None
        matches = pc.equal(values, scalar)
        if pc.sum(pc.fill_null(matches, False).cast(pa.int64())).as_py() != batch.num_rows:
            raise ValueError(
                f"Cannot replace rows of Delta table `{path}` where `{column}` = {value!r}: some rows of the "
                f"data have another `{column}` and would be written outside the replaced part. Nothing was "
                "committed; the table stays at its last version. Filter the data, or fix `replace_where`."
            )


def merge_predicate(keys: list[str]) -> str:
    """`target."k1" = source."k1" AND ...`."""
    return " AND ".join(f"target.{quote_column(k)} = source.{quote_column(k)}" for k in keys)
