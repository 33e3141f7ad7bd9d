"""REST over HTTP, plain Python (no Dagster): the httpx client, sign-in flows, pagination, retries,
secret masking in URLs and logs, and the errors they raise.

`dagster_cfwb.resources.api.rest` holds the Dagster-facing config models (auth, paginators) that
build these objects, and `RestApiResource` hands out a `RestClient`.
"""

from dagster_cfwb.transfer.rest.client import FetchStats, RestClient
from dagster_cfwb.transfer.rest.exceptions import (
    RestApiAuthError,
    RestApiError,
    RestApiHttpError,
    RestApiPageError,
    RestApiRetriesExhausted,
)
from dagster_cfwb.transfer.rest.pagination import (
    CursorPages,
    LinkHeaderPages,
    NextUrlPages,
    OffsetPages,
    PageContext,
    PageNumberPages,
    PageRequest,
    Pagination,
    SinglePage,
)
from dagster_cfwb.transfer.rest.retries import RetryPolicy
from dagster_cfwb.transfer.rest.sign_in import OAuth2ClientCredentialsFlow, OAuth2Settings, SignIn

__all__ = [
    "CursorPages",
    "FetchStats",
    "LinkHeaderPages",
    "NextUrlPages",
    "OAuth2ClientCredentialsFlow",
    "OAuth2Settings",
    "OffsetPages",
    "PageContext",
    "PageNumberPages",
    "PageRequest",
    "Pagination",
    "RestApiAuthError",
    "RestApiError",
    "RestApiHttpError",
    "RestApiPageError",
    "RestApiRetriesExhausted",
    "RestClient",
    "RetryPolicy",
    "SignIn",
    "SinglePage",
]
