"""`DataQualityChecksComponent`: declare data-quality checks on lakehouse tables, from YAML."""

from __future__ import annotations

from typing import Annotated

import dagster as dg
from dagster.components import Resolver
from pydantic import model_validator

from dagster_cfwb.checks.check_specs import build_table_checks
from dagster_cfwb.components.check_model import CheckModel, refuse_change_check_on_partitions
from dagster_cfwb.components.component_base import CfwbComponent
from dagster_cfwb.components.scaffolders import DataQualityChecksScaffolder
from dagster_cfwb.components.yaml_models import TableModel
from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = ["DataQualityChecksComponent", "TableChecksModel", "TableChecks"]


class TableChecks(dg.Model, dg.Resolvable):
    """The checks of one lakehouse table."""

    table: Annotated[
        TableModel,
        Resolver.default(description="The lakehouse table checked: `code_location`, `layer`, `table`."),
    ]
    partitioned: Annotated[
        bool,
        Resolver.default(
            description="True when the table is written by a partitioned import (one file per day/month); default false."
        ),
    ] = False
    checks: Annotated[
        list[CheckModel],
        Resolver.default(description="The checks; each has a `type` and the fields that type needs."),
    ]

    @model_validator(mode="after")
    def _check_partitioned(self):
        if self.partitioned:
            refuse_change_check_on_partitions(self.checks)
        return self


TableChecksModel = TableChecks  # former name; the UI shows a YAML block as `<class name>Model`


@dg.scaffold_with(DataQualityChecksScaffolder)
class DataQualityChecksComponent(CfwbComponent):
    """Data-quality checks on lakehouse tables: empty values, duplicates, allowed values, row counts,
    freshness, SQL rules and expected columns.

    Each check shows in the UI under its table's asset, with the number of failing rows and a sample
    of them. A check of severity `error` (default) is *blocking*: when it fails, the assets computed
    from that table in the same run are not materialised. `warn` only reports. The same checks can
    be written directly under `checks:` of an import.

    Example `defs.yaml`:

    ```yaml
    type: dagster_cfwb.DataQualityChecksComponent
    attributes:
      tables:
        - table: {code_location: enseignement, layer: stg, table: eleves}
          checks:
            - {type: not_null, columns: [id, nom]}
            - {type: unique, columns: [id]}
            - {type: accepted_values, column: statut, values: [actif, inactif]}
            - {type: row_count, min_rows: 1, max_change_percent: 20}
            - {type: freshness, column: updated_at, max_age_hours: 26, severity: warn}
            - {type: expression, sql: "age BETWEEN 2 AND 25", name: age_plausible}
            - {type: schema, expected_columns: {id: BIGINT, nom: VARCHAR}}
    ```
    """

    tables: Annotated[
        list[TableChecksModel],
        Resolver.default(
            description="The tables to check, each with its list of checks.",
            examples=[
                [
                    {
                        "table": {"code_location": "enseignement", "layer": "stg", "table": "eleves"},
                        "checks": [
                            {"type": "not_null", "columns": ["id"]},
                            {"type": "unique", "columns": ["id"]},
                        ],
                    }
                ]
            ],
        ),
    ]
    lakehouse_resource_key: Annotated[
        str,
        Resolver.default(
            description="Resource key of the lakehouse in this code location (default `lakehouse`).",
            examples=["lakehouse"],
        ),
    ] = "lakehouse"

    @model_validator(mode="after")
    def _check_key(self):
        validate_identifier(self.lakehouse_resource_key, what="resource key")
        return self

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        checks = []
        for entry in self.tables:
            t = entry.table
            path = f"{t.code_location}/{t.layer}/{t.table}/*.parquet" if entry.partitioned else t.path
            checks.append(
                build_table_checks(
                    asset_key=t.asset_key,
                    lakehouse_path=path,
                    checks=entry.checks,
                    lakehouse_key=self.lakehouse_resource_key,
                    name_suffix=str(context.path),
                )
            )
        return dg.Definitions(asset_checks=checks)
