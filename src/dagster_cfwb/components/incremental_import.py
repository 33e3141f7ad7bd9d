"""Exactly-once incremental imports: read the overlap window again, then merge by key or drop repeats.

A run of an import with `mode: incremental`:

1. `cut` = the largest `watermark_column` value already in the lakehouse table minus `lookback`.
2. The source rows with `watermark >= cut`, and those with an empty (NULL) watermark, are written to a
   staging file `<code_location>/<layer>/_incoming/<table>.parquet` (a leftover of a dead run is
   removed first and never read).
3. Before anything is written to the table: same columns and types as the table, no empty key, no key
   with two different rows at its largest watermark — else a clear refusal.
4. One DuckDB query merges the table and the staging file, streamed into `write_table`, which replaces
   the table file in one step. With `keys`: the rows of the table whose key was read are dropped
   (anti-join) and the rows read, one per key (the largest watermark), are added (`UNION ALL`).
   Without `keys`: the rows read minus the rows of the table's window (`EXCEPT ALL`, so a row already
   there is not added twice, and two identical source rows stay two) are added.
5. The staging file is removed in `finally`.

The table changes only in step 4 and step 4 derives everything from the table itself, so a run
retried after a failure at any step leaves exactly one copy of each source row.

On a Delta table (`format: delta`) the same checks and counts run over `delta_scan(...)`, and step 4
is one commit: with `keys`, a **merge** of the rows kept (one per key) — matched keys updated, new
keys inserted; without `keys`, an **append** of the rows read that the table's window lacks.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dagster_cfwb.components.incremental_window import parse_lookback, window_start
from dagster_cfwb.components.source_reading import Filter, WrittenTable, write_source
from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.delta.delta_write import DeltaWriteResult

__all__ = ["IncrementalCounts", "run_incremental_import", "staging_path"]

_LOG = logging.getLogger(__name__)


def staging_path(target: Any) -> str:
    """Staging file of an import's new rows: `<code_location>/<layer>/_incoming/<table>.parquet`."""
    return f"{target.code_location}/{target.layer}/_incoming/{target.table}.parquet"


@dataclass(frozen=True)
class IncrementalCounts:
    """What one incremental run did; `rows_read = rows_added + rows_updated + rows_deduplicated`."""

    rows_read: int
    rows_added: int
    rows_updated: int
    rows_deduplicated: int
    null_watermark_rows: int
    watermark_to: Any

    @property
    def changes_table(self) -> bool:
        return bool(self.rows_added or self.rows_updated)


def _orderable(kind: pa.DataType) -> bool:
    """Types a watermark may have: compared alike by every source database and DuckDB."""
    return (
        pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file(path: str) -> str:
    return "'azure://" + path.removeprefix("azure://").replace("'", "''") + "'"


def _relation(path: str, delta: bool) -> str:
    """The table in lakehouse SQL: `'azure://…'` (a Parquet file) or `delta_scan('azure://…')`."""
    return f"delta_scan({_file(path)})" if delta else _file(path)


def _schema(lakehouse, relation: str) -> pa.Schema:
    return lakehouse.query_blob_storage(f"SELECT * FROM {relation} LIMIT 0", output="arrow").schema


def _show(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else str(value)


class _Merge:
    """The DuckDB queries of one incremental run over the table file and the staging file."""

    def __init__(
        self,
        lakehouse,
        target: str,
        staging: str,
        column: str,
        keys: list[str],
        cut: Any,
        exists: bool,
        delta: bool = False,
    ):
        self.lakehouse, self.target, self.staging = lakehouse, target, staging
        self.column, self.keys, self.cut, self.exists = column, keys, cut, exists
        self.delta = delta
        self.table = _relation(target, delta)  # the table in SQL
        self.columns: list[str] = []
        self.stats: dict[str, Any] = {}

    def _one_row(self, sql: str, params: list | None = None) -> dict[str, Any]:
        table = self.lakehouse.query_blob_storage(sql, output="arrow", params=params)
        return {name: table.column(name)[0].as_py() for name in table.column_names}

    @property
    def _window(self) -> tuple[str, list]:
        """Rows of the table in the window read again: watermark >= cut, or NULL."""
        if self.cut is None:
            return "TRUE", []
        wm = _q(self.column)
        return f"({wm} >= ? OR {wm} IS NULL)", [self.cut]

    @property
    def _unique_keys(self) -> bool:
        return self.stats["distinct_keys"] == self.stats["n"]

    @property
    def _kept(self) -> str:
        """The rows read, one per key: the largest watermark (an empty watermark counts as the oldest)."""
        cols, keys = ", ".join(map(_q, self.columns)), ", ".join(map(_q, self.keys))
        if self._unique_keys:  # the usual case: no window function over the rows read
            return f"kept AS (SELECT {cols} FROM {_file(self.staging)})"  # names quoted
        return (
            f"kept AS (SELECT {cols} FROM {_file(self.staging)} "  # names quoted
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {_q(self.column)} DESC NULLS LAST) = 1)"
        )

    def read_stats(self) -> None:
        """Count the rows read, their empty watermarks and keys, and their distinct keys (one query)."""
        wm = _q(self.column)
        parts = ["count(*) AS n", f"count(*) FILTER (WHERE {wm} IS NULL) AS nulls", f"max({wm}) AS newest"]
        if self.keys:
            keys = ", ".join(map(_q, self.keys))
            empty = " OR ".join(f"{_q(k)} IS NULL" for k in self.keys)
            parts.append(f"count(*) FILTER (WHERE {empty}) AS null_keys")
            parts.append(
                f"(SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {_file(self.staging)})) AS distinct_keys"
            )
        self.stats = self._one_row(f"SELECT {', '.join(parts)} FROM {_file(self.staging)}")

    def check(self, source: str) -> None:
        """Refuse, before writing, a staging file that cannot be merged (the message says what to do)."""
        new = self.lakehouse.arrow_schema(self.staging)
        missing = [c for c in [self.column, *self.keys] if c not in new.names]
        if missing:
            raise ValueError(
                f"The incremental import of {source} needs the column(s) `{'`, `'.join(missing)}` "
                f"(`watermark_column`/`keys`), but the source returned only {new.names}."
            )
        kind = new.field(self.column).type
        if not _orderable(kind):
            raise ValueError(
                f"The watermark `{self.column}` of {source} arrives as `{kind}`: a watermark must be a "
                "timestamp, a date or a number, compared the same way in the source and the lakehouse (text "
                "is not: collations differ). Cast it in a source `query`, e.g. `CAST(x AS timestamp)`, or "
                "`x::numeric(20,0)` for a PostgreSQL `numeric` without precision (which arrives as text)."
            )
        if not self.exists:
            self.columns = list(new.names)
            return
        old = _schema(self.lakehouse, self.table)
        if sorted(old.names) != sorted(new.names):
            gone = sorted(set(old.names) - set(new.names))
            added = sorted(set(new.names) - set(old.names))
            raise ValueError(
                f"Cannot add the new rows to `{self.target}`: the source's columns changed (missing: {gone}, "
                f"new: {added}). Run once with `mode: replace` to rebuild the table with the new columns."
            )
        for field in old:
            found = new.field(field.name).type
            if not found.equals(field.type):
                raise ValueError(
                    f"Cannot add the new rows to `{self.target}`: column `{field.name}` is `{field.type}` in "
                    f"the table but `{found}` in the source now. Cast it in the source `query` to the old "
                    "type, or run once with `mode: replace` to rebuild the table."
                )
        self.columns = list(old.names)

    def check_keys(self, source: str) -> None:
        """Refuse rows without a key, and keys with two different rows at their largest watermark."""
        keys = ", ".join(map(_q, self.keys))
        nulls = self.stats["null_keys"]
        if nulls:
            raise ValueError(
                f"{nulls:,} rows read from {source} have no value in the key column(s) `{'`, `'.join(self.keys)}`: "
                "a row without a key cannot be merged. Filter them out in the source `query`, or declare "
                "`keys` that are never empty. Nothing was written."
            )
        if self._unique_keys:
            return
        cols = ", ".join(map(_q, self.columns))
        sql = (
            f"WITH d AS (SELECT DISTINCT {cols} FROM {_file(self.staging)}), "  # names quoted
            f"top AS (SELECT {keys} FROM d QUALIFY rank() OVER "
            f"(PARTITION BY {keys} ORDER BY {_q(self.column)} DESC NULLS LAST) = 1), "
            f"amb AS (SELECT {keys} FROM top GROUP BY {keys} HAVING count(*) > 1) "
            f"SELECT *, count(*) OVER () AS cfwb_n FROM amb LIMIT 3"
        )
        ambiguous = self.lakehouse.query_blob_storage(sql, output="arrow").to_pylist()
        if ambiguous:
            count = ambiguous[0]["cfwb_n"]
            examples = "; ".join(", ".join(f"{k}={row[k]!r}" for k in self.keys) for row in ambiguous)
            raise ValueError(
                f"{count:,} key(s) of {source} have several different rows with the same largest "
                f"`{self.column}` (e.g. {examples}): which one is current cannot be told. Declare `keys` "
                "that identify one row, or a `watermark_column` that changes with every update. "
                "Nothing was written."
            )

    def count(self) -> IncrementalCounts:
        stats = self.stats
        read = stats["n"]
        cols = ", ".join(map(_q, self.columns))
        where, params = self._window
        if self.keys and self.exists:
            keys = ", ".join(map(_q, self.keys))
            row = self._one_row(
                f"WITH {self._kept} SELECT "
                f"(SELECT count(*) FROM kept SEMI JOIN {self.table} AS t USING ({keys})) AS matched, "
                f"(SELECT count(*) FROM (SELECT {cols} FROM kept INTERSECT "
                f"SELECT {cols} FROM {self.table} WHERE {where})) AS unchanged",
                params,
            )
            added = stats["distinct_keys"] - row["matched"]
            updated = row["matched"] - row["unchanged"]
        elif self.keys:
            added, updated = stats["distinct_keys"], 0
        elif self.exists:
            added = self._one_row(
                f"SELECT count(*) AS n FROM (SELECT {cols} FROM {_file(self.staging)} EXCEPT ALL "
                f"SELECT {cols} FROM {self.table} WHERE {where})",
                params,
            )["n"]
            updated = 0
        else:
            added, updated = read, 0
        return IncrementalCounts(
            rows_read=read,
            rows_added=added,
            rows_updated=updated,
            rows_deduplicated=read - added - updated,
            null_watermark_rows=stats["nulls"],
            watermark_to=stats["newest"],
        )

    def merged_sql(self) -> tuple[str, list]:
        """The new content of the table, as one DuckDB query."""
        cols = ", ".join(map(_q, self.columns))
        if self.keys and not self.exists:
            return f"WITH {self._kept} SELECT {cols} FROM kept", []
        if self.keys:
            keys = ", ".join(map(_q, self.keys))
            t_cols = ", ".join(f"t.{_q(c)}" for c in self.columns)
            return (
                f"WITH {self._kept} SELECT {t_cols} FROM {self.table} AS t "
                f"ANTI JOIN kept USING ({keys}) UNION ALL SELECT {cols} FROM kept"
            ), []
        where, params = self._window
        return (
            f"SELECT {cols} FROM {self.table} UNION ALL "
            f"(SELECT {cols} FROM {_file(self.staging)} EXCEPT ALL "
            f"SELECT {cols} FROM {self.table} WHERE {where})"
        ), params

    def delta_sql(self) -> tuple[str, list]:
        """Delta: the rows one commit brings, merged by key (`kept`) or appended (rows not there yet)."""
        cols = ", ".join(map(_q, self.columns))
        if not self.exists:
            if self.keys:
                return f"WITH {self._kept} SELECT {cols} FROM kept", []
            return f"SELECT {cols} FROM {_file(self.staging)}", []
        where, params = self._window
        if self.keys:  # only the rows that are new or changed: the commit's counts are the real changes
            return (
                f"WITH {self._kept} SELECT {cols} FROM kept EXCEPT "
                f"SELECT {cols} FROM {self.table} WHERE {where}"
            ), params
        return (
            f"SELECT {cols} FROM {_file(self.staging)} EXCEPT ALL "
            f"SELECT {cols} FROM {self.table} WHERE {where}"
        ), params

    def write(self, batch_rows: int | None):
        """Stream the merged rows into `write_table` (one atomic replace of the table file, or one
        Delta commit)."""
        import duckdb

        if self.delta:
            sql, params = self.delta_sql()
            mode = "merge" if self.keys and self.exists else ("append" if self.exists else "replace")
            with self.lakehouse.duckdb_connection() as con:
                try:
                    reader = con.execute(self.lakehouse.sql_for(con, sql), params).to_arrow_reader(
                        batch_rows or DEFAULT_BATCH_ROWS
                    )
                    return self.lakehouse.write_table(
                        reader,
                        self.target,
                        format="delta",
                        mode=mode,
                        keys=self.keys if mode == "merge" else None,
                    )
                except duckdb.Error as e:
                    raise RuntimeError(
                        f"Merging the new rows into `{self.target}` failed: {e}. The table is unchanged."
                    ) from e

        sql, params = self.merged_sql()
        with self.lakehouse.duckdb_connection() as con:
            try:
                reader = con.execute(self.lakehouse.rewrite_sql(sql), params).to_arrow_reader(
                    batch_rows or DEFAULT_BATCH_ROWS
                )
                return self.lakehouse.write_table(reader, self.target)
            except duckdb.Error as e:
                raise RuntimeError(
                    f"Merging the new rows into `{self.target}` failed: {e}. The table is unchanged."
                ) from e


def run_incremental_import(
    imp: Any,
    resource: Any,
    lakehouse: Any,
    *,
    batch_rows: int | None = None,
    log: Any = None,
    table_format: str = "parquet",
) -> WrittenTable:
    """Run one `mode: incremental` import: read the window, merge into the table, report what changed.

    A plain function (no Dagster context) so that it can be called, and interrupted, on its own.

    Args:
        imp: the import (an `ImportModel`): `source`, `target`, `watermark_column`, `keys`, `lookback`.
        resource: the resource of `imp.source.resource_key` (it reads the source).
        lakehouse: the lakehouse resource holding the table.
        batch_rows: rows per batch read from the source (default: the resource's setting).
        log: where progress goes (`context.log` in a run); default: this module's logger.
        table_format: `parquet` (the table is one file, replaced) or `delta` (one merge/append commit).

    Returns:
        The table written, with the counts and the watermark range in `extra_metadata`.

    Raises:
        ValueError: the new rows cannot be merged (columns changed, empty keys, ambiguous keys, a
            `lookback` that does not fit the watermark): nothing was written.
    """
    log = log or _LOG
    source, column, keys = imp.source, imp.watermark_column, list(imp.keys or [])
    delta = table_format == "delta"
    target, staging = imp.target.path, staging_path(imp.target)
    if delta:
        target = target.removesuffix(".parquet")
    table = _relation(target, delta)
    described = f"`{source.describe()}`"
    exists = lakehouse.is_delta_table(target) if delta else lakehouse.exists(target)
    cut = None
    if exists:
        names = _schema(lakehouse, table).names
        if column not in names:
            raise ValueError(
                f"The lakehouse table `{target}` has no column `{column}` (`watermark_column`); its columns: "
                f"{names}. Run once with `mode: replace`, or fix `watermark_column`."
            )
        newest = (
            lakehouse.query_blob_storage(
                f"SELECT max({_q(column)}) AS newest FROM {table}",
                output="arrow",
            )
            .column(0)[0]
            .as_py()
        )
        if isinstance(newest, dt.datetime) and newest.tzinfo is not None:
            # DuckDB answers in its session time zone (the machine's); some drivers (pymysql) bind a
            # datetime's wall clock without its zone, and the source sessions are in UTC
            newest = newest.astimezone(dt.UTC)
        cut = window_start(newest, parse_lookback(imp.lookback), column)
    filters = [Filter(column, ">=", cut, or_null=True)] if cut is not None else []
    log.info(
        f"Incremental import: reading rows with `{column}` >= {_show(cut)} or empty."
        if cut is not None
        else "Incremental import: reading every row (the table is new or has no watermark yet)."
    )
    # a first run without keys: nothing to merge, write the table itself (Delta: always staged)
    direct = not exists and not keys and not delta
    read_into = target if direct else staging
    merge = _Merge(lakehouse, target, read_into, column, keys, cut, exists, delta)
    try:
        lakehouse.delete(staging)  # a leftover of a run that died: never read
        incoming = write_source(
            source,
            resource,
            lakehouse,
            read_into,
            filters=filters,
            batch_rows=batch_rows,
        )
        try:
            merge.check(described)
        except ValueError:
            if direct and not delta:  # the table did not exist before this run: leave nothing behind
                lakehouse.delete(target)
            raise
        merge.read_stats()
        if keys:
            merge.check_keys(described)
        counts = merge.count()
        if counts.null_watermark_rows:
            log.warning(
                f"{counts.null_watermark_rows:,} rows have an empty `{column}`: they are read again on every "
                f"run and {'merged by key' if keys else 'compared whole with the table'}."
            )
        if direct:
            result: Any = incoming
        elif counts.changes_table or not exists:
            result = merge.write(batch_rows)
        else:
            total = lakehouse.query_blob_storage(
                f"SELECT count(*) AS n FROM {table}",
                output="arrow",
            )
            result = WrittenTable(path=f"azure://{target}", rows=int(total.column(0)[0].as_py()))
            log.info("No new or changed rows: the table is unchanged.")
    finally:
        lakehouse.delete(staging)
    delta_metadata = result.metadata() if isinstance(result, DeltaWriteResult) else {}
    extra = {
        **incoming.extra_metadata,
        **delta_metadata,
        "watermark_column": column,
        "watermark_from": _show(cut) or "(all rows)",
        "watermark_to": _show(counts.watermark_to) or "(no rows read)",
        "merge_keys": ", ".join(keys) if keys else "(whole rows)",
        "rows_read": counts.rows_read,
        "rows_added": counts.rows_added,
        "rows_updated": counts.rows_updated,
        "rows_deduplicated": counts.rows_deduplicated,
        "null_watermark_rows": counts.null_watermark_rows,
    }
    return WrittenTable(
        path=result.path,
        rows=result.table_rows if getattr(result, "table_rows", None) is not None else result.rows,
        bytes=getattr(result, "bytes", None),
        schema=getattr(result, "schema", None),
        source_checksum=incoming.source_checksum,
        extra_metadata=extra,
    )
