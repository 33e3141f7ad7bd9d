"""Scaffolders of the platform template: `cfwb new location <name>`."""

from dagster_cfwb.scaffold.new_location import ScaffoldedLocation, scaffold_location, validate_location_name

__all__ = ["ScaffoldedLocation", "scaffold_location", "validate_location_name"]
