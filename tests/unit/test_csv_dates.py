"""A `date` column given in `schema` is read with `timestamp_formats` (day-first dates), exactly."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.files.csv_files import CsvOptions, read_csv_batches
from dagster_cfwb.transfer.files.errors import FileParseError


def _read(path, **options) -> pa.Table:
    schema, batches = read_csv_batches(str(path), CsvOptions(delimiter=";", **options), "subventions.csv")
    return pa.Table.from_batches(list(batches), schema=schema)


def test_a_date_column_of_schema_reads_day_first_dates(tmp_path):
    path = tmp_path / "subventions.csv"
    path.write_text("id;date_octroi;montant\n1;15/03/2026;10\n2;;20\n3;01/12/2025;30\n", encoding="utf-8")
    table = _read(path, timestamp_formats=["%d/%m/%Y"], schema={"date_octroi": "date"})
    assert table.schema.field("date_octroi").type == pa.date32()
    assert table.column("date_octroi").to_pylist() == [dt.date(2026, 3, 15), None, dt.date(2025, 12, 1)]
    assert table.column("id").to_pylist() == [1, 2, 3]


def test_a_date_with_a_time_of_day_is_refused_not_cut(tmp_path):
    path = tmp_path / "subventions.csv"
    path.write_text("id;date_octroi\n1;15/03/2026 00:00\n2;16/03/2026 10:30\n", encoding="utf-8")
    with pytest.raises(FileParseError) as error:
        _read(path, timestamp_formats=["%d/%m/%Y %H:%M"], schema={"date_octroi": "date"})
    message = str(error.value)
    assert "`date_octroi`" in message and "10:30" in message and "timestamp" in message


def test_a_day_first_date_without_timestamp_formats_names_the_option(tmp_path):
    path = tmp_path / "subventions.csv"
    path.write_text("id;date_octroi\n1;15/03/2026\n", encoding="utf-8")
    with pytest.raises(FileParseError) as error:
        _read(path, schema={"date_octroi": "date"})
    message = str(error.value)
    assert "`date_octroi`" in message and "given in `schema`" in message and "timestamp_formats" in message
    assert "inferred" not in message
