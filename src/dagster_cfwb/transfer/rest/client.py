"""A plain-Python REST client: httpx underneath, with auth, retries, rate limiting and pagination.

No Dagster here: `RestApiResource` builds a `RestClient` from its config (auth and paginator
models build the `SignIn` and the pagination) and hands it out; plain Python can use it directly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from dagster_cfwb.transfer.rest.exceptions import (
    RestApiAuthError,
    RestApiError,
    RestApiHttpError,
    RestApiPageError,
    RestApiRetriesExhausted,
    TokenEndpointUnavailable,
)
from dagster_cfwb.transfer.rest.json_path import MISSING, get_path
from dagster_cfwb.transfer.rest.pagination import PageContext, PageRequest, Pagination, SinglePage
from dagster_cfwb.transfer.rest.redaction import (
    install_httpx_log_redaction,
    mask_url,
    safe_snippet,
    secret_query_values,
)
from dagster_cfwb.transfer.rest.retries import (
    RateLimiter,
    RetryPolicy,
    is_retryable_error,
    is_retryable_status,
    parse_retry_after,
)
from dagster_cfwb.transfer.rest.sign_in import SignIn

try:  # orjson (the `api` extra) parses pages several times faster than the stdlib
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]  # the stdlib json parses instead

__all__ = ["FetchStats", "RestClient"]

_log = logging.getLogger(__name__)


@dataclass
class FetchStats:
    """Counters of one client's work, for logs and asset metadata."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    records: int = 0
    seconds_waited: float = 0.0

    def as_metadata(self) -> dict[str, int | float]:
        return {
            "api_requests": self.requests,
            "api_retries": self.retries,
            "api_pages": self.pages,
            "api_records": self.records,
        }


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class RestClient:
    """Call one REST API: `request`, `get_json` and `iter_pages`, with retries and secrets masked.

    Args:
        base_url: root of the API, e.g. `https://api.example/v1`; paths are joined to it.
        sign_in: how to sign in (`SignIn.bearer(…)`, `SignIn.oauth2(…)`…); None: no sign-in.
        headers: headers sent with every request (e.g. `Accept`).
        timeout_seconds: connect/read/write timeout of one attempt.
        retry: when and how long to retry (see `RetryPolicy`).
        requests_per_second: upper bound on the request rate (None: no limit).
        verify: check the server's TLS certificate (True), a CA bundle path, or False (never in production).
        logger: where retries are logged (default: this module's stdlib logger; the resource
            passes Dagster's logger so they show in the run's logs).
    """

    def __init__(
        self,
        base_url: str,
        *,
        sign_in: SignIn | None = None,
        headers: dict[str, str] | None = None,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = None,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
        logger: logging.Logger | None = None,
    ):
        install_httpx_log_redaction()
        self._sign_in = sign_in or SignIn.none()
        self._secret_params = list(self._sign_in.query_params)
        self._key_header = self._sign_in.key_header
        self._log = logger or _log
        self._policy = retry or RetryPolicy()
        self._limiter = RateLimiter(requests_per_second)
        base = base_url if base_url.endswith("/") else base_url + "/"
        self._client = httpx.Client(
            base_url=base,
            auth=self._sign_in.flow,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout_seconds,
            verify=verify,
            transport=transport,
            follow_redirects=True,  # httpx drops the Authorization header on a redirect to another host
            event_hooks={"request": [self._drop_key_off_host]},  # …and we drop an API key
        )
        self.stats = FetchStats()

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RestClient(base_url={str(self._client.base_url)!r}, auth={self._sign_in.kind!r})"

    # -- helpers -----------------------------------------------------------------------------
    @property
    def tokens_fetched(self) -> int:
        return self._sign_in.tokens_fetched

    def secrets(self, url: object = None) -> list[str | None]:
        """Secret values to mask: those of the auth settings, and those in `url`'s query string."""
        found = self._sign_in.secret_values()
        return [*found, *secret_query_values(url, self._secret_params)] if url is not None else found

    def mask(self, url: object) -> str:
        return mask_url(url, self._secret_params)

    def _drop_key_off_host(self, request: httpx.Request) -> None:
        """Keep an API key (header or query parameter) from following a redirect to another host (httpx
        only strips `Authorization`); an upgrade from http to https on the same host keeps it, as httpx does."""
        if self._key_header is None and not self._secret_params:
            return
        base, url = self._client.base_url, request.url
        upgrade = url.host == base.host and base.scheme == "http" and url.scheme == "https"
        if _origin(url) != _origin(base) and not upgrade:
            if self._key_header is not None:
                request.headers.pop(self._key_header, None)
            for name in self._secret_params:
                request.url = request.url.copy_remove_param(name)

    def _url(self, path_or_url: str) -> httpx.URL:
        if path_or_url.startswith(("http://", "https://")):
            url = httpx.URL(path_or_url)
            if _origin(url) != _origin(self._client.base_url):
                raise RestApiError(
                    f"Refusing to call `{self.mask(url)}`: it is not on the API's host `{self._client.base_url.host}`, "
                    "and its credentials must not be sent elsewhere."
                )
            return url
        return self._client.base_url.join(path_or_url.lstrip("/"))

    # -- verbs -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying timeouts, dropped connections, 429 and 5xx; return the response.

        Raises:
            RestApiHttpError: 4xx other than 401/429, at once (status, masked URL, start of the body).
            RestApiAuthError: 401 (after one token renewal for OAuth2) or the token endpoint refused.
            RestApiRetriesExhausted: still failing after `max_retries` retries.
        """
        url = self._url(path)
        attempts = self._policy.max_retries + 1
        for attempt in range(1, attempts + 1):
            self._limiter.wait()
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                response = self._client.request(
                    method, url, params=params, json=json_body, data=data, headers=headers
                )
            except TokenEndpointUnavailable as e:
                problem, status = str(e), e.status_code
                retry_after = parse_retry_after(e.retry_after)
                shown = e.url
            except httpx.HTTPError as e:
                shown = self.mask(e.request.url) if _has_request(e) else self.mask(url)
                if not is_retryable_error(e):
                    raise RestApiError(
                        f"{method} `{shown}` failed: {type(e).__name__}: {self._safe(str(e))}"
                    ) from None
                problem, status = f"{type(e).__name__}: {self._safe(str(e)) or 'connection problem'}", None
            else:
                shown = self.mask(response.request.url)
                code = response.status_code
                if code < 400:
                    return response
                if not is_retryable_status(code):
                    snippet = safe_snippet(response.text, self.secrets(response.request.url))
                    if code == 401:
                        raise RestApiAuthError(
                            f"{method} `{shown}` answered HTTP 401 Unauthorized: the credentials were refused "
                            f"(check the `auth` settings). Body: {snippet}",
                            status_code=code,
                            url=shown,
                        )
                    raise RestApiHttpError(
                        f"{method} `{shown}` answered HTTP {code} {response.reason_phrase}. Body: {snippet}",
                        status_code=code,
                        url=shown,
                    )
                problem, status = f"HTTP {code} {response.reason_phrase}", code
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt == attempts:
                raise RestApiRetriesExhausted(
                    f"{method} `{shown}` still failed after {attempts} attempts; last error: {problem}",
                    url=shown,
                    attempts=attempts,
                    status_code=status,
                )
            delay = self._policy.delay(attempt, retry_after)
            self.stats.retries += 1
            self.stats.seconds_waited += delay
            self._log.warning(
                f"{method} `{shown}`: {problem}; retry {attempt}/{attempts - 1} in {delay:.2f}s"
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _safe(self, text: str) -> str:
        return safe_snippet(text, self.secrets(), limit=500)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path` and return its JSON body (dict or list).

        Raises:
            RestApiPageError: the body is not valid JSON (the message names the URL).
        """
        response = self.request("GET", path, params=params)
        return self._parse_json(response, page=1)

    def _parse_json(self, response: httpx.Response, page: int) -> Any:
        content = response.content
        if not content.strip():
            return None
        if _orjson is not None:
            try:
                return _orjson.loads(content)
            except _orjson.JSONDecodeError:
                pass  # NaN, integers wider than 64 bits, other encodings: let the stdlib decide
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            shown = self.mask(response.request.url)
            raise RestApiPageError(
                f"Page {page} from `{shown}` is not valid JSON ({e.msg if hasattr(e, 'msg') else e}); "
                f"it starts with: {safe_snippet(response.text, self.secrets(response.request.url), limit=120)}",
                url=shown,
                page=page,
            ) from None

    def _records(self, body: Any, record_path: str | None, url: str, page: int) -> list:
        if body is None:
            return []
        records = get_path(body, record_path)
        if records is MISSING:
            keys = (
                ", ".join(f"`{k}`" for k in list(body)[:15])
                if isinstance(body, dict)
                else f"a {type(body).__name__}"
            )
            raise RestApiPageError(
                f"Page {page} from `{url}`: `record_path` {record_path!r} matches nothing in the body "
                f"(top-level keys: {keys}).",
                url=url,
                page=page,
            )
        if records is None:
            return []
        if not isinstance(records, list):
            where = f"at `record_path` {record_path!r}" if record_path else "(the whole body)"
            hint = ""
            if isinstance(records, dict):
                lists = [k for k, v in records.items() if isinstance(v, list)]
                hint = (
                    f" Set `record_path` to the key holding the records, e.g. {', '.join(repr(k) for k in lists[:5])}."
                    if lists
                    else ""
                )
            raise RestApiPageError(
                f"Page {page} from `{url}`: expected a list of records {where}, got a JSON "
                f"{type(records).__name__}.{hint}",
                url=url,
                page=page,
            )
        return records

    def iter_pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        paginator: Pagination | None = None,
        record_path: str | None = None,
        *,
        max_pages: int | None = None,
    ) -> Iterator[list]:
        """Yield the records of each page, one list per page, following `paginator`.

        Each page is requested (and retried) until it succeeds, then yielded exactly once, so a
        retried page never appears twice. A paginator that asks for the same page twice in a row
        stops with an error instead of looping forever.

        Raises:
            RestApiPageError: a page is not JSON, `record_path` matches nothing, or the records are
                not a list; the message names the URL and the page number.
        """
        walker = paginator if paginator is not None else SinglePage()
        request: PageRequest | None = walker.first_request(path, dict(params or {}))
        seen: set[str] = set()
        page = 0
        while request is not None:
            page += 1
            if max_pages is not None and page > max_pages:
                break
            response = self.request("GET", request.url, params=request.params or None)
            shown = self.mask(response.request.url)
            key = str(response.request.url)
            if key in seen:
                raise RestApiPageError(
                    f"Page {page}: the paginator asked for `{shown}` again; stopping to avoid an endless loop "
                    "(check the paginator settings).",
                    url=shown,
                    page=page,
                )
            seen.add(key)
            body = self._parse_json(response, page)
            records = self._records(body, record_path, shown, page)
            self.stats.pages += 1
            self.stats.records += len(records)
            yield records
            request = walker.next_request(PageContext(request, response, body, records, page))


def _has_request(error: httpx.HTTPError) -> bool:
    try:
        error.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True
