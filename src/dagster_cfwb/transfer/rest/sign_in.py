"""How a `RestClient` signs in: httpx auth flows, and what each sign-in must keep secret.

`SignIn.none()`, `SignIn.bearer(token)`, `SignIn.basic(user, password)`,
`SignIn.api_key(key, name=…, location="header"|"query")` and `SignIn.oauth2(OAuth2Settings(…))`
(a token fetched from the token URL, cached, renewed before it expires and once more if the API
answers 401). The flows plug into httpx's `Auth` hook, so the token request goes through the same
connection pool, timeouts and TLS settings as the API calls.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

import httpx

from dagster_cfwb.transfer.rest.exceptions import RestApiAuthError, TokenEndpointUnavailable
from dagster_cfwb.transfer.rest.redaction import mask_url, safe_snippet
from dagster_cfwb.transfer.rest.retries import is_retryable_status

__all__ = [
    "HeaderAuth",
    "OAuth2ClientCredentialsFlow",
    "OAuth2Settings",
    "QueryKeyAuth",
    "SignIn",
    "basic_auth_header",
]

_log = logging.getLogger(__name__)


def basic_auth_header(username: str, password: str) -> str:
    """`Basic <base64(username:password)>` (RFC 7617)."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class HeaderAuth(httpx.Auth):
    """Sets one header (`Authorization: Bearer …`, `X-API-Key: …`) on every request."""

    def __init__(self, name: str, value: str):
        self._name, self._value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value
        yield request


class QueryKeyAuth(httpx.Auth):
    """Adds `?name=value` to every request URL."""

    def __init__(self, name: str, value: str):
        self._name, self._value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({self._name: self._value})
        yield request


@dataclass(frozen=True, repr=False)
class OAuth2Settings:
    """Settings of the OAuth2 client-credentials grant (see `OAuth2ClientCredentials` for each field)."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None
    client_auth_method: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    refresh_margin_seconds: float = 60.0

    def __repr__(self) -> str:
        return f"OAuth2Settings(token_url={mask_url(self.token_url)!r}, client_id={self.client_id!r})"


class OAuth2ClientCredentialsFlow(httpx.Auth):
    """httpx auth flow for the client-credentials grant, with a cached token and a safety margin."""

    requires_response_body = True

    def __init__(
        self,
        config: OAuth2Settings,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ):
        self._config = config
        self._clock = clock
        self._log = logger or _log
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0
        self.past_tokens: list[str] = []  # kept only so error messages can mask them

    def secrets(self) -> list[str | None]:
        cfg = self._config
        basic = basic_auth_header(cfg.client_id, cfg.client_secret).split(" ", 1)[1]  # client_secret_basic
        return [cfg.client_secret, basic, self._token, *self.past_tokens[-5:]]

    def _valid_token(self) -> str | None:
        with self._lock:
            if self._token and self._clock() < self._expires_at:
                return self._token
            return None

    def _token_request(self) -> httpx.Request:
        cfg = self._config
        form = {"grant_type": "client_credentials"}
        if cfg.scope:
            form["scope"] = cfg.scope
        if cfg.audience:
            form["audience"] = cfg.audience
        headers = {"Accept": "application/json"}
        if cfg.client_auth_method == "client_secret_basic":
            headers["Authorization"] = basic_auth_header(cfg.client_id, cfg.client_secret)
        else:
            form["client_id"] = cfg.client_id
            form["client_secret"] = cfg.client_secret
        return httpx.Request("POST", cfg.token_url, data=form, headers=headers)

    def _store(self, response: httpx.Response) -> str:
        url = mask_url(self._config.token_url)
        if response.status_code != 200:
            snippet = safe_snippet(response.text, self.secrets())
            message = (
                f"The OAuth2 token endpoint `{url}` answered HTTP {response.status_code} for client "
                f"`{self._config.client_id}`: {snippet}"
            )
            if is_retryable_status(response.status_code):
                raise TokenEndpointUnavailable(
                    message,
                    url=url,
                    status_code=response.status_code,
                    retry_after=response.headers.get("Retry-After"),
                )
            raise RestApiAuthError(
                message + " — check `client_id`, `client_secret` and `scope`.",
                status_code=response.status_code,
                url=url,
            )
        try:
            body = response.json()
            token = body["access_token"]
            if not isinstance(token, str) or not token:
                raise KeyError("access_token")
        except (ValueError, KeyError, TypeError):
            raise RestApiAuthError(
                f"The OAuth2 token endpoint `{url}` answered 200 but not a JSON object with an `access_token`.",
                status_code=response.status_code,
                url=url,
            ) from None
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        margin = min(self._config.refresh_margin_seconds, lifetime / 2)
        with self._lock:
            if self._token:
                self.past_tokens.append(self._token)
            self._token = token
            self._expires_at = self._clock() + lifetime - margin
            self.tokens_fetched += 1
        self._log.debug(
            f"Fetched an OAuth2 token for client `{self._config.client_id}` from `{url}` (valid {lifetime:.0f}s)."
        )
        return token

    def invalidate(self) -> None:
        with self._lock:
            self._expires_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._valid_token()
        if token is None:
            token = self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate()
            token = self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


@dataclass(frozen=True, repr=False)
class SignIn:
    """One way to sign in: the httpx flow, the secret values to mask, and where an API key travels.

    Attributes:
        kind: the auth type's name (`none`, `bearer`, `basic`, `api_key`, `oauth2_client_credentials`),
            shown in the client's repr.
        flow: the httpx auth flow (None: no sign-in).
        secrets: secret values to mask wherever they could be echoed (token, password, key…).
        query_params: query parameters that carry a secret (masked in URLs, dropped off-host).
        key_header: a header carrying an API key, dropped on a redirect to another host.
    """

    kind: str = "none"
    flow: httpx.Auth | None = None
    secrets: tuple[str, ...] = ()
    query_params: tuple[str, ...] = ()
    key_header: str | None = None

    def __repr__(self) -> str:
        return f"SignIn(kind={self.kind!r})"

    @classmethod
    def none(cls) -> SignIn:
        return cls()

    @classmethod
    def bearer(cls, token: str) -> SignIn:
        return cls("bearer", HeaderAuth("Authorization", f"Bearer {token}"), (token,))

    @classmethod
    def basic(cls, username: str, password: str) -> SignIn:
        encoded = basic_auth_header(username, password).split(" ", 1)[1]
        return cls("basic", httpx.BasicAuth(username, password), (password, encoded))

    @classmethod
    def api_key(cls, key: str, *, name: str = "X-API-Key", location: str = "header") -> SignIn:
        if location == "query":
            return cls("api_key", QueryKeyAuth(name, key), (key,), query_params=(name,))
        return cls("api_key", HeaderAuth(name, key), (key,), key_header=name)

    @classmethod
    def oauth2(cls, settings: OAuth2Settings, *, logger: logging.Logger | None = None) -> SignIn:
        flow = OAuth2ClientCredentialsFlow(settings, logger=logger)
        return cls("oauth2_client_credentials", flow, (settings.client_secret,))

    def secret_values(self) -> list[str | None]:
        """Every secret to mask now: the fixed ones and those the flow holds (current and past tokens)."""
        values: list[str | None] = list(self.secrets)
        if isinstance(self.flow, OAuth2ClientCredentialsFlow):
            values.extend(self.flow.secrets())
        return values

    @property
    def tokens_fetched(self) -> int:
        return self.flow.tokens_fetched if isinstance(self.flow, OAuth2ClientCredentialsFlow) else 0
