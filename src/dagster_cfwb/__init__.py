"""dagster-cfwb: resources, YAML components and a platform template for one Dagster data platform.

Import what you need from its module, e.g.
`from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource`.
Catch `dagster_cfwb.CfwbError` to catch any error the package raises.
"""

from importlib.metadata import PackageNotFoundError, version

from dagster_cfwb.errors import CfwbError

try:
    __version__ = version("dagster-cfwb")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["CfwbError", "__version__"]

# The YAML components, reachable as ``dagster_cfwb.<Name>`` (what ``dg scaffold defs`` and
# ``type:`` in defs.yaml use). Imported lazily so ``import dagster_cfwb.transfer`` stays light.
_COMPONENTS = (
    "DataQualityChecksComponent",
    "DatabaseExportComponent",
    "LakehouseImportComponent",
    "NotificationsComponent",
    "ResourcesComponent",
)


def __getattr__(name: str):
    if name in _COMPONENTS:
        from dagster_cfwb import components

        return getattr(components, name)
    raise AttributeError(f"module 'dagster_cfwb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_COMPONENTS])
