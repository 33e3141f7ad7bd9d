"""`cfwb demo`: materialise every asset of every code location of the platform, on embedded defaults.

What it sets up (nothing to install or start by hand):

- `DAGSTER_HOME` = `<platform>/.dagster_home` with `dagster.demo.yaml` (SQLite storage), so
  the runs show in the UI afterwards;
- the lakehouse in `<platform>/.dagster_home/lakehouse` unless `CFWB_LAKEHOUSE_ROOT` or Azure
  variables are set;
- PostgreSQL from `CFWB_PG_*` when `CFWB_PG_HOST` is set, else an embedded one (`pgserver`);
- the dbt manifests (`dbt parse`), as the image build does.

Then it loads each location of `workspace.yaml`, backfills the daily-partitioned assets over the
last days (one run per asset), materialises everything else in one run (imports → dbt → exports,
across locations), and prints each asset with its row count and how to open the UI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster_cfwb.cli.embedded_postgres import embedded_postgres_dir, start_embedded_postgres
from dagster_cfwb.platform_layout import (
    find_platform_dir,
    load_location_definitions,
    parse_dbt_projects,
    read_workspace,
)

__all__ = [
    "DemoReport",
    "planned_checks",
    "prepare_demo_environment",
    "prepare_demo_postgres",
    "run_demo",
    "ui_command",
]

BACKFILL_DAYS = 7
# Step logs (e.g. "Imported 245 schools", dbt's lines) but not Dagster's DEBUG event lines.
_QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class DemoReport:
    """What the demo did: materialised assets with their row counts, checks, failures, environment."""

    materialised: dict[str, int | None]
    checks_passed: int
    checks_failed: list[str]
    failed_steps: list[str]
    env: dict[str, str]
    seconds: float
    embedded_postgres: bool = False
    checks_not_run: list[str] | None = None  # planned, never evaluated: their asset failed upstream

    @property
    def success(self) -> bool:
        return not self.failed_steps and not self.checks_failed


def prepare_demo_environment(
    platform_dir: Path, out, *, postgres: bool = True
) -> tuple[dict[str, str], bool]:
    """Set DAGSTER_HOME, the lakehouse and PostgreSQL variables (`cfwb demo` and `cfwb run`).

    Args:
        platform_dir: the platform folder.
        out: where to print what is used.
        postgres: set up PostgreSQL now (starting the embedded one when `CFWB_PG_HOST` is unset,
            ~8–10 s when it is not running); `False` leaves it to `prepare_demo_postgres`, for a
            `cfwb run --preview` that may not need a database.

    Returns:
        The variables the UI also needs (never the password), and whether PostgreSQL is the embedded one.
    """
    home = platform_dir / ".dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(platform_dir / "dagster.demo.yaml", home / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home)}
    azure = os.environ.get("AZURE_STORAGE_CONNECTION_STRING") or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not azure:
        env["CFWB_LAKEHOUSE_ROOT"] = os.environ.get("CFWB_LAKEHOUSE_ROOT") or str(home / "lakehouse")
    os.environ.update(env)
    embedded = False
    if postgres:
        pg_env, embedded = prepare_demo_postgres(platform_dir, out)
        env.update(pg_env)
    return env, embedded


def prepare_demo_postgres(platform_dir: Path, out) -> tuple[dict[str, str], bool]:
    """Point `CFWB_PG_*` at PostgreSQL: the server of `CFWB_PG_HOST` when set, else the embedded one
    (started if it is not running).

    Returns:
        The variables set (never the password), and whether PostgreSQL is the embedded one.
    """
    env: dict[str, str] = {}
    embedded = not os.environ.get("CFWB_PG_HOST")
    if not embedded:
        print(f"PostgreSQL: using the server of CFWB_PG_HOST ({os.environ['CFWB_PG_HOST']}).", file=out)
        for name in (
            "CFWB_PG_HOST",
            "CFWB_PG_PORT",
            "CFWB_PG_USER",
            "CFWB_PG_DATABASE",
        ):  # never the password
            if os.environ.get(name):
                env[name] = os.environ[name]
    else:
        server = start_embedded_postgres(embedded_postgres_dir(platform_dir / ".dagster_home"))
        env.update(server.env())
        print(f"PostgreSQL: embedded server (pgserver), data in {server.data_dir}.", file=out)
    os.environ.update(env)
    return env, embedded


def ui_command(platform: Path, env: dict[str, str] | None = None) -> str:
    """The shell command that opens the Dagster UI on the demo's instance, lakehouse and PostgreSQL.

    Args:
        platform: the platform folder.
        env: the variables to set (as `prepare_demo_environment` returns them); default: the
            demo's `DAGSTER_HOME` and lakehouse, plus `CFWB_PG_*` of this shell or of the
            embedded PostgreSQL when it is running (never the password).
    """
    if env is None:
        from dagster_cfwb.cli.embedded_postgres import embedded_postgres_dir, running_embedded_postgres

        home = platform / ".dagster_home"
        env = {"DAGSTER_HOME": str(home), "CFWB_LAKEHOUSE_ROOT": str(home / "lakehouse")}
        if os.environ.get("CFWB_PG_HOST"):
            names = ("CFWB_PG_HOST", "CFWB_PG_PORT", "CFWB_PG_USER", "CFWB_PG_DATABASE")
            env.update({n: os.environ[n] for n in names if os.environ.get(n)})
        elif (server := running_embedded_postgres(embedded_postgres_dir(home))) is not None:
            env.update(server.env())
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    dagster = Path(sys.prefix) / "bin" / "dagster"
    return f"cd {platform} && {exports} \\\n    {dagster} dev"


def planned_checks(instance, run_id: str) -> list[str]:
    """`asset:check` of every check the run planned (evaluated or not), from its event log."""
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)
    names = []
    for record in records.records:
        data = record.event_log_entry.dagster_event.event_specific_data
        names.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return sorted(set(names))


def _materialised_rows(result) -> dict[str, int | None]:
    rows = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        value = materialization.metadata.get("dagster/row_count")
        rows[materialization.asset_key.to_user_string()] = getattr(value, "value", value)
    return rows


def run_demo(
    platform_dir: str | Path | None = None, *, backfill_days: int = BACKFILL_DAYS, out=None
) -> DemoReport:
    """Run the demo (see the module docstring) and return what happened.

    Args:
        platform_dir: the platform folder (default: found from the current directory).
        backfill_days: how many past days the partitioned imports load.
        out: where to print progress (default: standard output).
    """
    import dagster as dg

    out = out or sys.stdout
    started = time.monotonic()
    platform = find_platform_dir(platform_dir)
    env, embedded = prepare_demo_environment(platform, out)
    for folder in parse_dbt_projects(platform, only_if_stale=True):
        print(f"dbt: manifest built (dbt parse) in {folder}", file=out)

    assets: list = []
    checks: list = []
    resources: dict = {}
    for location in read_workspace(platform):
        defs = load_location_definitions(location)
        assets.extend(defs.assets or [])
        checks.extend(defs.asset_checks or [])
        resources.update(defs.resources or {})
        print(
            f"Loaded code location `{location.name}` ({len(defs.assets or [])} asset definitions).", file=out
        )

    instance = dg.DagsterInstance.get()
    materialised: dict[str, int | None] = {}
    failed_steps: list[str] = []
    checks_passed = 0
    checks_failed: list[str] = []
    checks_not_run: list[str] = []

    def collect(result) -> None:
        nonlocal checks_passed
        materialised.update(_materialised_rows(result))
        failed_steps.extend(e.step_key for e in result.all_events if e.is_step_failure)
        evaluated = set()
        for evaluation in result.get_asset_check_evaluations():
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            evaluated.add(name)
            if evaluation.passed:
                checks_passed += 1
            else:
                checks_failed.append(name)
        checks_not_run.extend(n for n in planned_checks(instance, result.run_id) if n not in evaluated)

    partitioned = [a for a in assets if a.partitions_def is not None]
    today = datetime.now(UTC).date()
    for asset in partitioned:
        start = (today - timedelta(days=backfill_days)).isoformat()
        end = (today - timedelta(days=1)).isoformat()
        print(
            f"Backfill {', '.join(k.to_user_string() for k in asset.keys)}: {start} … {end} (one run)",
            file=out,
        )
        result = dg.materialize(
            [*assets, *checks],
            selection=dg.AssetSelection.assets(*asset.keys),
            resources=resources,
            instance=instance,
            run_config=_QUIET,
            tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
            raise_on_error=False,
        )
        collect(result)

    unpartitioned_keys = [key for a in assets if a.partitions_def is None for key in a.keys]
    print(f"Materialising {len(unpartitioned_keys)} assets in one run (imports → dbt → exports) …", file=out)
    result = dg.materialize(
        [*assets, *checks],
        selection=dg.AssetSelection.assets(*unpartitioned_keys),
        resources=resources,
        instance=instance,
        run_config=_QUIET,
        raise_on_error=False,
    )
    collect(result)
    report = DemoReport(
        materialised,
        checks_passed,
        checks_failed,
        failed_steps,
        env,
        time.monotonic() - started,
        embedded_postgres=embedded,
        checks_not_run=checks_not_run,
    )
    _print_report(report, platform, out)
    return report


def _print_report(report: DemoReport, platform: Path, out) -> None:
    width = max((len(k) for k in report.materialised), default=10)
    print("", file=out)
    print(f"{'asset'.ljust(width)}  rows", file=out)
    for key in sorted(report.materialised):
        rows = report.materialised[key]
        print(f"{key.ljust(width)}  {'' if rows is None else f'{rows:,}'}", file=out)
    not_run = report.checks_not_run or []
    print(
        f"\nChecks: {report.checks_passed} passed, {len(report.checks_failed)} failed"
        + (f", {len(not_run)} not run (upstream failed)" if not_run else "")
        + ".",
        file=out,
    )
    for failure in report.checks_failed:
        print(f"  failed check: {failure}", file=out)
    for name in not_run:
        print(f"  not run: {name} (its asset failed)", file=out)
    for step in report.failed_steps:
        print(f"  FAILED step: {step}", file=out)
    print(f"Done in {report.seconds:.0f} s.", file=out)
    print("\nOpen the Dagster UI (schedules, sensors, lineage, these runs):", file=out)
    print(f"  {ui_command(platform, report.env)}", file=out)
    print("  then browse http://127.0.0.1:3000", file=out)
    if report.embedded_postgres:
        print("The embedded PostgreSQL keeps running for the UI; stop it with: cfwb postgres stop", file=out)
    elif os.environ.get("CFWB_PG_PASSWORD"):
        print("Also export CFWB_PG_PASSWORD in that shell (not printed).", file=out)
