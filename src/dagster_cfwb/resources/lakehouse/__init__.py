"""The lakehouse: Parquet on Azure Data Lake Storage or a local/NFS folder, queried with DuckDB."""

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.azure_credentials import (
    AccountKeyCredential,
    ConnectionStringCredential,
    DefaultAzureCredentialConfig,
    SasTokenCredential,
    ServicePrincipalCredential,
)
from dagster_cfwb.resources.lakehouse.lakehouse_base import LakehouseFile, LakehouseResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

__all__ = [
    "AccountKeyCredential",
    "AzureAdlsResource",
    "ConnectionStringCredential",
    "DefaultAzureCredentialConfig",
    "LakehouseFile",
    "LakehouseResource",
    "LocalLakehouseResource",
    "SasTokenCredential",
    "ServicePrincipalCredential",
]
