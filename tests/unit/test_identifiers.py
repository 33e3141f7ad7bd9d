import pytest

from dagster_cfwb.transfer.identifiers import (
    IdentifierError,
    quote_identifier,
    split_table_name,
    validate_identifier,
)


@pytest.mark.parametrize("name", ["eleves", "élèves_2024", "_tmp", "T1"])
def test_plain_identifiers_are_accepted(name):
    assert validate_identifier(name) == name


@pytest.mark.parametrize(
    "name",
    ['x"; DROP TABLE t; --', "", "1abc", "a b", "a.b", "a'b", "a;b", "x" * 64, None, 3, "a-b", "a`b", "a]b"],
)
def test_unsafe_identifiers_are_refused(name):
    with pytest.raises(IdentifierError):
        validate_identifier(name, what="table")


def test_error_names_what_and_value():
    with pytest.raises(IdentifierError, match=r"table name 'x\"; DROP"):
        validate_identifier('x"; DROP', what="table")


@pytest.mark.parametrize(
    ("dialect", "expected"), [("postgres", '"t"'), ("mysql", "`t`"), ("mssql", "[t]"), ("db2", '"t"')]
)
def test_quoting_per_dialect(dialect, expected):
    assert quote_identifier("t", dialect) == expected


def test_unknown_dialect_lists_valid_ones():
    with pytest.raises(ValueError, match="expected one of"):
        quote_identifier("t", "oracle")


def test_split_table_name():
    assert split_table_name("stats.eleves").quoted() == '"stats"."eleves"'
    assert split_table_name("eleves", "stats").quoted("mysql") == "`stats`.`eleves`"
    assert split_table_name("eleves").quoted() == '"eleves"'
    with pytest.raises(IdentifierError):
        split_table_name("a.b.c")


# -- each server's own rules ---------------------------------------------------------------
from dagster_cfwb.transfer.identifiers import QualifiedName, derived_name, refuse_case_duplicates  # noqa: E402


@pytest.mark.parametrize("dialect", [None, "postgres", "mysql", "mssql", "db2"])
@pytest.mark.parametrize("name", ["abc\n", "abc\r", "a\tb", "ab\x00", "x\u200b"])
def test_control_characters_and_trailing_newline_are_refused(dialect, name):
    with pytest.raises(IdentifierError):
        validate_identifier(name, what="table", dialect=dialect)


def test_postgres_counts_bytes_and_names_the_limit():
    assert validate_identifier("é" * 31, dialect="postgres") == "é" * 31  # 62 bytes
    with pytest.raises(IdentifierError, match=r"`é+…` is 80 bytes; PostgreSQL allows 63 bytes for a name"):
        validate_identifier("é" * 40, what="table", dialect="postgres")
    with pytest.raises(IdentifierError, match="80 bytes; PostgreSQL"):
        quote_identifier("é" * 40, "postgres")


@pytest.mark.parametrize(
    ("dialect", "fits", "too_long", "message"),
    [
        ("mysql", "é" * 64, "é" * 65, "is 65 characters; MySQL/MariaDB allows 64 characters"),
        ("mssql", "é" * 128, "x" * 129, "is 129 characters; SQL Server allows 128 characters"),
        ("db2", "é" * 64, "é" * 65, "is 130 bytes; DB2 allows 128 bytes"),
    ],
)
def test_each_server_limit(dialect, fits, too_long, message):
    assert validate_identifier(fits, dialect=dialect) == fits
    with pytest.raises(IdentifierError, match=message):
        validate_identifier(too_long, what="column", dialect=dialect)


def test_mysql_refuses_characters_outside_the_bmp():
    assert validate_identifier("\U0001d400", dialect="postgres")
    with pytest.raises(IdentifierError, match="Basic Multilingual Plane"):
        validate_identifier("\U0001d400", dialect="mysql")


def test_qualified_name_checks_by_its_dialect():
    assert QualifiedName("é" * 40, dialect="mysql").quoted("mysql") == f"`{'é' * 40}`"
    with pytest.raises(IdentifierError, match="PostgreSQL allows 63 bytes"):
        QualifiedName("é" * 40, dialect="postgres")


def test_case_duplicates_refused_only_where_the_server_folds_case():
    refuse_case_duplicates(["ID", "id"], "postgres", table="t")
    refuse_case_duplicates(["ID", "id"], "db2", table="t")
    for dialect in ("mysql", "mssql"):
        with pytest.raises(IdentifierError, match="columns `ID` and `id`.*same name"):
            refuse_case_duplicates(["ID", "x", "id"], dialect, table="t")


@pytest.mark.parametrize(("dialect", "unit"), [("postgres", "bytes"), ("mysql", "chars"), ("db2", "bytes")])
def test_derived_names_fit_and_keep_their_suffix(dialect, unit):
    name = derived_name("_cfwb_stg_", "é" * 200, "_42_deadbeef", dialect)
    assert name.startswith("_cfwb_stg_é") and name.endswith("_42_deadbeef")
    assert validate_identifier(name, dialect=dialect) == name
    size = len(name.encode()) if unit == "bytes" else len(name)
    assert size >= {"postgres": 62, "mysql": 64, "db2": 127}[dialect]  # cut at a character boundary
    assert derived_name("_cfwb_", "t", "_x", "postgres") == "_cfwb_t_x"
