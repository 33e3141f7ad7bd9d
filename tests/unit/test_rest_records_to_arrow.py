"""JSON records → typed Arrow batches with one stable schema."""

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.records_to_arrow import (
    RecordsSchemaError,
    infer_records_schema,
    records_to_batches,
)


def test_inference_and_nested_json():
    schema = infer_records_schema(
        [
            {"i": 1, "f": 1, "s": "a", "b": True, "n": None, "o": {"k": 1}, "l": [1], "m": 1},
            {"f": 2.5, "m": "x"},
        ]
    )
    types = {f.name: str(f.type) for f in schema}
    assert types == {
        "i": "int64", "f": "double", "s": "large_string", "b": "bool",
        "n": "large_string", "o": "large_string", "l": "large_string", "m": "large_string",
    }  # fmt: skip
    [batch] = records_to_batches([[{"o": {"k": "é"}, "m": 1}, {"m": "x"}]])
    assert batch.column("o").to_pylist() == ['{"k":"é"}', None] and batch.column("m").to_pylist() == [
        "1",
        "x",
    ]


def test_batches_are_gathered_and_typed_once():
    pages = [[{"id": i + p * 10} for i in range(10)] for p in range(25)]
    batches = list(records_to_batches(pages, batch_rows=100))
    assert [b.num_rows for b in batches] == [100, 100, 50]
    assert all(b.schema == batches[0].schema for b in batches)


def test_errors_name_page_and_column():
    with pytest.raises(RecordsSchemaError, match=r"page 2, column `x`.*decimals.*float64"):
        list(records_to_batches([[{"x": 1}], [{"x": 2.5}]], batch_rows=1))
    with pytest.raises(RecordsSchemaError, match=r"page 2: new field\(s\) `y`"):
        list(records_to_batches([[{"x": 1}], [{"x": 2, "y": 1}]], batch_rows=1))
    with pytest.raises(RecordsSchemaError, match=r"page 1, record 2: expected a JSON object, got int"):
        list(records_to_batches([[{"x": 1}, 5]]))
    with pytest.raises(RecordsSchemaError, match=r"page 3, column `x`"):
        list(records_to_batches([[{"x": 1}], [{"x": 2}], [{"x": "a"}]], batch_rows=1))
    with pytest.raises(RecordsSchemaError, match=r"page 2, column `x`: .*true/false"):
        list(records_to_batches([[{"x": 1.5}], [{"x": True}]], batch_rows=1))
    assert RecordsSchemaError("page 12, column `x`: …").page == 12


def test_explicit_schema_selects_and_casts():
    pages = [[{"id": "1", "day": "2024-01-31", "at": "2024-01-31T10:00:00Z", "extra": 1}]]
    [batch] = records_to_batches(
        pages, schema={"id": "string", "day": "date", "at": "timestamp", "missing": "int64"}
    )
    assert batch.schema.names == ["id", "day", "at", "missing"]
    assert str(batch.schema.field("day").type) == "date32[day]" and batch.column("missing").null_count == 1
    with pytest.raises(RecordsSchemaError, match="Unknown type 'money'"):
        list(records_to_batches(pages, schema={"id": "money"}))


def test_empty_input_still_yields_a_batch():
    [batch] = records_to_batches([])
    assert batch.num_rows == 0
    [batch] = records_to_batches([[]], schema=pa.schema([("id", pa.int64())]))
    assert batch.schema.names == ["id"] and batch.num_rows == 0


def test_stdlib_fallback_encodes_like_orjson(monkeypatch):
    from dagster_cfwb.transfer import records_to_arrow

    monkeypatch.setattr(records_to_arrow, "_encode_json", records_to_arrow._stdlib_encode)
    [batch] = records_to_batches([[{"o": {"k": "é", "n": [1, 2**70]}}]])
    assert batch.column("o").to_pylist() == ['{"k":"é","n":[1,1180591620717411303424]}']


def test_wide_integers_in_nested_values_survive():
    [batch] = records_to_batches([[{"o": {"n": 2**70}}]])
    assert batch.column("o").to_pylist() == ['{"n":1180591620717411303424}']


def test_snake_case_column_names_keep_the_keys_in_field_metadata():
    from dagster_cfwb.transfer.column_names import original_names

    pages = [[{"Date de début": "2024-01-01", "N° dossier": 1, "id": 7}], [{"Date de début": None, "id": 8}]]
    [batch] = records_to_batches(
        pages, column_names="snake_case", schema={"Date de début": "date", "id": "int64"}
    )
    assert batch.schema.names == ["date_de_debut", "id"]
    assert original_names(batch.schema) == {"date_de_debut": "Date de début"}
    [batch] = records_to_batches(pages, column_names="snake_case")
    assert batch.schema.names == ["date_de_debut", "n_dossier", "id"] and batch.column(
        "n_dossier"
    ).to_pylist() == [1, None]
    [batch] = records_to_batches(pages)  # the plain function keeps the keys by default
    assert batch.schema.names == ["Date de début", "N° dossier", "id"]
    with pytest.raises(ValueError, match="Unknown `column_names`"):
        next(records_to_batches(pages, column_names="camel"))
