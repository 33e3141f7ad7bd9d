"""Glue the platform template's code locations share: resources chosen from the environment."""

from dagster_cfwb.deployment.platform_resources import (
    lakehouse_from_env,
    platform_resources,
    postgresql_from_env,
)

__all__ = ["lakehouse_from_env", "platform_resources", "postgresql_from_env"]
