"""How to walk the pages of an API: from the page just read, what to request next, or stop.

`SinglePage` (one request), `PageNumberPages` (`?page=1,2,3…`), `OffsetPages`
(`?offset=0&limit=100`, then 100, 200…), `CursorPages` (the next cursor read from the body),
`NextUrlPages` (the next page's URL read from the body) and `LinkHeaderPages` (RFC 8288
`Link: <…>; rel="next"`). The paginator config models of `dagster_cfwb.resources.api.rest`
build these; `RestClient.iter_pages` accepts anything with `first_request`/`next_request`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx

from dagster_cfwb.transfer.rest.json_path import MISSING, get_path

__all__ = [
    "CursorPages",
    "LinkHeaderPages",
    "NextUrlPages",
    "OffsetPages",
    "PageContext",
    "PageNumberPages",
    "PageRequest",
    "Pagination",
    "SinglePage",
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


class Pagination(Protocol):
    """The first request of a walk, and the next one from the page just read (None: the walk is over)."""

    def first_request(self, url: str, params: dict) -> PageRequest: ...

    def next_request(self, ctx: PageContext) -> PageRequest | None: ...


class _SameUrlFirst:
    def first_request(self, url: str, params: dict) -> PageRequest:
        return PageRequest(url, dict(params))


@dataclass(frozen=True)
class SinglePage(_SameUrlFirst):
    """A single request: the API returns every record at once."""

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        return None


@dataclass(frozen=True)
class PageNumberPages:
    """Pages numbered from `start_page` in `page_param`; stops at an empty page, at the total at
    `total_pages_path`, or else at a page shorter than `page_size`."""

    page_param: str = "page"
    start_page: int = 1
    page_size: int | None = None
    page_size_param: str = "per_page"
    total_pages_path: str | None = None

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


@dataclass(frozen=True)
class OffsetPages:
    """`offset_param` advanced by the records read; stops at an empty page, when the offset reaches
    the total at `total_path`, or (without `total_path`) at a page shorter than `limit`."""

    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"
    start_offset: int = 0
    total_path: str | None = None

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


@dataclass(frozen=True)
class CursorPages(_SameUrlFirst):
    """The cursor at `cursor_path` in the body is sent back in `cursor_param`; stops when it is
    missing, null or empty, or the page has no records."""

    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        cursor = get_path(ctx.body, self.cursor_path)
        if cursor is MISSING or cursor in (None, "") or not ctx.records:
            return None
        return PageRequest(ctx.request.url, {**ctx.request.params, self.cursor_param: cursor})


@dataclass(frozen=True)
class NextUrlPages(_SameUrlFirst):
    """The next page's URL at `next_url_path` in the body (relative URLs resolved against the
    current page); stops when it is missing, null or empty."""

    next_url_path: str = "next"

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        url = get_path(ctx.body, self.next_url_path)
        if url is MISSING or not url:
            return None
        return PageRequest(urljoin(str(ctx.response.url), str(url)), {})


@dataclass(frozen=True)
class LinkHeaderPages(_SameUrlFirst):
    """The next page's URL in the `Link` response header with relation `rel`."""

    rel: str = "next"

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        link = ctx.response.links.get(self.rel)
        if not link or not link.get("url"):
            return None
        return PageRequest(urljoin(str(ctx.response.url), link["url"]), {})
