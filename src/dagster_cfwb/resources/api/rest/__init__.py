"""REST API config for Dagster: auth and paginator models (they build the plain-Python objects of
`dagster_cfwb.transfer.rest`), with the client, its stats, retry policy and errors re-exported."""

from dagster_cfwb.resources.api.rest.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    RestAuth,
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
from dagster_cfwb.transfer.rest.client import FetchStats, RestClient
from dagster_cfwb.transfer.rest.exceptions import (
    RestApiAuthError,
    RestApiError,
    RestApiHttpError,
    RestApiPageError,
    RestApiRetriesExhausted,
)
from dagster_cfwb.transfer.rest.retries import RetryPolicy

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
