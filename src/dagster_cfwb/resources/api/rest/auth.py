"""Ways to sign in to a REST API, as config models tagged with `type`.

`none`, `bearer` (a fixed token), `basic` (user name and password), `api_key` (in a header or a
query parameter) and `oauth2_client_credentials` (a token fetched from the token URL, cached, renewed
before it expires and once more if the API answers 401). Each model's `sign_in()` builds the
plain-Python `SignIn` (httpx flow and secrets to mask) of `dagster_cfwb.transfer.rest.sign_in`.
"""

from __future__ import annotations

import logging
from typing import Literal

import dagster as dg
import httpx
from pydantic import Field

from dagster_cfwb.resources.secrets import RedactedReprMixin
from dagster_cfwb.transfer.rest.exceptions import TokenEndpointUnavailable
from dagster_cfwb.transfer.rest.sign_in import (
    OAuth2ClientCredentialsFlow,
    OAuth2Settings,
    SignIn,
    basic_auth_header,
)

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

    def sign_in(self, logger: logging.Logger | None = None) -> SignIn:
        return SignIn.none()


class BearerAuth(RedactedReprMixin, dg.Config):
    """A fixed access token sent as `Authorization: Bearer <token>`."""

    type: Literal["bearer"] = "bearer"
    token: str = Field(description="The access token. Always pass it as `EnvVar('…')` / `{{ env('…') }}`.")

    def sign_in(self, logger: logging.Logger | None = None) -> SignIn:
        return SignIn.bearer(self.token)


class BasicAuth(RedactedReprMixin, dg.Config):
    """HTTP Basic sign-in: a user name and a password sent with every request."""

    type: Literal["basic"] = "basic"
    username: str = Field(description="User name (account) to sign in with.")
    password: str = Field(description="Password. Always pass it as `EnvVar('…')`.")

    def sign_in(self, logger: logging.Logger | None = None) -> SignIn:
        return SignIn.basic(self.username, self.password)


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

    def sign_in(self, logger: logging.Logger | None = None) -> SignIn:
        return SignIn.api_key(self.api_key, name=self.name, location=self.location)


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

    def sign_in(self, logger: logging.Logger | None = None) -> SignIn:
        """The OAuth2 flow; `logger` receives a debug line per token fetched (never the token)."""
        return SignIn.oauth2(OAuth2Settings(**self.model_dump(exclude={"type"})), logger=logger)


RestAuth = NoAuth | BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials
AUTH_TYPES = ("none", "bearer", "basic", "api_key", "oauth2_client_credentials")


def build_httpx_auth(config: RestAuth) -> httpx.Auth | None:
    """The httpx auth object for a config model (None for `type: none`).

    Raises:
        ValueError: an unknown auth `type`.
    """
    if not isinstance(config, NoAuth | BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials):
        raise ValueError(
            f"Unknown auth `{getattr(config, 'type', config)!r}`; expected one of {', '.join(AUTH_TYPES)}."
        )
    return config.sign_in().flow


def auth_secrets(config: RestAuth, flow: httpx.Auth | None = None) -> list[str | None]:
    """Every secret value an auth config (and its live flow) holds, for masking."""
    values: list[str | None] = list(config.sign_in().secrets)
    if isinstance(flow, OAuth2ClientCredentialsFlow):
        values.extend(flow.secrets())
    return values
