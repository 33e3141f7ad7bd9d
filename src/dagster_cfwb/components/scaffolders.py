"""Scaffolders: `dg scaffold defs dagster_cfwb.<Component> <path>` writes a commented example defs.yaml."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

__all__ = [
    "DataQualityChecksScaffolder",
    "DatabaseExportScaffolder",
    "ExampleYamlScaffolder",
    "LakehouseImportScaffolder",
    "NotificationsScaffolder",
    "ResourcesScaffolder",
]


class ExampleYamlScaffolder(dg.Scaffolder):
    """Writes `defs.yaml` with the component type and a commented, working example (`EXAMPLE`)."""

    EXAMPLE = ""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        folder = Path(request.target_path)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "defs.yaml"
        text = f"type: {request.type_name}\n\n{self.EXAMPLE.lstrip()}"
        if request.append and target.exists():
            text = target.read_text(encoding="utf-8").rstrip() + "\n---\n" + text
        target.write_text(text, encoding="utf-8")


class LakehouseImportScaffolder(ExampleYamlScaffolder):
    EXAMPLE = """
# Copy source tables into the lakehouse: one entry under `imports` = one table = one asset.
# Check this file with `cfwb check` (seconds), then `dg check defs`.
attributes:
  # lakehouse_resource_key: lakehouse     # resource key of the lakehouse (default: lakehouse)
  imports:
    - source:
        kind: database                   # database | denodo | file | api
        resource_key: postgresql         # the resource that connects to the source
        table: public.eleves             # or `query: SELECT ...` (database), `view:` (denodo),
                                         # `path:` (file), `endpoint:` (api)
      target:
        code_location: enseignement      # who owns the table
        layer: stg                       # stg (raw copy) | slv (cleaned) | gld (ready for reports)
        table: eleves                    # -> enseignement/stg/eleves.parquet
      mode: replace                      # replace | append | incremental (database and denodo)
      # With `mode: incremental`, each run reads only the rows with `watermark_column` >= the largest
      # value already imported minus `lookback` (and rows where it is empty), and merges them:
      # by `keys` (a changed row replaces its old version), or without keys by dropping rows already
      # in the table. No row is lost or imported twice, even when a run is retried.
      # watermark_column: updated_at     # timestamp, date or number that grows on insert/update
      # keys: [id]                       # columns that identify a row (recommended)
      # lookback: 1 hour                 # re-read window for late commits; default 1 hour for
      #                                  # timestamps, 0 for dates/numbers (e.g. `1000` for ids)
      description: Élèves inscrits, copie quotidienne de la base scolaire.
      owners: [anne.martin@example.org]  # data owner / steward
      # group: scolarite
      # tags: {domaine: scolarite}
      # partitions: {frequency: daily, start_date: "2024-01-01", column: date_inscription}
      # dashboard_url: https://vizu.example.org/eleves
      checks:
        - {type: not_null, columns: [id]}
        - {type: unique, columns: [id]}
        - {type: row_count, min_rows: 1, severity: warn}
"""


class DatabaseExportScaffolder(ExampleYamlScaffolder):
    EXAMPLE = """
# Copy lakehouse tables into a database table, after the lakehouse tables are updated.
attributes:
  exports:
    - tables:                            # one or several lakehouse tables (same columns)
        - {code_location: enseignement, layer: gld, table: eleves_par_ecole}
      resource_key: postgresql           # the database resource to write to
      table: reporting.eleves_par_ecole  # `table` or `schema.table`; table and schema created if missing
      mode: replace                      # replace (atomic swap) | append | upsert (+ keys: [id])
      # asset_name: eleves_par_ecole     # asset `enseignement/pg/eleves_par_ecole`; keep it if you rename `table`
      # keys: [ecole_id]
      # query: SELECT * FROM eleves_par_ecole WHERE annee >= 2020   # optional DuckDB SQL; the table
      #                                                             # is named after `table:` above
"""


class DataQualityChecksScaffolder(ExampleYamlScaffolder):
    EXAMPLE = """
# Data-quality checks on lakehouse tables. `severity: error` (default) blocks what is computed
# from the table in the same run; `warn` only reports.
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
"""


class NotificationsScaffolder(ExampleYamlScaffolder):
    EXAMPLE = """
# Tell people when runs fail (and optionally when checks fail or runs succeed).
# Secrets come from environment variables: list them under `requirements.env`.
attributes:
  name: enseignement_alerts              # unique name of this notification rule
  events: [run_failure, check_failure]   # run_failure | check_failure | run_success
  # jobs: [__ASSET_JOB]                  # only these jobs (default: all)
  # asset_prefixes: [enseignement/stg]   # only runs touching assets under these prefixes
  dagster_url: "{{ env('DAGSTER_URL') }}"  # to put a link to the run in messages
  teams:
    webhook_url: "{{ env('TEAMS_WEBHOOK_URL') }}"
  ntfy:
    server: https://ntfy.sh
    topic: enseignement-alerts
    # token: "{{ env('NTFY_TOKEN') }}"
  email:
    host: smtp.example.org
    port: 587
    sender: dagster@example.org
    to: [anne.martin@example.org]
    user: "{{ env('SMTP_USER') }}"
    password: "{{ env('SMTP_PASSWORD') }}"
requirements:
  env: [DAGSTER_URL, TEAMS_WEBHOOK_URL, SMTP_USER, SMTP_PASSWORD]
"""


class ResourcesScaffolder(ExampleYamlScaffolder):
    EXAMPLE = """
# Connections (resources) of this code location, declared in YAML. The platform already provides
# `lakehouse` (alias `azure_adls`) and `postgresql`: declare the *other* systems here, under new keys.
# Secrets: `secrets_from_env` names environment variables read when a run starts (never stored here).
attributes:
  resources:
    partage_service:                     # the key imports use in `resource_key`
      kind: nfs                          # local_lakehouse | azure_adls | postgresql | mysql | mssql | db2
                                         # | denodo | rest_api | ftp | sftp | nfs
      config: {root: /mnt/echanges/service}
    ecoles_db:
      kind: postgresql
      config:
        host: "{{ env('ECOLES_DB_HOST') }}"
        database: ecoles
        user: lecteur
      secrets_from_env: {password: ECOLES_DB_PASSWORD}
requirements:
  env: [ECOLES_DB_HOST]
"""
