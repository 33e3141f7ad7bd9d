"""When the enseignement pipelines run: a schedule, a sensor on the file share, and an asset job.

- ``etablissements_daily`` (schedule, 06:30 Europe/Brussels): imports the schools; the cleaned,
  gold and PostgreSQL tables follow by themselves (their ``AutomationCondition.eager()``).
- ``new_files_on_share`` (sensor): watches the drop folder of the share and starts the schools
  import when a new or changed file appears there.
- ``stg_inscriptions`` runs by its own ``on_cron`` condition (see ``inscriptions.py``).

Schedules, sensors and automation conditions only act when the Dagster daemon runs (``dagster dev``
starts one) and when they are switched on in the UI (Automation tab) — sensors and schedules are
created stopped, except the automation-condition sensor which is on by default.
"""

import dagster as dg

from dagster_cfwb.deployment.share_sensor import folder_sensor

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

new_files_on_share = folder_sensor(
    name="enseignement_new_files_on_share",
    folder_env_var="CFWB_SHARE_ENSEIGNEMENT",
    default_folder="share/enseignement/inbox",
    job=etablissements_import_job,
    pattern="*.csv",
)
