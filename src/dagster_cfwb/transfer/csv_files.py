"""Stream a CSV file as Arrow record batches, with errors that name the line.

Parsing is done by ``pyarrow.csv.open_csv`` (C++, block by block: memory holds a few blocks
whatever the file size). Non-UTF-8 files (Windows-1252, Latin-1) are transcoded on the fly.
When Arrow rejects a block, the file is scanned again with Python's ``csv`` module to find the
exact line — that slow path runs only on error.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from dagster_cfwb.transfer.file_errors import FileParseError

__all__ = ["CsvOptions", "arrow_type", "read_csv_batches"]

_COLUMNS = re.compile(r"Expected (\d+) columns, got (\d+)")
_CONVERSION = re.compile(r"In CSV column #(\d+): .*conversion error to (\S+): invalid value '(.*)'", re.S)
_DECIMAL = re.compile(r"^decimal(?:128)?\((\d+),\s*(\d+)\)$")
# Arrow's streaming reader reads up to 32 blocks ahead in the background: memory ~ 32 x block size.
BLOCK_BYTES = 1 << 20
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class CsvOptions:
    """How to read a CSV file.

    Attributes:
        delimiter: field separator, e.g. ``,`` ``;`` or ``\\t``.
        quote_char: character that surrounds fields holding delimiters or line breaks; None: no quoting.
        encoding: ``utf-8`` (a BOM is skipped), ``windows-1252``/``cp1252``, ``latin-1``…
        header: True when the first row holds the column names; False names them ``column_1``…
        skip_rows: lines to skip before the header (e.g. a title line).
        decimal_comma: True for ``3,14`` style numbers (then use ``;`` as delimiter).
        null_values: texts read as missing values (default: the empty string only).
        timestamp_formats: strptime formats for dates, e.g. ``["%d/%m/%Y"]``; default ISO 8601.
        schema: column types, e.g. ``{"code": "string", "montant": "decimal(12,2)"}``; columns not
            named are inferred from the first ``sample_bytes`` of the file.
        sample_bytes: how much of the start of the file is read to infer the column types.
        block_bytes: size of each parsed block. Arrow reads up to 32 blocks ahead, so memory is
            about 32 x ``block_bytes`` (32 MiB by default) whatever the file size.
    """

    delimiter: str = ","
    quote_char: str | None = '"'
    encoding: str = "utf-8"
    header: bool = True
    skip_rows: int = 0
    decimal_comma: bool = False
    null_values: list[str] = field(default_factory=lambda: [""])
    timestamp_formats: list[str] | None = None
    schema: dict[str, Any] | pa.Schema | None = None
    sample_bytes: int = 4 << 20
    block_bytes: int = BLOCK_BYTES


def arrow_type(spec: Any, column: str = "") -> pa.DataType:
    """An Arrow type from ``"int64"``, ``"string"``, ``"date32"``, ``"timestamp[us]"``, ``"decimal(12,2)"``…

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


def _arrow_options(opts: CsvOptions) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    column_names = None
    column_types: dict[str, pa.DataType] = {}
    if isinstance(opts.schema, pa.Schema):
        column_types = {f.name: f.type for f in opts.schema}
        column_names = None if opts.header else opts.schema.names
    elif opts.schema:
        column_types = {name: arrow_type(t, name) for name, t in opts.schema.items()}
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
    convert = pacsv.ConvertOptions(
        column_types=column_types,
        null_values=opts.null_values,
        strings_can_be_null=True,
        decimal_point="," if opts.decimal_comma else ".",
        timestamp_parsers=opts.timestamp_formats,
    )
    return read, parse, convert


def _open_binary(path: str):
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def _first_undecodable(path: str, encoding: str) -> tuple[int, str] | None:
    """(line, problem) of the first byte sequence that ``encoding`` cannot decode."""
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


def _translate(error: Exception, path: str, opts: CsvOptions, label: str) -> FileParseError:
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
        return FileParseError(
            label,
            f"column #{col + 1}: value {value!r} is not a valid {target}.",
            line=line,
            hint=(
                f"The type {target} was inferred from the first {opts.sample_bytes:,} bytes; give the column's type "
                "in `schema` (e.g. {'col': 'string'}) or raise `sample_bytes`."
            ),
        )
    return FileParseError(label, message)


def _check_text_columns(schema: pa.Schema, path: str, opts: CsvOptions, label: str) -> None:
    """Arrow falls back to a binary column on undecodable bytes: report them instead."""
    asked = set(opts.schema.names if isinstance(opts.schema, pa.Schema) else (opts.schema or {}))
    binary = [f.name for f in schema if pa.types.is_binary(f.type) and f.name not in asked]
    if binary:
        raise _translate(UnicodeDecodeError(opts.encoding, b"", 0, 1, "invalid"), path, opts, label)


def _infer_types(path: str, opts: CsvOptions, read, parse, convert) -> dict[str, pa.DataType]:
    """Column types inferred from the first ``sample_bytes`` (cut at a line end); {} if that fails.

    The streaming reader would infer from its first (small) block only; a bigger sample gives
    types that hold for the whole file more often.
    """
    with _open_binary(path) as f:
        sample = f.read(opts.sample_bytes + 1)
    if len(sample) > opts.sample_bytes:
        sample = sample[: sample.rfind(b"\n", 0, opts.sample_bytes) + 1]
    if not sample.strip():
        return {}
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
        return {}  # the streaming reader reports the problem with its line
    return {f.name: pa.string() if pa.types.is_null(f.type) else f.type for f in table.schema}


def _coalesce(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Merge small batches into batches of at most ``rows`` rows (bigger Parquet row groups)."""
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


def read_csv_batches(path: str, opts: CsvOptions, label: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Open the local CSV file ``path``; return its schema and a lazy iterator of record batches.

    Args:
        path: local file (``.gz`` is decompressed on the fly).
        opts: delimiter, encoding, types… (see :class:`CsvOptions`).
        label: how errors name the file, e.g. ``sftp://etl@files:22/inbox/x.csv``.

    Raises:
        FileParseError: malformed row, undecodable byte, value not matching its column type; the
            message names ``label`` and the line.
    """
    read, parse, convert = _arrow_options(opts)
    inferred = _infer_types(path, opts, read, parse, convert)
    if inferred:
        explicit = dict(convert.column_types)
        convert.column_types = {**inferred, **{k: v for k, v in explicit.items()}}
    stream = pa.input_stream(path, compression="detect")
    try:
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        stream.close()
        if "Empty CSV file" in str(e):
            raise FileParseError(label, "the file is empty (not even a header line).") from None
        raise _translate(e, path, opts, label) from None
    try:
        _check_text_columns(reader.schema, path, opts, label)
    except FileParseError:
        stream.close()
        raise

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as e:
                    raise _translate(e, path, opts, label) from None
                yield batch
        finally:
            stream.close()

    return reader.schema, _coalesce(batches(), BATCH_ROWS)
