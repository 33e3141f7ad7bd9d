"""A sensor that starts a job when new or changed files appear in a folder of a share (NFS/SMB mount).

Used by the platform's demo locations until the file resources' own sensor (FTP/SFTP/NFS) is wired
in. The folder is read from an environment variable when the sensor runs, so each environment
(dev, staging, prod) can watch its own mount point.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

import dagster as dg

__all__ = ["folder_sensor", "scan_folder"]


def scan_folder(folder: Path, pattern: str) -> dict[str, str]:
    """Files of ``folder`` (recursively) matching ``pattern``, as ``{relative path: "mtime_ns:size"}``."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and fnmatch.fnmatch(path.name, pattern):
            stat = path.stat()
            found[path.relative_to(folder).as_posix()] = f"{stat.st_mtime_ns}:{stat.st_size}"
    return found


def folder_sensor(
    *,
    name: str,
    folder_env_var: str,
    default_folder: str,
    job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition,
    pattern: str = "*",
    minimum_interval_seconds: int = 60,
) -> dg.SensorDefinition:
    """Build a sensor that requests one run of ``job`` per new or changed file in a folder.

    Args:
        name: sensor name shown in the UI, e.g. ``"enseignement_new_files_on_share"``.
        folder_env_var: environment variable holding the folder to watch, e.g. ``CFWB_SHARE_ENSEIGNEMENT``.
        default_folder: folder watched when that variable is not set (relative to the working directory).
        job: the job to run; the file's path is passed as run tag ``cfwb/trigger_file``.
        pattern: file-name pattern, e.g. ``"*.csv"``.
        minimum_interval_seconds: how often the folder is listed.

    The cursor remembers each file's modification time and size, so a file is picked up once, and
    again only if it changes. A run key per file version makes a re-delivered tick harmless.
    """

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Starts `{job.name}` for each new or changed `{pattern}` file in the folder named by "
            f"`{folder_env_var}` (default `{default_folder}`)."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext):
        folder = Path(os.environ.get(folder_env_var, default_folder)).expanduser()
        seen = json.loads(context.cursor) if context.cursor else {}
        current = scan_folder(folder, pattern)
        changed = [path for path, version in current.items() if seen.get(path) != version]
        if not folder.is_dir():
            yield dg.SkipReason(f"Folder `{folder}` (from `{folder_env_var}`) does not exist yet.")
        elif not changed:
            yield dg.SkipReason(f"No new `{pattern}` file in `{folder}`.")
        for path in changed:
            yield dg.RunRequest(run_key=f"{path}@{current[path]}", tags={"cfwb/trigger_file": path})
        context.update_cursor(json.dumps(current, sort_keys=True))

    return _sensor
