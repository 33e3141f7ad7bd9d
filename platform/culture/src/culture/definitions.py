"""Definitions of the `culture` code location.

Everything under `defs/` is loaded (Python assets, schedules, sensors, and the `defs.yaml` files of
YAML components), then the platform resources are bound: `azure_adls`/`lakehouse` and
`postgresql`, chosen from environment variables (see `dagster_cfwb.deployment`), and the sensor
that runs the assets' automation conditions (`<location>_automation`, on by default).
"""

from pathlib import Path

import dagster as dg

from dagster_cfwb.components.resource_keys import check_resource_keys
from dagster_cfwb.deployment import automation_sensor, platform_resources

CODE_LOCATION = "culture"


@dg.definitions
def defs() -> dg.Definitions:
    return check_resource_keys(
        dg.Definitions.merge(
            dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
            dg.Definitions(
                resources=platform_resources(CODE_LOCATION), sensors=[automation_sensor(CODE_LOCATION)]
            ),
        )
    )
