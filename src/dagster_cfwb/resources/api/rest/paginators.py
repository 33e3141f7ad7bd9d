"""How to walk the pages of an API, as config models tagged with `type`.

`page_number` (`?page=1,2,3…`), `offset` (`?offset=0&limit=100`, then 100, 200…), `cursor`
(the next cursor read from the body), `next_url` (the next page's URL read from the body),
`link_header` (RFC 8288 `Link: <…>; rel="next"`) and `none` (one request). Each model builds
(`pagination()`) the plain-Python walker of `dagster_cfwb.transfer.rest.pagination`, which
decides from the page just read what to request next — or that the walk is over.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import dagster as dg
from pydantic import Field, TypeAdapter, ValidationError

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
    "to_pagination",
]


class _PaginatorConfig(dg.Config):
    """A paginator config model: `pagination()` builds its plain-Python walker (fields minus `type`)."""

    _walker: ClassVar[type]

    def pagination(self) -> Pagination:
        return self._walker(**self.model_dump(exclude={"type"}))

    def first_request(self, url: str, params: dict) -> PageRequest:
        return self.pagination().first_request(url, params)

    def next_request(self, ctx: PageContext) -> PageRequest | None:
        return self.pagination().next_request(ctx)


class NoPaginator(_PaginatorConfig):
    """A single request: the API returns every record at once."""

    type: Literal["none"] = "none"
    _walker = SinglePage


class PageNumberPaginator(_PaginatorConfig):
    """Pages numbered 1, 2, 3… in a query parameter (`?page=2&per_page=100`).

    Stops at an empty page, at the total number of pages when `total_pages_path` is given, or else
    at a page shorter than `page_size`.
    """

    type: Literal["page_number"] = "page_number"
    _walker = PageNumberPages
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


class OffsetPaginator(_PaginatorConfig):
    """`?offset=0&limit=100`, then `offset=100`, `200`…

    Stops at an empty page, when `offset` reaches the total given at `total_path`, or (without
    `total_path`) at a page shorter than `limit`.
    """

    type: Literal["offset"] = "offset"
    _walker = OffsetPages
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


class CursorPaginator(_PaginatorConfig):
    """The body names the next page's cursor (`{"items": […], "next_cursor": "abc"}`); sent back as `?cursor=abc`.

    Stops when the cursor is missing, null or empty, or the page has no records.
    """

    type: Literal["cursor"] = "cursor"
    _walker = CursorPages
    cursor_path: str = Field(
        default="next_cursor",
        description="Dotted path of the next cursor in the body, e.g. `meta.next_cursor`.",
    )
    cursor_param: str = Field(
        default="cursor", description="Query parameter that carries the cursor in the next request."
    )


class NextUrlPaginator(_PaginatorConfig):
    """The body holds the next page's full URL (`{"results": […], "next": "https://…?page=3"}`), as in Django REST APIs.

    Stops when that URL is missing, null or empty. A relative URL is resolved against the current page.
    """

    type: Literal["next_url"] = "next_url"
    _walker = NextUrlPages
    next_url_path: str = Field(
        default="next", description="Dotted path of the next page's URL in the body, e.g. `links.next`."
    )


class LinkHeaderPaginator(_PaginatorConfig):
    """The next page's URL is in the `Link` response header (RFC 8288), as in the GitHub and GitLab APIs."""

    type: Literal["link_header"] = "link_header"
    _walker = LinkHeaderPages
    rel: str = Field(default="next", description='Link relation that names the next page (`rel="next"`).')


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


def to_pagination(value: Any) -> Pagination:
    """The plain-Python walker for what `parse_paginator` accepts, or a walker itself (kept as is)."""
    if isinstance(value, _PaginatorConfig):
        return value.pagination()
    if hasattr(value, "first_request") and hasattr(value, "next_request"):
        return value
    return parse_paginator(value).pagination()
