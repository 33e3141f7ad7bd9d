"""Stream a CSV file as Arrow record batches, with errors that name the line.

Parsing is done by `pyarrow.csv.open_csv` (C++, block by block: memory holds a few blocks
whatever the file size). Non-UTF-8 files (Windows-1252, Latin-1) are transcoded on the fly.
When Arrow rejects a block, the file is scanned again with Python's `csv` module to find the
exact line — that slow path runs only on error.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dagster_cfwb.transfer.arrow_stream import DEFAULT_BATCH_ROWS
from dagster_cfwb.transfer.column_names import resolve_schema_keys, snake_case
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.files.csv_numbers import NumberColumns, keep_codes_as_text
from dagster_cfwb.transfer.files.errors import FileParseError

__all__ = ["NULL_MARKERS", "CsvOptions", "arrow_type", "read_csv_batches"]

_COLUMNS = re.compile(r"Expected (\d+) columns, got (\d+)")
_CONVERSION = re.compile(r"In CSV column #(\d+): .*conversion error to (\S+): invalid value '(.*)'", re.S)
_DECIMAL = re.compile(r"^decimal(?:128)?\((\d+),\s*(\d+)\)$")
# Arrow's streaming reader reads up to 32 blocks ahead in the background: memory ~ 32 x block size.
BLOCK_BYTES = 1 << 20
# Written for a missing value by R (`NA`), Excel (`#N/A`), SQL exports (`NULL`) and by hand (`N/A`).
# By default they are missing values in number, date and true/false columns only; a text column keeps
# them as text (they may be real values: `NA` is Namibia's country code) and the load reports them.
NULL_MARKERS = ("NA", "N/A", "n/a", "NULL", "null", "#N/A")


@dataclass(frozen=True)
class CsvOptions:
    """How to read a CSV file.

    Attributes:
        delimiter: field separator, e.g. `,` `;` or `\\t`.
        quote_char: character that surrounds fields holding delimiters or line breaks; None: no quoting.
        encoding: `utf-8` (a BOM is skipped), `windows-1252`/`cp1252`, `latin-1`…
        header: True when the first row holds the column names; False names them `column_1`…
        skip_rows: lines to skip before the header (e.g. a title line).
        decimal_comma: True for `3,14` style numbers (then use `;` as delimiter).
        null_values: texts read as missing values in every column, text columns included. Default
            (None): an empty field is missing in every column, and the `NULL_MARKERS` (`NA`,
            `N/A`, `n/a`, `NULL`, `null`, `#N/A`) are missing in number, date and true/false
            columns but kept as text in text columns.
        timestamp_formats: strptime formats for dates, e.g. `["%d/%m/%Y"]`; default ISO 8601. A `date`
            column of `schema` is read with them too and holds the day (a time of day is refused).
        schema: column types, e.g. `{"code": "string", "montant": "decimal(12,2)"}`; columns not
            named are inferred from the first `sample_bytes` of the file.
        sample_bytes: how much of the start of the file is read to infer the column types.
        block_bytes: size of each parsed block. Arrow reads up to 32 blocks ahead, so memory is
            about 32 x `block_bytes` (32 MiB by default) whatever the file size.
    """

    delimiter: str = ","
    quote_char: str | None = '"'
    encoding: str = "utf-8"
    header: bool = True
    skip_rows: int = 0
    decimal_comma: bool = False
    null_values: list[str] | None = None
    timestamp_formats: list[str] | None = None
    schema: dict[str, Any] | pa.Schema | None = None
    sample_bytes: int = 4 << 20
    block_bytes: int = BLOCK_BYTES


def arrow_type(spec: Any, column: str = "") -> pa.DataType:
    """An Arrow type from `"int64"`, `"string"`, `"date32"`, `"timestamp[us]"`, `"decimal(12,2)"`…

    Raises:
        ValueError: the text names no Arrow type.
    """
    if isinstance(spec, pa.DataType):
        return spec
    text = str(spec).strip().lower()
    aliases = {
        "str": "string",
        "text": "string",
        "int": "int64",
        "integer": "int64",
        "float": "float64",
        "double": "float64",
        "date": "date32",
        "datetime": "timestamp[us]",
        "timestamp": "timestamp[us]",
        "boolean": "bool",
    }
    text = aliases.get(text, text)
    match = _DECIMAL.match(text)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        raise ValueError(
            f"Unknown type `{spec}` for column `{column}`; expected e.g. string, int64, float64, bool, date32, "
            "timestamp[us] or decimal(12,2)."
        ) from None


def _codec(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"Unknown encoding `{encoding}`; expected e.g. utf-8, windows-1252 or latin-1."
        ) from None
    return "utf8" if name in ("utf-8", "utf-8-sig") else name


def _explicit_types(opts: CsvOptions) -> dict[str, pa.DataType]:
    if isinstance(opts.schema, pa.Schema):
        return {f.name: f.type for f in opts.schema}
    types = {name: arrow_type(t, name) for name, t in (opts.schema or {}).items()}
    if not opts.header:  # Arrow names the columns f0, f1…; the user names them column_1, column_2…
        types = {_autogenerated(name): t for name, t in types.items()}
    return types


def _readable(types: dict[str, pa.DataType], opts: CsvOptions) -> dict[str, pa.DataType]:
    """The types Arrow reads: with `timestamp_formats`, a date column is read as a timestamp (Arrow
    applies those formats to timestamps only) and turned into days by `_DateColumns`."""
    if not opts.timestamp_formats:
        return types
    return {n: _DATE_READ_AS if pa.types.is_date(t) else t for n, t in types.items()}


_DATE_READ_AS = pa.timestamp("s")


class _DateColumns:
    """Turns the timestamps read for `date` columns into dates, refusing a value with a time of day
    (a cast would drop it silently)."""

    def __init__(self, positions: dict[int, pa.DataType], names: list[str], label: str, opts: CsvOptions):
        self.positions, self.names, self.label, self.opts = positions, names, label, opts

    def convert(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        columns = list(batch.columns)
        for i, date_type in self.positions.items():
            read = columns[i]
            days = pc.cast(read, date_type, safe=False)
            back = pc.cast(days, read.type)
            differs = pc.fill_null(pc.not_equal(back, read), False)
            if pc.any(differs).as_py():
                value = read.filter(differs)[0].as_py()
                name = self.names[i] if i < len(self.names) else f"column #{i + 1}"
                raise FileParseError(
                    self.label,
                    f"column `{name}`: value {value.isoformat(sep=' ')} has a time of day, and the type "
                    f"given in `schema` is `date` (days only).",
                    hint=f"Give the column the type `timestamp` (e.g. {{{name!r}: 'timestamp'}}) to keep the time.",
                )
            columns[i] = days
        return record_batch(columns, schema)


def _autogenerated(name: str) -> str:
    match = re.fullmatch(r"column_(\d+)", name)
    return f"f{int(match.group(1)) - 1}" if match and int(match.group(1)) > 0 else name


def _arrow_options(opts: CsvOptions) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    column_names = None
    column_types = _explicit_types(opts)
    if isinstance(opts.schema, pa.Schema) and not opts.header:
        column_names = opts.schema.names
    read = pacsv.ReadOptions(
        encoding=_codec(opts.encoding),
        block_size=opts.block_bytes,
        skip_rows=opts.skip_rows,
        column_names=column_names,
        autogenerate_column_names=not opts.header and column_names is None,
    )
    parse = pacsv.ParseOptions(
        delimiter=opts.delimiter,
        quote_char=opts.quote_char if opts.quote_char else False,
        newlines_in_values=True,
    )
    default_nulls = opts.null_values is None
    convert = pacsv.ConvertOptions(
        column_types=_readable(column_types, opts),
        null_values=["", *NULL_MARKERS] if default_nulls else list(opts.null_values or ()),
        strings_can_be_null=not default_nulls,  # default: text keeps its markers ("" is made NULL below)
        decimal_point="," if opts.decimal_comma else ".",
        timestamp_parsers=opts.timestamp_formats,
    )
    return read, parse, convert


def _open_binary(path: str):
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def _first_undecodable(path: str, encoding: str) -> tuple[int, str] | None:
    """(line, problem) of the first byte sequence that `encoding` cannot decode."""
    codec = codecs.lookup(encoding).name
    with _open_binary(path) as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode(codec)
            except UnicodeDecodeError as e:
                bad = line[e.start : e.end].hex(" ")
                return number, f"byte(s) 0x{bad} at column {e.start + 1} are not valid {encoding}"
    return None


def _scan_rows(path: str, opts: CsvOptions) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each non-empty record, read slowly with Python's csv module."""
    codec = codecs.lookup(opts.encoding).name
    with _open_binary(path) as raw:
        import io

        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        for _ in range(opts.skip_rows):
            text.readline()
        reader = csv.reader(
            text,
            delimiter=opts.delimiter,
            quotechar=opts.quote_char or '"',
            quoting=csv.QUOTE_MINIMAL if opts.quote_char else csv.QUOTE_NONE,
            strict=False,
        )
        previous = 0
        for row in reader:
            start = previous + 1
            previous = reader.line_num
            if row:
                yield start + opts.skip_rows, row


def _locate(path: str, opts: CsvOptions, wanted: Callable[[int, list[str]], bool]) -> int | None:
    try:
        for index, (line, row) in enumerate(_scan_rows(path, opts)):
            if wanted(index, row):
                return line
    except csv.Error:
        return None
    return None


def _translate(
    error: Exception,
    path: str,
    opts: CsvOptions,
    label: str,
    names: list[str] | None = None,
    given: Collection[str] = (),
) -> FileParseError:
    """The FileParseError for an Arrow/decoding error; `names`/`given`: the columns and those typed in `schema`."""
    message = str(error).strip()
    if isinstance(error, UnicodeDecodeError) or "invalid UTF8" in message:
        found = _first_undecodable(path, opts.encoding)
        if found:
            return FileParseError(
                label,
                found[1] + ".",
                line=found[0],
                hint="Check the file's `encoding` (utf-8, windows-1252, latin-1).",
            )
        return FileParseError(label, f"text is not valid {opts.encoding} ({message}).")
    match = _COLUMNS.search(message)
    if match:
        expected, got = int(match.group(1)), int(match.group(2))
        line = _locate(path, opts, lambda _i, row: len(row) != expected)
        return FileParseError(
            label,
            f"expected {expected} columns, got {got}.",
            line=line,
            hint=f"Check `delimiter` ({opts.delimiter!r}) and `quote_char` ({opts.quote_char!r}).",
        )
    match = _CONVERSION.search(message)
    if match:
        col, target, value = int(match.group(1)), match.group(2), match.group(3)
        first = 0 if opts.header else -1
        line = _locate(path, opts, lambda i, row: i > first and col < len(row) and row[col] == value)
        if not names and opts.header:  # the sample could not be read: the header names the columns
            names = next((row for _, row in _scan_rows(path, opts)), None)
        name = names[col] if names and col < len(names) else None
        column = f"column #{col + 1}" + (f" `{name}`" if name and opts.header else "")
        if name is not None and (name in given or snake_case(name) in given) and target.startswith("date"):
            hint = (
                f"The type {target} is given in `schema` and reads ISO dates (2026-03-15); for another "
                f"layout set `timestamp_formats`, e.g. timestamp_formats: ['%d/%m/%Y'] for 15/03/2026."
            )
        elif name is not None and (name in given or snake_case(name) in given):
            hint = (
                f"The type {target} is given in `schema`; fix the value, or give the column another type "
                f"(e.g. {{{name!r}: 'string'}})."
            )
        else:
            key = name if name and opts.header else "col"
            hint = (
                f"The type {target} was inferred from the first {opts.sample_bytes:,} bytes; give the column's type "
                f"in `schema` (e.g. {{{key!r}: 'string'}}) or raise `sample_bytes`."
            )
        return FileParseError(
            label, f"{column}: value {value!r} is not a valid {target}.", line=line, hint=hint
        )
    return FileParseError(label, message)


def _check_text_columns(schema: pa.Schema, asked: set[str], path: str, opts: CsvOptions, label: str) -> None:
    """Arrow falls back to a binary column on undecodable bytes: report them instead."""
    binary = [f.name for f in schema if pa.types.is_binary(f.type) and f.name not in asked]
    if binary:
        raise _translate(UnicodeDecodeError(opts.encoding, b"", 0, 1, "invalid"), path, opts, label)


def _names(schema: pa.Schema, path: str, opts: CsvOptions, label: str) -> list[str]:
    """The column names; a header that is not valid in the file's encoding is a FileParseError."""
    try:
        return list(schema.names)
    except UnicodeDecodeError as e:  # Arrow decodes the header lazily, when a name is read
        raise _translate(e, path, opts, label) from None


def _infer_types(
    path: str, opts: CsvOptions, read, parse, convert, label: str
) -> tuple[dict[str, pa.DataType], list[str]]:
    """Column types inferred from the first `sample_bytes` (cut at a line end), and the column names.

    `({}, [])` if the sample cannot be parsed.

    The streaming reader would infer from its first (small) block only; a bigger sample gives
    types that hold for the whole file more often.
    """
    with _open_binary(path) as f:
        sample = f.read(opts.sample_bytes + 1)
    if len(sample) > opts.sample_bytes:
        sample = sample[: sample.rfind(b"\n", 0, opts.sample_bytes) + 1]
    if not sample.strip():
        return {}, []
    sample_read = pacsv.ReadOptions(
        encoding=read.encoding,
        block_size=len(sample) + 1,
        skip_rows=read.skip_rows,
        column_names=read.column_names,
        autogenerate_column_names=read.autogenerate_column_names,
        use_threads=False,
    )
    try:
        table = pacsv.read_csv(
            pa.BufferReader(sample), read_options=sample_read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return {}, []  # the streaming reader reports the problem with its line
    names = _names(table.schema, path, opts, label)
    types: dict[str, pa.DataType] = {}
    for name, f in zip(names, table.schema, strict=True):
        found = pa.string() if pa.types.is_null(f.type) else f.type
        # Arrow types columns by name: two columns named alike that hold different types are read as text
        types[name] = found if name not in types or types[name].equals(found) else pa.string()
    _keep_codes_as_text(pa.BufferReader(sample), sample_read, parse, types)
    return types, names


def _keep_codes_as_text(sample, read, parse, types: dict[str, pa.DataType]) -> None:
    """Number columns of the sample that a number type would change are read as text instead."""
    numeric = [n for n, t in types.items() if pa.types.is_integer(t) or pa.types.is_floating(t)]
    if not numeric:
        return
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in numeric}, include_columns=numeric, strings_can_be_null=False
    )
    keep_codes_as_text(
        pacsv.read_csv(sample, read_options=read, parse_options=parse, convert_options=convert), types
    )


def _coalesce(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Merge small batches into batches of at most `rows` rows (bigger Parquet row groups)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if pending and count + batch.num_rows > rows:
            yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
            pending, count = [], 0
        pending.append(batch)
        count += batch.num_rows
    if pending:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


def _empty_text_as_null(batch: pa.RecordBatch) -> pa.RecordBatch:
    """With the default null markers, text columns are read as is: an empty field becomes NULL here."""
    columns = list(batch.columns)
    changed = False
    for i, column in enumerate(columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            empty = pc.equal(column, "")
            if pc.any(empty).as_py():
                columns[i] = pc.if_else(empty, pa.scalar(None, column.type), column)
                changed = True
    return record_batch(columns, batch.schema) if changed else batch


def _open_reader(path: str, opts: CsvOptions, label: str, read, parse, convert, names=None, given=()):
    stream = pa.input_stream(path, compression="detect")
    try:
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        return stream, reader, _names(reader.schema, path, opts, label)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        stream.close()
        if "Empty CSV file" in str(e):
            raise FileParseError(label, "the file is empty (not even a header line).") from None
        raise _translate(e, path, opts, label, names, given) from None
    except BaseException:
        stream.close()
        raise


def _is_number(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_)


def _number_error(
    path: str, opts: CsvOptions, label: str, names: list[str], col: int, value: str, problem: str, types
) -> FileParseError:
    """The FileParseError for a value of an inferred number column that its type would change."""
    first = 0 if opts.header else -1
    line = _locate(path, opts, lambda i, row: i > first and col < len(row) and row[col] == value)
    key = names[col] if opts.header else f"column_{col + 1}"
    column = f"column #{col + 1}" + (f" `{key}`" if opts.header else "")
    examples = " or ".join(f"{{{key!r}: {t!r}}}" for t in types if t != "float64")
    accept = f", or {{{key!r}: 'float64'}} to accept the rounding" if "float64" in types else ""
    return FileParseError(
        label,
        f"{column}: {problem}.",
        line=line,
        hint=f"Its type was inferred from the first {opts.sample_bytes:,} bytes; give the column's type in "
        f"`schema` (e.g. {examples}){accept}.",
    )


def _resolve_keys(explicit: dict[str, pa.DataType], names: list[str], label: str) -> dict[str, pa.DataType]:
    try:
        return resolve_schema_keys(explicit, names)
    except ValueError as e:
        raise FileParseError(label, str(e)) from None


def read_csv_batches(path: str, opts: CsvOptions, label: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Open the local CSV file `path`; return its schema and a lazy iterator of record batches.

    Args:
        path: local file (`.gz` is decompressed on the fly).
        opts: delimiter, encoding, types… (see `CsvOptions`). A column of `opts.schema` is named
            as the file writes it (`Sample Number`) or in snake_case (`sample_number`).
        label: how errors name the file, e.g. `sftp://etl@files:22/inbox/x.csv`.

    Raises:
        FileParseError: malformed row, undecodable byte (in the header too), value not matching its
            column type, a column of `schema` that the file does not have; the message names
            `label` and the line.
    """
    read, parse, convert = _arrow_options(opts)
    explicit = _explicit_types(opts)
    inferred, sample_names = _infer_types(path, opts, read, parse, convert, label)
    numbers: dict[str, pa.DataType] = {}
    if inferred:
        explicit = _resolve_keys(explicit, sample_names, label)
        # Inferred number columns are read as text and converted batch by batch (see csv_numbers).
        numbers = {n: t for n, t in inferred.items() if n not in explicit and _is_number(t)}
        convert.column_types = {**inferred, **{n: pa.string() for n in numbers}, **_readable(explicit, opts)}
    stream, reader, names = _open_reader(path, opts, label, read, parse, convert, sample_names, set(explicit))
    if any(name not in names for name in explicit):
        resolved = _resolve_keys(explicit, names, label)
        if resolved != explicit:  # the sample could not be parsed: open again with the file's names
            stream.close()
            explicit = resolved
            convert.column_types = {**convert.column_types, **_readable(explicit, opts)}
            stream, reader, names = _open_reader(path, opts, label, read, parse, convert)
        missing = [name for name in explicit if name not in names]
        if missing:
            stream.close()
            shown = [f"column_{int(n[1:]) + 1}" if not opts.header else n for n in names]
            raise FileParseError(
                label,
                f"column(s) {missing} given in `schema` are not in the file; it has {shown}.",
            )
    try:
        _check_text_columns(reader.schema, set(explicit), path, opts, label)
    except FileParseError:
        stream.close()
        raise
    fix_empty = opts.null_values is None
    schema = reader.schema
    converter = None
    if numbers:
        positions = {i: numbers[n] for i, n in enumerate(names) if n in numbers}
        schema = pa.schema(
            [f.with_type(positions[i]) if i in positions else f for i, f in enumerate(reader.schema)],
            metadata=reader.schema.metadata,
        )
        converter = NumberColumns(
            positions,
            convert.null_values,
            opts.decimal_comma,
            lambda i, value, problem, types: _number_error(
                path, opts, label, names, i, value, problem, types
            ),
        )

    dates, read_schema = None, schema  # `read_schema`: after the number columns, before the dates
    date_positions = {
        i: explicit[n]
        for i, n in enumerate(names)
        if opts.timestamp_formats and n in explicit and pa.types.is_date(explicit[n])
    }
    if date_positions:
        schema = pa.schema(
            [f.with_type(date_positions[i]) if i in date_positions else f for i, f in enumerate(schema)],
            metadata=schema.metadata,
        )
        dates = _DateColumns(date_positions, names, label, opts)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as e:
                    raise _translate(e, path, opts, label, names, set(explicit)) from None
                if converter is not None:
                    batch = converter.convert(batch, read_schema)
                if dates is not None:
                    batch = dates.convert(batch, schema)
                yield _empty_text_as_null(batch) if fix_empty else batch
        finally:
            stream.close()

    return schema, _coalesce(batches(), DEFAULT_BATCH_ROWS)
