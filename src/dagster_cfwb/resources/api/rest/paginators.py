"""How to walk the pages of an API, as config models tagged with `type`.

`page_number` (`?page=1,2,3…`), `offset` (`?offset=0&limit=100`, then 100, 200…), `cursor`
(the next cursor read from the body), `next_url` (the next page's URL read from the body),
`link_header` (RFC 8288 `Link: <…>; rel="next"`) and `none` (one request). Each model decides,
from the page just read, what to request next — or that the walk is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

import dagster as dg
import httpx
from pydantic import Field, TypeAdapter, ValidationError

from dagster_cfwb.resources.api.rest.json_path import MISSING, get_path

__all__ = [
    "PAGINATOR_TYPES",
    "CursorPaginator",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "NoPaginator",
    "OffsetPaginator",
    "PageContext",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "parse_paginator",
]


@dataclass
class PageRequest:
    """What to request: a URL (absolute, or a path under the API's base URL) and its query parameters."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageContext:
    """The page just read, handed to a paginator to decide the next request."""

    request: PageRequest
    response: httpx.Response
    body: Any
    records: list
    page: int


class NoPaginator(dg.Config):
    """A single request: the API returns every record at once."""

    type: Literal["none"] = "none"

    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(url, dict(params))

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        return None


class PageNumberPaginator(dg.Config):
    """Pages numbered 1, 2, 3… in a query parameter (`?page=2&per_page=100`).

    Stops at an empty page, at the total number of pages when `total_pages_path` is given, or else
    at a page shorter than `page_size`.
    """

    type: Literal["page_number"] = "page_number"
    page_param: str = Field(default="page", description="Query parameter that carries the page number.")
    start_page: int = Field(default=1, description="Number of the first page (1 for most APIs, 0 for some).")
    page_size: int | None = Field(
        default=None,
        description="Records per page to ask for (sent in `page_size_param`); empty: the API's default.",
    )
    page_size_param: str = Field(
        default="per_page", description="Query parameter that carries the page size."
    )
    total_pages_path: str | None = Field(
        default=None,
        description="Dotted path of the total page count in the body, e.g. `meta.total_pages` (optional).",
    )

    def first_request(self, url: str, params: dict) -> PageRequest:
        query = dict(params)
        query[self.page_param] = self.start_page
        if self.page_size:
            query[self.page_size_param] = self.page_size
        return PageRequest(url, query)

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        if not ctx.records:
            return None
        current = int(ctx.request.params[self.page_param])
        if self.total_pages_path:
            total = get_path(ctx.body, self.total_pages_path)
            if total is not MISSING and total is not None and current - self.start_page + 1 >= int(total):
                return None
        elif self.page_size and len(ctx.records) < self.page_size:
            return None
        return PageRequest(ctx.request.url, {**ctx.request.params, self.page_param: current + 1})


class OffsetPaginator(dg.Config):
    """`?offset=0&limit=100`, then `offset=100`, `200`…

    Stops at an empty page, when `offset` reaches the total given at `total_path`, or (without
    `total_path`) at a page shorter than `limit`.
    """

    type: Literal["offset"] = "offset"
    limit: int = Field(default=100, description="Records per page to ask for.")
    offset_param: str = Field(
        default="offset", description="Query parameter that carries the offset (`offset`, `skip`, `start`…)."
    )
    limit_param: str = Field(
        default="limit", description="Query parameter that carries the page size (`limit`, `top`, `rows`…)."
    )
    start_offset: int = Field(default=0, description="Offset of the first record (0 for most APIs).")
    total_path: str | None = Field(
        default=None,
        description="Dotted path of the total record count in the body, e.g. `total` or `meta.count` (optional).",
    )

    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(
            url, {**params, self.offset_param: self.start_offset, self.limit_param: self.limit}
        )

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        if not ctx.records:
            return None
        offset = int(ctx.request.params[self.offset_param]) + len(ctx.records)
        if self.total_path:
            total = get_path(ctx.body, self.total_path)
            if total is not MISSING and total is not None and offset >= int(total):
                return None
        elif len(ctx.records) < self.limit:
            return None
        return PageRequest(ctx.request.url, {**ctx.request.params, self.offset_param: offset})


class CursorPaginator(dg.Config):
    """The body names the next page's cursor (`{"items": […], "next_cursor": "abc"}`); sent back as `?cursor=abc`.

    Stops when the cursor is missing, null or empty, or the page has no records.
    """

    type: Literal["cursor"] = "cursor"
    cursor_path: str = Field(
        default="next_cursor",
        description="Dotted path of the next cursor in the body, e.g. `meta.next_cursor`.",
    )
    cursor_param: str = Field(
        default="cursor", description="Query parameter that carries the cursor in the next request."
    )

    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(url, dict(params))

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        cursor = get_path(ctx.body, self.cursor_path)
        if cursor is MISSING or cursor in (None, "") or not ctx.records:
            return None
        return PageRequest(ctx.request.url, {**ctx.request.params, self.cursor_param: cursor})


class NextUrlPaginator(dg.Config):
    """The body holds the next page's full URL (`{"results": […], "next": "https://…?page=3"}`), as in Django REST APIs.

    Stops when that URL is missing, null or empty. A relative URL is resolved against the current page.
    """

    type: Literal["next_url"] = "next_url"
    next_url_path: str = Field(
        default="next", description="Dotted path of the next page's URL in the body, e.g. `links.next`."
    )

    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(url, dict(params))

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        url = get_path(ctx.body, self.next_url_path)
        if url is MISSING or not url:
            return None
        return PageRequest(urljoin(str(ctx.response.url), str(url)), {})


class LinkHeaderPaginator(dg.Config):
    """The next page's URL is in the `Link` response header (RFC 8288), as in the GitHub and GitLab APIs."""

    type: Literal["link_header"] = "link_header"
    rel: str = Field(default="next", description='Link relation that names the next page (`rel="next"`).')

    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(url, dict(params))

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        link = ctx.response.links.get(self.rel)
        if not link or not link.get("url"):
            return None
        return PageRequest(urljoin(str(ctx.response.url), link["url"]), {})


Paginator = (
    NoPaginator
    | PageNumberPaginator
    | OffsetPaginator
    | CursorPaginator
    | NextUrlPaginator
    | LinkHeaderPaginator
)
PAGINATOR_TYPES = ("none", "page_number", "offset", "cursor", "next_url", "link_header")
_ADAPTER: TypeAdapter = TypeAdapter(Paginator)


def parse_paginator(value: Any) -> Paginator:
    """Accept a paginator model, a dict with a `type` key (as in YAML), a type name, or None (`none`).

    Raises:
        ValueError: unknown `type` or invalid settings; the message lists the valid types.
    """
    if value is None:
        return NoPaginator()
    if isinstance(
        value,
        NoPaginator
        | PageNumberPaginator
        | OffsetPaginator
        | CursorPaginator
        | NextUrlPaginator
        | LinkHeaderPaginator,
    ):
        return value
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict):
        kind = value.get("type")
        if kind not in PAGINATOR_TYPES:
            raise ValueError(
                f"Unknown paginator type {kind!r}; expected one of {', '.join(PAGINATOR_TYPES)}."
            )
        try:
            return _ADAPTER.validate_python(value)
        except ValidationError as e:
            raise ValueError(f"Invalid `{kind}` paginator settings: {e}") from None
    raise TypeError(
        f"Expected a paginator model, a dict with `type`, or a type name; got {type(value).__name__}."
    )
