"""Definitions of the `data_platform` code location.

Everything under `defs/` is loaded (Python assets, schedules, sensors, and the `defs.yaml` files of
YAML components), then the platform resources are bound: `azure_adls`/`lakehouse` and
`postgresql`, chosen from environment variables (see `dagster_cfwb.deployment`), `dbt`, the
dbt project over the lakehouse (`../../dbt_project`), and the sensor that runs the assets'
automation conditions (`data_platform_automation`, on by default).
"""

from pathlib import Path

import dagster as dg

from dagster_cfwb.deployment import location_definitions
from data_platform.defs.lakehouse_dbt import dbt_resource

CODE_LOCATION = "data_platform"


@dg.definitions
def defs() -> dg.Definitions:
    return location_definitions(CODE_LOCATION, Path(__file__).parent, extra_resources={"dbt": dbt_resource})
