"""REST client internals: auth, paginators, retries, redaction and errors (used by RestApiResource)."""

from dagster_cfwb.resources.api.rest.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    RestAuth,
)
from dagster_cfwb.resources.api.rest.client import FetchStats, RestClient
from dagster_cfwb.resources.api.rest.exceptions import (
    RestApiAuthError,
    RestApiError,
    RestApiHttpError,
    RestApiPageError,
    RestApiRetriesExhausted,
)
from dagster_cfwb.resources.api.rest.paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    NoPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    parse_paginator,
)
from dagster_cfwb.resources.api.rest.retries import RetryPolicy

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CursorPaginator",
    "FetchStats",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "NoAuth",
    "NoPaginator",
    "OAuth2ClientCredentials",
    "OffsetPaginator",
    "PageNumberPaginator",
    "Paginator",
    "RestApiAuthError",
    "RestApiError",
    "RestApiHttpError",
    "RestApiPageError",
    "RestApiRetriesExhausted",
    "RestAuth",
    "RestClient",
    "RetryPolicy",
    "parse_paginator",
]
