"""A Dagster sensor that starts one run per new or changed file on an FTP/SFTP server or share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from dagster_cfwb.resources.files.file_server_base import FileServerResource
from dagster_cfwb.transfer.files.listing import RemoteFile

__all__ = ["FILE_PATH_TAG", "file_from_run_tags", "new_files_sensor"]

FILE_PATH_TAG = "cfwb/file_path"
FILE_SIZE_TAG = "cfwb/file_size"
FILE_MODIFIED_TAG = "cfwb/file_modified"


def _load_cursor(cursor: str | None) -> tuple[dict[str, str], dict[str, str]]:
    if not cursor:
        return {}, {}
    try:
        data = json.loads(cursor)
        return dict(data.get("done", {})), dict(data.get("seen", {}))
    except (ValueError, AttributeError):
        return {}, {}


def file_from_run_tags(tags: Mapping[str, str]) -> str | None:
    """The file a run was started for by `new_files_sensor` (`context.run.tags`), or None."""
    return tags.get(FILE_PATH_TAG)


def _is_stable(file: RemoteFile, previous: str | None, settle_seconds: float, now: float) -> bool:
    """A file is stable when it did not change since the last tick and is at least `settle_seconds` old.

    When the server gives no modification time, the file must be seen twice with the same size.
    """
    if previous is not None and previous != file.signature:
        return False  # still growing (or rewritten) since the last tick
    if file.modified is None:
        return previous == file.signature
    return now - file.modified.timestamp() >= settle_seconds


def new_files_sensor(
    resource: str | FileServerResource,
    pattern: str,
    *,
    target: Any = None,
    job: Any = None,
    name: str | None = None,
    recursive: bool = False,
    settle_seconds: float = 60,
    minimum_interval_seconds: int = 60,
    run_config: Callable[[RemoteFile], dict] | None = None,
    tags: Mapping[str, str] | None = None,
    max_runs_per_tick: int = 50,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> dg.SensorDefinition:
    """Build a sensor that requests one run for each new or changed file matching `pattern`.

    Each tick lists the files. A file triggers a run once it is *stable*: same size and modification
    time as at the previous tick, and last modified at least `settle_seconds` ago — so a file still
    being uploaded is skipped until it is complete. A file already processed with the same size and
    time is not processed again; if it is replaced (new size or time), it runs again. The run gets
    the tags `cfwb/file_path`, `cfwb/file_size` and `cfwb/file_modified`.

    Args:
        resource: the resource key (e.g. `"sftp_partenaire"`) of an FTP/SFTP/NFS resource in the
            Definitions, or the resource object itself.
        pattern: folder and file-name glob, e.g. `"depots/*.csv"`.
        target: the job or asset selection to run (`dg.AssetSelection.assets("eleves")`, a job…).
        job: alternatively, a job (kept for symmetry with `dg.sensor`).
        name: sensor name (default: `new_files_<pattern>`).
        recursive: also watch the sub-folders of the pattern's folder.
        settle_seconds: how long a file must stay unchanged before it is processed.
        minimum_interval_seconds: time between two ticks.
        run_config: function returning the run config for a file (e.g. to pass its path to an op).
        tags: extra tags for every run.
        max_runs_per_tick: at most this many runs per tick; the others wait for the next tick.
        default_status: `STOPPED` (default) or `RUNNING` when the code location loads.

    Example:

    ```python
    sensor = new_files_sensor(
        "sftp", "depots/*.csv",
        target=dg.AssetSelection.assets("stg_depots"), settle_seconds=120,
    )
    defs = dg.Definitions(
        assets=[stg_depots], sensors=[sensor], resources={"sftp": SFTPResource(...)}
    )
    ```
    """
    key = resource if isinstance(resource, str) else None
    safe_pattern = "".join(c if c.isalnum() else "_" for c in pattern).strip("_")
    sensor_name = name or f"new_files_{safe_pattern}"[:100]

    def evaluate(context: dg.SensorEvaluationContext, **resources: Any) -> dg.SensorResult:
        source: FileServerResource = resources[key] if key else resource  # type: ignore[assignment]
        done, seen = _load_cursor(context.cursor)
        files = source.list(pattern, recursive=recursive)
        now = time.time()
        requests: list[dg.RunRequest] = []
        waiting: dict[str, str] = {}
        listed = {f.path for f in files}
        for file in files:
            signature = file.signature
            if done.get(file.path) == signature:
                continue
            if (
                not _is_stable(file, seen.get(file.path), settle_seconds, now)
                or len(requests) >= max_runs_per_tick
            ):
                waiting[file.path] = signature
                continue
            run_tags = {
                **(tags or {}),
                FILE_PATH_TAG: file.path,
                FILE_SIZE_TAG: str(file.size),
                FILE_MODIFIED_TAG: file.modified.isoformat() if file.modified else "",
            }
            requests.append(
                dg.RunRequest(
                    run_key=f"{file.path}|{signature}",
                    run_config=run_config(file) if run_config else {},
                    tags=run_tags,
                )
            )
            done[file.path] = signature
        cursor = json.dumps(
            {"done": {p: s for p, s in done.items() if p in listed}, "seen": waiting}, sort_keys=True
        )
        if not requests:
            reason = (
                f"{len(waiting)} file(s) matching `{pattern}` still changing or younger than {settle_seconds:g} s"
                if waiting
                else f"No new file matching `{pattern}` on {source.describe()}"
            )
            return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return dg.sensor(
        name=sensor_name,
        minimum_interval_seconds=minimum_interval_seconds,
        target=target,
        job=job,
        required_resource_keys={key} if key else None,
        default_status=default_status,
        description=description or f"Starts a run for each new or changed file matching `{pattern}`.",
    )(evaluate)
