"""The YAML model of one data-quality check (`checks:` of an import or of DataQualityChecksComponent)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import dagster as dg
from dagster.components import Resolver
from pydantic import field_validator, model_validator

from dagster_cfwb.transfer.column_names import snake_case
from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["CHECK_TYPES", "CheckModel", "refuse_change_check_on_partitions", "Check"]

CHECK_TYPES = ("not_null", "unique", "accepted_values", "row_count", "freshness", "expression", "schema")

_CHECK_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # check type -> (required fields, optional fields)
    "not_null": (("columns",), ()),
    "unique": (("columns",), ()),
    "accepted_values": (("column", "values"), ()),
    "row_count": ((), ("min_rows", "max_rows", "max_change_percent")),
    "freshness": (("column", "max_age_hours"), ()),
    "expression": (("sql",), ()),
    "schema": (("expected_columns",), ("allow_extra_columns",)),
}
_COMMON = {"type", "severity", "name", "description"}


_DAGSTER_NAME = re.compile(r"[A-Za-z0-9_]+")


def _dagster_safe(part: str) -> str:
    """`part` if Dagster accepts it in a name, else its ASCII snake_case (`bénéficiaire` → `beneficiaire`).

    Only the check's name changes; the column itself is read as written.
    """
    return part if _DAGSTER_NAME.fullmatch(part) else snake_case(part) or "column"


class Check(dg.Model, dg.Resolvable):
    """One data-quality check on a lakehouse table."""

    type: Annotated[
        Literal["not_null", "unique", "accepted_values", "row_count", "freshness", "expression", "schema"],
        Resolver.default(
            description=(
                "What to check: `not_null` (no empty values in `columns`), `unique` (no duplicate "
                "`columns` combination), `accepted_values` (`column` only holds `values`), `row_count` "
                "(`min_rows`/`max_rows`, or `max_change_percent` vs the last run), `freshness` (newest "
                "`column` value at most `max_age_hours` old), `expression` (every row satisfies the SQL "
                "condition `sql`), `schema` (the table has `expected_columns` with their types)."
            ),
            examples=["not_null"],
        ),
    ]
    severity: Annotated[
        Literal["warn", "error"],
        Resolver.default(
            description=(
                "`error` (default): a failure marks the check failed and blocks the tables computed from "
                "this one in the same run. `warn`: the failure is shown and notified, nothing is blocked."
            )
        ),
    ] = "error"
    name: Annotated[
        str | None,
        Resolver.default(
            description="Name shown in the UI (ASCII letters, digits, `_`); default: built from type and columns, e.g. `not_null_id_nom`."
        ),
    ] = None
    description: Annotated[
        str | None, Resolver.default(description="Why this check exists, shown in the UI.")
    ] = None
    columns: Annotated[
        list[str] | None,
        Resolver.default(
            description="`not_null`: columns that must never be empty. `unique`: columns whose combination must be unique.",
            examples=[["id"]],
        ),
    ] = None
    column: Annotated[
        str | None,
        Resolver.default(
            description="`accepted_values`: the column checked. `freshness`: the date/timestamp column."
        ),
    ] = None
    values: Annotated[
        list[str | int | float | bool] | None,
        Resolver.default(description="`accepted_values`: the allowed values, e.g. `[actif, inactif]`."),
    ] = None
    min_rows: Annotated[
        int | None, Resolver.default(description="`row_count`: fewest rows accepted (e.g. `1` = not empty).")
    ] = None
    max_rows: Annotated[int | None, Resolver.default(description="`row_count`: most rows accepted.")] = None
    max_change_percent: Annotated[
        float | None,
        Resolver.default(
            description=(
                "`row_count`: largest accepted change of the row count compared with the previous "
                "materialisation, in percent (e.g. `20` = between 80% and 120% of last time)."
            )
        ),
    ] = None
    max_age_hours: Annotated[
        float | None,
        Resolver.default(
            description="`freshness`: largest accepted age of the newest value, in hours (e.g. `26`)."
        ),
    ] = None
    sql: Annotated[
        str | None,
        Resolver.default(
            description=(
                "`expression`: a SQL condition every row must satisfy, in DuckDB SQL over the table's "
                "columns, e.g. `montant >= 0 AND date_fin >= date_debut`."
            )
        ),
    ] = None
    expected_columns: Annotated[
        dict[str, str] | None,
        Resolver.default(
            description=(
                "`schema`: column name → type the table must have, e.g. `{id: BIGINT, nom: VARCHAR}` "
                "(DuckDB type names; write `any` to accept any type)."
            )
        ),
    ] = None
    allow_extra_columns: Annotated[
        bool,
        Resolver.default(
            description="`schema`: accept columns not listed in `expected_columns` (default true)."
        ),
    ] = True

    @model_validator(mode="after")
    def _check_type_fields(self):
        required, optional = _CHECK_FIELDS[self.type]
        missing = [f for f in required if getattr(self, f) in (None, [], {})]
        if missing:
            raise ValueError(f"a `{self.type}` check needs `{'`, `'.join(missing)}`")
        allowed = set(required) | set(optional) | _COMMON
        foreign = [
            f
            for f in self.model_fields_set
            if f not in allowed and getattr(self, f) is not None and f != "allow_extra_columns"
        ]
        if foreign:
            raise ValueError(
                f"`{'`, `'.join(sorted(foreign))}` does not apply to a `{self.type}` check; it takes "
                f"{', '.join(f'`{f}`' for f in (*required, *optional)) or 'no other field'}"
            )
        if (
            self.type == "row_count"
            and self.min_rows is None
            and self.max_rows is None
            and self.max_change_percent is None
        ):
            raise ValueError("a `row_count` check needs `min_rows`, `max_rows` or `max_change_percent`")
        return self

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, value: list[str] | None) -> list[str] | None:
        for column in value or []:
            validate_identifier(column, what="column")
        return value

    @field_validator("column")
    @classmethod
    def _check_column(cls, value: str | None) -> str | None:
        return validate_identifier(value, what="column") if value is not None else None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        validate_identifier(value, what="check")
        if not _DAGSTER_NAME.fullmatch(value):
            raise ValueError(
                f"the check name `{value}` must use ASCII letters, digits and `_` only (Dagster's rule for "
                f"names), e.g. `{_dagster_safe(value)}`"
            )
        return value

    @field_validator("expected_columns")
    @classmethod
    def _check_expected(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for column in value or {}:
            validate_identifier(column, what="column")
        return value

    @property
    def check_name(self) -> str:
        if self.name:
            return self.name
        parts = [self.type, *(self.columns or []), *([self.column] if self.column else [])]
        return "_".join(_dagster_safe(p) for p in parts)[:63]


CheckModel = Check  # former name; the UI shows a YAML block as `<class name>Model`


def refuse_change_check_on_partitions(checks) -> None:
    """`max_change_percent` compares the whole table with the last run's row count, which for a
    partitioned table is one partition's rows: the comparison would be meaningless."""
    if any(c.type == "row_count" and c.max_change_percent is not None for c in checks or []):
        raise ValueError(
            "a `row_count` check with `max_change_percent` cannot be used on a partitioned table: the check "
            "counts every partition, while the last run only counted one; use `min_rows`/`max_rows` instead"
        )
