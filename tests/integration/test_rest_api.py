"""RestApiResource against a real local HTTP API: every paginator, every auth, retries and bad pages."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa
import pytest
from http_api_server import API_KEY, BASIC_PASSWORD, BASIC_USER, CLIENT_ID, CLIENT_SECRET, STATIC_TOKEN

from dagster_cfwb.resources.api.rest import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    CursorPaginator,
    FetchStats,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OAuth2ClientCredentials,
    OffsetPaginator,
    PageNumberPaginator,
    RestApiAuthError,
    RestApiError,
    RestApiHttpError,
    RestApiPageError,
    RestApiRetriesExhausted,
)
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource

pytestmark = pytest.mark.http

SECRETS = [CLIENT_SECRET, API_KEY, BASIC_PASSWORD, STATIC_TOKEN]


def make_api(server, **kwargs) -> RestApiResource:
    kwargs.setdefault("backoff_seconds", 0.001)
    kwargs.setdefault("max_backoff_seconds", 0.05)
    kwargs.setdefault("timeout_seconds", 5)
    return RestApiResource(base_url=server.url, **kwargs)


def oauth2(server, **kwargs) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        token_url=f"{server.url}/oauth/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs
    )


def ids(pages) -> list[int]:
    return [r["id"] for page in pages for r in page]


PAGINATED = [
    ("page", PageNumberPaginator(page_size=100, total_pages_path="meta.total_pages"), "data"),
    ("page", PageNumberPaginator(page_size=100), "data"),
    ("offset", OffsetPaginator(limit=100, total_path="total"), "results"),
    ("offset", OffsetPaginator(limit=100), "results"),
    ("cursor", CursorPaginator(cursor_path="next_cursor", cursor_param="cursor"), "items"),
    ("next", NextUrlPaginator(next_url_path="links.next"), "records"),
    ("link", LinkHeaderPaginator(), None),
    ("all", None, None),
]


@pytest.mark.parametrize(("route", "paginator", "record_path"), PAGINATED)
def test_every_paginator_reads_every_record_once(api_server, route, paginator, record_path):
    api_server.state.total = 1050  # 11 pages, the last one short
    pages = list(make_api(api_server).iter_pages(route, paginator=paginator, record_path=record_path))
    assert ids(pages) == list(range(1050))
    assert len(pages) == (1 if route == "all" else 11)


def test_paginator_given_as_yaml_like_dict(api_server):
    api_server.state.total = 250
    pages = make_api(api_server).iter_pages(
        "offset", paginator={"type": "offset", "limit": 100, "total_path": "total"}, record_path="results"
    )
    assert ids(pages) == list(range(250))


def test_oauth2_token_is_cached_and_renewed_before_expiry(api_server):
    api_server.state.total = 500
    api_server.state.token_lifetime = 0.6  # margin becomes 0.3 s: renewed after ~0.3 s
    api = make_api(api_server, auth=oauth2(api_server))
    seen = []
    for page in api.iter_pages(
        "secure/page", paginator=PageNumberPaginator(page_size=100), record_path="data"
    ):
        seen.extend(r["id"] for r in page)
        time.sleep(0.2)
    assert seen == list(range(500))
    assert 2 <= api_server.state.token_requests <= 4
    assert not [entry for entry in api_server.state.log if entry[1] == 401]  # never sent an expired token


def test_oauth2_renews_once_on_401(api_server):
    api_server.state.total = 300
    api_server.state.token_lifetime = 3600
    api = make_api(api_server, auth=oauth2(api_server))
    pages = api.iter_pages("secure/page", paginator=PageNumberPaginator(page_size=100), record_path="data")
    first = next(pages)
    api_server.state.tokens.clear()  # the provider revokes every token
    rest = list(pages)
    assert ids([first, *rest]) == list(range(300))
    assert api_server.state.token_requests == 2
    assert len([entry for entry in api_server.state.log if entry[1] == 401]) == 1


def test_oauth2_client_secret_basic(api_server):
    api_server.state.total = 10
    api = make_api(api_server, auth=oauth2(api_server, client_auth_method="client_secret_basic"))
    assert len(api.get_json("secure/all")) == 10


def test_oauth2_wrong_secret_fails_without_leaking(api_server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    bad = OAuth2ClientCredentials(
        token_url=f"{api_server.url}/oauth/token", client_id=CLIENT_ID, client_secret="wrong-Secret-42"
    )
    api = make_api(api_server, auth=bad)
    with pytest.raises(RestApiAuthError) as err:
        api.get_json("secure/all")
    message = str(err.value)
    assert "401" in message and "/oauth/token" in message and CLIENT_ID in message
    captured = capsys.readouterr()
    for text in (message, caplog.text, captured.out, captured.err, repr(api)):
        assert "wrong-Secret-42" not in text


def test_token_endpoint_503_is_retried(api_server):
    api_server.state.total = 5
    api_server.state.faults["token"] = ["503", "429"]
    api = make_api(api_server, auth=oauth2(api_server))
    assert len(api.get_json("secure/all")) == 5
    assert api_server.state.token_requests == 1


@pytest.mark.parametrize(
    ("mode", "auth"),
    [
        ("api_key_header", ApiKeyAuth(api_key=API_KEY)),
        ("api_key_query", ApiKeyAuth(api_key=API_KEY, name="api_key", location="query")),
        ("basic", BasicAuth(username=BASIC_USER, password=BASIC_PASSWORD)),
        ("bearer", BearerAuth(token=STATIC_TOKEN)),
    ],
)
def test_static_auths(api_server, mode, auth):
    api_server.state.auth_mode = mode
    api_server.state.total = 120
    api = make_api(api_server, auth=auth)
    assert ids(api.iter_pages("secure/link", paginator="link_header")) == list(range(120))
    with pytest.raises(RestApiAuthError, match="401"):
        make_api(api_server).get_json("secure/all")


def test_query_api_key_is_masked_in_errors_and_logs(api_server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    api_server.state.auth_mode = "api_key_query"
    api = make_api(
        api_server, auth=ApiKeyAuth(api_key=API_KEY, name="api_key", location="query"), max_retries=1
    )
    with pytest.raises(RestApiHttpError) as err:
        api.get_json("secure/status/404", params={"year": 2024})
    assert err.value.status_code == 404
    assert "api_key=**********" in err.value.url and "year=2024" in err.value.url
    assert "status 404" in str(err.value)  # the start of the body
    with pytest.raises(RestApiRetriesExhausted):
        api.get_json("secure/status/503")
    captured = capsys.readouterr()
    for text in (str(err.value), caplog.text, captured.out, captured.err):
        assert API_KEY not in text
    assert "HTTP Request" in caplog.text  # httpx did log the URLs — masked


def test_503_429_drop_truncate_and_timeout_are_retried_without_duplicates(api_server, caplog):
    api_server.state.total = 500
    api_server.state.faults = {
        "offset:100": ["503", "503"],
        "offset:200": ["429"],
        "offset:300": ["drop"],
        "offset:400": ["truncate", "500"],
        "offset:0": ["sleep"],
    }
    stats = FetchStats()
    api = make_api(api_server, timeout_seconds=0.5)
    pages = list(
        api.iter_pages("offset", paginator=OffsetPaginator(limit=100), record_path="results", stats=stats)
    )
    assert ids(pages) == list(range(500))
    assert api_server.state.injected == 7
    assert stats.retries == 7 and stats.pages == 6  # 5 full pages and the empty one after
    assert len(api_server.requests_for("/offset?offset=400")) == 3
    assert "retry" in caplog.text


def test_retry_after_is_honoured(api_server):
    api_server.state.total = 5
    api_server.state.retry_after = "0.4"
    api_server.state.faults["all"] = ["429"]
    api = make_api(api_server, backoff_seconds=0.001, max_backoff_seconds=5)
    started = time.monotonic()
    assert len(api.get_json("all")) == 5
    assert time.monotonic() - started >= 0.4


def test_retries_exhausted(api_server):
    api = make_api(api_server, max_retries=2)
    with pytest.raises(RestApiRetriesExhausted) as err:
        api.get_json("status/502")
    assert err.value.attempts == 3 and err.value.status_code == 502
    assert len(api_server.requests_for("/status/502")) == 3


def test_client_error_fails_at_once(api_server):
    with pytest.raises(RestApiHttpError) as err:
        make_api(api_server).get_json("status/422", params={"token": "tok-should-hide"})
    assert err.value.status_code == 422
    assert "token=**********" in str(err.value) and "tok-should-hide" not in str(err.value)
    assert len(api_server.requests_for("/status/422")) == 1


def test_rate_limit_spaces_requests(api_server):
    api_server.state.total = 50
    api = make_api(api_server, requests_per_second=20)
    started = time.monotonic()
    pages = list(api.iter_pages("page", paginator=PageNumberPaginator(page_size=10), record_path="data"))
    assert len(pages) == 6  # 5 full pages and a final empty one
    assert time.monotonic() - started >= 5 / 20


@pytest.mark.parametrize(
    ("path", "record_path", "expected"),
    [
        ("bad/json", None, "is not valid JSON"),
        ("bad/object", "items", "`record_path` 'items' matches nothing"),
        ("bad/object", "data", "expected a list of records"),
        ("bad/object", None, "expected a list of records"),
        ("bad/scalars", None, "expected a JSON object"),
    ],
)
def test_bad_pages_raise_and_write_nothing(api_server, local_lakehouse, path, record_path, expected):
    api = make_api(api_server)
    with pytest.raises(RestApiPageError, match=expected) as err:
        api.to_lakehouse(path, local_lakehouse, "api/stg/bad.parquet", record_path=record_path)
    assert "page 1" in str(err.value).lower()
    assert api_server.url + "/" + path in str(err.value)
    assert not local_lakehouse.exists("api/stg/bad.parquet")


def test_bad_second_page_keeps_previous_file(api_server, local_lakehouse):
    local_lakehouse.write_table(pa.table({"id": [42]}), "api/stg/t.parquet")
    api = make_api(api_server)
    with pytest.raises(RestApiPageError, match="Page 2") as err:
        api.to_lakehouse(
            "bad/second_page",
            local_lakehouse,
            "api/stg/t.parquet",
            paginator=PageNumberPaginator(),
            record_path="data",
        )
    assert "page=2" in err.value.url
    assert local_lakehouse.read_table("api/stg/t.parquet")["id"].to_list() == [42]
    assert [p for p in local_lakehouse.list("api/stg/") if p.path.endswith(".tmp")] == []


def test_next_url_to_another_host_is_refused(api_server):
    api = make_api(api_server)
    with pytest.raises(RestApiError, match="not on the API's host"):
        api.get_json("http://127.0.0.2:1/steal")


@pytest.mark.parametrize("location", ["header", "query"])
def test_api_key_does_not_follow_a_redirect_to_another_host(api_server, location):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: dict = {}

    class Other(BaseHTTPRequestHandler):
        def do_GET(self):
            received.update(self.headers)
            received["path"] = self.path
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args):
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Other)

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # a careless server that keeps the query string when it redirects
            query = self.path.partition("?")[2]
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}/landing?{query}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirect = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for server in (other, redirect):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    auth = ApiKeyAuth(
        api_key=API_KEY, name="X-API-Key" if location == "header" else "api_key", location=location
    )
    try:
        api = RestApiResource(base_url=f"http://127.0.0.1:{redirect.server_port}", auth=auth)
        assert api.get_json("moved", params={"page": 2}) == []
        assert received["path"].startswith("/landing?page=2")
        assert received and not any(API_KEY in str(v) for v in received.values())
    finally:
        for server in (other, redirect):
            server.shutdown()
            server.server_close()
    # on the API's own host the key is still sent (the server checks it)
    api_server.state.auth_mode = f"api_key_{location}"
    assert len(make_api(api_server, auth=auth).get_json("secure/all")) > 0


def test_fetch_records_types(api_server):
    api_server.state.total = 300
    df = make_api(api_server).fetch_records(
        "offset", paginator=OffsetPaginator(limit=100), record_path="results"
    )
    assert df.shape == (300, 6)
    assert str(df.schema["id"]) == "Int64" and str(df.schema["amount"]) == "Float64"
    assert str(df.schema["active"]) == "Boolean" and str(df.schema["meta"]) == "String"
    table = make_api(api_server).fetch_records(
        "all", output="arrow", schema={"id": "int64", "name": "string", "amount": "float64"}
    )
    assert table.column_names == ["id", "name", "amount"]


def test_request_and_headers(api_server):
    api = make_api(api_server, headers={"Accept-Language": "fr"}, auth=BearerAuth(token=STATIC_TOKEN))
    response = api.request("GET", "echo", params={"q": "x"})
    body = response.json()
    assert body["headers"]["Accept-Language"] == "fr" and body["query"] == {"q": "x"}
    assert STATIC_TOKEN not in repr(api)


def test_tokens_and_secrets_never_logged_even_at_debug(api_server, caplog, capsys, local_lakehouse):
    caplog.set_level(logging.DEBUG)
    api_server.state.total = 250
    api_server.state.token_lifetime = 0.3
    api_server.state.faults = {"offset:100": ["503"]}
    api = make_api(api_server, auth=oauth2(api_server))
    stats = FetchStats()
    result = api.to_lakehouse(
        "secure/offset",
        local_lakehouse,
        "api/stg/x.parquet",
        paginator=OffsetPaginator(limit=100),
        record_path="results",
        stats=stats,
    )
    assert result.rows == 250
    with pytest.raises(RestApiHttpError) as err:
        api.get_json("secure/status/404")
    issued = list(api_server.state.tokens)
    assert issued
    captured = capsys.readouterr()
    haystack = "\n".join(
        [caplog.text, captured.out, captured.err, str(err.value), repr(api), str(stats.as_metadata())]
    )
    for secret in [CLIENT_SECRET, *issued]:
        assert secret not in haystack


def test_plain_python_client_example_of_the_docs(api_server):
    """The "Without Dagster" example of docs/apis.md, run as written (no Dagster import in it)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "apis.md").read_text(encoding="utf-8")
    section = text[text.index("### Without Dagster") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("\n```", start)]
    assert "dagster" not in code.replace("dagster_cfwb", "").replace('"dagster"', "")
    api_server.state.total = 250
    scope = {"base_url": api_server.url, "client_id": CLIENT_ID, "secret": CLIENT_SECRET}
    exec(compile(code, "docs/apis.md", "exec"), scope)  # the documented example
    assert [r["id"] for r in scope["records"]] == list(range(250))
    assert api_server.state.token_requests == 1
