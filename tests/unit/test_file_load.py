"""load_file_to_lakehouse on local files: every format, CSV edge cases, bad input that writes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_cfwb.transfer.files.errors import FileParseError
from dagster_cfwb.transfer.files.formats import ReadOptions
from dagster_cfwb.transfer.files.load import load_file_to_lakehouse, load_keywords


def _files_in(lakehouse) -> list[Path]:
    root = Path(lakehouse.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _load(path, lakehouse, **options):
    result = load_file_to_lakehouse(str(path), lakehouse, "dept/stg/t.parquet", **load_keywords(**options))
    return result, lakehouse.read_table("dept/stg/t.parquet")


def test_quotes_embedded_newlines_and_bom(tmp_path, local_lakehouse):
    f = tmp_path / "q.csv"
    f.write_bytes('\ufeffid,texte\n1,"a, b"\n2,"ligne 1\nligne 2"\n3,"il dit ""oui"""\n'.encode())
    result, df = _load(f, local_lakehouse)
    assert result.columns == ["id", "texte"]  # the BOM is not part of the first column name
    assert df["texte"].to_list() == ["a, b", "ligne 1\nligne 2", 'il dit "oui"']
    assert result.files[0].sha256 == hashlib.sha256(f.read_bytes()).hexdigest()


@pytest.mark.parametrize("encoding", ["windows-1252", "latin-1"])
def test_accents_in_single_byte_encodings(tmp_path, local_lakehouse, encoding):
    f = tmp_path / "a.csv"
    f.write_bytes("nom;ville\nRenée;Genève\nFrançois;Zürich\n".encode(encoding))
    _, df = _load(f, local_lakehouse, delimiter=";", encoding=encoding)
    assert df["nom"].to_list() == ["Renée", "François"] and df["ville"].to_list()[1] == "Zürich"


def test_windows_1252_only_characters(tmp_path, local_lakehouse):
    f = tmp_path / "euro.csv"
    f.write_bytes("libellé;prix\n€ – “guillemets”;3\n".encode("cp1252"))
    _, df = _load(f, local_lakehouse, delimiter=";", encoding="cp1252")
    assert df["libelle"].to_list() == ["€ – “guillemets”"]  # column names in snake_case by default


def test_decimal_comma_and_explicit_schema(tmp_path, local_lakehouse):
    f = tmp_path / "d.csv"
    f.write_text("code;montant;taux\n00123;1234,56;0,5\n00456;-7,10;\n")
    result, df = _load(
        f,
        local_lakehouse,
        delimiter=";",
        decimal_comma=True,
        schema={"code": "string", "montant": "decimal(12,2)"},
    )
    schema = pq.read_schema(Path(local_lakehouse.root) / "dept/stg/t.parquet")
    assert schema.field("code").type in (pa.string(), pa.large_string())
    assert schema.field("montant").type == pa.decimal128(12, 2)
    assert df["code"].to_list() == ["00123", "00456"]  # leading zeros kept
    assert [str(v) for v in df["montant"].to_list()] == ["1234.56", "-7.10"]
    assert df["taux"].to_list() == [0.5, None]


def test_no_header_and_skip_rows(tmp_path, local_lakehouse):
    f = tmp_path / "n.csv"
    f.write_text("Export du 01/02/2024\n1,a\n2,b\n")
    result, df = _load(f, local_lakehouse, header=False, skip_rows=1)
    assert result.columns == ["column_1", "column_2"] and df["column_2"].to_list() == ["a", "b"]


def test_header_only_file_gives_an_empty_table(tmp_path, local_lakehouse):
    f = tmp_path / "h.csv"
    f.write_text("a,b\n")
    result, df = _load(f, local_lakehouse)
    assert result.rows == 0 and result.columns == ["a", "b"]


def test_empty_file_is_an_error_unless_the_schema_is_given(tmp_path, local_lakehouse):
    f = tmp_path / "vide.csv"
    f.write_bytes(b"")
    with pytest.raises(FileParseError, match="vide.csv.*empty"):
        _load(f, local_lakehouse)
    assert _files_in(local_lakehouse) == []
    result, df = _load(f, local_lakehouse, schema={"a": "int64", "b": "string"})
    assert result.rows == 0 and result.columns == ["a", "b"]


def test_too_many_columns_names_the_line_after_a_multiline_record(tmp_path, local_lakehouse):
    f = tmp_path / "bad.csv"
    f.write_text('a,b\n1,"deux\nlignes"\n2,x\n3,y,z\n4,w\n')
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse)
    assert "bad.csv" in str(err.value) and "line 5" in str(err.value) and err.value.line == 5
    assert _files_in(local_lakehouse) == []


def test_undecodable_byte_names_the_line(tmp_path, local_lakehouse):
    f = tmp_path / "latin.csv"
    f.write_bytes(b"nom,ville\nA,Paris\nB,Gen\xe8ve\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse)
    message = str(err.value)
    assert "line 3" in message and "0xe8" in message and "encoding" in message
    assert _files_in(local_lakehouse) == []


def test_undecodable_byte_in_a_later_block(tmp_path, local_lakehouse):
    f = tmp_path / "late.csv"
    f.write_bytes(b"v\n" + b"abc\n" * 20_000 + b"\xff\xfe\n")
    with pytest.raises(FileParseError, match="line 20002"):
        _load(f, local_lakehouse, sample_bytes=4096)
    assert _files_in(local_lakehouse) == []


def test_wrong_type_after_the_sample_points_to_schema(tmp_path, local_lakehouse):
    f = tmp_path / "t.csv"
    f.write_text("n\n" + "1\n" * 5_000 + "douze\n")
    with pytest.raises(FileParseError) as err:
        _load(f, local_lakehouse, sample_bytes=1024)
    assert "line 5002" in str(err.value) and "'douze'" in str(err.value) and "schema" in str(err.value)
    result, _ = _load(f, local_lakehouse, sample_bytes=1024, schema={"n": "string"})
    assert result.rows == 5_001


def test_glob_of_files_one_table_with_checksums(tmp_path, local_lakehouse):
    for month in (1, 2, 3):
        (tmp_path / f"ventes_2024-0{month}.csv").write_text(f"mois,total\n{month},{month * 10}\n")
    (tmp_path / "autre.csv").write_text("x\n1\n")
    result, df = _load(tmp_path / "ventes_*.csv", local_lakehouse, source_file_column="fichier")
    assert result.rows == 3 and df["total"].to_list() == [10, 20, 30]
    assert [Path(f.path).name for f in result.files] == [f"ventes_2024-0{m}.csv" for m in (1, 2, 3)]
    assert df["fichier"].to_list() == [f.path for f in result.files]
    assert all(len(f.sha256) == 64 and f.rows == 1 for f in result.files)


def test_files_with_different_columns_are_refused(tmp_path, local_lakehouse):
    (tmp_path / "a_1.csv").write_text("x,y\n1,2\n")
    (tmp_path / "a_2.csv").write_text("x,z\n1,2\n")
    with pytest.raises(FileParseError, match=r"a_2\.csv.*differ"):
        _load(tmp_path / "a_*.csv", local_lakehouse)
    assert _files_in(local_lakehouse) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [("75001", "01000"), ("true\nfalse", "0\n2")],  # `01000` -> 1000, `2` -> true: values that change
)
def test_a_later_file_whose_values_would_change_in_the_first_files_type_is_refused(
    tmp_path, local_lakehouse, first, second
):
    (tmp_path / "c_1.csv").write_text(f"code\n{first}\n")
    (tmp_path / "c_2.csv").write_text(f"code\n{second}\n")
    with pytest.raises(FileParseError, match=r"c_2\.csv.*`code`.*schema"):
        _load(tmp_path / "c_*.csv", local_lakehouse)
    assert _files_in(local_lakehouse) == []


def test_a_later_file_with_only_empty_values_or_whole_numbers_fits_the_first(tmp_path, local_lakehouse):
    (tmp_path / "d_1.csv").write_text("n,x\n1.5,1\n")
    (tmp_path / "d_2.csv").write_text("n,x\n2,\n")  # int64 into double, an empty (string) column
    _, df = _load(tmp_path / "d_*.csv", local_lakehouse)
    assert df["n"].to_list() == [1.5, 2.0] and df["x"].to_list() == [1, None]


def test_nothing_matches(tmp_path, local_lakehouse):
    with pytest.raises(FileNotFoundError, match="No file matches"):
        _load(tmp_path / "*.csv", local_lakehouse)


def test_excel_sheet_and_header_row(tmp_path, local_lakehouse):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    f = tmp_path / "classeur.xlsx"
    book = xlsxwriter.Workbook(str(f))
    book.add_worksheet("Notes").write_row(0, 0, ["ignored"])
    sheet = book.add_worksheet("Données")
    sheet.write_row(0, 0, ["Titre du rapport"])
    sheet.write_row(1, 0, ["élève", "note"])
    sheet.write_row(2, 0, ["Zoé", 5.5])
    sheet.write_row(3, 0, ["Léo", 4])
    book.close()
    result, df = _load(f, local_lakehouse, sheet="Données", header_row=1)
    assert result.columns == ["eleve", "note"] and df["note"].to_list() == [5.5, 4.0]
    assert result.original_column_names == {"eleve": "élève"}
    with pytest.raises(FileParseError, match=r"no sheet 'Feuil1'.*'Notes', 'Données'"):
        _load(f, local_lakehouse, sheet="Feuil1")


def test_json_array_and_ndjson(tmp_path, local_lakehouse):
    (tmp_path / "a.json").write_text(json.dumps([{"id": 1, "nom": "Ana"}, {"id": 2, "nom": "Bo"}]))
    (tmp_path / "b.ndjson").write_text('{"id": 3, "nom": "Cé"}\n{"id": 4, "nom": null}\n')
    result, df = _load(tmp_path / "a.json", local_lakehouse)
    assert result.rows == 2 and df["nom"].to_list() == ["Ana", "Bo"]
    result, df = _load(tmp_path / "b.ndjson", local_lakehouse)
    assert df["nom"].to_list() == ["Cé", None]


def test_malformed_json_names_the_line(tmp_path, local_lakehouse):
    (tmp_path / "bad.ndjson").write_text('{"id": 1}\n{"id": 2}\n{"id": \n')
    with pytest.raises(FileParseError, match=r"bad\.ndjson.*line"):
        _load(tmp_path / "bad.ndjson", local_lakehouse)
    assert _files_in(local_lakehouse) == []


def test_parquet_is_streamed_through(tmp_path, local_lakehouse):
    table = pa.table({"id": list(range(1000)), "v": [str(i) for i in range(1000)]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=100)
    result, df = _load(tmp_path / "in.parquet", local_lakehouse, batch_rows=128)
    assert result.rows == 1000 and df["id"].sum() == sum(range(1000))


def test_unknown_extension_asks_for_a_format(tmp_path, local_lakehouse):
    (tmp_path / "data.dat").write_text("a\n1\n")
    with pytest.raises(ValueError, match="pass format="):
        _load(tmp_path / "data.dat", local_lakehouse)
    result, _ = _load(tmp_path / "data.dat", local_lakehouse, format="csv")
    assert result.rows == 1


def test_byte_undefined_in_windows_1252(tmp_path, local_lakehouse):
    f = tmp_path / "w.csv"
    f.write_bytes(b"a;b\n1;x\n2;caf\x81\n")
    with pytest.raises(FileParseError, match=r"line 3: byte\(s\) 0x81 .* not valid windows-1252"):
        _load(f, local_lakehouse, delimiter=";", encoding="windows-1252")
    assert _files_in(local_lakehouse) == []


def test_reading_options_are_one_object_built_from_flat_names():
    options = ReadOptions.from_keywords(delimiter=";", null_values=("NA",), sheet="Feuil1", batch_rows=10)
    assert (options.csv.delimiter, options.csv.null_values, options.sheet, options.batch_rows) == (
        ";",
        ["NA"],
        "Feuil1",
        10,
    )
    with pytest.raises(TypeError, match="Unknown file reading option.*`delimter`. Did you mean `delimiter`"):
        ReadOptions.from_keywords(delimter=";")
    assert sorted(load_keywords(encoding="latin-1", recursive=True, format="csv")) == [
        "format",
        "options",
        "recursive",
    ]
