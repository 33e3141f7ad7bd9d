"""The "Done when" check and the example asset: a flaky, paginated OAuth2 API pulled into the lakehouse."""

from __future__ import annotations

import time

import pytest
from dagster import MaterializeResult, asset, materialize
from http_api_server import CLIENT_ID, CLIENT_SECRET

from dagster_cfwb.resources.api.rest import (
    CursorPaginator,
    FetchStats,
    OAuth2ClientCredentials,
    OffsetPaginator,
)
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

pytestmark = pytest.mark.http


# --- example asset, as in docs/apis.md ----------------------------------------------------------
@asset
def stg_api_items(rest_api: RestApiResource, lakehouse: LocalLakehouseResource) -> MaterializeResult:
    """Every item of the items API, one row per item, refreshed in full on each run."""
    stats = FetchStats()
    result = rest_api.to_lakehouse(
        "secure/offset",
        lakehouse,
        "demo/stg/api_items.parquet",
        paginator=OffsetPaginator(limit=100, total_path="total"),
        record_path="results",
        stats=stats,
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.rows,
            "path": result.path,
            "bytes": result.bytes,
            **stats.as_metadata(),
        }
    )


# ------------------------------------------------------------------------------------------------


def test_done_when_10k_records_100_pages_10_percent_failures(api_server, local_lakehouse, capsys):
    state = api_server.state
    state.total, state.page_size, state.token_lifetime = 10_000, 100, 1.0
    state.fail_every = 10  # the first try of every 10th page fails: 503, 429, dropped, truncated in turn
    api = RestApiResource(
        base_url=api_server.url,
        auth=OAuth2ClientCredentials(
            token_url=f"{api_server.url}/oauth/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ),
        backoff_seconds=0.01,
        max_backoff_seconds=0.1,
    )
    stats = FetchStats()
    started = time.perf_counter()
    result = api.to_lakehouse(
        "secure/page",
        local_lakehouse,
        "demo/stg/items.parquet",
        paginator={"type": "page_number", "page_size": 100, "total_pages_path": "meta.total_pages"},
        record_path="data",
        stats=stats,
    )
    seconds = time.perf_counter() - started
    check = local_lakehouse.query_blob_storage(
        "SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id) AS lo, max(id) AS hi "
        "FROM 'azure://demo/stg/items.parquet'"
    ).row(0, named=True)
    assert result.rows == 10_000
    assert check == {"n": 10_000, "ids": 10_000, "lo": 0, "hi": 9_999}
    assert stats.pages == 100 and stats.records == 10_000
    faults = [e for e in state.log if e[1] in (-1, 429, 503)]
    assert state.injected == 10 and stats.retries == 10, faults
    with capsys.disabled():
        print(
            f"\n[done-when] {result.rows:,} rows ({check['ids']:,} distinct) from {stats.pages} pages, "
            f"{stats.requests} requests, {state.injected} injected failures, {stats.retries} retries, "
            f"{state.token_requests} OAuth2 tokens, {result.bytes:,} bytes, {seconds:.2f}s"
        )


def test_example_asset_materializes(api_server, local_lakehouse):
    api_server.state.total = 1234
    api_server.state.faults = {"offset:500": ["503"]}
    rest_api = RestApiResource(
        base_url=api_server.url,
        auth=OAuth2ClientCredentials(
            token_url=f"{api_server.url}/oauth/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ),
        backoff_seconds=0.01,
    )
    result = materialize([stg_api_items], resources={"rest_api": rest_api, "lakehouse": local_lakehouse})
    assert result.success
    [mat] = result.asset_materializations_for_node("stg_api_items")
    assert mat.metadata["dagster/row_count"].value == 1234
    assert mat.metadata["api_retries"].value == 1
    assert CLIENT_SECRET not in str(mat.metadata)
    df = local_lakehouse.read_table("demo/stg/api_items.parquet")
    assert df["id"].n_unique() == 1234


def test_auth_from_run_config_yaml_shape(api_server, local_lakehouse):
    """The shape a YAML/launchpad config uses: the auth variant is the key under `auth`."""
    api_server.state.total = 300
    result = materialize(
        [stg_api_items],
        resources={"rest_api": RestApiResource.configure_at_launch(), "lakehouse": local_lakehouse},
        run_config={
            "resources": {
                "rest_api": {
                    "config": {
                        "base_url": api_server.url,
                        "auth": {
                            "oauth2_client_credentials": {
                                "token_url": f"{api_server.url}/oauth/token",
                                "client_id": CLIENT_ID,
                                "client_secret": CLIENT_SECRET,
                            }
                        },
                    }
                }
            }
        },
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("stg_api_items")
    assert mat.metadata["dagster/row_count"].value == 300


@pytest.mark.azurite
def test_to_azure_lakehouse_on_azurite(api_server, azure_adls):
    """The same call lands in Azure Data Lake Storage (here Azurite), atomically."""
    api_server.state.total = 2500
    api_server.state.faults = {"cursor:1000": ["drop"]}
    api = RestApiResource(base_url=api_server.url, backoff_seconds=0.01)
    result = api.to_lakehouse(
        "cursor", azure_adls, "demo/stg/items.parquet", paginator=CursorPaginator(), record_path="items"
    )
    assert result.rows == 2500 and result.path == "azure://demo/stg/items.parquet"
    check = azure_adls.query_blob_storage(
        "SELECT count(DISTINCT id) AS ids FROM 'azure://demo/stg/items.parquet'"
    ).row(0, named=True)
    assert check["ids"] == 2500
