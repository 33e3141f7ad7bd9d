"""The Definitions of one platform code location, built the same way for every department."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_cfwb.components.resource_keys import check_resource_keys
from dagster_cfwb.deployment.automation import automation_sensor
from dagster_cfwb.deployment.platform_resources import platform_resources

__all__ = ["location_definitions"]


def location_definitions(
    code_location: str, project_dir: str | Path, extra_resources: Mapping[str, Any] | None = None
) -> dg.Definitions:
    """Everything under `<project_dir>/defs` plus the platform resources and automation sensor.

    Loads the Python assets, schedules, sensors and YAML component instances of the location's
    `defs/` folder, binds the platform resources chosen from environment variables
    (`azure_adls`/`lakehouse`, `postgresql`; see `platform_resources`) and any
    `extra_resources`, adds the `<code_location>_automation` sensor (on by default), and checks
    that every resource key a component names exists (a located error otherwise).

    Example:

    ```python
    @dg.definitions
    def defs() -> dg.Definitions:
        return location_definitions("enseignement", Path(__file__).parent)
    ```
    """
    return check_resource_keys(
        dg.Definitions.merge(
            dg.load_from_defs_folder(path_within_project=Path(project_dir)),
            dg.Definitions(
                resources={**platform_resources(code_location), **(extra_resources or {})},
                sensors=[automation_sensor(code_location)],
            ),
        )
    )
