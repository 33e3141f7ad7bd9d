"""Both lakehouse backends, same behaviour: Azurite-backed AzureAdlsResource and a local folder."""

import datetime as dt
import decimal

import dagster as dg
import polars as pl
import pyarrow as pa
import pytest

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource


@pytest.fixture(params=["azure-native", "azure-fsspec", "local"])
def lakehouse(request, tmp_path):
    if request.param == "local":
        return LocalLakehouseResource(root=str(tmp_path / "lake"))
    connection_string = request.getfixturevalue("azurite")
    engine = request.param.split("-")[1]
    return AzureAdlsResource(
        connection_string=connection_string,
        container=f"lake-{engine}-{tmp_path.name[-8:].lower().replace('_', '-')}",
        engine=engine,
    )


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": ["élève 🎓", None, ""],
            "amount": pa.array(
                [decimal.Decimal("1.10"), None, decimal.Decimal("-3.00")], pa.decimal128(9, 2)
            ),
            "day": [dt.date(1, 1, 1), dt.date(9999, 12, 31), None],
            "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None, None], pa.timestamp("us", "UTC")),
        }
    )


def test_write_query_list_exists_delete(lakehouse):
    result = lakehouse.write_table(_table(), "enseignement/stg/eleves.parquet")
    assert result.rows == 3 and result.path == "azure://enseignement/stg/eleves.parquet" and result.bytes > 0
    lakehouse.write_table(pl.DataFrame({"id": [4]}), "azure://enseignement/stg/other.parquet")

    back = lakehouse.query_blob_storage(
        "FROM 'azure://enseignement/stg/eleves.parquet' ORDER BY id", output="arrow"
    )
    assert back.to_pylist() == _table().to_pylist()
    df = lakehouse.query_blob_storage(
        "SELECT id FROM 'azure://enseignement/stg/*.parquet' WHERE id > ? ORDER BY id", params=[1]
    )
    assert df["id"].to_list() == [2, 3, 4]
    assert [f.path for f in lakehouse.list("enseignement/stg/")] == [
        "enseignement/stg/eleves.parquet",
        "enseignement/stg/other.parquet",
    ]
    assert lakehouse.exists("enseignement/stg/eleves.parquet")
    assert not lakehouse.exists("enseignement/stg/eleve.parquet")
    assert lakehouse.delete("enseignement/stg/other.parquet") is True
    assert lakehouse.delete("enseignement/stg/other.parquet") is False
    assert lakehouse.read_table("enseignement/stg/eleves.parquet").shape == (3, 5)


def test_missing_file_is_file_not_found_naming_root_and_path(lakehouse):
    with pytest.raises(FileNotFoundError, match=r"enseignement/stg/absent\.parquet") as err:
        lakehouse.query_blob_storage("FROM 'azure://enseignement/stg/absent.parquet'")
    root = "container" if isinstance(lakehouse, AzureAdlsResource) else "folder"
    assert root in str(err.value)


def test_failed_write_leaves_previous_file_intact(lakehouse):
    lakehouse.write_table(_table(), "x/stg/t.parquet")

    def broken():
        yield pa.record_batch({"id": pa.array([9], pa.int64())})
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        lakehouse.write_table(broken(), "x/stg/t.parquet")
    assert lakehouse.read_table("x/stg/t.parquet")["id"].to_list() == [1, 2, 3]
    assert [f.path for f in lakehouse.list("x/")] == ["x/stg/t.parquet"]


def test_iter_batches_streams(lakehouse):
    lakehouse.write_table(pa.table({"n": pa.array(range(10_000), pa.int64())}), "x/stg/n.parquet")
    batches = list(lakehouse.iter_batches("FROM 'azure://x/stg/n.parquet'", batch_rows=4096))
    assert sum(b.num_rows for b in batches) == 10_000 and max(b.num_rows for b in batches) <= 4096


def test_secrets_stay_out_of_repr(azurite):
    resource = AzureAdlsResource(connection_string=azurite)
    assert "AccountKey" not in repr(resource) and "**********" in repr(resource)


def test_unknown_credential_kind_lists_valid_ones():
    @dg.asset
    def a(azure_adls: AzureAdlsResource):
        return None

    with pytest.raises(Exception, match="account_key") as err:
        dg.materialize(
            [a],
            resources={"azure_adls": AzureAdlsResource.configure_at_launch()},
            run_config={
                "resources": {
                    "azure_adls": {"config": {"account_name": "acct", "credential": {"kind": "password"}}}
                }
            },
        )
    for kind in ("connection_string", "sas_token", "service_principal", "default_credential"):
        assert kind in str(err.value)


def test_no_credentials_at_all_is_explained():
    with pytest.raises(Exception, match="needs either `connection_string`"):
        AzureAdlsResource()


def test_listing_a_lakehouse_that_does_not_exist_yet_is_empty(tmp_path):
    lake = LocalLakehouseResource(root=str(tmp_path / "not-yet"))
    assert lake.list() == [] and lake.list("enseignement/") == [] and not lake.exists("a/stg/b.parquet")


def test_batches_are_gathered_into_large_row_groups(local_lakehouse, tmp_path):
    import pyarrow.parquet as pq

    batches = (
        pa.record_batch({"n": pa.array(range(i * 1000, (i + 1) * 1000), pa.int64())}) for i in range(50)
    )
    local_lakehouse.write_table(batches, "x/stg/groups.parquet")
    meta = pq.ParquetFile(f"{local_lakehouse.root}/x/stg/groups.parquet").metadata
    assert meta.num_rows == 50_000 and meta.num_row_groups == 1


def test_sas_token_and_account_key_are_masked_in_errors_whatever_their_form():
    import duckdb

    from dagster_cfwb.resources.lakehouse.azure_credentials import (
        ConnectionStringCredential,
        SasTokenCredential,
    )

    sas = AzureAdlsResource(
        account_name="acct",
        credential=SasTokenCredential(sas_token="?sv=2022-11-02&ss=b&sig=S1gn4tureXYZ%3D"),
    )
    echoed = duckdb.IOException(
        "could not read: SharedAccessSignature=sv=2022-11-02&ss=b&sig=S1gn4tureXYZ%3D"
    )
    assert "S1gn4tureXYZ" not in str(sas._translate_error(echoed))
    assert "S1gn4tureXYZ" not in str(
        sas._translate_error(duckdb.IOException("GET /x?sig=S1gn4tureXYZ%3D&sv=1"))
    )
    key = AzureAdlsResource(
        credential=ConnectionStringCredential(
            connection_string="AccountName=acct;AccountKey=QUJDREVGR0hJSktM;BlobEndpoint=http://127.0.0.1:1/acct"
        )
    )
    assert "QUJDREVGR0hJSktM" not in str(key._translate_error(duckdb.IOException("bad key QUJDREVGR0hJSktM")))


def test_first_writes_racing_to_create_the_container_both_succeed(azurite, tmp_path, monkeypatch):
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    lake = AzureAdlsResource(
        connection_string=azurite, container=f"race-{tmp_path.name[-8:].lower().replace('_', '-')}"
    )
    client = lake._container_client
    upload = client.upload_blob

    def other_writer_wins(*args, **kwargs):  # the container appears between our failed upload and our create
        monkeypatch.setattr(client, "upload_blob", upload)
        BlobServiceClient.from_connection_string(azurite).create_container(lake.container)
        raise ResourceNotFoundError("The specified container does not exist.")

    monkeypatch.setattr(client, "upload_blob", other_writer_wins)
    result = lake.write_table(pa.table({"n": [1, 2]}), "x/stg/race.parquet")
    assert result.rows == 2 and lake.read_table("x/stg/race.parquet")["n"].to_list() == [1, 2]


def test_list_accepts_the_same_url_schemes_as_sql(tmp_path):
    lake = LocalLakehouseResource(root=str(tmp_path / "lake"))
    lake.write_table(pa.table({"n": [1]}), "x/stg/a.parquet")
    expected = ["x/stg/a.parquet"]
    for prefix in ("x/stg/", "azure://x/stg/", "az://x/stg/"):
        assert [f.path for f in lake.list(prefix)] == expected, prefix
