"""The sensor that evaluates the automation conditions (eager, on_cron, ...) of a code location."""

from __future__ import annotations

import dagster as dg

__all__ = ["automation_sensor"]


def automation_sensor(
    code_location: str, *, minimum_interval_seconds: int = 60
) -> dg.AutomationConditionSensorDefinition:
    """One automation sensor for all assets of `code_location`, switched on when the location loads.

    Dagster's default automation sensor starts stopped, so `AutomationCondition.eager()` and
    `on_cron` would do nothing until someone switches it on in the UI. Declaring it here, running,
    makes the declared automation act as soon as the daemon runs; switch it off in the UI
    (Automation tab, `<location>_automation`) to pause a whole location.

    Args:
        code_location: name of the location, used in the sensor name, e.g. `"enseignement"`.
        minimum_interval_seconds: how often the conditions are evaluated.
    """
    return dg.AutomationConditionSensorDefinition(
        f"{code_location}_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=minimum_interval_seconds,
        description=f"Evaluates the automation conditions (eager, on_cron, ...) of the assets of `{code_location}`.",
    )
