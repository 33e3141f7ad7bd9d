"""The seed asset from the docs, verbatim, against Azurite and the machine's PostgreSQL."""

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from dagster import MaterializeResult, MetadataValue, asset, materialize

from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

pytestmark = [pytest.mark.azurite, pytest.mark.postgres]


# --- verbatim from the README / issue (tests/unit/test_seed_verbatim.py compares them) ---------
# fmt: off
@asset()
def gld_example(context, azure_adls: AzureAdlsResource, postgresql: PostgreSQLResource):
    df = azure_adls.query_blob_storage("FROM 'azure://code_location/stg/example.parquet'")
    postgresql.copy_from_df(df, "example")
    return MaterializeResult(metadata={"dagster/row_count": df.shape[0], "num_columns": df.shape[1],
        "dashboard_url": MetadataValue.url("https://vizu.intranet.example/dash")})
# fmt: on
# ----------------------------------------------------------------------------------------------


def _source_table(n: int = 5000) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [f"élève {i} 🎓" if i % 7 else None for i in range(n)],
            "amount": pa.array([decimal.Decimal(i) / 100 for i in range(n)], pa.decimal128(12, 2)),
            "born": [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "seen_at": pa.array(
                [dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC) + dt.timedelta(microseconds=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "active": [i % 2 == 0 for i in range(n)],
            "score": [i / 3 for i in range(n)],
        }
    )


def test_seed_asset_moves_every_row_and_value(azurite, pg_config):
    azure_adls = AzureAdlsResource(connection_string=azurite, container="lakehouse")
    postgresql = PostgreSQLResource(**pg_config)
    source = _source_table()
    azure_adls.write_table(source, "code_location/stg/example.parquet")

    result = materialize([gld_example], resources={"azure_adls": azure_adls, "postgresql": postgresql})

    assert result.success
    [mat] = result.asset_materializations_for_node("gld_example")
    assert mat.metadata["dagster/row_count"].value == source.num_rows
    assert mat.metadata["num_columns"].value == source.num_columns
    back = postgresql.query("SELECT * FROM example ORDER BY id", output="arrow")
    assert back.num_rows == source.num_rows
    for name in source.column_names:
        expected = source.column(name).to_pylist()
        got = back.column(name).to_pylist()
        assert got == expected, f"column {name} differs"
    types = postgresql.table_schema("example")
    assert types["amount"] == "numeric(12,2)"
    assert types["seen_at"] == "timestamp with time zone"
