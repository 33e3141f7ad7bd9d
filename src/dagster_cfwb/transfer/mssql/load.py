"""SQL Server bulk loads (`mssql-python` bulk copy of Arrow batches) and streamed extracts.

* Bulk path: `cursor.bulkcopy_arrow(table, batches)` — the driver's Rust core reads the Arrow
  buffers and streams them as TDS bulk-load packets, with no per-value Python work. It runs on its
  own connection and commits by itself, so appends go through a staging table (see
  `MSSQLDialect.transactional_bulk`) and the target only changes in our final transaction.
* Swap: `sp_rename` twice inside one transaction (SQL Server DDL is transactional), then the old
  table is dropped.
* Upsert: one `MERGE … WITH (HOLDLOCK)` from the staging table (needs no unique index).
* Orphans: staging names end with the creating session's `@@SPID`; a later load drops those whose
  session is not in `sys.dm_exec_sessions` (or logged in after the table was created). Listing
  every session needs `VIEW SERVER STATE`; without it nothing is dropped and a warning says so.
* Extract: `cursor.arrow_reader(batch_rows)` yields Arrow batches straight from the driver.

No SQL Server runs on the build machine: this module is tested against a recording fake driver
(generated SQL, call order, arguments), not a live server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS, ArrowStream
from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.mssql.types import arrow_to_mssql_type, mssql_type_holds
from dagster_cfwb.transfer.sql_dialect import LoadDialect

__all__ = ["MSSQLDialect", "iter_mssql_batches"]


class MSSQLDialect(LoadDialect):
    """Microsoft SQL Server: bulk copy of Arrow batches, sp_rename swap, MERGE upsert."""

    name = "mssql"
    engine = "SQL Server"
    transactional_bulk = False

    def column_type(self, data_type: pa.DataType, *, column: str, table: str, key: bool = False) -> str:
        return arrow_to_mssql_type(data_type, column=column, table=table, key=key)

    def type_holds(self, existing: str, data_type: pa.DataType) -> bool:
        return mssql_type_holds(existing, data_type)

    def __init__(self, bulk_timeout_seconds: int = 0, bulk_batch_rows: int = 0, table_lock: bool = True):
        self.bulk_timeout_seconds = bulk_timeout_seconds
        self.bulk_batch_rows = bulk_batch_rows
        self.table_lock = table_lock

    def table_columns(self, cursor, table: QualifiedName) -> dict[str, str] | None:
        cursor.execute(
            "SELECT c.name, TYPE_NAME(c.user_type_id), c.precision, c.scale, c.max_length FROM sys.columns c "
            "WHERE c.object_id = OBJECT_ID(?) ORDER BY c.column_id",
            (self.table(table),),
        )
        rows = cursor.fetchall()
        if not rows:
            return None
        columns = {}
        for name, type_name, precision, scale, _length in rows:
            columns[name] = (
                f"{type_name}({precision},{scale})" if type_name in ("decimal", "numeric") else type_name
            )
        return columns

    def has_unique_key(self, cursor, table, keys) -> bool:
        return True  # MERGE matches on the keys whether or not an index exists

    def session_sql(self) -> str:
        return "SELECT @@SPID"

    def staging_tables_query(self, schema):
        return (
            "SELECT t.name, t.create_date FROM sys.tables t WHERE t.schema_id = SCHEMA_ID(COALESCE(?, SCHEMA_NAME())) "
            "AND t.name LIKE '\\_cfwb\\_%' ESCAPE '\\'",
            (schema,),
        )

    def live_sessions(self, cursor):
        cursor.execute("SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE')")
        allowed = cursor.fetchall()
        if not allowed or allowed[0][0] != 1:
            return None  # without VIEW SERVER STATE only our own session is listed
        cursor.execute("SELECT session_id, login_time FROM sys.dm_exec_sessions")
        return {int(session): started for session, started in cursor.fetchall()}

    def swap_statements(self, table, staging, old) -> list[str]:
        def rename(source: QualifiedName, new_name: str) -> str:
            return f"EXEC sp_rename N'{self.table(source)}', N'{new_name}', 'OBJECT'"

        statements = [] if old is None else [rename(table, old.table)]
        return statements + [rename(staging, table.table)]

    def upsert_sql(self, table, staging, names, keys) -> str:
        return self.merge_sql(
            table,
            self.table(staging),
            names,
            keys,
            target_hint=" WITH (HOLDLOCK)",
            qualify_updates=True,
            terminator=";",
        )

    def bulk_insert(self, conn, table, stream: ArrowStream, *, on_progress=None, label=None) -> int:
        rows = 0

        def counted() -> Iterator[pa.RecordBatch]:
            nonlocal rows
            for batch in stream.batches:
                self.check_batch(batch, table=label or str(table))
                yield batch
                rows += batch.num_rows
                if on_progress is not None:
                    on_progress(rows)

        cursor = conn.cursor()
        try:
            result = cursor.bulkcopy_arrow(
                self.table(table),
                counted(),
                batch_size=self.bulk_batch_rows,
                timeout=self.bulk_timeout_seconds,
                column_mappings=[f.name for f in stream.schema],
                keep_nulls=True,
                table_lock=self.table_lock,
            )
        finally:
            cursor.close()
        return int(result.get("rows_copied", rows)) if isinstance(result, dict) else rows


def iter_mssql_batches(
    conn, sql: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of `sql` as Arrow record batches of at most `batch_rows` rows.

    Values go in `params` with `?` placeholders. At least one (possibly empty) batch is yielded.
    """
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params) if params is not None else cursor.execute(sql)
        reader = cursor.arrow_reader(batch_size=batch_rows)
        try:
            yielded = False
            for batch in reader:
                yield batch
                yielded = True
            if not yielded:
                yield pa.RecordBatch.from_arrays(
                    [pa.array([], f.type) for f in reader.schema], schema=reader.schema
                )
        finally:
            reader.close()
    finally:
        cursor.close()
