"""dagster-cfwb: resources, YAML components and a platform template for one Dagster data platform.

Import what you need from its module, e.g.
``from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dagster-cfwb")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
