"""Write Arrow data into a Delta table in one atomic commit: replace, append or merge.

Each write checks the data first (types by `delta_types`, the schema evolution rule, merge keys,
`replace_where`), then commits once through delta-rs. The commit is conditional: it succeeds only if
no other writer took the same version number. Appends that race retry on the new version (up to
`MAX_COMMIT_RETRIES` times); a replace or merge that conflicts with another writer's change fails
with `DeltaConflictError`. Either way the table is one writer's complete version, never a mix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.delta.delta_predicates import (
    check_replace_where,
    merge_predicate,
    quote_column,
    replace_where_predicate,
)
from dagster_cfwb.transfer.delta.delta_tables import _deltalake, open_delta, translate_delta_error
from dagster_cfwb.transfer.delta.delta_types import conform_batch, delta_stream, evolve_schema
from dagster_cfwb.transfer.identifiers import validate_identifier
from dagster_cfwb.transfer.lakehouse_types import lakehouse_stream

__all__ = ["DELTA_MODES", "MAX_COMMIT_RETRIES", "DeltaWriteResult", "write_delta"]

DeltaMode = Literal["replace", "append", "merge"]
DELTA_MODES = ("replace", "append", "merge")
MAX_COMMIT_RETRIES = 15  # an append that lost the race for a version number tries the next one
_COMPRESSION = {"none": "UNCOMPRESSED", "uncompressed": "UNCOMPRESSED"}


@dataclass(frozen=True)
class DeltaWriteResult:
    """The commit a Delta write made: version, operation and row counts."""

    path: str  # azure://enseignement/stg/eleves
    version: int
    operation: str  # WRITE, MERGE (as in the table's history)
    mode: str
    num_rows: int  # rows in the data given
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    schema: pa.Schema = field(repr=False)
    columns_added: tuple[str, ...] = ()
    table_rows: int | None = None  # rows of the table at `version` (from the log's file statistics)

    @property
    def rows(self) -> int:
        """Rows in the data given (as `ParquetWriteResult.rows`)."""
        return self.num_rows

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def metadata(self) -> dict[str, Any]:
        """Plain values for asset metadata (the component adds the path as a link)."""
        return {
            "delta_version": self.version,
            "delta_operation": self.operation,
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_deleted": self.rows_deleted,
        }


class _Guarded:
    """Batches for delta-rs; remembers our own error raised mid-stream, which delta-rs would blur."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self.error: BaseException | None = None
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches:
                self.rows += batch.num_rows
                yield batch
        except Exception as e:
            self.error = e
            raise


def _writer_properties(compression: str):
    codec = _COMPRESSION.get(compression.lower(), compression.upper())
    return _deltalake().WriterProperties(compression=codec)


def _check_names(names: Sequence[str] | None, what: str, columns: list[str], path: str) -> list[str]:
    names = list(names or [])
    for name in names:
        validate_identifier(name, what=what)
        if name not in columns:
            raise ValueError(
                f"Delta table `{path}`: {what} `{name}` is not a column of the data "
                f"(columns: {', '.join(columns)}). Nothing was committed."
            )
    return names


def _check_keys(source: pa.Table, keys: list[str], path: str) -> None:
    for key in keys:
        nulls = source.column(key).null_count
        if nulls:
            raise ValueError(
                f"Cannot merge into Delta table `{path}`: key column `{key}` is null in {nulls} row(s) of the "
                "data, and a null key matches no row. Nothing was committed; the table stays at its last version."
            )
    if source.num_rows == 0:
        return
    counts = source.group_by(keys).aggregate([([], "count_all")])
    duplicated = counts.filter(pc.greater(counts["count_all"], 1))
    if duplicated.num_rows:
        sample = ", ".join(
            str({k: duplicated[k][i].as_py() for k in keys}) for i in range(min(3, duplicated.num_rows))
        )
        raise ValueError(
            f"Cannot merge into Delta table `{path}`: {duplicated.num_rows} key value(s) of "
            f"({', '.join(keys)}) appear more than once in the data, e.g. {sample}. A merge needs one row per "
            "key. Nothing was committed; the table stays at its last version. Deduplicate the data (keep the "
            "latest row per key) or add the column that tells the rows apart to `keys`."
        )


def _commit_of(table, write_id: str) -> dict:
    for entry in table.history(50):
        if entry.get("cfwb_write_id") == write_id:
            return entry
    return table.history(1)[0]  # pragma: no cover - 50 commits by others between ours and now


def write_delta(
    uri: str,
    storage_options: dict[str, str] | None,
    path: str,
    data: Any,
    *,
    mode: DeltaMode = "replace",
    keys: Sequence[str] | None = None,
    partition_by: Sequence[str] | None = None,
    replace_where: Mapping[str, object] | None = None,
    compression: str = "zstd",
) -> DeltaWriteResult:
    """Write `data` into the Delta table at `uri` in one commit.

    Args:
        uri: the table's folder (local path or `az://container/path`).
        storage_options: delta-rs object-store options (credentials, endpoint), or None.
        path: the lakehouse path, for results and messages (`enseignement/stg/eleves`).
        data: a polars/pandas DataFrame, an Arrow table or reader, or an iterator of record batches
            (streamed for `replace` and `append`; a `merge` holds its data in memory).
        mode: `replace` (the table's rows become `data`), `append`, or `merge` (update the rows whose
            `keys` match, insert the others).
        keys: the columns that identify a row, for `merge`.
        partition_by: columns whose values split the files into folders (set when the table is created).
        replace_where: `{"column": value}`: with `replace`, replace only the rows with these values.
        compression: Parquet codec of the data files (`zstd`, `snappy`, `gzip`, `none`).

    Raises:
        ValueError: a bad argument, merge keys null or duplicated, a value that would change.
        TypeError: a column Delta cannot store, or a type change against the table (with the diff).
        DeltaConflictError: a conflicting writer committed first (nothing of this write committed).
    """
    deltalake = _deltalake()
    if mode not in DELTA_MODES:
        raise ValueError(
            f"Unknown write mode `{mode}` for Delta table `{path}`; expected one of {', '.join(DELTA_MODES)}."
        )
    if mode == "merge" and not keys:
        raise ValueError(
            f"A merge into Delta table `{path}` needs `keys`: the columns that identify a row (e.g. "
            "`keys=['id']`). Nothing was committed."
        )
    if keys and mode != "merge":
        raise ValueError(f"`keys` are for mode `merge`; Delta table `{path}` is written with mode `{mode}`.")
    if replace_where is not None and mode != "replace":
        raise ValueError(
            f"`replace_where` is for mode `replace`; Delta table `{path}` is written with mode `{mode}`."
        )
    predicate = replace_where_predicate(replace_where, path) if replace_where is not None else None

    stream = delta_stream(lakehouse_stream(data, path), path)
    keys = _check_names(keys, "key", stream.schema.names, path)
    partition_by = _check_names(partition_by, "partition column", stream.schema.names, path)
    table = (
        open_delta(uri, storage_options, path)
        if deltalake.DeltaTable.is_deltatable(uri, storage_options)
        else None
    )
    if table is not None:
        table_schema = pa.schema(table.schema().to_arrow())
        schema, added = evolve_schema(table_schema, stream.schema, path)
        existing = list(table.metadata().partition_columns)
        if partition_by and partition_by != existing:
            raise ValueError(
                f"Delta table `{path}` is partitioned by {existing or 'nothing'}, not {partition_by}: the "
                "partitioning is set when a table is created. Drop `partition_by`, or write a new table."
            )
        for name in replace_where or {}:
            if name not in table_schema.names:
                raise ValueError(
                    f"`replace_where` of Delta table `{path}` names `{name}`, which the table lacks."
                )
    else:
        schema, added = stream.schema, []
    fill = mode != "merge"

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in stream:
            batch = conform_batch(batch, schema, path, fill_missing=fill)
            if replace_where is not None:
                check_replace_where(batch, replace_where, path)
            yield batch

    write_id = uuid.uuid4().hex
    commit = deltalake.CommitProperties(
        custom_metadata={"cfwb_write_id": write_id}, max_commit_retries=MAX_COMMIT_RETRIES
    )
    properties = _writer_properties(compression)
    written_schema = schema if fill else pa.schema([f for f in schema if f.name in stream.schema.names])
    rows_before = _rows_replaced(table, replace_where) if table is not None and mode == "replace" else 0
    merge_metrics: dict[str, Any] = {}
    guarded = _Guarded(batches())
    try:
        if mode == "merge" and table is not None:
            source = pa.Table.from_batches(list(guarded), schema=written_schema)
            _check_keys(source, keys, path)
            columns = {quote_column(c): f"source.{quote_column(c)}" for c in source.schema.names}
            merge_metrics = (
                table.merge(
                    source,
                    merge_predicate(keys),
                    source_alias="source",
                    target_alias="target",
                    merge_schema=bool(added),
                    writer_properties=properties,
                    commit_properties=commit,
                )
                .when_matched_update(updates=columns)
                .when_not_matched_insert(updates=columns)
                .execute()
            )
        else:
            if mode == "merge":  # first merge: the table is created with the data
                source = pa.Table.from_batches(list(guarded), schema=written_schema)
                _check_keys(source, keys, path)
                reader = pa.RecordBatchReader.from_batches(written_schema, source.to_batches())
            else:
                reader = pa.RecordBatchReader.from_batches(written_schema, iter(guarded))
            deltalake.write_deltalake(
                table if table is not None else uri,
                reader,
                mode="overwrite"
                if mode == "replace"
                else ("error" if table is None and mode == "merge" else "append"),
                partition_by=partition_by or None,
                predicate=predicate,
                schema_mode="merge" if added else None,
                storage_options=storage_options if table is None else None,
                writer_properties=properties,
                commit_properties=commit,
            )
    except Exception as e:
        if guarded.error is not None:
            raise guarded.error from None
        raise translate_delta_error(e, path) from None
    after = open_delta(uri, storage_options, path)
    entry = _commit_of(after, write_id)
    metrics = entry.get("operationMetrics") or {}
    if mode == "merge" and merge_metrics:
        inserted = int(merge_metrics.get("num_target_rows_inserted", 0))
        updated = int(merge_metrics.get("num_target_rows_updated", 0))
        deleted = int(merge_metrics.get("num_target_rows_deleted", 0))
        num_rows = int(merge_metrics.get("num_source_rows", guarded.rows))
    else:
        inserted, updated, deleted = int(metrics.get("num_added_rows", guarded.rows)), 0, rows_before
        num_rows = guarded.rows
    return DeltaWriteResult(
        path=f"azure://{path}",
        version=int(entry["version"]),
        operation=str(entry.get("operation", "WRITE")),
        mode=mode,
        num_rows=num_rows,
        rows_inserted=inserted,
        rows_updated=updated,
        rows_deleted=deleted,
        schema=pa.schema(after.schema().to_arrow()),
        columns_added=tuple(added),
        table_rows=_table_rows(uri, storage_options, path, int(entry["version"])),
    )


def _table_rows(uri: str, storage_options: dict[str, str] | None, path: str, version: int) -> int | None:
    try:
        return open_delta(uri, storage_options, path, version=version).to_pyarrow_dataset().count_rows()
    except Exception:  # a count for metadata only; the commit is done
        return None


def _rows_replaced(table, replace_where: Mapping[str, object] | None) -> int:
    """Rows a replace removes: all of them, or those matching `replace_where` (from file statistics when possible)."""
    import pyarrow.dataset as ds

    dataset = table.to_pyarrow_dataset()
    if not replace_where:
        return dataset.count_rows()
    expression = None
    for column, value in replace_where.items():
        term = ds.field(column) == value
        expression = term if expression is None else expression & term
    return dataset.count_rows(filter=expression)
