"""A real public data set, loaded as CSV, Excel and NDJSON through `to_lakehouse`, compared value by value.

The Palmer penguins (https://allisonhorst.github.io/palmerpenguins/, CC0) as shipped by the PyPI
package `palmerpenguins`: `penguins.csv` (344 rows, R's `NA` for missing values) and
`penguins-raw.csv` (17 columns with real headers such as `Sample Number`, `Date Egg`,
`Delta 15 N (o/oo)`, and free-text comments holding commas). The expected values come from Python's
own `csv` module, independently of Arrow: `NA` → NULL, whole numbers → int, decimals → the same
double, ISO dates → dates, text exactly as written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.resources.files.nfs_resource import NFSResource
from dagster_cfwb.transfer.column_names import normalize_column_names

palmerpenguins = pytest.importorskip("palmerpenguins")
DATA = Path(palmerpenguins.__file__).parent / "data"
DATASETS = ["penguins.csv", "penguins-raw.csv"]
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+\.\d+|-?\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _source(name: str) -> tuple[list[str], dict[str, str], list[dict[str, object]]]:
    """Header, kind of each column (int, float, date, text) and the rows with typed values (NA → None)."""
    with open(DATA / name, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        raw = list(reader)
    kinds = {}
    for i, column in enumerate(header):
        values = [row[i] for row in raw if row[i] != "NA"]
        if all(_INT.fullmatch(v) for v in values):
            kinds[column] = "int"
        elif all(_FLOAT.fullmatch(v) for v in values):
            kinds[column] = "float"
        elif all(_DATE.fullmatch(v) for v in values):
            kinds[column] = "date"
        else:
            kinds[column] = "text"
    convert = {"int": int, "float": float, "date": dt.date.fromisoformat, "text": str}
    rows = [
        {c: None if v == "NA" else convert[kinds[c]](v) for c, v in zip(header, row, strict=True)}
        for row in raw
    ]
    return header, kinds, rows


def _write_excel(path: Path, header: list[str], kinds: dict[str, str], rows: list[dict]) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("penguins")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, 1):
        for c, name in enumerate(header):
            value = row[name]
            if value is None:
                continue  # a missing value is an empty cell in Excel
            if kinds[name] == "date":
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
            elif kinds[name] == "text":
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()


def _write_ndjson(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(
                json.dumps({k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}) + "\n"
            )


def _same(got: object, want: object, kind: str) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if kind == "int":
        return type(got) is int and got == want
    if kind == "float":
        return type(got) is float and got == want  # the very same double
    if kind == "date":  # a date cell of Excel comes back as midnight of that day
        return got == want or got == dt.datetime.combine(want, dt.time())
    return got == want


def _compare(table: pa.Table, header: list[str], kinds: dict[str, str], rows: list[dict], keep_na_text=False):
    names = normalize_column_names(header)
    assert table.schema.names == names
    assert table.num_rows == len(rows)
    for original, name in zip(header, names, strict=True):
        kind = kinds[original]
        got = table.column(name).to_pylist()
        want = [r[original] for r in rows]
        if keep_na_text and kind == "text":  # default null_values: `NA` stays text in a text column
            want = ["NA" if w is None else w for w in want]
        wrong = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if not _same(g, w, kind)]
        assert not wrong, (
            f"column `{name}` ({kind}, {table.schema.field(name).type}): first differences {wrong[:3]}"
        )
        field_type = table.schema.field(name).type
        expected_type = {
            "int": pa.types.is_integer,
            "float": pa.types.is_floating,
            "text": pa.types.is_string,
        }
        if kind in expected_type:
            assert expected_type[kind](field_type) or pa.types.is_large_string(field_type), (name, field_type)
        else:
            assert pa.types.is_date(field_type) or pa.types.is_timestamp(field_type), (name, field_type)


@pytest.fixture
def share(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    return folder


def _load(share: Path, lakehouse, name: str, **options) -> tuple[object, pa.Table]:
    result = NFSResource(root=str(share)).to_lakehouse(name, lakehouse, "bio/stg/penguins.parquet", **options)
    return result, pq.read_table(Path(lakehouse.root) / "bio/stg/penguins.parquet")


@pytest.mark.parametrize("dataset", DATASETS)
def test_csv_as_published(dataset, share, local_lakehouse):
    header, kinds, rows = _source(dataset)
    shutil.copy(DATA / dataset, share / dataset)
    # default null_values: NA is NULL in number and date columns, kept (and reported) in text columns
    result, table = _load(share, local_lakehouse, dataset)
    _compare(table, header, kinds, rows, keep_na_text=True)
    text_na = {
        name: sum(r[c] is None for r in rows)
        for c, name in zip(header, normalize_column_names(header), strict=True)
        if kinds[c] == "text" and any(r[c] is None for r in rows)
    }
    assert result.null_markers_in_text == text_na and text_na  # e.g. {"sex": 11}
    # declared as R writes it: NA is missing everywhere
    result, table = _load(share, local_lakehouse, dataset, null_values=["", "NA"])
    _compare(table, header, kinds, rows)
    assert result.null_markers_in_text == {}
    assert set(result.original_column_names.values()) <= set(header)


@pytest.mark.parametrize("dataset", DATASETS)
def test_excel(dataset, share, local_lakehouse):
    header, kinds, rows = _source(dataset)
    target = share / dataset.replace(".csv", ".xlsx")
    _write_excel(target, header, kinds, rows)
    _, table = _load(share, local_lakehouse, target.name)
    _compare(table, header, kinds, rows)
    ints = [n for c, n in zip(header, normalize_column_names(header), strict=True) if kinds[c] == "int"]
    assert ints and all(table.schema.field(n).type == pa.int64() for n in ints)


@pytest.mark.parametrize("dataset", DATASETS)
def test_ndjson(dataset, share, local_lakehouse):
    header, kinds, rows = _source(dataset)
    target = share / dataset.replace(".csv", ".ndjson")
    _write_ndjson(target, rows)
    _, table = _load(share, local_lakehouse, target.name)
    _compare(table, header, kinds, rows)
