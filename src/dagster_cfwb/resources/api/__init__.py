"""Denodo and REST APIs as Dagster resources."""

from dagster_cfwb.resources.api.denodo_resource import DenodoResource
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource

__all__ = ["DenodoResource", "RestApiResource"]
