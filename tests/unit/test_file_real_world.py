"""Real-world files: undecodable headers, R-style `NA`, Excel whole numbers, headers with spaces and accents."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.transfer.column_names import (
    ORIGINAL_NAME_KEY,
    normalize_column_names,
    original_names,
    snake_case,
)
from dagster_cfwb.transfer.file_errors import FileParseError
from dagster_cfwb.transfer.file_load import load_file_to_lakehouse
from dagster_cfwb.transfer.identifiers import validate_identifier


def _load(path, lakehouse, **options):
    result = load_file_to_lakehouse(str(path), lakehouse, "dept/stg/t.parquet", **options)
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
    with caplog.at_level(logging.WARNING, logger="dagster_cfwb.transfer.file_load"):
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
