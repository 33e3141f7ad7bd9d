"""MySQL/MariaDB bulk loads: `LOAD DATA LOCAL INFILE` from streamed temporary files.

A background thread (`transfer.prefetch`) encodes each Arrow batch to LOAD DATA text into a small
temporary file while the calling thread has the server load the previous one, so encoding and
server work overlap; at most `queue_depth` files exist at once, so disk and memory stay flat.
When the server refuses local files (`local_infile=OFF`), a warning says so and the rows go by
multi-row `INSERT` statements bound by the driver (slower, same result).

MySQL's LOAD DATA LOCAL turns bad values into warnings instead of errors; every chunk's warning
count is therefore checked and any warning fails the load (and rolls it back).

Ownership of staging tables: a loading connection holds the named lock
`dagster_cfwb_load_<8 hex>` (`GET_LOCK`, released by the server when the connection ends,
however it ends) whose hex part ends its staging table names. A later load drops the
`_cfwb_*` tables whose lock nobody holds (`IS_USED_LOCK` is NULL). Unlike
`information_schema.PROCESSLIST` — which shows only one's own sessions without the PROCESS
privilege — this works for every user. The temporary folders of the LOAD DATA files are removed
in `finally`, and those of dead processes at the start of the next load
(`dagster_cfwb.transfer.load_folders`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from contextlib import closing

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.load_folders import load_folder, remove_orphan_load_folders
from dagster_cfwb.transfer.mysql.text_protocol import encode_load_data_rows, is_hex_column, python_rows
from dagster_cfwb.transfer.mysql.types import arrow_to_mysql_type, mysql_type_holds
from dagster_cfwb.transfer.prefetch import prefetch
from dagster_cfwb.transfer.sql_dialect import STAGING_NAME, LoadDialect

__all__ = ["MySQLDialect", "load_data_sql"]

_log = logging.getLogger(__name__)
# staging names of versions before load owners (`_cfwb_stg_<target>_<8 hex>`): no lock to check,
# so they count as orphaned once older than a day (no load keeps its staging table that long)
_LEGACY_NAME = re.compile(r"_cfwb_(stg|old)_.*_[0-9a-f]{8}")
_LEGACY_AGE_SECONDS = 86_400
_LOCAL_REFUSED = (1148, 2068, 3948, 3950)  # "command not allowed", "LOAD DATA LOCAL … disabled"


def load_data_sql(conn, path: str, dialect: LoadDialect, table: QualifiedName, schema: pa.Schema) -> str:
    """The LOAD DATA LOCAL statement for a file written by `encode_load_data_rows`."""
    targets, sets = [], []
    for i, f in enumerate(schema):
        if is_hex_column(f.type):
            targets.append(f"@v{i}")
            sets.append(f"{dialect.q(f.name)} = UNHEX(@v{i})")
        else:
            targets.append(dialect.q(f.name))
    sql = (
        f"LOAD DATA LOCAL INFILE {conn.escape(path)} INTO TABLE {dialect.table(table)} CHARACTER SET utf8mb4 "
        f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
    )
    return sql + (f" SET {', '.join(sets)}" if sets else "")


class MySQLDialect(LoadDialect):
    """MySQL and MariaDB (InnoDB): LOAD DATA bulk path, RENAME TABLE swap, ON DUPLICATE KEY UPDATE."""

    name = "mysql"
    engine = "MySQL/MariaDB"
    native_upsert = "on_duplicate_key"

    def column_type(self, data_type: pa.DataType, *, column: str, table: str, key: bool = False) -> str:
        return arrow_to_mysql_type(data_type, column=column, table=table, key=key)

    def type_holds(self, existing: str, data_type: pa.DataType) -> bool:
        return mysql_type_holds(existing, data_type)

    def __init__(self, method: str = "auto", queue_depth: int = 2, insert_rows: int = 1000):
        if method not in ("auto", "load_data", "insert"):
            raise ValueError(f"Unknown MySQL bulk method `{method}`; expected auto, load_data or insert.")
        self.method = method
        self.queue_depth = queue_depth
        self.insert_rows = insert_rows

    def create_table_sql(self, table, schema, keys) -> str:
        return (
            super().create_table_sql(table, schema, keys)
            + " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        )

    def table_columns(self, cursor, table: QualifiedName) -> dict[str, str] | None:
        cursor.execute(
            "SELECT column_name, column_type FROM information_schema.columns "
            "WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name = %s ORDER BY ordinal_position",
            (table.schema, table.table),
        )
        rows = cursor.fetchall()
        return {r[0]: r[1] for r in rows} if rows else None

    # -- sessions and orphans (see the module docstring) -------------------------------------
    def session_sql(self) -> str:
        return "SELECT CONNECTION_ID()"

    def begin_load(self, cursor) -> str:
        remove_orphan_load_folders()
        for _ in range(3):  # a lock name already taken (a 1 in 4 billion chance) → another one
            token = secrets.token_hex(4)
            cursor.execute("SELECT CONNECTION_ID(), GET_LOCK(%s, 0)", (_lock_name(token),))
            session, granted = cursor.fetchone()
            if granted == 1:
                return f"{int(session)}_{token}"
        raise RuntimeError("MySQL/MariaDB: could not take a load lock (GET_LOCK) three times in a row.")

    def end_load(self, conn, owner: str) -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (_lock_name(owner.rsplit("_", 1)[-1]),))
        except Exception:  # the connection is gone: the server released the lock with it
            pass

    _SWAP_LOCK = "CONCAT('dagster_cfwb_swap_', SHA1(CONCAT(COALESCE(%s, DATABASE()), '.', %s)))"

    def lock_swap(self, cursor, table: QualifiedName) -> None:
        # information_schema is not transactional: without turns, a concurrent RENAME can hide
        # the table for an instant and the swap would try to create it (1050 "already exists")
        cursor.execute(f"SELECT GET_LOCK({self._SWAP_LOCK}, 60)", (table.schema, table.table))
        if cursor.fetchone()[0] != 1:
            raise RuntimeError(f"Another load kept swapping `{table}` for 60 seconds; try again later.")

    def unlock_swap(self, conn, table: QualifiedName) -> None:
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT RELEASE_LOCK({self._SWAP_LOCK})", (table.schema, table.table))
        except Exception:  # the connection is gone: the server released the lock with it
            pass

    def staging_tables_query(self, schema):
        # the age in seconds, computed by the server (create_time and NOW() in one time zone)
        return (
            "SELECT table_name, TIMESTAMPDIFF(SECOND, create_time, NOW()) FROM information_schema.tables "
            "WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name LIKE %s",
            (schema, "\\_cfwb\\_%"),
        )

    def find_orphans(self, cursor, table: QualifiedName) -> list[str]:
        cursor.execute(*self.staging_tables_query(table.schema))
        orphans = []
        for name, age in cursor.fetchall():
            match = STAGING_NAME.fullmatch(name)
            if match:
                cursor.execute("SELECT IS_USED_LOCK(%s)", (_lock_name(match.group(3)),))
                if cursor.fetchone()[0] is None:
                    orphans.append(name)
            elif _LEGACY_NAME.fullmatch(name) and age is not None and int(age) > _LEGACY_AGE_SECONDS:
                orphans.append(name)  # left by a version without owners: dropped once a day old
        return orphans

    def has_unique_key(self, cursor, table: QualifiedName, keys: list[str]) -> bool:
        cursor.execute(
            "SELECT index_name, GROUP_CONCAT(column_name ORDER BY column_name SEPARATOR ',') "
            "FROM information_schema.statistics WHERE table_schema = COALESCE(%s, DATABASE()) "
            "AND table_name = %s AND non_unique = 0 GROUP BY index_name",
            (table.schema, table.table),
        )
        wanted = ",".join(sorted(keys))
        return any(r[1] == wanted for r in cursor.fetchall())

    def drop_table_sql(self, table) -> str:
        return f"DROP TABLE IF EXISTS {self.table(table)}"  # a load killed mid-CREATE left nothing to drop

    def swap_statements(self, table, staging, old) -> list[str]:
        if old is None:
            return [f"RENAME TABLE {self.table(staging)} TO {self.table(table)}"]
        # One statement: both renames happen atomically, readers never see a missing table.
        return [
            f"RENAME TABLE {self.table(table)} TO {self.table(old)}, {self.table(staging)} TO {self.table(table)}"
        ]

    def swap_is_transactional(self) -> bool:
        return False

    def upsert_statements(self, cursor, table, staging, names, keys):
        statements, method = super().upsert_statements(cursor, table, staging, names, keys)
        if method != "delete_insert":
            return statements, method
        # Index the staged keys first (TEXT/BLOB keys by a 255-character prefix): the DELETE then
        # scans the target once and looks each row up in the staging table, instead of comparing
        # every pair of rows. ALTER commits on its own, before the DELETE + INSERT transaction.
        types = self.table_columns(cursor, staging) or {}
        parts = [
            f"{self.q(k)}(255)" if any(w in types.get(k, "").lower() for w in ("text", "blob")) else self.q(k)
            for k in keys
        ]
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in keys)
        return [
            f"ALTER TABLE {self.table(staging)} ADD INDEX ({', '.join(parts)})",
            f"DELETE t FROM {self.table(table)} AS t JOIN {self.table(staging)} AS s ON {on}",
            self.insert_select_sql(table, staging, names),
        ], method

    def upsert_sql(self, table, staging, names, keys) -> str:
        cols = ", ".join(self.q(n) for n in names)
        updates = [f"{self.q(n)} = VALUES({self.q(n)})" for n in names if n not in keys] or [
            f"{self.q(keys[0])} = {self.q(keys[0])}"
        ]
        return (
            f"INSERT INTO {self.table(table)} ({cols}) SELECT {cols} FROM {self.table(staging)} "
            f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
        )

    # -- bulk path ----------------------------------------------------------------------------
    def bulk_insert(self, conn, table, stream: ArrowStream, *, on_progress=None, label=None) -> int:
        label = label or str(table)
        method = self.method
        if method in ("auto", "load_data") and not _local_infile_allowed(conn):
            if method == "load_data":
                raise RuntimeError(
                    "The MySQL/MariaDB server refuses LOAD DATA LOCAL INFILE (local_infile=OFF); "
                    "set it ON (SET GLOBAL local_infile=1) or use bulk_method='insert'."
                )
            _log.warning(
                "MySQL/MariaDB server has local_infile=OFF: loading `%s` with multi-row INSERTs instead of "
                "LOAD DATA LOCAL INFILE (several times slower). Ask the DBA to SET GLOBAL local_infile=1.",
                label,
            )
            method = "insert"
        if method == "insert":
            return self._insert_rows(conn, table, stream, on_progress, label)
        return self._load_data(conn, table, stream, on_progress, label)

    def _insert_rows(self, conn, table, stream, on_progress, label: str) -> int:
        rows = 0
        cols = ", ".join(self.q(f.name) for f in stream.schema)
        marks = ", ".join(["%s"] * len(stream.schema))
        sql = f"INSERT INTO {self.table(table)} ({cols}) VALUES ({marks})"
        with conn.cursor() as cur:
            for batch in stream.batches:
                self.check_batch(batch, table=label)
                data = python_rows(batch, table=label)
                for start in range(0, len(data), self.insert_rows):
                    cur.executemany(sql, data[start : start + self.insert_rows])  # pymysql: multi-row INSERT
                rows += batch.num_rows
                if on_progress is not None:
                    on_progress(rows)
        return rows

    def _load_data(self, conn, table, stream: ArrowStream, on_progress, label: str) -> int:
        with load_folder() as folder:
            return self._load_data_in(folder, conn, table, stream, on_progress, label)

    def _load_data_in(self, folder: str, conn, table, stream: ArrowStream, on_progress, label: str) -> int:
        def written():
            for i, batch in enumerate(stream.batches):
                self.check_batch(batch, table=label)
                path = os.path.join(folder, f"chunk_{i}.tsv")
                with open(path, "wb") as fh:
                    fh.write(encode_load_data_rows(batch, table=label))
                yield path, batch.num_rows

        # files nobody will load (the load failed) are deleted as soon as the producer stops
        files = prefetch(
            written, self.queue_depth, name="cfwb-mysql-encoder", discard=lambda item: _unlink(item[0])
        )
        rows = 0
        with closing(files), conn.cursor() as cur:
            for path, n in files:
                try:
                    cur.execute(load_data_sql(conn, path, self, table, stream.schema))
                    _raise_on_warnings(cur, label)
                finally:
                    _unlink(path)
                rows += n
                if on_progress is not None:
                    on_progress(rows)
        return rows


def _lock_name(token: str) -> str:
    return f"dagster_cfwb_load_{token}"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _local_infile_allowed(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.local_infile")
        (value,) = cur.fetchone()
    return str(value) in ("1", "ON", "b'1'")


def _raise_on_warnings(cur, label) -> None:
    cur.execute("SELECT @@warning_count")
    (count,) = cur.fetchone()
    if int(count):
        cur.execute("SHOW WARNINGS LIMIT 3")
        details = "; ".join(f"{r[2]}" for r in cur.fetchall())
        raise ValueError(
            f"MySQL/MariaDB could not store {count} value(s) exactly in `{label}`: {details}. "
            "Nothing was kept; fix the data or the column types."
        )
