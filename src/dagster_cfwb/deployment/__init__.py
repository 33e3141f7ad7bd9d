"""Glue the platform template's code locations share: resources from the environment, automation."""

from dagster_cfwb.deployment.automation import automation_sensor
from dagster_cfwb.deployment.location_definitions import location_definitions
from dagster_cfwb.deployment.platform_resources import (
    lakehouse_from_env,
    platform_resources,
    postgresql_from_env,
)

__all__ = [
    "automation_sensor",
    "lakehouse_from_env",
    "location_definitions",
    "platform_resources",
    "postgresql_from_env",
]
