"""Denodo catalog and view queries at the level of the VQL they send (no Denodo server runs here)."""

import pyarrow as pa
import pytest

from dagster_cfwb.resources.api.denodo_resource import (
    DenodoResource,
    build_view_query,
    describe_view_vql,
    list_views_vql,
)
from dagster_cfwb.transfer.identifiers import IdentifierError


def test_build_view_query_variants():
    assert build_view_query("bv_eleves") == ('SELECT * FROM "bv_eleves"', None)
    assert build_view_query("enseignement.bv_eleves", ["id"]) == (
        'SELECT "id" FROM "enseignement"."bv_eleves"',
        None,
    )
    sql, params = build_view_query("v", where={"a": 1, "b": None, "c": [1, 2]})
    assert sql == 'SELECT * FROM "v" WHERE "a" = %s AND "b" IS NULL AND "c" IN (%s, %s)'
    assert params == [1, 1, 2]
    assert build_view_query("v", where="a > %s", params=[3]) == ('SELECT * FROM "v" WHERE a > %s', [3])
    assert build_view_query("v", where={}) == ('SELECT * FROM "v"', None)


@pytest.mark.parametrize("bad", ['v"; DROP VIEW x; --', "a b", "1abc", "", "a.b.c"])
def test_bad_view_names_are_refused(bad):
    with pytest.raises((IdentifierError, ValueError)):
        build_view_query(bad)


def test_bad_columns_and_mixed_params_are_refused():
    with pytest.raises(IdentifierError):
        build_view_query("v", ['id" FROM secret --'])
    with pytest.raises(IdentifierError):
        build_view_query("v", where={"a = 1 OR 1": 1})
    with pytest.raises(ValueError, match="only with a text"):
        build_view_query("v", where={"a": 1}, params=[1])
    with pytest.raises(ValueError, match="empty"):
        build_view_query("v", where={"a": []})


def test_catalog_vql_uses_denodo_procedures_with_bound_values():
    sql, params = list_views_vql("enseignement")
    assert "FROM GET_VIEWS()" in sql and "input_database_name = %s" in sql and params == ["enseignement"]
    sql, params = describe_view_vql("enseignement", "bv_eleves")
    assert "FROM CATALOG_VDP_METADATA_VIEWS()" in sql
    assert "input_database_name = %s AND input_view_name = %s" in sql and params == [
        "enseignement",
        "bv_eleves",
    ]
    for column in ("column_name", "column_vdp_type_name", "column_type_name", "column_description"):
        assert column in sql


class _RecordingDenodo(DenodoResource):
    """Answers catalog queries with rows shaped like Denodo's, and records the VQL it was sent."""

    def query(self, sql, params=None, output="polars"):
        _SENT.append((sql, params))
        if "GET_VIEWS()" in sql:
            table = pa.table(
                {
                    "database_name": ["enseignement"] * 3,
                    "name": ["iv_ecoles", "bv_eleves", "dv_classes"],
                    "view_type": [2, 0, 1],
                    "folder": ["/interface", "/base", "/derived"],
                    "description": ["Écoles", "Élèves inscrits", ""],
                }
            )
        else:
            rows = [] if params[1] == "missing" else [("id", "long", "BIGINT", 19, 0, "Identifiant")]
            table = pa.table(
                {
                    name: [r[i] for r in rows]
                    for i, name in enumerate(
                        [
                            "column_name",
                            "column_vdp_type_name",
                            "column_type_name",
                            "column_type_precision",
                            "column_type_scale",
                            "column_description",
                        ]
                    )
                }
            )
        from dagster_cfwb.transfer.arrow_stream import to_output

        return to_output(table, output)


_SENT: list = []


def test_list_and_describe_views_read_catalog_rows():
    denodo = _RecordingDenodo(database="enseignement")
    views = denodo.list_views()
    assert views["name"].to_list() == ["bv_eleves", "dv_classes", "iv_ecoles"]
    assert views["view_type"].to_list() == ["base", "derived", "interface"]
    columns = denodo.describe_view("bv_eleves")
    assert columns.columns == ["column_name", "type", "sql_type", "precision", "scale", "description"]
    assert columns.row(0) == ("id", "long", "BIGINT", 19, 0, "Identifiant")
    assert _SENT[-1][1] == ["enseignement", "bv_eleves"]
    denodo.describe_view("autre_db.bv_x")
    assert _SENT[-1][1] == ["autre_db", "bv_x"]
    with pytest.raises(LookupError, match="`missing`.*`enseignement`"):
        denodo.describe_view("missing")
    assert denodo.table_schema("bv_eleves") == {"id": "long"}


def test_defaults_and_repr():
    denodo = DenodoResource(host="denodo.example", password="pw-secret-1")
    assert denodo.port == 9996
    assert "pw-secret-1" not in repr(denodo)
