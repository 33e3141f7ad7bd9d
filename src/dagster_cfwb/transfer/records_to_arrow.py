"""Turn pages of JSON records (lists of dicts) into typed Arrow record batches with one stable schema.

The column types are inferred from the first `batch_rows` records (or given with `schema`) and
then held for every later page, so the batches can stream into one Parquet file:

- whole numbers → `int64`, numbers with decimals (or a mix) → `float64`, `true`/`false` →
  `bool`, text → `string`;
- nested objects and lists → JSON text (`string`), readable in DuckDB with `json_extract`;
- a column that is always `null` in the first batch, or mixes kinds (`1` and `"a"`) → `string`.

With `column_names="snake_case"` (what `RestApiResource.to_lakehouse` uses) the record keys
become safe identifiers (`Date de début` → `date_de_debut`, see `dagster_cfwb.transfer.column_names`);
`schema` still names the keys as the API sends them.

A later value that does not fit its column (`2.5` in a whole-number column, a new field that the
first batch did not have) stops the run with an error naming the page, the column and the fix
(pass `schema`), rather than writing a file with silently altered values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.transfer.column_names import check_column_names_mode, rename_schema
from dagster_cfwb.transfer.exact_cast import record_batch

__all__ = [
    "RecordsSchemaError",
    "TYPE_NAMES",
    "infer_records_schema",
    "parse_records_schema",
    "records_to_batches",
]

TYPE_NAMES: dict[str, pa.DataType] = {
    "string": pa.large_string(),
    "text": pa.large_string(),
    "json": pa.large_string(),
    "int": pa.int64(),
    "int64": pa.int64(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "float64": pa.float64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "datetime": pa.timestamp("us", tz="UTC"),
}


class RecordsSchemaError(CfwbError, ValueError):
    """Records do not fit the column types (or columns) fixed from the first batch or given by `schema`."""

    @property
    def page(self) -> int:
        """The page number named at the start of the message (0 if none)."""
        text = str(self)
        if text.startswith("page "):
            digits = text[5:].split(",")[0].split(":")[0]
            if digits.isdigit():
                return int(digits)
        return 0


def parse_records_schema(schema: Mapping[str, str | pa.DataType] | pa.Schema | None) -> pa.Schema | None:
    """Accept an Arrow schema or `{"column": "int64" | "float64" | "string" | "bool" | "date" | "timestamp" | "json"}`."""
    if schema is None or isinstance(schema, pa.Schema):
        return schema
    fields = []
    for name, kind in schema.items():
        if isinstance(kind, pa.DataType):
            fields.append(pa.field(name, kind))
            continue
        try:
            fields.append(pa.field(name, TYPE_NAMES[str(kind).lower()]))
        except KeyError:
            raise RecordsSchemaError(
                f"Unknown type {kind!r} for column `{name}`; expected one of {', '.join(sorted(TYPE_NAMES))}."
            ) from None
    return pa.schema(fields)


def _kind(values: list) -> pa.DataType:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.large_string()
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int}:
        return (
            pa.int64() if all(-(2**63) <= v < 2**63 for v in values if v is not None) else pa.large_string()
        )
    if kinds <= {int, float}:
        return pa.float64()
    return pa.large_string()


def infer_records_schema(records: list[dict]) -> pa.Schema:
    """Column names in first-seen order, each typed from its values (see the module docstring)."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return pa.schema([pa.field(name, _kind([r.get(name) for r in records])) for name in names])


_stdlib_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=str
).encode  # built once: no per-call setup

try:  # orjson (the `api` extra) encodes nested values 5-10x faster; the stdlib is the fallback
    import orjson as _orjson

    def _encode_json(value: Any) -> str:
        try:
            return _orjson.dumps(value, default=str).decode()
        except (TypeError, _orjson.JSONEncodeError):  # e.g. integers wider than 64 bits
            return _stdlib_encode(value)

except ImportError:  # pragma: no cover - depends on the environment

    def _encode_json(value: Any) -> str:
        return _stdlib_encode(value)


def _to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _encode_json(value)


def _column(values: list, data_type: pa.DataType, name: str, page: int) -> pa.Array:
    where = f"page {page}, column `{name}`"
    if pa.types.is_large_string(data_type) or pa.types.is_string(data_type):
        try:
            return pa.array(values, type=data_type)  # all text (or null): converted in C++
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return pa.array([_to_text(v) for v in values], type=data_type)
    try:
        if pa.types.is_integer(data_type):
            bad = next((v for v in values if isinstance(v, float) and not v.is_integer()), None)
            if bad is not None:
                raise RecordsSchemaError(
                    f"{where}: value {bad!r} has decimals but the column holds whole numbers ({data_type}). "
                    f"Pass schema={{'{name}': 'float64'}} to keep the decimals."
                )
            values = [int(v) if isinstance(v, float) else v for v in values]
        if pa.types.is_floating(data_type) and any(type(v) is bool for v in values):
            # Arrow would silently store true/false as 1.0/0.0
            raise TypeError("true/false is not a number")
        if pa.types.is_temporal(data_type):
            return pa.array([_to_text(v) for v in values], type=pa.large_string()).cast(data_type)
        return pa.array(values, type=data_type)
    except RecordsSchemaError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError) as e:
        raise RecordsSchemaError(
            f"{where}: a value does not fit the column type {data_type} ({e}). Pass schema={{'{name}': 'string'}} "
            "(or the right type) to fix the column's type."
        ) from None


def _check_objects(records: list, page: int) -> None:
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise RecordsSchemaError(
                f"page {page}, record {index + 1}: expected a JSON object, got {type(record).__name__} "
                f"({str(record)[:80]!r})."
            )


def _check_columns(records: list[dict], schema: pa.Schema, page: int) -> None:
    seen: set[str] = set().union(*(r.keys() for r in records)) if records else set()
    extra = sorted(seen - set(schema.names))
    if extra:
        raise RecordsSchemaError(
            f"page {page}: new field(s) {', '.join(f'`{c}`' for c in extra[:10])} that the first batch of "
            "records did not have. Pass `schema` listing every column (and its type) to fix the columns; "
            "fields not in `schema` are then left out."
        )


def _to_batch(records: list[dict], schema: pa.Schema, page: int) -> pa.RecordBatch:
    arrays = [_column([r.get(f.name) for r in records], f.type, f.name, page) for f in schema]
    return record_batch(arrays, schema)


def _merge(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if not batches:
        return pa.RecordBatch.from_pylist([], schema=schema)
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


def records_to_batches(
    pages: Iterable[list[dict]],
    *,
    schema: Mapping[str, str | pa.DataType] | pa.Schema | None = None,
    batch_rows: int = 50_000,
    column_names: str = "as_is",
) -> Iterator[pa.RecordBatch]:
    """Stream pages of records as Arrow record batches of about `batch_rows` rows, all with one schema.

    Args:
        pages: an iterable of record lists, e.g. `RestApiResource.iter_pages(...)`.
        schema: fixed columns and types (see `parse_records_schema`); fields not listed are left
            out and missing ones are null. Without it, types come from the first `batch_rows` records.
        batch_rows: rows gathered before a batch is emitted (also the type-inference window).
        column_names: `as_is` (default) keeps the record keys as column names; `snake_case`
            renames them to safe identifiers, each renamed field keeping its key as `original_name`
            metadata.

    Yields:
        Record batches; at least one (possibly empty) so the schema is always known.

    Raises:
        RecordsSchemaError: a record is not an object, a value does not fit its column, or a new
            field appears after the columns were fixed; the message names the page and the column.

    Example:
        >>> batch = next(records_to_batches([[{"id": 1, "tags": ["a"]}], [{"id": 2, "tags": []}]]))
        >>> batch.num_rows, str(batch.schema.field("tags").type)
        (2, 'large_string')
    """
    check_column_names_mode(column_names)
    renamed: pa.Schema | None = None
    for batch in _typed_batches(pages, parse_records_schema(schema), batch_rows):
        if renamed is None:
            renamed = rename_schema(batch.schema, column_names)
        yield batch if renamed is batch.schema else record_batch(batch.columns, renamed)


def _typed_batches(
    pages: Iterable[list[dict]], fixed: pa.Schema | None, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    infer = fixed is None
    pending: list[tuple[int, list[dict]]] = []  # raw pages waiting for the inferred schema
    pending_rows = 0
    ready: list[pa.RecordBatch] = []  # converted pages waiting to fill a batch
    ready_rows = 0
    page = 0
    yielded = False
    for records in pages:
        page += 1
        _check_objects(records, page)
        if fixed is None:
            pending.append((page, records))
            pending_rows += len(records)
            if pending_rows < batch_rows:
                continue
            fixed = infer_records_schema([r for _, rs in pending for r in rs])
            converted = [_to_batch(rs, fixed, p) for p, rs in pending]
            pending = []
        else:
            if infer:
                _check_columns(records, fixed, page)
            converted = [_to_batch(records, fixed, page)]
        ready.extend(converted)
        ready_rows += sum(b.num_rows for b in converted)
        if ready_rows >= batch_rows:
            yield _merge(ready, fixed)
            yielded = True
            ready, ready_rows = [], 0
    if fixed is None:
        fixed = infer_records_schema([r for _, rs in pending for r in rs])
        ready.extend(_to_batch(rs, fixed, p) for p, rs in pending)
    if ready or not yielded:
        yield _merge(ready, fixed)
