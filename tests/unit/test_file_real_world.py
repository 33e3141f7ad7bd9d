"""Real-world files: undecodable headers, R-style `NA`, Excel whole numbers, headers with spaces and accents."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.transfer.column_names import (
    ORIGINAL_NAME_KEY,
    normalize_column_names,
    original_names,
    resolve_schema_keys,
    snake_case,
)
from dagster_cfwb.transfer.files.errors import FileParseError
from dagster_cfwb.transfer.files.load import load_file_to_lakehouse, load_keywords
from dagster_cfwb.transfer.identifiers import validate_identifier


def _load(path, lakehouse, **options):
    result = load_file_to_lakehouse(str(path), lakehouse, "dept/stg/t.parquet", **load_keywords(**options))
    return result, pq.read_table(f"{lakehouse.root}/dept/stg/t.parquet")


# -- column names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Date d'œuf", "date_d_oeuf"),
        ("Sample Number", "sample_number"),
        ("Æsir Straße", "aesir_strasse"),
        ("Prénom de l'élève", "prenom_de_l_eleve"),
        ("2024 – Total (€)", "_2024_total"),
        ("  N° INSEE  ", "n_insee"),
        ("Имя", "имя"),
        ("ﬁchier", "fichier"),
        ("a" * 80, "a" * 63),
    ],
)
def test_snake_case(name, expected):
    assert snake_case(name) == expected
    assert validate_identifier(expected) == expected  # what the SQL identifier check accepts


def test_empty_and_duplicate_names():
    assert normalize_column_names(["Nom", "NOM", "", " ", "nom"]) == [
        "nom",
        "nom_2",
        "column_3",
        "column_4",
        "nom_3",
    ]


def test_real_headers_are_renamed_and_their_names_kept(tmp_path, local_lakehouse):
    f = tmp_path / "labo.csv"
    f.write_text("Sample Number,Date d'œuf,Poids (g),Poids (g)\n1,2024-03-01,61.5,60\n")
    result, table = _load(f, local_lakehouse)
    assert result.columns == ["sample_number", "date_d_oeuf", "poids_g", "poids_g_2"]
    assert result.original_column_names == {
        "sample_number": "Sample Number",
        "date_d_oeuf": "Date d'œuf",
        "poids_g": "Poids (g)",
        "poids_g_2": "Poids (g)",
    }
    assert result.metadata["original_column_names"]["date_d_oeuf"] == "Date d'œuf"
    # the Parquet file itself keeps the original names, for any reader
    assert original_names(table.schema) == result.original_column_names
    assert table.schema.field("date_d_oeuf").metadata[ORIGINAL_NAME_KEY] == "Date d'œuf".encode()
    assert table.column("sample_number").to_pylist() == [1]


def test_as_is_keeps_the_names(tmp_path, local_lakehouse):
    f = tmp_path / "labo.csv"
    f.write_text("Sample Number,Date d'œuf\n1,2024-03-01\n")
    result, table = _load(f, local_lakehouse, column_names="as_is")
    assert result.columns == ["Sample Number", "Date d'œuf"] and result.original_column_names == {}
    with pytest.raises(ValueError, match=r"Unknown `column_names` 'raw'; expected one of snake_case, as_is"):
        _load(f, local_lakehouse, column_names="raw")


def test_schema_names_a_column_as_in_the_file_or_in_snake_case(tmp_path, local_lakehouse):
    f = tmp_path / "codes.csv"
    f.write_text("Code Commune,Code Postal\n00123,01000\n")
    _, table = _load(f, local_lakehouse, schema={"Code Commune": "string", "code_postal": "string"})
    assert table.column("code_commune").to_pylist() == ["00123"]
    assert table.column("code_postal").to_pylist() == ["01000"]


def test_schema_column_not_in_the_file_is_an_error(tmp_path, local_lakehouse):
    f = tmp_path / "codes.csv"
    f.write_text("code,nom\n00123,a\n")
    with pytest.raises(FileParseError, match=r"column\(s\) \['cod'\] given in `schema` are not in the file"):
        _load(f, local_lakehouse, schema={"cod": "string"})


def test_schema_without_header_names_columns_column_1(tmp_path, local_lakehouse):
    f = tmp_path / "n.csv"
    f.write_text("00123,a\n00456,b\n")
    _, table = _load(f, local_lakehouse, header=False, schema={"column_1": "string"})
    assert table.column("column_1").to_pylist() == ["00123", "00456"]


# -- header encoding ------------------------------------------------------------------------------


def test_undecodable_header_is_a_file_parse_error(tmp_path, local_lakehouse):
    f = tmp_path / "w.csv"
    f.write_bytes("Nom;Prénom\nx;y\n".encode("cp1252"))
    with pytest.raises(
        FileParseError, match=r"w\.csv`, line 1: byte\(s\) 0xe9 at column 7 are not valid utf-8"
    ):
        _load(f, local_lakehouse, delimiter=";")
    result, table = _load(f, local_lakehouse, delimiter=";", encoding="windows-1252")
    assert result.columns == ["nom", "prenom"] and result.original_column_names["prenom"] == "Prénom"


def test_undecodable_header_after_title_lines(tmp_path, local_lakehouse):
    f = tmp_path / "w.csv"
    f.write_bytes("Export\nNom;Pr\xe9nom\nx;y\n".encode("latin-1"))
    with pytest.raises(FileParseError, match=r"line 2: byte\(s\) 0xe9"):
        _load(f, local_lakehouse, delimiter=";", skip_rows=1)


# -- null markers ---------------------------------------------------------------------------------


def test_na_in_number_and_date_columns_is_null_by_default(tmp_path, local_lakehouse):
    f = tmp_path / "r.csv"
    f.write_text("n,x,d,ok\n1,1.5,2024-01-01,true\nNA,N/A,NULL,NA\n3,,#N/A,false\n")
    result, table = _load(f, local_lakehouse)
    assert table.schema.types == [pa.int64(), pa.float64(), pa.date32(), pa.bool_()]
    assert table.column("n").to_pylist() == [1, None, 3]
    assert table.column("x").to_pylist() == [1.5, None, None]
    assert table.column("d").to_pylist()[1:] == [None, None]
    assert table.column("ok").to_pylist() == [True, None, False]
    assert result.null_markers_in_text == {}


def test_na_in_a_text_column_is_kept_as_text_and_reported(tmp_path, local_lakehouse, caplog):
    f = tmp_path / "pays.csv"
    f.write_text('pays,nom,note\nNA,Namibie,\nCH,,""\nFR,NULL,x\n')
    with caplog.at_level(logging.WARNING, logger="dagster_cfwb.transfer.files.load"):
        result, table = _load(f, local_lakehouse)
    assert table.column("pays").to_pylist() == ["NA", "CH", "FR"]  # Namibia's code is not lost
    assert table.column("nom").to_pylist() == ["Namibie", None, "NULL"]  # empty field: NULL, as before
    assert table.column("note").to_pylist() == [None, None, "x"]
    assert result.null_markers_in_text == {"pays": 1, "nom": 1}
    assert result.metadata["null_markers_in_text"] == {"pays": 1, "nom": 1}
    assert "`pays` (1), `nom` (1)" in caplog.text and "null_values=" in caplog.text


def test_explicit_null_values_apply_to_text_columns_too(tmp_path, local_lakehouse):
    f = tmp_path / "r.csv"
    f.write_text("sexe,n\nNA,NA\nF,2\n,3\n")
    result, table = _load(f, local_lakehouse, null_values=["", "NA"])
    assert table.column("sexe").to_pylist() == [None, "F", None]
    assert table.column("n").to_pylist() == [None, 2, 3]
    assert result.null_markers_in_text == {}
    _, table = _load(f, local_lakehouse, null_values=[])
    assert table.column("sexe").to_pylist() == ["NA", "F", ""] and table.column("n").type == pa.string()


# -- Excel ----------------------------------------------------------------------------------------


def test_excel_whole_numbers_are_integers(tmp_path, local_lakehouse):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    import datetime as dt

    f = tmp_path / "classeur.xlsx"
    book = xlsxwriter.Workbook(str(f))
    sheet = book.add_worksheet()
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Année", "Note", "Grand", "Vide", "Jour", "Code"])
    rows = [
        (2023, 4.5, 2**53, None, dt.date(2024, 1, 2), 1),
        (2024, 5, -(2**53), None, dt.date(2024, 1, 3), None),
    ]
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if value is None:
                continue
            sheet.write_datetime(r, c, value, dates) if c == 4 else sheet.write_number(r, c, value)
    book.close()
    result, table = _load(f, local_lakehouse)
    assert result.columns == ["annee", "note", "grand", "vide", "jour", "code"]
    assert table.column("annee").type == pa.int64() and table.column("annee").to_pylist() == [2023, 2024]
    assert table.column("note").type == pa.float64() and table.column("note").to_pylist() == [4.5, 5.0]
    assert table.column("grand").to_pylist() == [2**53, -(2**53)] and table.column("grand").type == pa.int64()
    assert table.column("code").type == pa.int64() and table.column("code").to_pylist() == [1, None]
    assert pa.types.is_timestamp(table.column("jour").type) or pa.types.is_date(table.column("jour").type)
    _, table = _load(f, local_lakehouse, schema={"Année": "float64"})
    assert table.column("annee").type == pa.float64()


def test_excel_types_come_from_every_row(tmp_path, local_lakehouse):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    f = tmp_path / "long.xlsx"
    book = xlsxwriter.Workbook(str(f))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["code", "n"])
    for r in range(1, 1201):
        sheet.write_number(r, 0, r)
        sheet.write_number(r, 1, r)
    sheet.write_string(1201, 0, "A12")  # a text code after fastexcel's 1,000-row sample
    sheet.write_string(1201, 1, "NA")  # Excel's missing-value marker in a number column
    book.close()
    _, table = _load(f, local_lakehouse)
    assert table.column("code").type == pa.string() and table.column("code").to_pylist()[-2:] == [
        "1200",
        "A12",
    ]
    assert table.column("n").type == pa.int64() and table.column("n").to_pylist()[-2:] == [1200, None]


def test_a_wrong_value_names_the_column_and_where_its_type_came_from(tmp_path, local_lakehouse):
    f = tmp_path / "t.csv"
    f.write_text("Montant Total\n" + "1\n" * 3_000 + "douze\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, sample_bytes=1024)
    assert "line 3002: column #1 `Montant Total`: value 'douze' is not a valid int64" in str(err.value)
    assert "{'Montant Total': 'string'}" in str(err.value) and "inferred from the first 1,024 bytes" in str(
        err.value
    )
    with pytest.raises(FileParseError, match=r"int64 is given in `schema`; fix the value"):
        _load(f, local_lakehouse, schema={"montant_total": "int64"})


def test_excel_empty_and_repeated_headers_are_named_like_a_csv(tmp_path, local_lakehouse):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    f = tmp_path / "entetes.xlsx"
    book = xlsxwriter.Workbook(str(f))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Rapport annuel"])
    sheet.write_row(1, 0, ["Note", "", "Note", 2024, "a_1"])
    sheet.write_row(2, 0, [1, 2, 3, 4, 5])
    book.close()
    result, table = _load(f, local_lakehouse, header_row=1)
    assert result.columns == ["note", "column_2", "note_2", "_2024", "a_1"]
    assert result.original_column_names == {"note": "Note", "column_2": "", "note_2": "Note", "_2024": "2024"}
    assert table.column("note_2").to_pylist() == [3]


def test_codes_with_leading_zeros_and_integers_too_big_for_int64_are_read_as_text(tmp_path, local_lakehouse):
    """Arrow would infer `01000` as the int64 1000 and a 23-digit id as a rounded double."""
    f = tmp_path / "communes.csv"
    f.write_text(
        "code_postal,siret_long,habitants,ratio\n"
        "01000,12345678901234567890123,41,0.5\n75001,9,16000,1\n,,NA,NA\n"
    )
    _, table = _load(f, local_lakehouse)
    assert table.column("code_postal").to_pylist() == ["01000", "75001", None]
    assert table.column("siret_long").to_pylist() == ["12345678901234567890123", "9", None]
    assert table.column("habitants").to_pylist() == [41, 16000, None]  # plain numbers stay numbers
    assert table.column("ratio").to_pylist() == [0.5, 1.0, None]


def test_a_schema_key_that_names_two_columns_is_refused(tmp_path, local_lakehouse):
    """Headers `a b` and `a_b` are both `a_b` in snake_case: `schema: {a_b: …}` would pick one silently."""
    f = tmp_path / "t.csv"
    f.write_text("a b,a_b\n01,02\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, schema={"a_b": "string"})
    message = str(err.value)
    assert "`a_b` in `schema` names two columns" in message and "'a b'" in message and "'a_b'" in message
    assert "file's own header" in message
    _, table = _load(f, local_lakehouse, schema={"a b": "string", "a_b": "string"})  # headers as written
    assert table.column("a_b").to_pylist() == ["01"] and table.column("a_b_2").to_pylist() == ["02"]
    _, table = _load(f, local_lakehouse, schema={"a_b_2": "string"})  # the unambiguous snake_case name
    assert table.column("a_b_2").to_pylist() == ["02"] and table.column("a_b").to_pylist() == ["01"]
    j = tmp_path / "t.ndjson"
    j.write_text('{"a b": 1, "a_b": 2}\n')
    with pytest.raises(FileParseError, match=r"`a_b` in `schema` names two columns"):
        _load(j, local_lakehouse, schema={"a_b": "string"})
    with pytest.raises(ValueError, match=r"`Sample Number` and `sample_number` in `schema` name the same"):
        resolve_schema_keys({"Sample Number": "int64", "sample_number": "string"}, ["Sample Number"])


# -- JSON numbers ---------------------------------------------------------------------------------


def _reference(path):
    """Each line read by Python's own json module, numbers exact."""
    from decimal import Decimal

    return [json.loads(line, parse_float=Decimal, parse_int=int) for line in path.read_text().splitlines()]


def test_json_numbers_are_exact(tmp_path, local_lakehouse):
    """Integers past int64, 17-digit floats, booleans and nested values keep their values."""
    from decimal import Decimal

    f = tmp_path / "n.ndjson"
    lines = [
        {"big": 2**63 - 1, "u": 1, "f": 0.1, "b": True, "n": {"x": 1}, "a": [1, 2]},
        {"big": 2**63, "u": 2**64 - 1, "f": 0.30000000000000004, "b": False, "n": {"x": 2}, "a": [3]},
        {"big": 1, "u": 0, "f": 1.7976931348623157e308, "b": None, "n": None, "a": []},
        {"big": 0, "u": 5, "f": 2.2250738585072014e-308, "b": True, "n": {"x": 3}, "a": None},
    ]
    f.write_text("".join(json.dumps(line) + "\n" for line in lines))
    _, table = _load(f, local_lakehouse)
    for row, expected in zip(table.to_pylist(), _reference(f), strict=True):
        for key, value in expected.items():
            got = row[key]
            if isinstance(value, Decimal):
                assert Decimal(repr(got)) == value, key
            else:
                assert got == value and isinstance(got, bool) == isinstance(value, bool), key
    assert table.column("big").type == pa.decimal128(38, 0)  # past int64: DuckDB's HUGEINT, exact


@pytest.mark.parametrize(
    ("number", "became"),
    [
        ("1e400", "inf"),
        ("-1e400", "-inf"),
        ("1e-400", "0.0"),
        ("9223372036854775809", "9.223372036854776e+18"),
        ("0.12345678901234567890", "0.12345678901234568"),
        ("123456789012345678901234567890123456789012", "1.2345678901234568e+41"),
    ],
)
def test_a_json_number_that_a_float_would_change_is_refused(tmp_path, local_lakehouse, number, became):
    f = tmp_path / "n.ndjson"
    f.write_text('{"id": 1, "x": 1.5}\n\n{"id": 2, "x": ' + number + "}\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse)
    message = str(err.value)
    assert "n.ndjson`, line 3: key `x`: the number " + number + " would become " + became in message
    assert "{'x': 'string'}" in message and "float64" in message
    assert ("decimal(38,0)" if number.isdigit() else "decimal(38,18)") in message
    _, table = _load(f, local_lakehouse, schema={"x": "string"})  # the exact text, as in the file
    assert table.column("x").to_pylist() == ["1.5", number]


def test_json_exact_numbers_with_a_decimal_schema_and_in_an_array(tmp_path, local_lakehouse):
    from decimal import Decimal

    f = tmp_path / "a.json"
    f.write_text('[{"x": 0.5, "n": {"y": 1}},\n {"x": 0.12345678901234567890, "n": {"y": 1e999}}]')
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, schema={"x": "decimal(38,20)"})
    assert "record 2: key `n` (at `n.y`): the number 1e999 would become inf" in str(err.value)
    assert "{'n': 'string'} to keep its JSON text" in str(err.value) and "float64" not in str(err.value)
    _, table = _load(f, local_lakehouse, schema={"x": "decimal(38,20)", "n": "string"})
    assert table.column("x").to_pylist() == [Decimal("0.5"), Decimal("0.12345678901234567890")]
    assert table.column("n").to_pylist()[1] == '{"y":1e999}'
    _, table = _load(f, local_lakehouse, schema={"x": "float64", "n": "string"})  # rounding accepted
    assert table.column("x").to_pylist() == [0.5, 0.12345678901234568]


def test_json_types_come_from_every_record(tmp_path, local_lakehouse):
    """DuckDB infers from a sample: a later 1.5 in an integer key was rounded, a later key dropped."""
    f = tmp_path / "late.ndjson"
    rows = [{"i": n, "b": True, "n": {"x": n}} for n in range(30_000)]
    rows.append({"i": 1.5, "b": 1, "n": {"x": 2.5, "k": "new"}, "late": "here", "mix": "x"})
    rows.append({"i": 2, "b": False, "n": {"x": 1}, "mix": 7})
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, table = _load(f, local_lakehouse)
    last = table.to_pylist()[-2:]
    assert last[0]["i"] == 1.5 and last[1]["i"] == 2
    assert last[0]["late"] == "here" and last[1]["late"] is None
    assert last[0]["n"] == {"x": 2.5, "k": "new"}
    assert str(last[0]["b"]) in ("1", "True") and last[0]["b"] is not True  # never silently cast to true
    assert last[0]["mix"] == "x" and last[1]["mix"] == "7"  # a key of mixed kinds is text, as written


def test_a_json_key_of_mixed_kinds_is_text(tmp_path, local_lakehouse):
    f = tmp_path / "m.ndjson"
    f.write_text(
        '{"b": true, "mix": 1, "s": "a"}\n{"b": 1, "mix": "x", "s": 123456789012345678901234567890}\n'
        '{"b": "yes", "mix": [1, "y"], "s": null}\n{"b": null, "mix": {"k": 0.5}, "s": 9007199254740993.0}\n'
    )
    with pytest.raises(
        FileParseError,
        match=r"line 4: key `s`: the number 9007199254740993.0 would become 9007199254740992.0",
    ):
        _load(f, local_lakehouse)
    f.write_text(f.read_text().replace("9007199254740993.0", "0.25"))
    _, table = _load(f, local_lakehouse)
    assert table.column("b").to_pylist() == ["true", "1", "yes", None]
    assert table.column("mix").to_pylist() == ["1", "x", '[1,"y"]', '{"k":0.5}']
    assert table.column("s").to_pylist() == ["a", "123456789012345678901234567890", None, "0.25"]


# -- CSV numbers after the type sample ------------------------------------------------------------


def _late(tmp_path, header, rows, late, sample_bytes=1024):
    f = tmp_path / "late.csv"
    f.write_text(header + "\n" + rows * 2_000 + late)
    return f


def test_a_code_with_a_leading_zero_after_the_sample_is_refused(tmp_path, local_lakehouse):
    """`01000` past the sample in a column inferred as integers was read as the number 1000."""
    f = _late(tmp_path, "Code Postal,n", "75001,1\n", "01000,2\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, sample_bytes=1024)
    message = str(err.value)
    assert (
        "late.csv`, line 2002: column #1 `Code Postal`: value '01000' (a code with a leading zero)" in message
    )
    assert "would become the number 1000" in message and "{'Code Postal': 'string'}" in message
    _, table = _load(f, local_lakehouse, sample_bytes=1024, schema={"code_postal": "string"})
    assert table.column("code_postal").to_pylist()[-2:] == ["75001", "01000"]
    assert table.column("n").to_pylist()[-1] == 2


def test_numbers_past_what_their_inferred_type_holds_after_the_sample_are_refused(tmp_path, local_lakehouse):
    f = _late(tmp_path, "id,x", "1,0.5\n", "9223372036854775808,0.12345678901234567890\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, sample_bytes=1024)
    assert "line 2002: column #1 `id`: value '9223372036854775808' is not a valid int64" in str(err.value)
    assert "{'id': 'decimal(38,0)'}" in str(err.value)
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, sample_bytes=1024, schema={"id": "decimal(38,0)"})
    message = str(err.value)
    assert (
        "line 2002: column #2 `x`: value '0.12345678901234567890' would become 0.12345678901234568" in message
    )
    assert "{'x': 'decimal(38,18)'}" in message and "{'x': 'float64'} to accept the rounding" in message
    _, table = _load(f, local_lakehouse, sample_bytes=1024, schema={"id": "string", "x": "decimal(38,20)"})
    assert table.column("x").to_pylist()[-1] == __import__("decimal").Decimal("0.12345678901234567890")
    _, table = _load(f, local_lakehouse, sample_bytes=1024, schema={"id": "string", "x": "float64"})
    assert table.column("x").to_pylist()[-1] == 0.12345678901234568  # asked for: rounding accepted


@pytest.mark.parametrize(("value", "became"), [("1e400", "inf"), ("-1e400", "-inf"), ("1e-400", "0.0")])
def test_a_csv_number_beyond_a_double_is_refused(tmp_path, local_lakehouse, value, became):
    f = tmp_path / "e.csv"
    f.write_text(f"x\n0.5\n0\n0.00\ninf\n{value}\n")
    with pytest.raises(
        FileParseError, match=rf"line 6: column #1 `x`: value '{value}' would become {became}"
    ):
        _load(f, local_lakehouse)
    f.write_text("x\n0.5\n0\n-0.0\ninf\n-inf\n")
    _, table = _load(f, local_lakehouse)
    assert table.column("x").to_pylist() == [0.5, 0.0, -0.0, float("inf"), float("-inf")]


def test_a_long_decimal_in_the_sample_keeps_the_column_as_text(tmp_path, local_lakehouse):
    f = tmp_path / "d.csv"
    f.write_text("x,y\n0.5,8.3945900000000009\n0.12345678901234567890,0.30000000000000004\n")
    _, table = _load(f, local_lakehouse)
    assert table.column("x").to_pylist() == ["0.5", "0.12345678901234567890"]
    # a double written with 17 digits (R, C programs) is that double: the column stays float64
    assert table.column("y").to_pylist() == [8.3945900000000009, 0.30000000000000004]


def test_numbers_after_the_sample_still_read_as_before(tmp_path, local_lakehouse):
    """Blanks, NA, spaces, decimal commas, signs and 0 in number columns past the sample."""
    f = _late(tmp_path, "n;x;z", "1;1,5;0\n", " 7 ;NA;-0\n;-2,25;0\n")
    result, table = _load(f, local_lakehouse, sample_bytes=1024, delimiter=";", decimal_comma=True)
    assert table.schema.types == [pa.int64(), pa.float64(), pa.int64()]
    assert table.column("n").to_pylist()[-2:] == [7, None]
    assert table.column("x").to_pylist()[-2:] == [None, -2.25]
    assert table.column("z").to_pylist()[-3:] == [0, 0, 0]
    f = _late(tmp_path, "n", "1\n", "douze\n")
    with pytest.raises(FileParseError, match=r"line 2002: column #1 `n`: value 'douze' is not a valid int64"):
        _load(f, local_lakehouse, sample_bytes=1024)


def test_a_json_number_given_as_a_decimal_is_its_written_value(tmp_path, local_lakehouse):
    """The double 0.1 cast to decimal(38,20) was 0.10000000000000000555, 2.675 to decimal(12,2) 2.67."""
    from decimal import Decimal

    f = tmp_path / "d.ndjson"
    f.write_text('{"x": 0.1}\n{"x": 2.675}\n{"x": 3}\n{"x": null}\n')
    _, table = _load(f, local_lakehouse, schema={"x": "decimal(38,20)"})
    assert table.column("x").to_pylist() == [Decimal("0.1"), Decimal("2.675"), Decimal(3), None]
    with pytest.raises(FileParseError, match=r"column `x` cannot be read as decimal128\(12, 2\)"):
        _load(f, local_lakehouse, schema={"x": "decimal(12,2)"})


def test_json_exact_values_land_on_their_own_rows_across_batches(tmp_path, local_lakehouse):
    f = tmp_path / "many.ndjson"
    rows = [f'{{"id": {i}, "x": {i}.5}}' for i in range(1_000)]
    for i in (0, 99, 100, 101, 555, 999):
        rows[i] = f'{{"id": {i}, "x": {i}.12345678901234567890}}'
    f.write_text("\n".join(rows) + "\n")
    with pytest.raises(FileParseError, match=r"line 1: key `x`"):
        _load(f, local_lakehouse, batch_rows=100)
    _, table = _load(f, local_lakehouse, batch_rows=100, schema={"x": "string"})
    x = table.column("x").to_pylist()
    assert table.column("id").to_pylist() == list(range(1_000))
    for i in range(1_000):
        assert x[i] == (f"{i}.12345678901234567890" if i in (0, 99, 100, 101, 555, 999) else f"{i}.5")
