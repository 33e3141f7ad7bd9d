"""The lakehouse on Azure Data Lake Storage / Blob Storage, queried with DuckDB."""

from __future__ import annotations

import glob
import os
import re
from functools import cached_property
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from dagster_cfwb.resources.lakehouse.azure_credentials import (
    AccountKeyCredential,
    AzureCredential,
    ConnectionStringCredential,
    DefaultAzureCredentialConfig,
    SasTokenCredential,
    ServicePrincipalCredential,
)
from dagster_cfwb.resources.lakehouse.lakehouse_base import (
    LakehouseFile,
    LakehouseResource,
    load_delta_extension,
)
from dagster_cfwb.resources.secrets import redact

__all__ = ["AzureAdlsResource", "native_azure_extension_path"]


_EMULATOR_ACCOUNT = "devstoreaccount1"  # Azurite's well-known account


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def native_azure_extension_path() -> str | None:
    """Path of the pip-packaged DuckDB `azure` extension matching the installed DuckDB, if any."""
    try:
        import duckdb
        import duckdb_extension_azure
    except ImportError:
        return None
    folder = os.path.dirname(duckdb_extension_azure.__file__)
    matches = glob.glob(
        os.path.join(folder, "extensions", f"v{duckdb.__version__}", "azure.duckdb_extension")
    )
    return matches[0] if matches else None


def _parse_connection_string(value: str) -> dict[str, str]:
    parts = {}
    for item in value.split(";"):
        if "=" in item:
            key, _, val = item.partition("=")
            parts[key.strip()] = val.strip()
    return parts


class AzureAdlsResource(LakehouseResource):
    """The lakehouse: Parquet files on Azure Data Lake Storage (or Blob Storage), queried with DuckDB.

    In SQL, `'azure://<code_location>/<layer>/<table>.parquet'` names a file in the lakehouse
    container (`container`, default `lakehouse`); globs work (`azure://enseignement/stg/*.parquet`).
    Writes go through a temporary local file and one block-blob commit, so no reader ever sees a
    half-written file (Azure discards the uncommitted blocks of an interrupted upload; the next write
    removes a killed writer's local temp file). A column whose Arrow type DuckDB would read back
    changed is refused before writing; a storage error names the lakehouse path and Azure's error
    code (`FileNotFoundError`, `PermissionError`, `ConnectionError` or `OSError`).

    How DuckDB reads Azure here: DuckDB's own `INSTALL azure` downloads the extension from the
    internet, which the platform's servers cannot do. We load the same extension from the
    `duckdb-extension-azure` pip package (native, multi-threaded, `engine="native"`); where it
    is missing we fall back to `adlfs` registered in DuckDB as an fsspec filesystem
    (`engine="fsspec"`, pure Python and slower — see `bench/lakehouse_read.py` for the ratio).

    Example:

    ```python
    from dagster import EnvVar
    azure_adls = AzureAdlsResource(
        account_name="stdataplatform",
        credential=ServicePrincipalCredential(
            tenant_id=EnvVar("AZURE_TENANT_ID"), client_id=EnvVar("AZURE_CLIENT_ID"),
            client_secret=EnvVar("AZURE_CLIENT_SECRET"),
        ),
    )
    # or, for Azurite and development:
    AzureAdlsResource(connection_string=EnvVar("AZURE_STORAGE_CONNECTION_STRING"))
    ```
    """

    account_name: str | None = Field(
        default=None,
        description="Storage account name, e.g. `stdataplatform`. Not needed when a connection string is given.",
    )
    container: str = Field(
        default="lakehouse",
        description=(
            "Blob container (ADLS file system) holding the lakehouse. `azure://x/y.parquet` in SQL means "
            "blob `x/y.parquet` in this container. Lowercase letters, digits and `-` (Azure's rule)."
        ),
    )
    connection_string: str | None = Field(
        default=None,
        description=(
            "Storage connection string; given alone it is enough (the usual Azurite/development setup). "
            "Use `EnvVar('AZURE_STORAGE_CONNECTION_STRING')`, never a literal."
        ),
    )
    credential: AzureCredential = Field(
        default=DefaultAzureCredentialConfig(),
        discriminator="kind",
        description=(
            "How to sign in when no connection string is given. `kind` is one of connection_string, "
            "account_key, sas_token, service_principal, default_credential (the default: managed "
            "identity, environment or Azure CLI)."
        ),
    )
    endpoint: str | None = Field(
        default=None,
        description=(
            "Blob service URL when it is not `https://<account>.blob.core.windows.net`: Azurite "
            "(`http://127.0.0.1:10000/devstoreaccount1`) or a sovereign cloud."
        ),
    )
    engine: Literal["auto", "native", "fsspec"] = Field(
        default="auto",
        description=(
            "How DuckDB reads Azure: `native` (DuckDB azure extension from pip, fastest), `fsspec` "
            "(adlfs, pure Python), `auto` (native when installed)."
        ),
    )
    upload_concurrency: int = Field(default=4, description="Parallel block uploads per written file.")

    _service = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_credentials(self):
        if (
            self.connection_string is None
            and self.account_name is None
            and not isinstance(self.credential, ConnectionStringCredential)
        ):
            raise ValueError(
                "AzureAdlsResource needs either `connection_string`, or `account_name` with a `credential` "
                "(kind: connection_string, account_key, sas_token, service_principal or default_credential)."
            )
        return self

    # -- credentials --------------------------------------------------------------------------
    def _connection_string(self) -> str | None:
        if self.connection_string:
            return self.connection_string
        cred = self.credential
        if isinstance(cred, ConnectionStringCredential):
            return cred.connection_string
        endpoint = self.endpoint or f"https://{self.account_name}.blob.core.windows.net"
        if isinstance(cred, AccountKeyCredential):
            return (
                f"DefaultEndpointsProtocol={endpoint.split(':')[0]};AccountName={self.account_name};"
                f"AccountKey={cred.account_key};BlobEndpoint={endpoint};"
            )
        if isinstance(cred, SasTokenCredential):
            return f"BlobEndpoint={endpoint};SharedAccessSignature={cred.sas_token.lstrip('?')}"
        return None

    def _account(self) -> str:
        if self.account_name:
            return self.account_name
        return _parse_connection_string(self._connection_string() or "").get("AccountName", "?")

    def _secrets(self) -> list[str | None]:
        cred = self.credential
        values = [self.connection_string]
        for name in ("connection_string", "account_key", "sas_token", "client_secret"):
            values.append(getattr(cred, name, None))
        # the connection string actually used (whichever credential built it), and its parts: a SAS
        # is used without its leading `?`, and its signature may be echoed alone
        used = self._connection_string()
        if used:
            parsed = _parse_connection_string(used)
            sas = parsed.get("SharedAccessSignature") or ""
            signature = re.search(r"(?:^|&)sig=([^&]+)", sas)
            values += [used, parsed.get("AccountKey"), sas, signature.group(1) if signature else None]
        return values

    def _azure_identity(self):
        cred = self.credential
        if isinstance(cred, ServicePrincipalCredential):
            from azure.identity import ClientSecretCredential

            return ClientSecretCredential(cred.tenant_id, cred.client_id, cred.client_secret)
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    @cached_property
    def _container_client(self):
        try:
            from azure.storage.blob import BlobServiceClient
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "AzureAdlsResource needs the azure extra: pip install 'dagster-cfwb[azure]'"
            ) from e
        cs = self._connection_string()
        if cs:
            service = BlobServiceClient.from_connection_string(cs)
        else:
            url = self.endpoint or f"https://{self.account_name}.blob.core.windows.net"
            service = BlobServiceClient(url, credential=self._azure_identity())
        return service.get_container_client(self.container)

    # -- DuckDB ---------------------------------------------------------------------------------
    def _use_native(self) -> bool:
        if self.engine == "fsspec":
            return False
        available = native_azure_extension_path() is not None
        if self.engine == "native" and not available:
            raise ImportError(
                "engine='native' needs the DuckDB azure extension for this DuckDB version: "
                "pip install 'dagster-cfwb[azure]' (duckdb-extension-azure), or use engine='fsspec'."
            )
        return available

    def _describe_root(self) -> str:
        return f"container `{self.container}` of storage account `{self._account()}`"

    def _duckdb_location(self, path: str) -> str:
        if not self._use_native():
            return f"abfs://{self.container}/{path}"
        if self.endpoint and not self._connection_string() and self.endpoint.startswith("https://"):
            host = self.endpoint.removeprefix("https://").rstrip("/")
            return f"az://{host}/{self.container}/{path}"
        return f"az://{self.container}/{path}"

    def _prepare_duckdb(self, con) -> None:
        if not self._use_native():
            import adlfs

            cs = self._connection_string()
            if cs:
                fs = adlfs.AzureBlobFileSystem(connection_string=cs)
            else:
                fs = adlfs.AzureBlobFileSystem(
                    account_name=self.account_name, credential=self._azure_identity()
                )
            con.register_filesystem(fs)
            return
        con.execute(f"LOAD {_sql_string(native_azure_extension_path() or 'azure')}")  # found by _use_native()
        cs = self._connection_string()
        cred = self.credential
        if cs:
            secret = f"CONNECTION_STRING {_sql_string(cs)}"
        elif isinstance(cred, ServicePrincipalCredential):
            secret = (
                f"PROVIDER service_principal, TENANT_ID {_sql_string(cred.tenant_id)}, "
                f"CLIENT_ID {_sql_string(cred.client_id)}, CLIENT_SECRET {_sql_string(cred.client_secret)}, "
                f"ACCOUNT_NAME {_sql_string(self.account_name or '')}"
            )
        else:
            secret = f"PROVIDER credential_chain, ACCOUNT_NAME {_sql_string(self.account_name or '')}"
        try:
            con.execute(f"CREATE SECRET cfwb_lakehouse (TYPE azure, {secret})")
        except Exception as e:
            raise RuntimeError(
                f"Could not configure DuckDB for {self._describe_root()}: {redact(str(e), self._secrets())}"
            ) from None

    def _translate_error(self, error: Exception) -> Exception:
        message = str(error)
        if "ContainerNotFound" in message or "BlobNotFound" in message:
            match = re.search(r"(?:Read to|to) (\S+?)(?:/\*\*/\*\.parquet)? failed", message)
            path = match.group(1) if match else "?"
            missing = "the container does not exist" if "ContainerNotFound" in message else "no such blob"
            return FileNotFoundError(
                f"No lakehouse file matches `{path}` ({self._describe_root()}: {missing}). "
                "Check the code location, layer and table name, or list the files with `.list()`."
            )
        translated = super()._translate_error(error)
        message = redact(str(translated), self._secrets())
        return translated if message == str(translated) else type(translated)(message)

    # -- Delta tables ---------------------------------------------------------------------------
    def _blob_endpoint(self) -> str | None:
        """The blob service URL when it is not Azure's public one (Azurite, a sovereign cloud)."""
        parsed = _parse_connection_string(self._connection_string() or "")
        return parsed.get("BlobEndpoint") or self.endpoint

    def _is_emulator(self) -> bool:
        endpoint = self._blob_endpoint() or ""
        return endpoint.startswith("http://") and self._account() == _EMULATOR_ACCOUNT

    def _delta_uri(self, path: str) -> str:
        return f"az://{self.container}/{path}"

    def _point_at_emulator(self) -> None:
        """Azurite: delta-rs and DuckDB's delta extension find it only through `AZURITE_BLOB_STORAGE_URL`.

        (object_store's emulator mode; an explicit endpoint with the account in its path breaks delta-rs's
        log listing from the third commit on.) The variable is process-wide: one Azurite per process.
        """
        url = (self._blob_endpoint() or "").rstrip("/").removesuffix(f"/{_EMULATOR_ACCOUNT}")
        os.environ["AZURITE_BLOB_STORAGE_URL"] = url

    def _delta_storage_options(self) -> dict[str, str]:
        parsed = _parse_connection_string(self._connection_string() or "")
        options = {"account_name": self._account()}
        endpoint = self._blob_endpoint()
        if self._is_emulator():
            self._point_at_emulator()
            options.update(azure_storage_use_emulator="true", allow_http="true")
        elif endpoint:
            options["azure_storage_endpoint"] = endpoint.rstrip("/")
            if endpoint.startswith("http://"):
                options["allow_http"] = "true"
        cred = self.credential
        if parsed.get("AccountKey"):
            options["account_key"] = parsed["AccountKey"]
        elif parsed.get("SharedAccessSignature"):
            options["sas_key"] = parsed["SharedAccessSignature"].lstrip("?")
        elif isinstance(cred, ServicePrincipalCredential):
            options.update(
                azure_client_id=cred.client_id,
                azure_client_secret=cred.client_secret,
                azure_tenant_id=cred.tenant_id,
            )
        # default_credential: delta-rs uses workload identity / managed identity from the environment
        return options

    def _prepare_delta_write(self, path: str) -> None:
        from azure.core.exceptions import AzureError, ResourceExistsError

        try:
            self._container_client.create_container()
        except ResourceExistsError:
            pass
        except AzureError as e:
            raise self._storage_error(e, path, "write") from e

    def _prepare_delta_scan(self, con) -> bool:
        if not self._use_native():
            return False  # adlfs is not visible to the delta extension: read through delta-rs
        if self.endpoint and not self._connection_string() and self.endpoint.startswith("https://"):
            return False  # a sovereign cloud: the extension only knows Azure's public endpoint
        blob = self._blob_endpoint()
        if blob and blob.startswith("http://"):
            if not self._is_emulator():
                return False
            # The extension finds Azurite only through this variable (object_store's emulator mode).
            os.environ["AZURITE_BLOB_STORAGE_URL"] = blob.rstrip("/").removesuffix(f"/{_EMULATOR_ACCOUNT}")
        return load_delta_extension(con)

    # -- files --------------------------------------------------------------------------------
    def _storage_error(self, error: Exception, path: str, action: str) -> Exception:
        """An Azure SDK error as a built-in `OSError` naming the lakehouse path and Azure's error code."""
        from azure.core.exceptions import (
            AzureError,
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if not isinstance(error, AzureError):
            return error
        noun = "lakehouse files under" if action == "list" else "lakehouse file"
        where = f"{noun} `{path}` ({self._describe_root()})"
        unchanged = " The previous file, if any, is unchanged." if action == "write" else ""
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            detail = redact(
                str(error).splitlines()[0] if str(error) else type(error).__name__, self._secrets()
            )
            settled = (
                " The file is either the previous one or, if the commit got through, the complete new one."
                if action == "write"
                else ""
            )
            return ConnectionError(
                f"Could not {action} {where}: the storage could not be reached or dropped the connection "
                f"({type(error).__name__}: {detail}).{settled} Check the endpoint and network, then try again."
            )
        status = getattr(error, "status_code", None)
        code = getattr(error, "error_code", None)
        code = getattr(code, "value", code) or "no error code"
        first = (getattr(error, "message", None) or str(error)).strip().splitlines()
        text = redact(first[0] if first and not first[0].lstrip().startswith("<") else "", self._secrets())
        answer = (
            f"Azure Storage answered `{code}`"
            + (f" (HTTP {status})" if status else "")
            + (f": {text}" if text else "")
        )
        kind: type[OSError]
        if isinstance(error, ResourceNotFoundError) or status == 404:
            kind, hint = FileNotFoundError, " Check the container name and the path."
        elif isinstance(error, ClientAuthenticationError) or status in (401, 403):
            kind, hint = PermissionError, f" Check that the credential may {action} in this container."
        elif isinstance(error, HttpResponseError) and code == "InvalidBlockList":
            kind, hint = OSError, " The uploaded blocks were lost before the commit; run the write again."
        else:
            kind, hint = OSError, ""
        return kind(f"Could not {action} {where}. {answer}{unchanged}{hint}")

    def _store_file(self, local_file: str, path: str) -> None:
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

        client = self._container_client
        try:
            try:
                with open(local_file, "rb") as f:
                    client.upload_blob(path, f, overwrite=True, max_concurrency=self.upload_concurrency)
            except ResourceNotFoundError:
                try:
                    client.create_container()
                except ResourceExistsError:
                    pass  # another writer created it meanwhile
                with open(local_file, "rb") as f:
                    client.upload_blob(path, f, overwrite=True, max_concurrency=self.upload_concurrency)
        except AzureError as e:
            raise self._storage_error(e, path, "write") from e

    def _list(self, prefix: str) -> list[LakehouseFile]:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            return [
                LakehouseFile(b.name, b.size, b.last_modified)
                for b in self._container_client.list_blobs(name_starts_with=prefix or None)
            ]
        except ResourceNotFoundError:
            return []
        except AzureError as e:
            raise self._storage_error(e, prefix or "/", "list") from e

    def _delete(self, path: str) -> bool:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            self._container_client.delete_blob(path)
        except ResourceNotFoundError:
            return False
        except AzureError as e:
            raise self._storage_error(e, path, "delete") from e
        return True
