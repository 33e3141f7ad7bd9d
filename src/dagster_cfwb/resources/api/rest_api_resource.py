"""A REST API as a Dagster resource: JSON pages in, typed tables and lakehouse Parquet files out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.api.rest.auth import NoAuth, RestAuth
from dagster_cfwb.resources.api.rest.paginators import to_pagination
from dagster_cfwb.resources.secrets import RedactedReprMixin
from dagster_cfwb.transfer.arrow_stream import to_output
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult
from dagster_cfwb.transfer.prefetch import prefetch
from dagster_cfwb.transfer.records_to_arrow import RecordsSchemaError, records_to_batches
from dagster_cfwb.transfer.rest.client import FetchStats, RestClient
from dagster_cfwb.transfer.rest.exceptions import RestApiPageError
from dagster_cfwb.transfer.rest.retries import RetryPolicy

__all__ = ["RestApiResource"]


class RestApiResource(RedactedReprMixin, dg.ConfigurableResource):
    """A REST API that returns JSON: call it, walk its pages, and land the records in the lakehouse.

    Sign-in is chosen with `auth.type`: `none`, `bearer`, `basic`, `api_key` or
    `oauth2_client_credentials` (token fetched, cached and renewed before it expires). Timeouts,
    dropped connections, `429 Too Many Requests` and `5xx` answers are retried with growing,
    randomised waits (honouring the server's `Retry-After`); other errors stop at once with the
    status, the URL and the start of the answer. Tokens, keys and secrets never appear in logs,
    errors or metadata.

    Pages are walked with a paginator (`page_number`, `offset`, `cursor`, `next_url`,
    `link_header` or `none`); each page is fetched until it succeeds and used exactly once.

    Example:

    ```python
    from dagster import EnvVar, asset
    from dagster_cfwb.resources.api.rest_api_resource import RestApiResource
    from dagster_cfwb.resources.api.rest import OAuth2ClientCredentials, OffsetPaginator

    api = RestApiResource(
        base_url="https://api.example/v1",
        auth=OAuth2ClientCredentials(
            token_url="https://login.example/oauth2/token",
            client_id="dagster", client_secret=EnvVar("API_CLIENT_SECRET"),
        ),
    )

    @asset
    def stg_subsidies(api: RestApiResource, lakehouse: LocalLakehouseResource):
        result = api.to_lakehouse(
            "subsidies", lakehouse, "finances/stg/subsidies.parquet",
            paginator=OffsetPaginator(limit=500, total_path="total"), record_path="results",
        )
        return MaterializeResult(metadata={"dagster/row_count": result.rows})
    ```
    """

    base_url: str = Field(
        description="Root URL of the API, e.g. `https://api.example/v1`; paths are added after it."
    )
    auth: RestAuth = Field(
        default=NoAuth(),
        discriminator="type",
        description=(
            "How to sign in; `type` is one of `none` (default), `bearer`, `basic`, `api_key`, "
            "`oauth2_client_credentials`. Secrets always as `EnvVar('…')` / `{{ env('…') }}`."
        ),
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers sent with every request, e.g. `{'Accept-Language': 'fr'}` (never put secrets here: use `auth`).",
    )
    timeout_seconds: float = Field(
        default=30.0, description="Seconds to wait for the server to connect or answer, per attempt."
    )
    max_retries: int = Field(
        default=5,
        description="How many times a request that timed out, lost its connection or got 429/5xx is retried (0: never).",
    )
    backoff_seconds: float = Field(
        default=1.0,
        description="Wait before the first retry; each next retry waits twice as long (plus up to 50% random jitter).",
    )
    max_backoff_seconds: float = Field(
        default=60.0, description="Longest wait between two attempts, including a server's `Retry-After`."
    )
    requests_per_second: float | None = Field(
        default=None, description="Maximum request rate, to stay under the API's quota (empty: no limit)."
    )
    verify_tls: bool = Field(
        default=True, description="Check the server's TLS certificate (keep `true` outside local tests)."
    )
    ca_bundle_path: str | None = Field(
        default=None,
        description="Path of a CA certificate bundle for servers signed by an internal authority.",
    )

    @contextmanager
    def get_client(self) -> Iterator[RestClient]:
        """A `RestClient` for this API (one connection pool, one cached token); closed on exit."""
        log = dg.get_dagster_logger()
        client = RestClient(
            self.base_url,
            sign_in=self.auth.sign_in(log),
            headers=dict(self.headers),
            timeout_seconds=self.timeout_seconds,
            retry=RetryPolicy(self.max_retries, self.backoff_seconds, self.max_backoff_seconds),
            requests_per_second=self.requests_per_second,
            verify=self.ca_bundle_path or self.verify_tls,
            logger=log,
        )
        try:
            yield client
        finally:
            client.close()

    def request(self, method: str, path: str, **kwargs: Any):
        """Send one request (`params=`, `json_body=`, `data=`, `headers=`) with retries; returns the httpx response."""
        with self.get_client() as client:
            response = client.request(method, path, **kwargs)
            response.read()
            return response

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path` (e.g. `"communes/5000"`) and return its JSON body."""
        with self.get_client() as client:
            return client.get_json(path, params)

    def iter_pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        paginator: Any = None,
        record_path: str | None = None,
        *,
        max_pages: int | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[list[dict]]:
        """Yield the records of each page (one list per page).

        Args:
            path: path under `base_url` (e.g. `"subsidies"`).
            params: query parameters of the first request (e.g. `{"year": 2024}`).
            paginator: a paginator model, a dict such as `{"type": "offset", "limit": 500}`, a type
                name (`"link_header"`) or None for a single request.
            record_path: dotted path of the records list in each body (`"data.items"`); None when the
                body itself is the list.
            max_pages: stop after this many pages (None: all).
            stats: a `FetchStats` to receive request/retry/page/record counts.

        Raises:
            RestApiPageError: a page is not JSON, `record_path` matches nothing, or is not a list.
        """
        with self.get_client() as client:
            try:
                pages = to_pagination(paginator)
                yield from client.iter_pages(path, params, pages, record_path, max_pages=max_pages)
            finally:
                if stats is not None:
                    _merge_stats(stats, client.stats)

    def _batches(
        self, path, params, paginator, record_path, schema, batch_rows, stats, column_names="as_is"
    ) -> Iterator[pa.RecordBatch]:
        # the next pages download while this thread types the current one (at most 2 pages ahead)
        pages = prefetch(
            lambda: self.iter_pages(path, params, paginator, record_path, stats=stats),
            depth=2,
            name="cfwb-page-prefetch",
        )
        try:
            yield from records_to_batches(
                pages, schema=schema, batch_rows=batch_rows, column_names=column_names
            )
        except RecordsSchemaError as e:
            url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
            raise RestApiPageError(
                f"Records from `{url}` do not fit one table: {e}", url=url, page=e.page
            ) from None

    def fetch_records(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        paginator: Any = None,
        record_path: str | None = None,
        *,
        schema: Mapping[str, str] | pa.Schema | None = None,
        output: str = "polars",
        batch_rows: int = 50_000,
        stats: FetchStats | None = None,
        column_names: str = "as_is",
    ):
        """Collect every page into one typed table (`output`: `polars`, `arrow` or `pandas`).

        Column types are inferred from the records (nested objects become JSON text); pass `schema`
        (e.g. `{"id": "int64", "amount": "float64", "day": "date"}`) to fix the columns and types.
        The columns are named after the record keys; `column_names="snake_case"` renames them as
        `to_lakehouse` does.
        """
        batches = list(
            self._batches(path, params, paginator, record_path, schema, batch_rows, stats, column_names)
        )
        return to_output(pa.Table.from_batches(batches), output)

    def to_lakehouse(
        self,
        path: str,
        lakehouse,
        lakehouse_path: str,
        *,
        params: dict[str, Any] | None = None,
        paginator: Any = None,
        record_path: str | None = None,
        schema: Mapping[str, str] | pa.Schema | None = None,
        batch_rows: int = 50_000,
        stats: FetchStats | None = None,
        column_names: str = "snake_case",
    ) -> ParquetWriteResult:
        """Stream every page into one Parquet file of the lakehouse, published atomically.

        Memory holds about `batch_rows` records at a time. If any page fails (bad JSON, missing
        `record_path`, retries exhausted, a value that does not fit its column), nothing is written
        and an existing file at `lakehouse_path` is left as it was.

        Column names: `column_names="snake_case"` (default) turns the record keys into safe
        identifiers (`Date de début` → `date_de_debut`, duplicates suffixed `_2`), each column
        keeping its key in the Parquet field metadata (`original_name`), shown as the column's
        description in the asset's column schema; `"as_is"` keeps the keys as they are. `schema`
        names the keys as the API sends them.

        Returns:
            ParquetWriteResult (path, rows, bytes, schema) for the asset's metadata.
        """
        log = dg.get_dagster_logger()
        own = stats if stats is not None else FetchStats()
        batches = self._batches(path, params, paginator, record_path, schema, batch_rows, own, column_names)
        result = lakehouse.write_table(batches, lakehouse_path)
        log.info(
            f"Wrote {result.rows:,} records from `{path}` to `{result.path}` ({own.pages} pages, "
            f"{own.requests} requests, {own.retries} retries)."
        )
        return result


def _merge_stats(target: FetchStats, source: FetchStats) -> None:
    target.requests += source.requests
    target.retries += source.retries
    target.pages += source.pages
    target.records += source.records
    target.seconds_waited += source.seconds_waited
