"""Open, read, inspect and maintain Delta tables (delta-rs), with errors that name the table.

Every function takes the table's storage URI (a local folder, or `az://container/path`) and the
object-store options of its backend; `path` is the lakehouse path used in messages
(`enseignement/stg/eleves`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from dagster_cfwb.errors import CfwbError

__all__ = [
    "DeltaConflictError",
    "delta_dataset",
    "delta_history",
    "is_delta_table",
    "open_delta",
    "optimize_delta",
    "read_delta",
    "restore_delta",
    "translate_delta_error",
    "vacuum_delta",
]

Version = int | str | datetime | None
_NOT_FOUND = re.compile(r"ContainerNotFound|404 Not Found")


class DeltaConflictError(CfwbError, RuntimeError):
    """Another writer committed a change to the same Delta table that conflicts with this one."""


def _deltalake():
    try:
        import deltalake
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Delta tables need the delta extra: pip install 'dagster-cfwb[delta]'") from e
    return deltalake


def is_delta_table(uri: str, storage_options: dict[str, str] | None = None) -> bool:
    """True if `uri` holds a Delta table (a `_delta_log` folder with at least one commit)."""
    try:
        return _deltalake().DeltaTable.is_deltatable(uri, storage_options=storage_options)
    except OSError as e:
        if _NOT_FOUND.search(str(e)):  # Azure: the container itself does not exist yet
            return False
        raise


def _missing_version(path: str, version: Version, detail: str) -> ValueError:
    return ValueError(
        f"Version {version} of Delta table `{path}` cannot be read: {detail}. Versions older than the "
        "retention of the last `vacuum` (7 days unless set otherwise) lose their data files. See "
        "`table_history(path)` for the versions and operations the table has."
    )


def translate_delta_error(error: Exception, path: str, *, version: Version = None) -> Exception:
    """A delta-rs error as a built-in error naming the lakehouse table (`FileNotFoundError`...)."""
    deltalake = _deltalake()
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, deltalake.exceptions.TableNotFoundError) or (
        version is None and "ContainerNotFound" in str(error)
    ):
        return FileNotFoundError(
            f"No Delta table at lakehouse path `{path}` ({message}). Check the code location, layer and "
            "table name, or list the files with `.list()`."
        )
    if isinstance(error, deltalake.exceptions.CommitFailedError):
        return DeltaConflictError(
            f"Another writer changed Delta table `{path}` at the same time, in a way that conflicts with "
            f"this write ({message}). Nothing was committed by this write; the table holds the other "
            "writer's version. Run the write again."
        )
    lowered = message.lower()
    if version is not None and any(
        w in lowered for w in ("not found", "no such file", "404", "missing file")
    ):
        return _missing_version(path, version, f"a data file is gone ({message})")
    if version is not None and "version" in lowered and ("invalid" in lowered or "not" in lowered):
        return _missing_version(path, version, f"the table has no such version ({message})")
    if isinstance(error, deltalake.exceptions.SchemaMismatchError):
        return TypeError(f"Delta table `{path}`: {message}. Nothing was committed.")
    if isinstance(error, deltalake.exceptions.DeltaError):
        return OSError(f"Delta table `{path}`: {message}")
    return error


def open_delta(uri: str, storage_options: dict[str, str] | None, path: str, *, version: Version = None):
    """The `DeltaTable` at `uri` (at `version`: a number, or a datetime / ISO text for "as of")."""
    deltalake = _deltalake()
    try:
        table = deltalake.DeltaTable(uri, storage_options=storage_options)
        if version is not None:
            table.load_as_version(version)
    except Exception as e:
        raise translate_delta_error(e, path, version=version) from None
    return table


def read_delta(
    uri: str, storage_options: dict[str, str] | None, path: str, *, version: Version = None
) -> pa.Table:
    """The whole Delta table (at `version`, if given) as an Arrow table."""
    table = open_delta(uri, storage_options, path, version=version)
    try:
        return pa.table(table.to_pyarrow_table())
    except Exception as e:
        raise translate_delta_error(e, path, version=version if version is not None else "latest") from None


def delta_dataset(uri: str, storage_options: dict[str, str] | None, path: str, *, version: Version = None):
    """The Delta table (at `version`, if given) as a lazy `pyarrow.dataset` (for DuckDB to scan)."""
    table = open_delta(uri, storage_options, path, version=version)
    return table.to_pyarrow_dataset()


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def delta_history(
    uri: str, storage_options: dict[str, str] | None, path: str, limit: int | None = None
) -> list[dict]:
    """The table's commits, newest first: `version`, `timestamp` (UTC), `operation`, `parameters`, `metrics`."""
    table = open_delta(uri, storage_options, path)
    entries = []
    for entry in table.history(limit):
        entries.append(
            {
                "version": entry.get("version"),
                "timestamp": _timestamp(entry.get("timestamp")),
                "operation": entry.get("operation"),
                "parameters": entry.get("operationParameters") or {},
                "metrics": entry.get("operationMetrics") or {},
                "write_id": entry.get("cfwb_write_id"),
            }
        )
    return entries


def restore_delta(uri: str, storage_options: dict[str, str] | None, path: str, version: Version) -> dict:
    """Make `version` the table's content again, as a new commit (history is kept); returns its metrics."""
    table = open_delta(uri, storage_options, path)
    current = table.version()
    if isinstance(version, int) and not 0 <= version <= current:
        raise _missing_version(path, version, f"the table's versions are 0 to {current}")
    try:
        metrics = table.restore(version)
    except Exception as e:
        raise translate_delta_error(e, path, version=version) from None
    return {"version": table.version(), "restored_version": version, **dict(metrics)}


def vacuum_delta(
    uri: str, storage_options: dict[str, str] | None, path: str, retention_days: float = 7
) -> list[str]:
    """Delete data files no version of the last `retention_days` days needs; returns their names.

    Time travel to a version older than the retention fails afterwards (its files are gone).
    """
    if retention_days < 0:
        raise ValueError(f"`retention_days` must be 0 or more, got {retention_days}.")
    table = open_delta(uri, storage_options, path)
    try:
        return table.vacuum(
            retention_hours=int(retention_days * 24), dry_run=False, enforce_retention_duration=False
        )
    except Exception as e:
        raise translate_delta_error(e, path) from None


def optimize_delta(uri: str, storage_options: dict[str, str] | None, path: str) -> dict:
    """Rewrite small data files into larger ones (one new version, same rows); returns the metrics."""
    table = open_delta(uri, storage_options, path)
    try:
        metrics = table.optimize.compact()
    except Exception as e:
        raise translate_delta_error(e, path) from None
    return {"version": table.version(), **dict(metrics)}
