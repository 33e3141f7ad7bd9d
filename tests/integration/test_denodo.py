"""DenodoResource's data path against the machine's PostgreSQL (Denodo speaks the same wire protocol).

No Denodo server runs here: these tests exercise connecting, client-side binding, DECLARE/FETCH
streaming, Arrow typing and the lakehouse file on PostgreSQL; the catalog procedures (GET_VIEWS,
CATALOG_VDP_METADATA_VIEWS) are checked at the level of their VQL in tests/unit/test_denodo_vql.py.
"""

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from dagster import Config, MaterializeResult, asset, materialize

from dagster_cfwb.resources.api.denodo_resource import DenodoResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
from dagster_cfwb.resources.protocols import DatabaseTarget
from dagster_cfwb.transfer.identifiers import IdentifierError

pytestmark = pytest.mark.postgres


# --- example asset, as in docs/apis.md ----------------------------------------------------------
class ElevesConfig(Config):
    view: str = "enseignement.bv_eleves"  # <virtual database>.<view>
    annee: int = 2024


@asset
def stg_eleves(
    config: ElevesConfig, denodo: DenodoResource, lakehouse: LocalLakehouseResource
) -> MaterializeResult:
    """Pupils of one school year, copied from the Denodo view `bv_eleves`."""
    result = denodo.to_lakehouse(
        config.view, lakehouse, "enseignement/stg/eleves.parquet", where={"annee": config.annee}
    )
    return MaterializeResult(metadata={"dagster/row_count": result.rows, "path": result.path})


# ------------------------------------------------------------------------------------------------


@pytest.fixture
def view_schema(postgresql, pg_schema):
    """A table and a view `bv_eleves` in a fresh schema, standing in for a Denodo virtual database."""
    postgresql.execute(
        f'CREATE TABLE "{pg_schema}".eleves (id bigint PRIMARY KEY, nom text, annee int, moyenne numeric(5,2), '
        "inscrit_le date, vu_a timestamptz, actif boolean)"
    )
    postgresql.execute(
        f"INSERT INTO \"{pg_schema}\".eleves SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'élève ' || g || ' %' END, "
        "2023 + g % 2, (g % 2000) / 100.0, DATE '2024-01-01' + g % 300, TIMESTAMPTZ '2024-05-01 12:00+00' + g * "
        "INTERVAL '1 second', g % 3 = 0 FROM generate_series(1, 5000) g"
    )
    postgresql.execute(f'CREATE VIEW "{pg_schema}".bv_eleves AS SELECT * FROM "{pg_schema}".eleves')
    return pg_schema


@pytest.fixture
def denodo(pg_config):
    # Denodo's port would be 9996; here the same protocol is spoken by PostgreSQL.
    return DenodoResource(**{**pg_config, "batch_rows": 1000})


def test_query_types_and_client_side_binding(denodo, view_schema):
    df = denodo.query(
        f'SELECT * FROM "{view_schema}".bv_eleves WHERE annee = %s AND nom LIKE %s ORDER BY id',
        params=[2024, "élève 1%"],
    )
    assert df.height > 0 and set(df["annee"].to_list()) == {2024}
    assert all(n.startswith("élève 1") for n in df["nom"].to_list())
    table = denodo.query(f'SELECT * FROM "{view_schema}".bv_eleves WHERE id = %s', params=[7], output="arrow")
    row = table.to_pylist()[0]
    assert row == {
        "id": 7,
        "nom": "élève 7 %",
        "annee": 2024,
        "moyenne": decimal.Decimal("0.07"),
        "inscrit_le": dt.date(2024, 1, 8),
        "vu_a": dt.datetime(2024, 5, 1, 12, 0, 7, tzinfo=dt.UTC),
        "actif": False,
    }
    assert str(table.schema.field("moyenne").type) == "decimal128(5, 2)"


@pytest.mark.parametrize("fetch_mode", ["cursor", "simple"])
def test_iter_batches_streams_in_bounded_batches(denodo, view_schema, fetch_mode):
    denodo = denodo.model_copy(update={"fetch_mode": fetch_mode})
    sizes = [
        b.num_rows for b in denodo.iter_batches(f'SELECT id FROM "{view_schema}".bv_eleves', batch_rows=700)
    ]
    assert sum(sizes) == 5000 and max(sizes) == 700 and len(sizes) == 8
    empty = list(denodo.iter_batches(f'SELECT id, nom FROM "{view_schema}".bv_eleves WHERE false'))
    assert len(empty) == 1 and empty[0].num_rows == 0 and empty[0].schema.names == ["id", "nom"]


def test_query_view_quotes_names_and_binds_values(denodo, view_schema):
    view = f"{view_schema}.bv_eleves"
    df = denodo.query_view(view, ["id", "nom"], where={"annee": 2023, "actif": True})
    assert df.columns == ["id", "nom"] and df.height == len(
        [g for g in range(1, 5001) if g % 2 == 0 and g % 3 == 0]
    )
    assert denodo.query_view(view, ["id"], where={"id": [1, 2, 3]}).height == 3
    assert denodo.query_view(view, ["id"], where={"nom": None}).height == 1000
    hostile = "x' OR '1'='1"
    assert denodo.query_view(view, ["id"], where={"nom": hostile}).height == 0
    assert denodo.query_view(view, ["id"], where="id <= %s AND nom IS NOT NULL", params=[10]).height == 8
    with pytest.raises(IdentifierError):
        denodo.query_view(view, ["id; DROP TABLE x"])
    with pytest.raises(IdentifierError):
        denodo.query_view('bv_eleves" --')


def test_to_lakehouse_and_extract(denodo, view_schema, local_lakehouse):
    result = denodo.to_lakehouse(f"{view_schema}.bv_eleves", local_lakehouse, "ens/stg/eleves.parquet")
    assert result.rows == 5000 and result.path == "azure://ens/stg/eleves.parquet"
    back = local_lakehouse.query_blob_storage(
        "SELECT count(*) n, count(DISTINCT id) ids, sum(moyenne) s FROM 'azure://ens/stg/eleves.parquet'"
    ).row(0, named=True)
    direct = denodo.query(f'SELECT sum(moyenne) s FROM "{view_schema}".bv_eleves').row(0)[0]
    assert back["n"] == 5000 and back["ids"] == 5000 and back["s"] == decimal.Decimal(direct)
    again = denodo.extract_to_lakehouse(
        f'SELECT id FROM "{view_schema}".bv_eleves WHERE annee = %s',
        local_lakehouse,
        "ens/stg/ids.parquet",
        params=[2024],
    )
    assert again.rows == 2500


def test_read_only(denodo, view_schema):
    # no load verbs at all (it is not a `DatabaseTarget`), and no PostgreSQL-only settings in the UI
    assert not isinstance(denodo, DatabaseTarget) and not hasattr(denodo, "copy_from_df")
    assert not {"copy_streams", "statement_timeout_seconds", "reader"} & set(DenodoResource.model_fields)
    with pytest.raises(AttributeError, match="copy_from_df"):
        denodo.copy_from_df(pa.table({"a": [1]}), f"{view_schema}.x")


def test_password_never_in_errors(pg_config):
    bad = DenodoResource(**{**pg_config, "port": 1, "password": "Denodo-Secret-77", "connect_retries": 0})
    with pytest.raises(ConnectionError) as err:
        bad.query("SELECT 1")
    assert "Denodo-Secret-77" not in str(err.value) and "Denodo-Secret-77" not in repr(bad)


def test_example_asset_materializes(pg_config, view_schema, tmp_path):
    resources = {
        "denodo": DenodoResource(**pg_config),
        "lakehouse": LocalLakehouseResource(root=str(tmp_path / "lake")),
    }
    run_config = {"ops": {"stg_eleves": {"config": {"view": f"{view_schema}.bv_eleves", "annee": 2024}}}}
    outcome = materialize([stg_eleves], resources=resources, run_config=run_config)
    assert outcome.success
    [mat] = outcome.asset_materializations_for_node("stg_eleves")
    assert mat.metadata["dagster/row_count"].value == 2500
    assert resources["lakehouse"].read_table("enseignement/stg/eleves.parquet").height == 2500
