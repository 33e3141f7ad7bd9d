"""Stream a JSON array or NDJSON file as Arrow batches through DuckDB, every number exact or refused.

DuckDB's `read_json` parses every number with a fraction or an exponent as a 64-bit float (even
for a `VARCHAR` or `DECIMAL` column), so `0.12345678901234567890` becomes
`0.12345678901234568`, `1e400` becomes `inf` and `1e-400` becomes `0`; an integer past
2^64 in a column of decimals is rounded too. The types are inferred from every record
(`sample_size = -1`), so a key that appears late, or a value of another kind further down, is not
dropped or cast. A second, vectorised pass (`read_json_objects` with a regular expression) finds the
records holding a number that a float could change (16 digits or more, or a 3-digit exponent):
only those are parsed again with Python's `json` module and checked exactly. A number that would
change is refused naming the key and the line, unless `schema` gives the key a type that holds it
(`string`, an integer or `decimal(p,s)`): then the exact value from the file is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.files.csv_numbers import float_changes
from dagster_cfwb.transfer.files.errors import FileParseError

__all__ = ["read_json_batches"]

# A number token (after `[`, `:`, `,` or a space) with 16 digits or more, or with a 3-digit exponent:
# the only ones that a 64-bit float may not hold exactly (15 significant digits always round-trip).
_RISKY = r"(^|[\[:,\s])-?[0-9][0-9.]{15,}|(^|[\[:,\s])-?[0-9][0-9.]*[eE][+-]?[0-9]{3}"
_FETCH_ROWS = 1024


class _Number(str):
    """A JSON number exactly as the file writes it."""


_DECODER = json.JSONDecoder(parse_float=_Number, parse_int=_Number)


def _is_real(token: str) -> bool:
    return "." in token or "e" in token or "E" in token


def _changed(value: Any, type_: pa.DataType, path: str) -> tuple[str, str, str] | None:
    """(path, number, what it becomes) of the first number of `value` that DuckDB would change."""
    if isinstance(value, _Number):
        if _is_real(value) or pa.types.is_floating(type_):
            became = float_changes(value)
            return (path, str(value), became) if became else None
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            child = type_
            if pa.types.is_struct(type_):
                index = type_.get_field_index(key)
                child = type_.field(index).type if index >= 0 else pa.string()
            elif pa.types.is_map(type_):
                child = type_.item_type
            found = _changed(item, child, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        child = type_.value_type if pa.types.is_list(type_) or pa.types.is_large_list(type_) else pa.string()
        for i, item in enumerate(value):
            found = _changed(item, child, f"{path}[{i}]")
            if found:
                return found
    return None


def _dump(value: Any) -> str:
    """`value` as JSON text, its numbers written as in the file."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _exact(value: Any, type_: pa.DataType) -> Any:
    """`value` (parsed from the file) as a Python value for a column of `type_` given in `schema`."""
    if value is None:
        return None
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return value if isinstance(value, str) and not isinstance(value, _Number) else _dump(value)
    if isinstance(value, _Number) and pa.types.is_decimal(type_):
        return Decimal(value)
    if isinstance(value, _Number) and pa.types.is_integer(type_):
        number = Decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"{value} is not a whole number")
        return int(number)
    raise ValueError(f"{value} cannot be read exactly as {type_}")


def _holds_exactly(type_: pa.DataType) -> bool:
    """A type given in `schema` for which the file's own text of a number is used."""
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_decimal(type_)
        or pa.types.is_integer(type_)
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _line_of(path: str, record: int) -> int | None:
    """1-based line of the `record`-th non-blank line of an NDJSON file (slow: error path only)."""
    with open(path, "rb") as f:
        seen = 0
        for number, line in enumerate(f, 1):
            if line.strip():
                seen += 1
                if seen == record:
                    return number
    return None


def read_json_batches(
    con: Any,
    path: str,
    fmt: str,
    batch_rows: int,
    label: str,
    declared: Callable[[list[str]], dict[str, pa.DataType]],
    apply_schema: Callable[[pa.RecordBatch], pa.RecordBatch],
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Open `path` (`json` or `ndjson`) on the DuckDB connection `con`; it is closed with the stream.

    Args:
        declared: the columns typed in `schema`, given the file's column names.
        apply_schema: casts a batch to the types given in `schema`.

    Raises:
        FileParseError: a number that would change (naming the key, the number and the line), or a
            file that DuckDB cannot parse.
    """
    import duckdb

    json_format = "newline_delimited" if fmt == "ndjson" else "auto"
    query = "SELECT * {} FROM read_json(?, format = ?, records = 'true', sample_size = -1)"
    result = con.execute(query.format(""), [path, json_format])
    mixed = [name for name, type_, *_ in result.description if str(type_) == "JSON"]
    reader = result.to_arrow_reader(batch_rows)
    file_schema = reader.schema
    types = declared(file_schema.names)
    nested_text = [
        name
        for name, t in types.items()
        if (pa.types.is_string(t) or pa.types.is_large_string(t))
        and name in file_schema.names
        and name not in mixed
        and pa.types.is_nested(file_schema.field(name).type)
    ]
    if mixed or nested_text:
        # A key holding values of several kinds (`1`, `"x"`) is DuckDB's JSON type, whose strings keep
        # their quotes: read it as text (`x`, `1`). A nested value given as `string`: its JSON text.
        replace = [f"{_quoted(name)} ->> '$' AS {_quoted(name)}" for name in mixed]
        replace += [f"to_json({_quoted(name)})::VARCHAR AS {_quoted(name)}" for name in nested_text]
        reader.close()
        result = con.execute(query.format(f"REPLACE ({', '.join(replace)})"), [path, json_format])
        reader = result.to_arrow_reader(batch_rows)
        file_schema = reader.schema
    exact_columns = {name: t for name, t in types.items() if _holds_exactly(t)}
    skip = {name for name, t in types.items() if pa.types.is_floating(t)}  # a float given: rounding accepted
    risky = con.cursor()
    risky.execute(
        "SELECT ordinality, json FROM read_json_objects(?, format = ?) WITH ORDINALITY "
        "WHERE regexp_matches(json, ?)",
        [path, json_format, _RISKY],
    )

    def refuse(record: int, key: str, where: str, number: str, became: str) -> FileParseError:
        line = _line_of(path, record) if fmt == "ndjson" else None
        at = "" if line else f"record {record:,}: "
        inside = f" (at `{where}`)" if where != key else ""
        example = "decimal(38,18)" if _is_real(number) else "decimal(38,0)"
        if inside:  # a nested value: only its JSON text keeps the number
            hint = f"Give the key's type in `schema` as {{{key!r}: 'string'}} to keep its JSON text with the exact number."
        else:
            hint = (
                f"Give the key's type in `schema`, e.g. {{{key!r}: 'string'}} or {{{key!r}: {example!r}}} to keep "
                f"the exact number, or {{{key!r}: 'float64'}} to accept the rounding."
            )
        return FileParseError(
            label,
            f"{at}key `{key}`{inside}: the number {number} would become {became} (DuckDB reads JSON "
            "numbers as 64-bit floats).",
            line=line,
            hint=hint,
        )

    def flagged() -> Iterator[tuple[int, str]]:
        while True:
            rows = risky.fetchmany(_FETCH_ROWS)
            if not rows:
                return
            yield from rows

    def patch(batch: pa.RecordBatch, fixes: dict[str, dict[int, Any]]) -> pa.RecordBatch:
        columns = list(batch.columns)
        for name, values in fixes.items():
            index = batch.schema.get_field_index(name)
            column = columns[index]
            mask = [False] * batch.num_rows
            for row in values:
                mask[row] = True
            replacements = pa.array([values[row] for row in sorted(values)], type=column.type)
            columns[index] = pc.replace_with_mask(column, pa.array(mask), replacements)
        return record_batch(columns, batch.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        pending = flagged()
        next_flag = next(pending, None)
        offset = 0
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (duckdb.Error, pa.ArrowInvalid) as e:
                    raise FileParseError(label, duckdb_message(e, path)) from None
                fixes: dict[str, dict[int, Any]] = {}
                while next_flag is not None and next_flag[0] <= offset + batch.num_rows:
                    record, text = next_flag
                    parsed = _DECODER.decode(text)
                    for key, value in parsed.items() if isinstance(parsed, dict) else ():
                        if key in skip or key not in file_schema.names:
                            continue
                        if key in exact_columns:
                            try:
                                fixes.setdefault(key, {})[record - offset - 1] = _exact(
                                    value, exact_columns[key]
                                )
                            except ValueError as e:
                                raise FileParseError(
                                    label,
                                    f"key `{key}` (record {record:,}) cannot be read as given in `schema`: {e}.",
                                ) from None
                            continue
                        found = _changed(value, file_schema.field(key).type, key)
                        if found:
                            raise refuse(record, key, *found)
                    next_flag = next(pending, None)
                batch = apply_schema(batch)
                if fixes:
                    try:
                        batch = patch(batch, fixes)
                    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                        raise FileParseError(
                            label, f"a value cannot be read as given in `schema`: {e}"
                        ) from None
                offset += batch.num_rows
                yield batch
        except duckdb.Error as e:
            raise FileParseError(label, duckdb_message(e, path)) from None
        finally:
            risky.close()
            con.close()

    return file_schema, batches()


def duckdb_message(error: Exception, path: str) -> str:
    """DuckDB's error without its SQL excerpt, the file's path written as `the file`."""
    text = str(error).split("\n\nLINE 1:")[0].strip()
    return text.replace(f'"{path}"', "the file").replace(path, "the file")
