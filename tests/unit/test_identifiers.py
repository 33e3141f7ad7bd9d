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
