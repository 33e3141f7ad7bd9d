"""Dagster asset checks built from declared data-quality checks (the YAML `checks:` entries).

`build_table_checks` turns a list of declared checks on one lakehouse table into one
`AssetChecksDefinition`: each check becomes an `AssetCheckSpec` (`blocking` when its severity is
`error`) evaluated by the DuckDB functions of `dagster_cfwb.checks.table_checks`.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import dagster as dg

from dagster_cfwb.checks import table_checks as tc
from dagster_cfwb.metadata import markdown_preview
from dagster_cfwb.transfer.column_names import snake_case

__all__ = [
    "DeclaredCheck",
    "build_table_checks",
    "check_specs_for",
    "run_declared_check",
    "unique_check_names",
]


class DeclaredCheck(Protocol):
    """What a declared check provides (`dagster_cfwb.components.yaml_models.CheckModel` does)."""

    # read-only members (properties), so a model whose fields are narrower (a `Literal`) satisfies it
    @property
    def type(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def columns(self) -> list[str] | None: ...

    @property
    def column(self) -> str | None: ...

    @property
    def values(self) -> list[Any] | None: ...

    @property
    def min_rows(self) -> int | None: ...

    @property
    def max_rows(self) -> int | None: ...

    @property
    def max_change_percent(self) -> float | None: ...

    @property
    def max_age_hours(self) -> float | None: ...

    @property
    def sql(self) -> str | None: ...

    @property
    def expected_columns(self) -> dict[str, str] | None: ...

    @property
    def allow_extra_columns(self) -> bool: ...

    @property
    def check_name(self) -> str: ...


def unique_check_names(checks: Sequence[DeclaredCheck]) -> list[str]:
    """Check names, with `_2`, `_3`… appended when two checks would get the same name."""
    names: list[str] = []
    for check in checks:
        base = check.check_name
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _describe(check: DeclaredCheck) -> str:
    if check.description:
        return check.description
    what = {
        "not_null": lambda c: f"No empty value in {', '.join(c.columns or [])}.",
        "unique": lambda c: f"Each {' + '.join(c.columns or [])} appears once.",
        "accepted_values": lambda c: f"`{c.column}` is one of {c.values}.",
        "row_count": lambda c: (
            "Row count within "
            + ", ".join(
                p
                for p in (
                    f"min {c.min_rows}" if c.min_rows is not None else "",
                    f"max {c.max_rows}" if c.max_rows is not None else "",
                    f"±{c.max_change_percent:g}% of last run" if c.max_change_percent is not None else "",
                )
                if p
            )
            + "."
        ),
        "freshness": lambda c: f"Newest `{c.column}` at most {c.max_age_hours:g} h old.",
        "expression": lambda c: f"Every row satisfies `{c.sql}`.",
        "schema": lambda c: f"Columns and types: {c.expected_columns}.",
    }[check.type](check)
    return f"{what} Severity: {check.severity}."


def check_specs_for(asset_key: dg.AssetKey, checks: Sequence[DeclaredCheck]) -> list[dg.AssetCheckSpec]:
    """One `AssetCheckSpec` per declared check; `error` checks are blocking."""
    return [
        dg.AssetCheckSpec(
            name=name,
            asset=asset_key,
            description=_describe(check),
            blocking=check.severity == "error",
            metadata={"check_type": check.type, "severity": check.severity},
        )
        for name, check in zip(unique_check_names(checks), checks, strict=True)
    ]


def _previous_row_count(instance, asset_key: dg.AssetKey) -> int | None:
    if instance is None:
        return None
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key), limit=2).records
    if len(records) < 2:
        return None
    materialization = records[1].asset_materialization
    value = materialization.metadata.get("dagster/row_count") if materialization else None
    return int(value.value) if value is not None else None


def _missing_column(con, source: str, check: DeclaredCheck) -> tc.CheckOutcome | None:
    wanted = [*(check.columns or []), *([check.column] if check.column else [])]
    if not wanted:
        return None
    present = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    absent = next((c for c in wanted if c not in present), None)
    if absent is None:
        return None
    by_lower = {p.lower(): p for p in present}
    close = by_lower.get(snake_case(absent)) or by_lower.get(absent.lower())
    if close is None:
        near = difflib.get_close_matches(absent, present, n=1)
        close = near[0] if near else None
    hint = f" Did you mean `{close}`?" if close else ""
    if close is not None and close == snake_case(absent):
        hint += " (file columns are imported in snake_case by default)"
    columns = ", ".join(f"`{p}`" for p in present)
    summary = f"column `{absent}` is not in the table.{hint} Columns: {columns}."
    return tc.CheckOutcome(False, summary, 0, None, {"missing_column": absent})


def run_declared_check(
    con, source: str, check: DeclaredCheck, *, previous_rows: int | None = None
) -> tc.CheckOutcome:
    """Evaluate one declared check with DuckDB over `source` (SQL that reads the table).

    A column the check names but the table lacks fails the check with the column's likely
    lakehouse name (e.g. `bénéficiaire` → `beneficiaire`), instead of DuckDB's binder error.
    """
    missing = _missing_column(con, source, check)
    if missing is not None:
        return missing
    if check.type == "not_null":
        return tc.check_not_null(con, source, check.columns or [])
    if check.type == "unique":
        return tc.check_unique(con, source, check.columns or [])
    if check.type == "accepted_values":
        return tc.check_accepted_values(con, source, check.column or "", check.values or [])
    if check.type == "row_count":
        return tc.check_row_count(
            con,
            source,
            min_rows=check.min_rows,
            max_rows=check.max_rows,
            max_change_percent=check.max_change_percent,
            previous_rows=previous_rows,
        )
    if check.type == "freshness":
        return tc.check_freshness(con, source, check.column or "", float(check.max_age_hours or 0))
    if check.type == "expression":
        return tc.check_expression(con, source, check.sql or "")
    if check.type == "schema":
        return tc.check_schema(
            con, source, check.expected_columns or {}, allow_extra_columns=check.allow_extra_columns
        )
    raise ValueError(f"Unknown check type `{check.type}`.")


def _result_metadata(outcome: tc.CheckOutcome) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "summary": dg.MetadataValue.text(outcome.summary),
        "failing_count": dg.MetadataValue.int(outcome.failing_count),
    }
    if outcome.sample is not None and outcome.sample.num_rows:
        metadata["failing_rows_sample"] = dg.MetadataValue.md(markdown_preview(outcome.sample))
    for key, value in outcome.details.items():
        if key == "diff" and value:
            metadata["schema_diff"] = dg.MetadataValue.md(f"```diff\n{value}\n```")
        elif isinstance(value, (int, float, str)) or value is None:
            metadata[key] = value if value is not None else dg.MetadataValue.null()
        else:
            metadata[key] = dg.MetadataValue.json(value)
    return metadata


def _previous_delta_row_count(lakehouse, lakehouse_path: str) -> int | None:
    """Rows of the version before the current one, when the table is a Delta table (else None)."""
    delta = lakehouse.delta_path(lakehouse_path) if hasattr(lakehouse, "delta_path") else None
    if delta is None:
        return None
    history = lakehouse.table_history(delta, limit=1)
    if not history or history[0]["version"] == 0:
        return None
    before = lakehouse.read_table(delta, output="arrow", version=history[0]["version"] - 1)
    return before.num_rows


def build_table_checks(
    *,
    asset_key: dg.AssetKey,
    lakehouse_path: str,
    checks: Sequence[DeclaredCheck],
    lakehouse_key: str = "lakehouse",
    name_suffix: str = "",
) -> dg.AssetChecksDefinition:
    """One Dagster checks definition evaluating `checks` on the lakehouse file(s) `lakehouse_path`.

    Args:
        asset_key: the asset the checks are attached to.
        lakehouse_path: file or glob in the lakehouse, e.g. `enseignement/stg/eleves.parquet`.
        checks: the declared checks (YAML `checks:` entries).
        lakehouse_key: resource key of the lakehouse resource.
        name_suffix: makes the op name unique when the same table is checked by two components.
    """
    specs = check_specs_for(asset_key, checks)
    by_name = dict(zip([s.name for s in specs], checks, strict=True))
    severity = {s.name: by_name[s.name].severity for s in specs}
    digest = hashlib.sha1(
        ("|".join(s.name for s in specs) + name_suffix).encode(), usedforsecurity=False
    ).hexdigest()[:8]
    op_name = f"{'__'.join(asset_key.path)}__checks_{digest}"

    @dg.multi_asset_check(specs=specs, name=op_name, required_resource_keys={lakehouse_key})
    def _table_checks(context):
        lakehouse = getattr(context.resources, lakehouse_key)
        previous = None
        if any(c.type == "row_count" and c.max_change_percent is not None for c in checks):
            previous = _previous_delta_row_count(lakehouse, lakehouse_path)
            if previous is None:
                previous = _previous_row_count(context.instance, asset_key)
        selected = {key.name for key in context.selected_asset_check_keys}
        with lakehouse.duckdb_connection() as con:
            source = lakehouse.table_relation(con, lakehouse_path)
            for name, check in by_name.items():
                if name not in selected:
                    continue
                outcome = run_declared_check(con, source, check, previous_rows=previous)
                level = (
                    dg.AssetCheckSeverity.ERROR if severity[name] == "error" else dg.AssetCheckSeverity.WARN
                )
                if not outcome.passed:
                    context.log.warning(
                        f"Check `{name}` on {asset_key.to_user_string()} failed: {outcome.summary}"
                    )
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=name,
                    passed=outcome.passed,
                    severity=level,
                    description=outcome.summary,
                    metadata=_result_metadata(outcome),
                )

    return _table_checks
