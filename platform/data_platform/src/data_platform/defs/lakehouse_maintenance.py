"""Nightly maintenance of the lakehouse's Delta tables: optimize (compact), then vacuum.

Job `lakehouse_maintenance` runs over every Delta table of the lakehouse (resource `lakehouse`);
schedule `lakehouse_maintenance_nightly` starts it at 03:30 (Brussels time) — switch it on in the
UI (Automation tab). Time travel and `restore_table` keep working for `RETENTION_DAYS` days; older
versions lose their data files. To keep a longer history, raise `RETENTION_DAYS` here, or set
`retention_days` in the run's config (Launchpad) for one run. See docs/lakehouse.md.
"""

from dagster_cfwb.deployment.lakehouse_maintenance import (
    DEFAULT_RETENTION_DAYS,
    lakehouse_maintenance_job,
    lakehouse_maintenance_schedule,
)

RETENTION_DAYS = DEFAULT_RETENTION_DAYS  # 7 days of time travel

lakehouse_maintenance = lakehouse_maintenance_job()
lakehouse_maintenance_nightly = lakehouse_maintenance_schedule(
    lakehouse_maintenance, cron_schedule="30 3 * * *", retention_days=RETENTION_DAYS
)
