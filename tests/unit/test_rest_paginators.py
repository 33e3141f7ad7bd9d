"""Paginator decisions from a page just read (real httpx responses, no server)."""

import httpx
import pytest

from dagster_cfwb.resources.api.rest import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    NoPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    parse_paginator,
)
from dagster_cfwb.transfer.rest.pagination import PageContext


def _ctx(paginator, body, records, url="https://api.example/v1/items", headers=None, params=None):
    first = paginator.first_request("items", params or {})
    response = httpx.Response(200, json=body, headers=headers or {}, request=httpx.Request("GET", url))
    return first, paginator.next_request(PageContext(first, response, body, records, 1))


def test_page_number():
    p = PageNumberPaginator(page_size=2)
    first, nxt = _ctx(p, {}, [{}, {}], params={"q": "x"})
    assert first.params == {"q": "x", "page": 1, "per_page": 2} and nxt.params["page"] == 2
    assert _ctx(p, {}, [{}])[1] is None  # short page
    assert _ctx(PageNumberPaginator(), {}, [])[1] is None  # empty page
    p = PageNumberPaginator(total_pages_path="meta.pages")
    assert _ctx(p, {"meta": {"pages": 1}}, [{}])[1] is None
    assert _ctx(p, {"meta": {"pages": 3}}, [{}])[1].params["page"] == 2


def test_offset():
    p = OffsetPaginator(limit=2)
    first, nxt = _ctx(p, {}, [{}, {}])
    assert first.params == {"offset": 0, "limit": 2} and nxt.params == {"offset": 2, "limit": 2}
    assert _ctx(p, {}, [{}])[1] is None
    p = OffsetPaginator(limit=10, total_path="total")  # server caps pages at 2: keep going by total
    assert _ctx(p, {"total": 5}, [{}, {}])[1].params["offset"] == 2
    assert _ctx(p, {"total": 2}, [{}, {}])[1] is None


def test_cursor():
    p = CursorPaginator(cursor_path="meta.next", cursor_param="after")
    assert _ctx(p, {"meta": {"next": "c2"}}, [{}])[1].params == {"after": "c2"}
    for body in ({"meta": {"next": None}}, {"meta": {"next": ""}}, {"meta": {}}):
        assert _ctx(p, body, [{}])[1] is None
    assert _ctx(p, {"meta": {"next": "c2"}}, [])[1] is None


def test_next_url_and_link_header():
    p = NextUrlPaginator(next_url_path="links.next")
    nxt = _ctx(p, {"links": {"next": "items?page=2"}}, [{}])[1]
    assert nxt.url == "https://api.example/v1/items?page=2" and nxt.params == {}
    assert _ctx(p, {"links": {"next": None}}, [{}])[1] is None
    link = (
        '<https://api.example/v1/items?page=3>; rel="next", <https://api.example/v1/items?page=9>; rel="last"'
    )
    assert _ctx(LinkHeaderPaginator(), [], [{}], headers={"Link": link})[1].url.endswith("page=3")
    assert _ctx(LinkHeaderPaginator(), [], [{}])[1] is None
    assert _ctx(NoPaginator(), [], [{}])[1] is None


def test_parse_paginator():
    assert isinstance(parse_paginator(None), NoPaginator)
    assert isinstance(parse_paginator("link_header"), LinkHeaderPaginator)
    assert parse_paginator({"type": "offset", "limit": 7}).limit == 7
    with pytest.raises(ValueError, match="expected one of none, page_number, offset"):
        parse_paginator({"type": "pages"})
    with pytest.raises(ValueError, match="Invalid `offset` paginator"):
        parse_paginator({"type": "offset", "limit": "many"})
