"""IBM DB2 (LUW) bulk loads with `ibm_db` array inserts, and streamed extracts.

* Bulk path: a prepared `INSERT … VALUES (?, …)` executed with `ibm_db.execute_many` (through
  `ibm_db_dbi`'s `executemany`): one round trip sends `insert_rows` rows as parameter arrays.
  It runs in the caller's transaction, so a failed append rolls back.
* Swap: `RENAME TABLE` twice in one transaction (DB2 DDL is transactional), then the old table
  is dropped. Upsert: one `MERGE` from the staging table (needs no unique index).
* Orphans: staging names end with the creating connection's `MON_GET_APPLICATION_HANDLE()`; a
  later load drops those whose handle is not listed by `MON_GET_CONNECTION` (or connected
  after the table was created). Without the right to run `MON_GET_CONNECTION` nothing is
  dropped and a warning says so.
* Extract: a forward-only cursor fetching `batch_rows` rows at a time, typed from
  `ibm_db.field_type/field_precision/field_scale` so every batch has the same schema.

No DB2 server runs on the build machine: this module is tested against a recording fake driver
(generated SQL, call order, arguments), not a live server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS, ArrowStream
from dagster_cfwb.transfer.db2.types import arrow_to_db2_type, db2_field_to_arrow, db2_type_holds
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.sql_dialect import LoadDialect, UnsupportedTypeError

__all__ = ["DB2Dialect", "db2_rows", "iter_db2_batches"]


def db2_rows(batch: pa.RecordBatch) -> list[tuple]:
    """Rows as Python tuples for `execute_many` (zoned timestamps as UTC, no zone)."""
    columns = []
    for col in batch.columns:
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = col.cast(pa.timestamp(col.type.unit))
        columns.append(col.to_pylist())
    return list(zip(*columns, strict=True))


class DB2Dialect(LoadDialect):
    """IBM DB2 LUW: ibm_db array inserts, RENAME TABLE swap, MERGE upsert."""

    name = "db2"
    engine = "DB2"

    def column_type(self, data_type: pa.DataType, *, column: str, table: str, key: bool = False) -> str:
        return arrow_to_db2_type(data_type, column=column, table=table, key=key)

    def type_holds(self, existing: str, data_type: pa.DataType) -> bool:
        return db2_type_holds(existing, data_type)

    def __init__(self, insert_rows: int = 10_000):
        self.insert_rows = insert_rows

    def check_batch(self, batch: pa.RecordBatch, *, table: str) -> None:
        for col, name in zip(batch.columns, batch.schema.names, strict=True):
            if pa.types.is_time(col.type) and len(col):
                micros = pc.cast(col, pa.time64("us")).cast(pa.int64())
                if pc.any(
                    pc.not_equal(pc.divide(micros, 1_000_000).cast(pa.int64()) * 1_000_000, micros)
                ).as_py():
                    raise UnsupportedTypeError(
                        f"Column `{name}` of table `{table}` holds times with fractions of a second; DB2 TIME "
                        "keeps whole seconds only. Expected whole seconds; store it as a timestamp or text."
                    )

    def table_columns(self, cursor, table: QualifiedName) -> dict[str, str] | None:
        cursor.execute(
            "SELECT COLNAME, TYPENAME, LENGTH, SCALE FROM SYSCAT.COLUMNS "
            "WHERE TABSCHEMA = COALESCE(CAST(? AS VARCHAR(128)), CURRENT SCHEMA) AND TABNAME = ? ORDER BY COLNO",
            (table.schema, table.table),
        )
        rows = cursor.fetchall()
        if not rows:
            return None
        return {
            name: f"{type_name.strip()}({length},{scale})"
            if type_name.strip().upper() == "DECIMAL"
            else type_name.strip()
            for name, type_name, length, scale in rows
        }

    def has_unique_key(self, cursor, table, keys) -> bool:
        return True  # MERGE matches on the keys whether or not an index exists

    def session_sql(self) -> str:
        return "SELECT MON_GET_APPLICATION_HANDLE() FROM SYSIBM.SYSDUMMY1"

    def staging_tables_query(self, schema):
        return (
            "SELECT TABNAME, CREATE_TIME FROM SYSCAT.TABLES "
            "WHERE TABSCHEMA = COALESCE(CAST(? AS VARCHAR(128)), CURRENT SCHEMA) AND TABNAME LIKE '\\_cfwb\\_%' ESCAPE '\\'",
            (schema,),
        )

    def live_sessions(self, cursor):
        try:
            cursor.execute(
                "SELECT APPLICATION_HANDLE, CONNECTION_START_TIME FROM TABLE(MON_GET_CONNECTION(CAST(NULL AS BIGINT), -2)) AS c"
            )
            rows = cursor.fetchall()
        except Exception:  # no EXECUTE right on MON_GET_CONNECTION: cannot tell who is alive
            return None
        return {int(handle): started for handle, started in rows}

    def swap_statements(self, table, staging, old) -> list[str]:
        statements = [] if old is None else [f"RENAME TABLE {self.table(table)} TO {self.q(old.table)}"]
        return statements + [f"RENAME TABLE {self.table(staging)} TO {self.q(table.table)}"]

    def upsert_sql(self, table, staging, names, keys) -> str:
        cols = ", ".join(self.q(n) for n in names)
        return self.merge_sql(table, f"(SELECT {cols} FROM {self.table(staging)})", names, keys)

    def bulk_insert(self, conn, table, stream: ArrowStream, *, on_progress=None, label=None) -> int:
        cols = ", ".join(self.q(f.name) for f in stream.schema)
        marks = ", ".join(["?"] * len(stream.schema))
        sql = f"INSERT INTO {self.table(table)} ({cols}) VALUES ({marks})"
        rows = 0
        cursor = conn.cursor()
        try:
            for batch in stream.batches:
                self.check_batch(batch, table=label or str(table))
                data = db2_rows(batch)
                for start in range(0, len(data), self.insert_rows):
                    cursor.executemany(
                        sql, tuple(data[start : start + self.insert_rows])
                    )  # ibm_db.execute_many
                rows += batch.num_rows
                if on_progress is not None:
                    on_progress(rows)
        finally:
            cursor.close()
        return rows


def iter_db2_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS, driver=None
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of `sql` as Arrow record batches of at most `batch_rows` rows.

    Args:
        conn: an `ibm_db_dbi` connection. Values go in `params` with `?` placeholders.
        driver: the `ibm_db` module (injectable for tests).
    """
    if driver is None:
        import ibm_db

        driver = ibm_db
    cursor = conn.cursor()
    try:
        cursor.execute(sql, tuple(params)) if params is not None else cursor.execute(sql)
        stmt = cursor.stmt_handler
        count = driver.num_fields(stmt)
        names = [driver.field_name(stmt, i) for i in range(count)]
        types = [
            db2_field_to_arrow(
                driver.field_type(stmt, i), driver.field_precision(stmt, i), driver.field_scale(stmt, i)
            )
            for i in range(count)
        ]
        schema = pa.schema([pa.field(n, t) for n, t in zip(names, types, strict=True)])
        yielded = False
        while True:
            rows = cursor.fetchmany(batch_rows)
            if not rows and yielded:
                break
            columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            arrays = [
                pa.array([v if v is None or not pa.types.is_string(t) else str(v) for v in col], t)
                for col, t in zip(columns, types, strict=True)
            ]
            yield record_batch(arrays, schema)
            yielded = True
            if len(rows) < batch_rows:
                break
    finally:
        cursor.close()
