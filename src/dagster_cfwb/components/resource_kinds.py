"""The kind badge of an import's or export's asset, taken from the class of the resource it uses.

A component cannot see the resources a code location binds (they are bound after the components
are built), so a database asset is first given the placeholder kind `sql`; once the location's
`Definitions` hold their resources, `apply_resource_kinds` replaces it with the `asset_kind` of the
SQL resource the asset requires (`PostgreSQLResource.asset_kind == "postgres"`, `"mysql"`,
`"mssql"`, `"db2"`, `"denodo"`). The platform template calls it in `location_definitions`.
"""

from __future__ import annotations

import warnings

import dagster as dg

from dagster_cfwb.resources.protocols import ArrowSource, DatabaseTarget

__all__ = ["SQL_KIND", "apply_resource_kinds"]

SQL_KIND = "sql"


def apply_resource_kinds(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with each `sql` kind replaced by the `asset_kind` of the SQL resource its asset requires.

    An asset requiring no SQL resource, or several, keeps `sql`; nothing else changes.

    Example:

    ```python
    bound = dg.Definitions.merge(loaded, dg.Definitions(resources=resources))
    defs = apply_resource_kinds(bound)
    ```
    """
    resources = defs.resources or {}
    kind_of: dict[dg.AssetKey, str] = {}
    for definition in defs.assets or []:
        if not isinstance(definition, dg.AssetsDefinition):
            continue
        kinds = {
            resource.asset_kind
            for key in definition.required_resource_keys
            if isinstance(resource := resources.get(key), ArrowSource | DatabaseTarget)
        }
        if len(kinds) == 1:
            kind = kinds.pop()
            kind_of.update({spec.key: kind for spec in definition.specs if SQL_KIND in spec.kinds})
    if not kind_of:
        return defs

    def _with_kind(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key not in kind_of:
            return spec
        return spec.replace_attributes(kinds=(set(spec.kinds) - {SQL_KIND}) | {kind_of[spec.key]})

    with warnings.catch_warnings():  # `map_asset_specs` is marked "preview" in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=_with_kind)
