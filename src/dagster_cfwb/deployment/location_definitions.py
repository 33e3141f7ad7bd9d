"""The Definitions of one platform code location, built the same way for every department."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_cfwb.components.defs_check import find_defs_files
from dagster_cfwb.components.load_failure import explain_load_failure
from dagster_cfwb.components.resource_keys import check_resource_keys
from dagster_cfwb.components.resource_kinds import apply_resource_kinds
from dagster_cfwb.components.yaml_syntax_errors import yaml_syntax_error
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
    `extra_resources`, adds the `<code_location>_automation` sensor (on by default), checks
    that every resource key a component names exists (a located error otherwise), and gives each
    database asset the kind of its resource's class (`apply_resource_kinds`). A YAML syntax
    mistake in a `defs.yaml` (indentation, tab, quote…) is reported first, in plain words with its
    file and line, instead of PyYAML's traceback; when a component fails to load, every problem of
    the location's `defs.yaml` files is listed (as `cfwb check` does) instead of the first one.

    Example:

    ```python
    @dg.definitions
    def defs() -> dg.Definitions:
        return location_definitions("enseignement", Path(__file__).parent)
    ```
    """
    defs_folder = Path(project_dir) / "defs"
    defs_folder = defs_folder if defs_folder.is_dir() else Path(project_dir)
    syntax = yaml_syntax_error(find_defs_files(defs_folder))
    if syntax is not None:
        raise syntax
    try:
        loaded = dg.load_from_defs_folder(path_within_project=Path(project_dir))
    except Exception as e:
        explained = explain_load_failure(e, defs_folder)
        if explained is None:
            raise
        raise explained from None
    return apply_resource_kinds(
        check_resource_keys(
            dg.Definitions.merge(
                loaded,
                dg.Definitions(
                    resources={**platform_resources(code_location), **(extra_resources or {})},
                    sensors=[automation_sensor(code_location)],
                ),
            )
        )
    )
