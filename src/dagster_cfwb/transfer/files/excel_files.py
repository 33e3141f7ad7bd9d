"""Read one sheet of an Excel workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`) as an Arrow table.

fastexcel (Rust, calamine) reads the sheet whole: Excel caps a sheet at 1,048,576 rows. On top of it:

- the column types come from **every** row (fastexcel's default looks at the first 1,000 and turns
  a later text cell of a number column into NULL);
- Excel stores every number as a double: a column holding only whole numbers within int64 becomes
  `int64`, decided over the whole sheet so every batch has the same type;
- the column names are the header cells as written: fastexcel names an empty header cell
  `__UNNAMED__<n>` and a repeated one `<name>_1`; those are read again from the header row, so
  that the renaming to snake_case (`column_<n>`, `<name>_2`) matches a CSV's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.column_names import resolve_schema_keys
from dagster_cfwb.transfer.files.errors import FileParseError

__all__ = ["read_excel_sheet"]

_INT64_BOUND = 2.0**63  # float64 values in [-2**63, 2**63) fit int64 exactly
_GENERATED = re.compile(r"__UNNAMED__\d+")
_SUFFIXED = re.compile(r"(.+)_(\d+)")


def read_excel_sheet(
    path: str, sheet: int | str, header_row: int, label: str, *, typed: Sequence[str] = ()
) -> pa.Table:
    """The sheet `sheet` (name or 0-based index) of the workbook `path`, column names from `header_row`.

    Args:
        typed: columns whose type the caller sets itself (`schema`): left as fastexcel reads them.

    Raises:
        FileParseError: not a workbook, no such sheet, or a sheet that cannot be read.
    """
    try:
        import fastexcel
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Reading Excel files needs fastexcel: pip install 'dagster-cfwb[files]'") from e
    try:
        reader = fastexcel.read_excel(path)
    except Exception as e:  # fastexcel raises its own error types
        raise FileParseError(label, f"not a readable Excel workbook ({e}).") from None
    names = reader.sheet_names
    if (isinstance(sheet, str) and sheet not in names) or (
        isinstance(sheet, int) and not 0 <= sheet < len(names)
    ):
        raise FileParseError(label, f"no sheet {sheet!r}; the workbook has sheets {names}.")
    try:
        table = pa.table(reader.load_sheet(sheet, header_row=header_row, schema_sample_rows=None).to_arrow())
        if _names_were_made_up(table.schema.names):
            table = table.rename_columns(_header_cells(reader, sheet, header_row, table.schema.names))
    except Exception as e:
        raise FileParseError(label, f"sheet {sheet!r} cannot be read: {e}") from None
    return _whole_numbers_as_integers(table, typed)


def _names_were_made_up(names: list[str]) -> bool:
    present = set(names)
    return any(
        _GENERATED.fullmatch(n) or ((m := _SUFFIXED.fullmatch(n)) and m.group(1) in present) for n in names
    )


def _header_cells(reader, sheet: int | str, header_row: int, names: list[str]) -> list[str]:
    """The header row's cells as text (`""` when empty); fastexcel's names if the widths differ."""
    rows = reader.load_sheet(sheet, header_row=None, skip_rows=0, n_rows=header_row + 1, dtypes="string")
    head = pa.table(rows.to_arrow())
    if head.num_rows != header_row + 1 or head.num_columns != len(names):
        return names
    return [value or "" for value in (column[header_row].as_py() for column in head.columns)]


def _whole_numbers_as_integers(table: pa.Table, typed: Sequence[str]) -> pa.Table:
    """A float column whose values are all whole numbers within int64 becomes int64.

    A column with one decimal value, a NaN/infinity or a number outside int64 stays float64.
    """
    try:
        given = set(resolve_schema_keys(dict.fromkeys(typed), table.schema.names))
    except ValueError:  # an ambiguous key: `_apply_schema` refuses it with the file's name
        given = set(typed)
    columns = list(table.columns)
    for i, (name, column) in enumerate(zip(table.schema.names, columns, strict=True)):
        if name in given or not pa.types.is_floating(column.type) or column.null_count == len(column):
            continue
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if not (-_INT64_BOUND <= low and high < _INT64_BOUND):  # also false for NaN
            continue
        if pc.all(pc.equal(pc.floor(column), column)).as_py():
            columns[i] = pc.cast(column, pa.int64())
    return pa.Table.from_arrays(columns, names=table.schema.names)
