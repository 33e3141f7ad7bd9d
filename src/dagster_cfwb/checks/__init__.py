"""Data-quality checks: plain DuckDB functions and the Dagster asset checks built from them."""

from dagster_cfwb.checks.check_specs import build_table_checks, check_specs_for, run_declared_check
from dagster_cfwb.checks.table_checks import (
    CheckOutcome,
    check_accepted_values,
    check_expression,
    check_freshness,
    check_not_null,
    check_row_count,
    check_schema,
    check_unique,
)

__all__ = [
    "CheckOutcome",
    "build_table_checks",
    "check_accepted_values",
    "check_expression",
    "check_freshness",
    "check_not_null",
    "check_row_count",
    "check_schema",
    "check_specs_for",
    "check_unique",
    "run_declared_check",
]
