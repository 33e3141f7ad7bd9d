"""`ResourcesComponent`: declare a code location's connections (resources) in YAML."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Literal

import dagster as dg
from dagster.components import Resolver
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.scaffolders import ResourcesScaffolder
from dagster_cfwb.components.yaml_errors import field_description
from dagster_cfwb.resources.secrets import MASK, is_secret_field
from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["RESOURCE_KINDS", "ResourceModel", "ResourcesComponent", "Resource"]

# kind → (module, class name); a kind whose module is not installed/landed yet gives a clear error.
RESOURCE_KINDS: dict[str, tuple[str, str]] = {
    "local_lakehouse": (
        "dagster_cfwb.resources.lakehouse.local_lakehouse_resource",
        "LocalLakehouseResource",
    ),
    "azure_adls": ("dagster_cfwb.resources.lakehouse.azure_adls_resource", "AzureAdlsResource"),
    "postgresql": ("dagster_cfwb.resources.db.postgresql_resource", "PostgreSQLResource"),
    "mysql": ("dagster_cfwb.resources.db.mysql_resource", "MySQLResource"),
    "mssql": ("dagster_cfwb.resources.db.mssql_resource", "MSSQLResource"),
    "db2": ("dagster_cfwb.resources.db.db2_resource", "DB2Resource"),
    "denodo": ("dagster_cfwb.resources.api.denodo_resource", "DenodoResource"),
    "rest_api": ("dagster_cfwb.resources.api.rest_api_resource", "RestApiResource"),
    "ftp": ("dagster_cfwb.resources.files.ftp_resource", "FTPResource"),
    "sftp": ("dagster_cfwb.resources.files.sftp_resource", "SFTPResource"),
    "nfs": ("dagster_cfwb.resources.files.nfs_resource", "NFSResource"),
}


def resource_class(kind: str) -> type[dg.ConfigurableResource]:
    """The resource class of `kind`; raises ValueError naming the kind when it is not available."""
    module_name, class_name = RESOURCE_KINDS[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(
            f"resource kind `{kind}` is not available in this installation ({e}); "
            "install the matching extra of dagster-cfwb or upgrade it"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:  # tolerate a different class spelling in the module
        candidates = [
            getattr(module, n)
            for n in getattr(module, "__all__", [])
            if isinstance(getattr(module, n), type)
            and issubclass(getattr(module, n), dg.ConfigurableResource)
        ]
        if len(candidates) != 1:
            raise ValueError(f"resource kind `{kind}`: `{module_name}` has no resource class `{class_name}`")
        cls = candidates[0]
    return cls


class Resource(dg.Model, dg.Resolvable):
    """One resource: its kind, its settings, and which settings come from environment variables."""

    kind: Annotated[
        Literal[
            "local_lakehouse",
            "azure_adls",
            "postgresql",
            "mysql",
            "mssql",
            "db2",
            "denodo",
            "rest_api",
            "ftp",
            "sftp",
            "nfs",
        ],
        Resolver.default(
            description=(
                "What to connect to: `local_lakehouse`, `azure_adls`, `postgresql`, `mysql`, `mssql`, `db2`, "
                "`denodo`, `rest_api`, `ftp`, `sftp`, `nfs`."
            )
        ),
    ]
    config: Annotated[
        dict[str, Any] | None,
        Resolver.default(
            description=(
                "Settings of the resource (host, port, database, root…), as documented for that resource. "
                "Values may use `{{ env('NAME') }}`, but the UI shows them: put passwords, keys and tokens in "
                "`secrets_from_env` instead."
            )
        ),
    ] = None
    secrets_from_env: Annotated[
        dict[str, str] | None,
        Resolver.default(
            description=(
                "Settings read from environment variables when a run starts (never stored in YAML or shown): "
                "setting → variable name, e.g. `{password: ECOLES_DB_PASSWORD}`."
            )
        ),
    ] = None

    @model_validator(mode="after")
    def _build_check(self):
        self.build()  # fail at load time, on this entry's line, with the resource's own messages
        return self

    def build(self) -> dg.ConfigurableResource:
        cls = resource_class(self.kind)
        settings: dict[str, Any] = dict(self.config or {})
        overlap = sorted(set(settings) & set(self.secrets_from_env or {}))
        if overlap:
            raise ValueError(f"{overlap} given both in `config` and in `secrets_from_env`; keep one")
        shown = sorted(
            name
            for name, value in settings.items()
            if is_secret_field(name) and isinstance(value, str) and value
        )
        if shown:  # Dagster shows a resource's plain `config` values in its UI (an EnvVar only by name)
            moved = ", ".join(f"{name}: <VARIABLE>" for name in shown)
            raise ValueError(
                f"{', '.join(f'`config.{n}`' for n in shown)} is a secret: the Dagster UI shows `config` values "
                f"to every user, even when they come from `{{{{ env(...) }}}}`. Move it to "
                f"`secrets_from_env: {{{moved}}}` (the variable's name is shown, never its value)"
            )
        for setting, variable in (self.secrets_from_env or {}).items():
            settings[setting] = dg.EnvVar(variable)
        unknown = [name for name in settings if name not in cls.model_fields]
        if unknown:  # Dagster resources silently ignore unknown settings: a typo would go unnoticed
            raise ValueError(_unknown_settings(cls, self.kind, unknown))
        try:
            return cls(**settings)
        except ValidationError as e:
            raise ValueError(_resource_problems(cls, self.kind, e)) from None


ResourceModel = Resource  # former name; the UI shows a YAML block as `<class name>Model`


def _unknown_settings(cls: type[BaseModel], kind: str, unknown: list[str]) -> str:
    import difflib

    valid = list(cls.model_fields)
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        problems.append(f"`config.{name}` is not a setting of a `{kind}` resource.{hint}")
    return " ".join(problems) + f" Valid settings of `{kind}`: {', '.join(valid)}."


def _resource_problems(cls: type[BaseModel], kind: str, error: ValidationError) -> str:
    import difflib

    valid = [n for n in cls.model_fields if not n.startswith("_")]
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        if item["type"] == "extra_forbidden" or field not in valid:
            close = difflib.get_close_matches(field, valid, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            problems.append(f"`config.{field}` is not a setting of a `{kind}` resource.{hint}")
        elif item["type"] == "missing":
            text = field_description(cls, field)
            problems.append(f"`config.{field}` is required" + (f" ({text})" if text else ""))
        else:
            found = MASK if is_secret_field(field) else repr(item.get("input"))
            problems.append(f"`config.{field}`: {item['msg'].lower()}; found {found}")
    return " ".join(problems) + f" Valid settings of `{kind}`: {', '.join(valid)}."


@dg.scaffold_with(ResourcesScaffolder)
class ResourcesComponent(CfwbComponent):
    """Declare the connections (resources) of a code location in YAML, secrets from the environment.

    The platform already gives every location `lakehouse` (also named `azure_adls`) and
    `postgresql`; declare here the *other* systems a department reads (its own databases, Denodo,
    file shares, APIs) under new names, then use those names as `resource_key` in imports and
    exports.

    Example `defs.yaml`:

    ```yaml
    type: dagster_cfwb.ResourcesComponent
    attributes:
      resources:
        ecoles_db:
          kind: postgresql
          config: {host: "{{ env('ECOLES_DB_HOST') }}", database: ecoles, user: lecteur}
          secrets_from_env: {password: ECOLES_DB_PASSWORD}
    requirements:
      env: [ECOLES_DB_HOST]
    ```
    """

    resources: Annotated[
        dict[str, ResourceModel],
        Resolver.default(
            description="Resource key → resource. The key is what imports and exports name in `resource_key`.",
            examples=[
                {
                    "ecoles_db": {
                        "kind": "postgresql",
                        "config": {"host": "db.intranet.example", "database": "ecoles", "user": "lecteur"},
                        "secrets_from_env": {"password": "ECOLES_DB_PASSWORD"},
                    }
                }
            ],
        ),
    ]

    @field_validator("resources")
    @classmethod
    def _check_keys(cls, value: dict[str, ResourceModel]) -> dict[str, ResourceModel]:
        for key in value:
            validate_identifier(key, what="resource key")
        return value

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(resources={key: entry.build() for key, entry in self.resources.items()})
