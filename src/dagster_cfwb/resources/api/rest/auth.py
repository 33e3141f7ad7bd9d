"""Ways to sign in to a REST API, as config models tagged with `type`, and their httpx auth flows.

`none`, `bearer` (a fixed token), `basic` (user name and password), `api_key` (in a header or a
query parameter) and `oauth2_client_credentials` (a token fetched from the token URL, cached, renewed
before it expires and once more if the API answers 401). The flows plug into httpx's `Auth` hook, so
the token request goes through the same connection pool, timeouts and TLS settings as the API calls.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Generator
from typing import Literal

import dagster as dg
import httpx
from pydantic import Field

from dagster_cfwb.resources.api.rest.exceptions import RestApiAuthError, RestApiError
from dagster_cfwb.resources.api.rest.redaction import mask_url, safe_snippet
from dagster_cfwb.resources.api.rest.retries import is_retryable_status
from dagster_cfwb.resources.secrets import RedactedReprMixin

__all__ = [
    "AUTH_TYPES",
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "NoAuth",
    "OAuth2ClientCredentials",
    "OAuth2ClientCredentialsFlow",
    "RestAuth",
    "TokenEndpointUnavailable",
    "auth_secrets",
    "basic_auth_header",
    "build_httpx_auth",
]


class NoAuth(dg.Config):
    """No sign-in: a public API, or one reached through a network that already authenticates."""

    type: Literal["none"] = "none"


class BearerAuth(RedactedReprMixin, dg.Config):
    """A fixed access token sent as `Authorization: Bearer <token>`."""

    type: Literal["bearer"] = "bearer"
    token: str = Field(description="The access token. Always pass it as `EnvVar('…')` / `{{ env('…') }}`.")


class BasicAuth(RedactedReprMixin, dg.Config):
    """HTTP Basic sign-in: a user name and a password sent with every request."""

    type: Literal["basic"] = "basic"
    username: str = Field(description="User name (account) to sign in with.")
    password: str = Field(description="Password. Always pass it as `EnvVar('…')`.")


class ApiKeyAuth(RedactedReprMixin, dg.Config):
    """An API key sent in a request header (the usual case) or as a query-string parameter."""

    type: Literal["api_key"] = "api_key"
    api_key: str = Field(description="The API key. Always pass it as `EnvVar('…')`.")
    name: str = Field(
        default="X-API-Key",
        description="Header name (e.g. `X-API-Key`, `Ocp-Apim-Subscription-Key`) or query parameter name (e.g. `api_key`).",
    )
    location: Literal["header", "query"] = Field(
        default="header",
        description="`header` (recommended: not written in server logs) or `query` (added to every URL as `?name=key`).",
    )


class OAuth2ClientCredentials(RedactedReprMixin, dg.Config):
    """OAuth2 "client credentials" sign-in (machine to machine), as used by Entra ID, Keycloak, Apigee…

    The token is requested from `token_url` on the first call, reused while it is valid, renewed
    `refresh_margin_seconds` before it expires (at most half its lifetime before), and renewed once
    more if the API still answers 401.
    """

    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str = Field(
        description="Token endpoint, e.g. `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`."
    )
    client_id: str = Field(description="Client (application) ID registered with the identity provider.")
    client_secret: str = Field(description="Client secret. Always pass it as `EnvVar('…')`.")
    scope: str | None = Field(
        default=None,
        description="Space-separated scopes to ask for, e.g. `api://my-api/.default` (empty: the provider's default).",
    )
    audience: str | None = Field(
        default=None,
        description="`audience` form field some providers (Auth0, Okta) require; empty: not sent.",
    )
    client_auth_method: Literal["client_secret_post", "client_secret_basic"] = Field(
        default="client_secret_post",
        description=(
            "How the client proves its identity to the token endpoint: `client_secret_post` (id and "
            "secret in the form body) or `client_secret_basic` (HTTP Basic header)."
        ),
    )
    refresh_margin_seconds: float = Field(
        default=60.0,
        description="Renew the token this many seconds before it expires, so no request carries a token that expires in flight.",
    )


RestAuth = NoAuth | BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials
AUTH_TYPES = ("none", "bearer", "basic", "api_key", "oauth2_client_credentials")


def basic_auth_header(username: str, password: str) -> str:
    """`Basic <base64(username:password)>` (RFC 7617)."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class TokenEndpointUnavailable(RestApiError):
    """The token endpoint answered 429/5xx: worth retrying like any other request."""

    def __init__(self, message: str, *, url: str, status_code: int, retry_after: str | None):
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.retry_after = retry_after


class _HeaderAuth(httpx.Auth):
    def __init__(self, name: str, value: str):
        self._name, self._value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value
        yield request


class _QueryKeyAuth(httpx.Auth):
    def __init__(self, name: str, value: str):
        self._name, self._value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({self._name: self._value})
        yield request


class OAuth2ClientCredentialsFlow(httpx.Auth):
    """httpx auth flow for the client-credentials grant, with a cached token and a safety margin."""

    requires_response_body = True

    def __init__(self, config: OAuth2ClientCredentials, clock: Callable[[], float] = time.monotonic):
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0
        self.past_tokens: list[str] = []  # kept only so error messages can mask them

    def secrets(self) -> list[str | None]:
        cfg = self._config
        basic = basic_auth_header(cfg.client_id, cfg.client_secret).split(" ", 1)[
            1
        ]  # sent with client_secret_basic
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
        dg.get_dagster_logger().debug(
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


def build_httpx_auth(config: RestAuth) -> httpx.Auth | None:
    """The httpx auth object for a config model (None for `type: none`).

    Raises:
        ValueError: an unknown auth `type`.
    """
    if isinstance(config, NoAuth):
        return None
    if isinstance(config, BearerAuth):
        return _HeaderAuth("Authorization", f"Bearer {config.token}")
    if isinstance(config, BasicAuth):
        return httpx.BasicAuth(config.username, config.password)
    if isinstance(config, ApiKeyAuth):
        if config.location == "query":
            return _QueryKeyAuth(config.name, config.api_key)
        return _HeaderAuth(config.name, config.api_key)
    if isinstance(config, OAuth2ClientCredentials):
        return OAuth2ClientCredentialsFlow(config)
    raise ValueError(
        f"Unknown auth `{getattr(config, 'type', config)!r}`; expected one of {', '.join(AUTH_TYPES)}."
    )


def auth_secrets(config: RestAuth, flow: httpx.Auth | None = None) -> list[str | None]:
    """Every secret value an auth config (and its live flow) holds, for masking."""
    values: list[str | None] = []
    for name in ("token", "password", "api_key", "client_secret"):
        values.append(getattr(config, name, None))
    if isinstance(flow, OAuth2ClientCredentialsFlow):
        values.extend(flow.secrets())
    if isinstance(config, BasicAuth):
        values.append(basic_auth_header(config.username, config.password).split(" ", 1)[1])
    return values
