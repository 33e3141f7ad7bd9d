"""Sensors: start a run per new file on a file server or share (`new_files_sensor`), and turn run
failures, failed checks and successes into notifications (`build_notification_sensors`).

Sensors sit above `resources/` (they poll a `FileServerResource`) and `notifications/` (they send
its messages); neither imports this package.
"""

from dagster_cfwb.sensors.new_files import FILE_PATH_TAG, file_from_run_tags, new_files_sensor
from dagster_cfwb.sensors.run_notifications import (
    RunFilter,
    build_notification_sensors,
    failed_checks_of_run,
)

__all__ = [
    "FILE_PATH_TAG",
    "RunFilter",
    "build_notification_sensors",
    "failed_checks_of_run",
    "file_from_run_tags",
    "new_files_sensor",
]
