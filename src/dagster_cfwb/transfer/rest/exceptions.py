"""Errors raised by the REST client; every message names the URL (secrets masked) and the page."""

from __future__ import annotations

from dagster_cfwb.errors import CfwbError

__all__ = [
    "RestApiAuthError",
    "RestApiError",
    "RestApiHttpError",
    "RestApiPageError",
    "RestApiRetriesExhausted",
    "TokenEndpointUnavailable",
]


class RestApiError(CfwbError):
    """Base class of the REST API errors (messages never contain tokens, keys or secrets)."""


class RestApiHttpError(RestApiError):
    """The API answered with an error status that is not worth retrying (400, 403, 404…).

    Attributes:
        status_code: the HTTP status, e.g. 404.
        url: the request URL, with secret query parameters masked.
    """

    def __init__(self, message: str, *, status_code: int, url: str):
        super().__init__(message)
        self.status_code = status_code
        self.url = url


class RestApiAuthError(RestApiHttpError):
    """Sign-in failed: the token endpoint refused the client, or the API still answered 401 with a fresh token."""


class RestApiRetriesExhausted(RestApiError):
    """A request still failed (timeout, dropped connection, 429 or 5xx) after every allowed retry."""

    def __init__(self, message: str, *, url: str, attempts: int, status_code: int | None = None):
        super().__init__(message)
        self.url = url
        self.attempts = attempts
        self.status_code = status_code


class RestApiPageError(RestApiError, ValueError):
    """A page could not be read as records: not JSON, `record_path` matches nothing, or not a list.

    Attributes:
        url: the page URL, with secret query parameters masked.
        page: the page number (1 for the first page).
    """

    def __init__(self, message: str, *, url: str, page: int):
        super().__init__(message)
        self.url = url
        self.page = page


class TokenEndpointUnavailable(RestApiError):
    """The token endpoint answered 429/5xx: worth retrying like any other request."""

    def __init__(self, message: str, *, url: str, status_code: int, retry_after: str | None):
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.retry_after = retry_after
