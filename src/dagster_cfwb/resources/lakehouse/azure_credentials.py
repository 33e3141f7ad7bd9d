"""Ways to sign in to Azure Storage, as a tagged union chosen with `kind`."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from dagster_cfwb.resources.secrets import RedactedReprMixin

__all__ = [
    "AZURE_CREDENTIAL_KINDS",
    "AccountKeyCredential",
    "AzureCredential",
    "ConnectionStringCredential",
    "DefaultAzureCredentialConfig",
    "SasTokenCredential",
    "ServicePrincipalCredential",
]


class ConnectionStringCredential(RedactedReprMixin, dg.Config):
    """A full storage connection string (Azure portal → Access keys), as used with Azurite."""

    kind: Literal["connection_string"] = "connection_string"
    connection_string: str = Field(description="The storage account connection string. Use an EnvVar.")


class AccountKeyCredential(RedactedReprMixin, dg.Config):
    """The storage account name's access key."""

    kind: Literal["account_key"] = "account_key"
    account_key: str = Field(description="Storage account access key (base64). Use an EnvVar.")


class SasTokenCredential(RedactedReprMixin, dg.Config):
    """A shared access signature token limited to some containers, permissions and dates."""

    kind: Literal["sas_token"] = "sas_token"
    sas_token: str = Field(description="The SAS token, with or without the leading `?`. Use an EnvVar.")


class ServicePrincipalCredential(RedactedReprMixin, dg.Config):
    """An Entra ID (Azure AD) application: tenant, client id and client secret."""

    kind: Literal["service_principal"] = "service_principal"
    tenant_id: str = Field(description="Directory (tenant) ID of the Entra ID application.")
    client_id: str = Field(description="Application (client) ID.")
    client_secret: str = Field(description="Client secret value. Use an EnvVar.")


class DefaultAzureCredentialConfig(dg.Config):
    """Azure's default credential chain: managed identity, workload identity, environment, Azure CLI."""

    kind: Literal["default_credential"] = "default_credential"


AzureCredential = (
    ConnectionStringCredential
    | AccountKeyCredential
    | SasTokenCredential
    | ServicePrincipalCredential
    | DefaultAzureCredentialConfig
)
AZURE_CREDENTIAL_KINDS = (
    "connection_string",
    "account_key",
    "sas_token",
    "service_principal",
    "default_credential",
)
