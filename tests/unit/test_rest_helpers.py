"""REST client helpers that need no server: URL masking, Retry-After, backoff, JSON paths, config reprs."""

import time
from email.utils import formatdate

import httpx
import pytest

from dagster_cfwb.resources.api.rest import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
    OffsetPaginator,
    RetryPolicy,
)
from dagster_cfwb.resources.api.rest.auth import auth_secrets, basic_auth_header, build_httpx_auth
from dagster_cfwb.resources.api.rest.paginators import to_pagination
from dagster_cfwb.resources.api.rest_api_resource import RestApiResource
from dagster_cfwb.transfer.rest import CursorPages, OAuth2Settings, OffsetPages, SignIn, SinglePage
from dagster_cfwb.transfer.rest.json_path import MISSING, get_path
from dagster_cfwb.transfer.rest.redaction import mask_url, safe_snippet, secret_query_values
from dagster_cfwb.transfer.rest.retries import (
    RateLimiter,
    is_retryable_error,
    is_retryable_status,
    parse_retry_after,
)


def test_mask_url():
    assert (
        mask_url("https://a.example/x?page=2&api_key=abc123")
        == "https://a.example/x?page=2&api_key=**********"
    )
    assert mask_url("https://a.example/x?access_token=t&client_secret=s&q=1") == (
        "https://a.example/x?access_token=**********&client_secret=**********&q=1"
    )
    assert mask_url("https://user:pw@a.example/x") == "https://**********@a.example/x"
    assert mask_url("https://a.example/x?sub=k1", ["sub"]) == "https://a.example/x?sub=**********"
    assert (
        mask_url("https://a.example/x?token_type=bearer&key_name=id")
        == "https://a.example/x?token_type=**********&key_name=id"
    )
    assert mask_url("/relative/path") == "/relative/path"


def test_secret_query_values_and_snippet():
    assert secret_query_values("https://a/x?api_key=K1&page=2&sig=S2") == ["K1", "S2"]
    snippet = safe_snippet('{"echo": "K1x"}\n' + "x" * 500, ["K1x"], limit=30)
    assert "K1x" not in snippet and snippet.endswith("…") and "\n" not in snippet


def test_retry_after_and_policy():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    in_ten = formatdate(time.time() + 10, usegmt=True)
    assert 8 <= parse_retry_after(in_ten) <= 10.5
    policy = RetryPolicy(max_retries=5, backoff_seconds=1.0, max_backoff_seconds=6.0)
    assert 1.0 <= policy.delay(1) <= 1.5 and 4.0 <= policy.delay(3) <= 6.0 and policy.delay(10) == 6.0
    assert policy.delay(1, retry_after=2.5) == 2.5 and policy.delay(1, retry_after=600) == 6.0


def test_retryable_classification():
    assert all(is_retryable_status(s) for s in (429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
    request = httpx.Request("GET", "http://x")
    assert is_retryable_error(httpx.ReadTimeout("t", request=request))
    assert is_retryable_error(httpx.ConnectError("c", request=request))
    assert is_retryable_error(httpx.RemoteProtocolError("r", request=request))
    assert not is_retryable_error(httpx.UnsupportedProtocol("u", request=request))


def test_rate_limiter_spaces_calls():
    limiter = RateLimiter(50)
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= 5 / 50 * 0.9
    RateLimiter(None).wait()  # no limit: returns at once


def test_get_path():
    body = {"data": {"items": [{"id": 1}], "next": None}, "list": [[1, 2]]}
    assert get_path(body, "data.items.0.id") == 1
    assert get_path(body, "list.0.-1") == 2
    assert get_path(body, "data.next") is None
    assert get_path(body, "data.missing") is MISSING and get_path(body, "list.9") is MISSING
    assert get_path(body, None) is body and get_path([1], "x") is MISSING


def test_auth_models_hide_secrets_in_repr():
    models = [
        BearerAuth(token="tok-AAA-1"),
        BasicAuth(username="u", password="pw-BBB-2"),
        ApiKeyAuth(api_key="key-CCC-3"),
        OAuth2ClientCredentials(token_url="https://t", client_id="c", client_secret="sec-DDD-4"),
    ]
    resource = RestApiResource(base_url="https://api.example", auth=models[3])
    text = " ".join(repr(m) + str(m) for m in models) + repr(resource)
    for secret in ("tok-AAA-1", "pw-BBB-2", "key-CCC-3", "sec-DDD-4"):
        assert secret not in text
    assert "key-CCC-3" in auth_secrets(models[2]) and "sec-DDD-4" in auth_secrets(models[3])


def test_build_httpx_auth_headers():
    request = httpx.Request("GET", "https://api.example/x")
    flow = build_httpx_auth(ApiKeyAuth(api_key="k", name="X-Key")).auth_flow(request)
    assert next(flow).headers["X-Key"] == "k"
    flow = build_httpx_auth(ApiKeyAuth(api_key="k", name="key", location="query")).auth_flow(request)
    assert next(flow).url.params["key"] == "k"
    flow = build_httpx_auth(BearerAuth(token="t")).auth_flow(httpx.Request("GET", "https://api.example/x"))
    assert next(flow).headers["Authorization"] == "Bearer t"
    assert basic_auth_header("u", "p") == "Basic dTpw"


def test_oauth2_flow_caches_and_renews_with_margin():
    now = [1000.0]
    config = OAuth2ClientCredentials(
        token_url="https://t/token", client_id="c", client_secret="s", refresh_margin_seconds=60
    )
    flow = build_httpx_auth(config)
    flow._clock = lambda: now[0]

    def run(token_value: str | None):
        gen = flow.auth_flow(httpx.Request("GET", "https://api.example/x"))
        sent = next(gen)
        if sent.url.path == "/token":
            assert b"client_secret=s" in sent.read()
            sent = gen.send(
                httpx.Response(200, json={"access_token": token_value, "expires_in": 300}, request=sent)
            )
        return sent.headers["Authorization"]

    assert run("T1") == "Bearer T1"
    now[0] += 200  # 100 s left: still more than the 60 s margin
    assert run(None) == "Bearer T1"
    now[0] += 50  # 50 s left: inside the margin, renewed before expiry
    assert run("T2") == "Bearer T2"
    assert flow.tokens_fetched == 2


@pytest.mark.parametrize(("status", "kind"), [(503, "TokenEndpointUnavailable"), (400, "RestApiAuthError")])
def test_oauth2_token_errors(status, kind):
    config = OAuth2ClientCredentials(token_url="https://t/token", client_id="c", client_secret="sec-XYZ-9")
    flow = build_httpx_auth(config)
    gen = flow.auth_flow(httpx.Request("GET", "https://api.example/x"))
    token_request = next(gen)
    with pytest.raises(Exception) as err:
        gen.send(httpx.Response(status, text="bad client sec-XYZ-9", request=token_request))
    assert type(err.value).__name__ == kind and "sec-XYZ-9" not in str(err.value)


def test_oauth2_basic_client_auth_header_is_masked_when_echoed():
    config = OAuth2ClientCredentials(
        token_url="https://t/token",
        client_id="c",
        client_secret="sec-XYZ-9",
        client_auth_method="client_secret_basic",
    )
    flow = build_httpx_auth(config)
    gen = flow.auth_flow(httpx.Request("GET", "https://api.example/x"))
    token_request = next(gen)
    sent = token_request.headers["Authorization"]  # "Basic <base64(c:sec-XYZ-9)>"
    with pytest.raises(Exception) as err:
        gen.send(httpx.Response(401, text=f"refused header {sent}", request=token_request))
    assert sent.split(" ", 1)[1] not in str(err.value)


def test_sign_in_knows_its_secrets_and_where_a_key_travels():
    query = SignIn.api_key("key-1", name="key", location="query")
    assert query.query_params == ("key",) and query.key_header is None
    assert SignIn.api_key("key-1", name="X-Key").key_header == "X-Key"
    assert {"pw-2", basic_auth_header("u", "pw-2").split(" ")[1]} <= set(
        SignIn.basic("u", "pw-2").secret_values()
    )
    assert repr(SignIn.bearer("tok-3")) == "SignIn(kind='bearer')" and SignIn.none().flow is None
    config = OAuth2ClientCredentials(token_url="https://t/token", client_id="c", client_secret="sec-4")
    sign_in = config.sign_in()
    assert sign_in.kind == "oauth2_client_credentials" and "sec-4" in sign_in.secret_values()
    assert "sec-4" not in repr(
        OAuth2Settings(token_url="https://t/token", client_id="c", client_secret="sec-4")
    )


def test_paginator_models_build_the_plain_walkers():
    assert OffsetPaginator(limit=7, total_path="total").pagination() == OffsetPages(
        limit=7, total_path="total"
    )
    walker = OffsetPages(limit=2)
    assert to_pagination(walker) is walker  # a plain walker is used as it is
    assert to_pagination({"type": "cursor", "cursor_param": "after"}) == CursorPages(cursor_param="after")
    assert to_pagination(None) == SinglePage()
