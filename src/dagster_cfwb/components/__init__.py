"""YAML components of dagster-cfwb (the `dagster_dg_cli.registry_modules` entry point).

`dg list components` shows them; `dg scaffold defs dagster_cfwb.components.<Name> <path>` writes
a commented example `defs.yaml`. See `docs/components.md` for a step-by-step guide.
"""

from dagster_cfwb.components.data_quality_checks import DataQualityChecksComponent
from dagster_cfwb.components.database_export import DatabaseExportComponent
from dagster_cfwb.components.lakehouse_import import LakehouseImportComponent
from dagster_cfwb.components.notifications import NotificationsComponent
from dagster_cfwb.components.resource_keys import check_resource_keys
from dagster_cfwb.components.resources_component import ResourcesComponent
from dagster_cfwb.components.yaml_errors import ComponentYamlError

__all__ = [
    "ComponentYamlError",
    "DataQualityChecksComponent",
    "DatabaseExportComponent",
    "LakehouseImportComponent",
    "NotificationsComponent",
    "ResourcesComponent",
    "check_resource_keys",
]
