"""Data-quality checks as plain functions over one table, run with DuckDB (no Dagster needed).

Each function takes an open DuckDB connection and `source`, the SQL text that reads the table
(e.g. `read_parquet('/lake/enseignement/stg/eleves.parquet')`), and returns a
`CheckOutcome`: passed or not, how many rows fail, and a sample of failing rows. Column names
are validated and quoted; values are bound parameters.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(id, nom)")
    >>> check_not_null(con, "t", ["nom"]).failing_count
    1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dagster_cfwb.transfer.identifiers import quote_identifier

__all__ = [
    "SAMPLE_ROWS",
    "CheckOutcome",
    "check_accepted_values",
    "check_expression",
    "check_freshness",
    "check_not_null",
    "check_row_count",
    "check_schema",
    "check_unique",
]

SAMPLE_ROWS = 5


@dataclass
class CheckOutcome:
    """Result of one check: `passed`, a one-line `summary`, failing count and failing-row sample."""

    passed: bool
    summary: str
    failing_count: int = 0
    sample: pa.Table | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _q(name: str) -> str:
    return quote_identifier(name, "duckdb", what="column")


def _count_and_sample(con, source: str, where: str, params: Sequence[Any] = ()) -> tuple[int, pa.Table]:
    count = con.execute(f"SELECT count(*) FROM {source} WHERE {where}", list(params)).fetchone()[0]
    sample = con.execute(
        f"SELECT * FROM {source} WHERE {where} LIMIT {SAMPLE_ROWS}", list(params)
    ).to_arrow_table()
    return int(count), sample


def check_not_null(con, source: str, columns: Sequence[str]) -> CheckOutcome:
    """Rows where any of `columns` is NULL fail."""
    where = " OR ".join(f"{_q(c)} IS NULL" for c in columns)
    count, sample = _count_and_sample(con, source, where)
    per_column = {
        c: int(con.execute(f"SELECT count(*) FROM {source} WHERE {_q(c)} IS NULL").fetchone()[0])
        for c in columns
    }
    empty = {c: n for c, n in per_column.items() if n}
    summary = (
        f"{count:,} row(s) with an empty value in {', '.join(empty)}"
        if count
        else f"no empty value in {', '.join(columns)}"
    )
    return CheckOutcome(count == 0, summary, count, sample, {"empty_values_per_column": per_column})


def check_unique(con, source: str, columns: Sequence[str]) -> CheckOutcome:
    """Rows sharing the same combination of `columns` with another row fail."""
    cols = ", ".join(_q(c) for c in columns)
    duplicated = f"SELECT {cols}, count(*) AS occurrences FROM {source} GROUP BY ALL HAVING count(*) > 1"
    groups, rows = con.execute(
        f"SELECT count(*), coalesce(sum(occurrences), 0) FROM ({duplicated})"
    ).fetchone()
    sample = con.execute(f"{duplicated} ORDER BY occurrences DESC LIMIT {SAMPLE_ROWS}").to_arrow_table()
    label = " + ".join(columns)
    summary = (
        f"{int(groups):,} value(s) of {label} appear more than once ({int(rows):,} rows)"
        if groups
        else f"{label} is unique"
    )
    return CheckOutcome(groups == 0, summary, int(rows), sample, {"duplicated_values": int(groups)})


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_accepted_values(con, source: str, column: str, values: Sequence[Any]) -> CheckOutcome:
    """Rows whose `column` holds a value outside `values` fail (empty values are not judged here)."""
    placeholders = ", ".join("?" for _ in values)
    where = f"{_q(column)} IS NOT NULL AND CAST({_q(column)} AS VARCHAR) NOT IN ({placeholders})"
    params = [_as_text(v) for v in values]
    count, sample = _count_and_sample(con, source, where, params)
    unexpected = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT CAST({_q(column)} AS VARCHAR) FROM {source} WHERE {where} LIMIT 20",
            params,
        ).fetchall()
    ]
    summary = (
        f"{count:,} row(s) of `{column}` hold other values: {', '.join(map(repr, unexpected[:5]))}"
        if count
        else f"`{column}` only holds accepted values"
    )
    return CheckOutcome(count == 0, summary, count, sample, {"unexpected_values": unexpected})


def check_row_count(
    con,
    source: str,
    *,
    min_rows: int | None = None,
    max_rows: int | None = None,
    max_change_percent: float | None = None,
    previous_rows: int | None = None,
) -> CheckOutcome:
    """The row count must be within `[min_rows, max_rows]` and within `max_change_percent` of `previous_rows`."""
    rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    problems = []
    if min_rows is not None and rows < min_rows:
        problems.append(f"{rows:,} rows, fewer than the minimum {min_rows:,}")
    if max_rows is not None and rows > max_rows:
        problems.append(f"{rows:,} rows, more than the maximum {max_rows:,}")
    details: dict[str, Any] = {"rows": rows}
    if max_change_percent is not None and previous_rows is not None:
        change = (
            (rows - previous_rows) / previous_rows * 100 if previous_rows else (0.0 if rows == 0 else 100.0)
        )
        details.update(previous_rows=previous_rows, change_percent=round(change, 2))
        if abs(change) > max_change_percent:
            problems.append(
                f"{rows:,} rows vs {previous_rows:,} last time ({change:+.1f}%, more than ±{max_change_percent:g}%)"
            )
    summary = "; ".join(problems) if problems else f"{rows:,} rows"
    return CheckOutcome(not problems, summary, 0, None, details)


def check_freshness(
    con, source: str, column: str, max_age_hours: float, *, now: dt.datetime | None = None
) -> CheckOutcome:
    """The newest `column` value must be at most `max_age_hours` old (naive timestamps are taken as UTC)."""
    newest = con.execute(f"SELECT max({_q(column)}) FROM {source}").fetchone()[0]
    now = now or dt.datetime.now(dt.UTC)
    if newest is None:
        return CheckOutcome(False, f"`{column}` has no value at all", 0, None, {"newest": None})
    if isinstance(newest, dt.date) and not isinstance(newest, dt.datetime):
        newest = dt.datetime.combine(newest, dt.time(), dt.UTC)
    if not isinstance(newest, dt.datetime):
        raise TypeError(
            f"Column `{column}` holds {type(newest).__name__} values; a freshness check needs dates or timestamps."
        )
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.UTC)
    age_hours = (now - newest).total_seconds() / 3600
    details = {"newest": newest.isoformat(), "age_hours": round(age_hours, 2)}
    if age_hours > max_age_hours:
        return CheckOutcome(
            False,
            f"newest `{column}` is {age_hours:.1f} h old, more than {max_age_hours:g} h",
            0,
            None,
            details,
        )
    return CheckOutcome(True, f"newest `{column}` is {age_hours:.1f} h old", 0, None, details)


def check_expression(con, source: str, sql: str) -> CheckOutcome:
    """Rows for which the SQL condition `sql` is not true fail (a NULL result counts as failing)."""
    if ";" in sql:
        raise ValueError(f"The expression {sql!r} must be one SQL condition, without `;`.")
    where = f"NOT coalesce(({sql}), false)"
    count, sample = _count_and_sample(con, source, where)
    summary = f"{count:,} row(s) do not satisfy `{sql}`" if count else f"every row satisfies `{sql}`"
    return CheckOutcome(count == 0, summary, count, sample, {"expression": sql})


def _normalize_type(name: str) -> str:
    aliases = {
        "INT": "INTEGER",
        "INT4": "INTEGER",
        "INT8": "BIGINT",
        "LONG": "BIGINT",
        "TEXT": "VARCHAR",
        "STRING": "VARCHAR",
        "FLOAT8": "DOUBLE",
        "FLOAT4": "FLOAT",
        "BOOL": "BOOLEAN",
        "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
        "DATETIME": "TIMESTAMP",
    }
    upper = " ".join(name.upper().split())
    return aliases.get(upper, upper)


def check_schema(
    con, source: str, expected: dict[str, str], *, allow_extra_columns: bool = True
) -> CheckOutcome:
    """The table must have the `expected` columns with their types; the drift is reported as a diff."""
    actual = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    diff = []
    for name, wanted in expected.items():
        if name not in actual:
            diff.append(f"- {name} {wanted}   (missing)")
        elif wanted.lower() != "any" and _normalize_type(wanted) != _normalize_type(actual[name]):
            diff.append(f"~ {name}: expected {wanted}, found {actual[name]}")
    extra = [n for n in actual if n not in expected]
    if not allow_extra_columns:
        diff.extend(f"+ {n} {actual[n]}   (not expected)" for n in extra)
    summary = f"{len(diff)} difference(s) with the expected schema" if diff else "schema as expected"
    details = {"diff": "\n".join(diff), "actual_columns": actual}
    return CheckOutcome(not diff, summary, len(diff), None, details)
