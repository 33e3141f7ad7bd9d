"""What a bulk load reports back, and the error it raises when it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dagster_cfwb.errors import CfwbError

__all__ = [
    "LOAD_MODES",
    "LoadError",
    "LoadMode",
    "LoadResult",
    "check_load_request",
    "refuse_duplicate_keys",
    "refuse_null_keys",
]

LoadMode = Literal["replace", "append", "upsert"]
LOAD_MODES = ("replace", "append", "upsert")


class LoadError(CfwbError, RuntimeError):
    """A bulk load failed; the target table was left exactly as it was before the load."""


@dataclass(frozen=True)
class LoadResult:
    """Outcome of `copy_from_df`: the table written, how, and how many rows were sent."""

    table: str
    mode: str
    rows: int
    seconds: float
    created: bool = False
    columns: list[str] = field(default_factory=list)
    # How the rows reached the table, e.g. ``on_conflict``/``delete_insert`` (PostgreSQL upsert),
    # ``on_duplicate_key``/``delete_insert`` (MySQL), ``merge`` (SQL Server, DB2); "" when not told.
    method: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def check_load_request(table: str, mode: str, keys, columns: list[str]) -> list[str]:
    """Validate mode and keys against the data's columns before any SQL runs; return the keys.

    Raises:
        ValueError: unknown mode, `upsert` without `keys`, or a key the data does not have.
    """
    if mode not in LOAD_MODES:
        raise ValueError(
            f"Unknown load mode `{mode}` for table `{table}`; expected one of {', '.join(LOAD_MODES)}."
        )
    key_list = [keys] if isinstance(keys, str) else list(keys or [])
    if mode == "upsert" and not key_list:
        raise ValueError(
            f"mode='upsert' into `{table}` needs `keys`: the column(s) that identify a row, e.g. keys=['id']."
        )
    missing = [k for k in key_list if k not in columns]
    if missing:
        raise ValueError(
            f"Key column(s) {missing} for table `{table}` are not in the data; the data has columns {columns}."
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValueError(f"The data for table `{table}` has duplicate column names {duplicates}.")
    return key_list


def refuse_duplicate_keys(cur, staging_sql: str, quoted_keys: list[str], table: str, keys: list[str]) -> None:
    """Before an upsert, raise ValueError if the staged rows hold several rows for one key.

    Which of two rows with the same key should win is ambiguous (PostgreSQL refuses it, MySQL keeps
    the last, `MERGE` may insert both), so every engine refuses it the same way, before the
    target table is touched.

    Args:
        cur: a DB-API cursor inside the load's transaction.
        staging_sql: the quoted staging table holding the incoming rows.
        quoted_keys: the key columns, quoted for the engine.
        table: the target table, for the message.
        keys: the key column names, for the message.
    """
    cols = ", ".join(quoted_keys)
    cur.execute(f"SELECT {cols} FROM {staging_sql} GROUP BY {cols} HAVING COUNT(*) > 1")
    duplicates = cur.fetchmany(3)
    if duplicates:
        examples = ", ".join(str(tuple(row)) for row in duplicates)
        raise ValueError(
            f"mode='upsert' into `{table}`: the data holds several rows for the same key {keys} "
            f"(for example {examples}). Keep one row per key before loading."
        )


def refuse_null_keys(cur, staging_sql: str, quoted_keys: list[str], table: str, keys: list[str]) -> None:
    """Before an upsert, raise ValueError if a staged row has no value (NULL) in a key column.

    A row without a key matches nothing, so every retry would insert it once more: the upsert
    could not promise "neither dropped nor duplicated". Refused on every engine, before the target
    table is touched.
    """
    condition = " OR ".join(f"{k} IS NULL" for k in quoted_keys)
    cur.execute(f"SELECT COUNT(*) FROM {staging_sql} WHERE {condition}")
    rows = cur.fetchall()
    count = int(rows[0][0]) if rows and rows[0][0] is not None else 0
    if count:
        raise ValueError(
            f"mode='upsert' into `{table}`: {count} row(s) of the data have no value (NULL) in key column(s) "
            f"{keys}; such a row matches nothing and a retry would insert it again. Fill the key or drop those rows."
        )
