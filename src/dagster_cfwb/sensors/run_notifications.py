"""Sensors that turn run failures, failed checks and successes into notifications.

`build_notification_sensors` returns the Dagster sensors for one notification rule: a run
failure sensor, and a run success sensor when check failures or successes are to be notified.
Which runs count is filtered by job names, asset key prefixes and code locations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType

from dagster_cfwb.notifications.message import Notification

__all__ = [
    "RunFilter",
    "assets_of_run",
    "build_notification_sensors",
    "failed_checks_of_run",
    "notification_for_run",
]

Sender = Callable[[Notification], None]


@dataclass(frozen=True)
class RunFilter:
    """Which runs a rule is about; an empty list means "any"."""

    jobs: Sequence[str] = field(default_factory=tuple)
    asset_prefixes: Sequence[str] = field(default_factory=tuple)
    code_locations: Sequence[str] = field(default_factory=tuple)

    def matches(self, run: dg.DagsterRun, assets: Sequence[str] | None = None) -> bool:
        """True when `run` (whose assets are `assets`, default: its asset selection) is selected."""
        if self.jobs and run.job_name not in self.jobs:
            return False
        if self.code_locations and _location_of(run) not in self.code_locations:
            return False
        if self.asset_prefixes:
            if assets is None:
                assets = [k.to_user_string() for k in (run.asset_selection or set())]
            if not any(
                a == p or a.startswith(p.rstrip("/") + "/") for a in assets for p in self.asset_prefixes
            ):
                return False
        return True


def assets_of_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """The assets a run selected, or (when it selected "everything") those it planned to materialise."""
    if run.asset_selection:
        return sorted(k.to_user_string() for k in run.asset_selection)
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1000
    ).records
    keys = {r.event_log_entry.dagster_event.asset_key for r in records if r.event_log_entry.dagster_event}
    return sorted(k.to_user_string() for k in keys if k is not None)


def _location_of(run: dg.DagsterRun) -> str | None:
    origin = run.remote_job_origin
    return origin.location_name if origin is not None else None


def failed_checks_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """`asset: check (severity) — description` for every failed check evaluation of the run."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    failed = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            severity = getattr(evaluation.severity, "value", str(evaluation.severity)).lower()
            text = f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name} ({severity})"
            if evaluation.description:
                text += f" — {evaluation.description}"
            failed.append(text)
    return failed


def _run_url(dagster_url: str | None, run_id: str) -> str | None:
    return f"{dagster_url.rstrip('/')}/runs/{run_id}" if dagster_url else None


def notification_for_run(
    run: dg.DagsterRun,
    *,
    assets: Sequence[str] = (),
    level: str,
    summary: str,
    dagster_url: str | None,
    error: str | None = None,
    failed_checks: list[str] | None = None,
) -> Notification:
    titles = {"failure": "Run failed", "warning": "Checks failed", "success": "Run succeeded"}
    return Notification(
        level=level,  # type: ignore[arg-type]
        title=f"{titles[level]}: {run.job_name}",
        summary=summary,
        run_id=run.run_id,
        run_url=_run_url(dagster_url, run.run_id),
        job_name=run.job_name,
        code_location=_location_of(run),
        assets=list(assets),
        error=error,
        failed_checks=failed_checks or [],
    )


def _deliver(context, notification: Notification, senders: Sequence[tuple[str, Sender]]):
    if not senders:
        return dg.SkipReason(
            "No notification channel is configured (webhook URL, ntfy server, SMTP host empty)."
        )
    problems = []
    for channel, send in senders:
        try:
            send(notification)
            context.log.info(f"Notified {channel}: {notification.headline}")
        except Exception as e:  # one channel failing must not stop the others
            problems.append(str(e))
    if problems and len(problems) == len(senders):
        raise RuntimeError("No notification could be delivered: " + "; ".join(problems))
    for problem in problems:
        context.log.warning(problem)


def _failure_error(context: dg.RunFailureSensorContext) -> str:
    parts = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and getattr(error, "cause", None) is not None:
            error = error.cause  # the user's own exception, not Dagster's wrapper
        message = error.message.strip() if error is not None else (event.message or "")
        parts.append(f"[{event.step_key}] {message}")
    if not parts and context.failure_event.message:
        parts.append(context.failure_event.message)
    text = "\n".join(parts)
    return text if len(text) <= 2000 else text[:1999] + "…"


def build_notification_sensors(
    *,
    name: str,
    senders: Sequence[tuple[str, Sender]],
    run_filter: RunFilter,
    on_run_failure: bool = True,
    on_check_failure: bool = False,
    on_run_success: bool = False,
    dagster_url: str | None = None,
    monitor_all_code_locations: bool = False,
    minimum_interval_seconds: int = 30,
) -> list[dg.SensorDefinition]:
    """The sensors of one notification rule (started by default, so a deployment notifies at once)."""
    sensors: list[dg.SensorDefinition] = []
    monitored = [dg.CodeLocationSelector(location_name=loc) for loc in run_filter.code_locations] or None
    common: dict[str, Any] = {
        "monitored_jobs": monitored,
        "monitor_all_code_locations": monitor_all_code_locations or None,
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": minimum_interval_seconds,
    }
    if on_run_failure:

        @dg.run_failure_sensor(
            name=f"{name}_on_run_failure", description=f"Notification rule `{name}`: run failures.", **common
        )
        def _on_failure(context):
            run = context.dagster_run
            assets = assets_of_run(context.instance, run)
            if not run_filter.matches(run, assets):
                return dg.SkipReason(f"Run {run.run_id} is not selected by `{name}`.")
            failed = failed_checks_of_run(context.instance, run.run_id)
            notification = notification_for_run(
                run,
                assets=assets,
                level="failure",
                summary=f"The run of `{run.job_name}` failed.",
                dagster_url=dagster_url,
                error=_failure_error(context),
                failed_checks=failed,
            )
            return _deliver(context, notification, senders)

        sensors.append(_on_failure)

    if on_check_failure or on_run_success:

        @dg.run_status_sensor(
            run_status=dg.DagsterRunStatus.SUCCESS,
            name=f"{name}_on_run_success",
            description=f"Notification rule `{name}`: failed checks / successful runs.",
            **common,
        )
        def _on_success(context):
            run = context.dagster_run
            assets = assets_of_run(context.instance, run)
            if not run_filter.matches(run, assets):
                return dg.SkipReason(f"Run {run.run_id} is not selected by `{name}`.")
            failed = failed_checks_of_run(context.instance, run.run_id) if on_check_failure else []
            if failed:
                notification = notification_for_run(
                    run,
                    level="warning",
                    summary=f"{len(failed)} check(s) failed in the run of `{run.job_name}`.",
                    dagster_url=dagster_url,
                    failed_checks=failed,
                )
            elif on_run_success:
                notification = notification_for_run(
                    run,
                    level="success",
                    summary=f"The run of `{run.job_name}` succeeded.",
                    dagster_url=dagster_url,
                )
            else:
                return dg.SkipReason("No failed check in this run.")
            return _deliver(context, notification, senders)

        sensors.append(_on_success)
    return sensors
