"""When the enseignement pipelines run: a schedule, a sensor on the file share, and an asset job.

- ``enseignement_etablissements_daily`` (schedule, 06:30 Europe/Brussels): imports the schools; the
  cleaned, gold and PostgreSQL tables follow by themselves (their ``AutomationCondition.eager()``).
- ``enseignement_new_files_on_share`` (sensor): watches the department's share (resource
  ``partage_enseignement``, declared in ``ressources/defs.yaml``) and imports the partner-schools CSV
  again whenever a new or changed ``*.csv`` file has settled there.
- ``stg_inscriptions`` runs by its own ``on_cron`` condition (see ``inscriptions.py``).

Schedules, sensors and automation conditions only act when the Dagster daemon runs (``dagster dev``
starts one) and when they are switched on in the UI (Automation tab): schedules and sensors are
created stopped; the automation-condition sensor is on by default.
"""

import dagster as dg

from dagster_cfwb.sensors import new_files_sensor

etablissements_import_job = dg.define_asset_job(
    "enseignement_etablissements_import",
    selection=dg.AssetSelection.assets(["enseignement", "stg", "etablissements"]),
    # Run tags drive the queue limits of dagster.yaml (per source system, per code location).
    tags={"cfwb/source": "demo"},
    description="Import the schools into the lakehouse; the downstream layers follow automatically.",
)

etablissements_daily = dg.ScheduleDefinition(
    name="enseignement_etablissements_daily",
    job=etablissements_import_job,
    cron_schedule="30 6 * * *",
    execution_timezone="Europe/Brussels",
    description="Every day at 06:30 (Brussels time): import the schools.",
)

new_files_on_share = new_files_sensor(
    "partage_enseignement",
    "*.csv",
    target=dg.AssetSelection.assets(["enseignement", "stg", "ecoles_partenaires"]),
    name="enseignement_new_files_on_share",
    settle_seconds=60,
    tags={"cfwb/source": "files"},
    description="Imports the partner-schools CSV again when a new or changed `*.csv` file settles on the share.",
)
