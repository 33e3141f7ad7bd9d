"""Definitions of the `culture` code location.

Everything under `defs/` is loaded (Python assets, schedules, sensors, and the `defs.yaml` files of
YAML components), then the platform resources are bound: `azure_adls`/`lakehouse` and
`postgresql`, chosen from environment variables (see `dagster_cfwb.deployment`), and the sensor
that runs the assets' automation conditions (`<location>_automation`, on by default).
"""

from pathlib import Path

import dagster as dg

from dagster_cfwb.deployment import location_definitions

CODE_LOCATION = "culture"


@dg.definitions
def defs() -> dg.Definitions:
    return location_definitions(CODE_LOCATION, Path(__file__).parent)
