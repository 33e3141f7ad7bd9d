"""Scaffolders of the platform template, used by the `cfwb` command: `cfwb new location <name>`."""

from dagster_cfwb.cli.scaffold.new_location import (
    ScaffoldedLocation,
    scaffold_location,
    validate_location_name,
)

__all__ = ["ScaffoldedLocation", "scaffold_location", "validate_location_name"]
