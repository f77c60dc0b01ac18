"""Offset and keyset pagination with GitLab's headers (doc/api/rest/_index.md; see
tests/fixtures/gitlab/pagination.md)."""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from janitor.simulator.routing import ApiError, Listing

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# "if a query returns more than 10,000 records, GitLab doesn't return x-total, x-total-pages
# and rel=last" (doc/api/rest/_index.md, "Pagination response headers")
COUNT_LIMIT = 10_000
# Max offset for types that support keyset (Project): 50,000 by default; beyond it GitLab answers
# 405 (doc/administration/instance_limits.md "Max offset allowed by the REST API for offset-based
# pagination"; lib/api/helpers/pagination_strategies.rb).
OFFSET_LIMIT = 50_000

Page = tuple[Any, dict[str, str]]  # rows: a list to encode, or JSON bytes already encoded


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    try:
        return int(values[-1]) if values else default
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None


def _rows(listing: Listing, chunk: Sequence[Any]) -> Any:
    if listing.encode is not None:
        return b"[" + b",".join(listing.encode(chunk)) + b"]"
    return [listing.render(item) for item in chunk]


def _link(base: str, query: dict[str, list[str]], **changes: Any) -> str:
    """`base` with the query, each changed parameter moved to the end with its new value."""
    kept = tuple((k, tuple(vs)) for k, vs in query.items() if k not in changes)
    encoded = _encoded(kept)
    tail = urlencode([(k, str(v)) for k, v in changes.items()])
    return f"{base}?{encoded}&{tail}" if encoded else f"{base}?{tail}"


@lru_cache(maxsize=1024)
def _encoded(pairs: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    # a listing's query is the same on every page but for the parameter that moves (page, cursor, id_*)
    return urlencode([(k, v) for k, vs in pairs for v in vs])


def paginate(listing: Listing, query: dict[str, list[str]], base: str, offset_limit: int = OFFSET_LIMIT) -> Page:
    """Cut one page out of `listing`; `base` is the absolute URL of the listing without a query.
    `offset_limit` is the instance's "max offset allowed" (an administrator's setting)."""
    per_page = max(1, min(_int(query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE))
    if listing.keyset is not None:
        return _keyset_page(listing, query, base, per_page)
    return _offset_page(listing, query, base, per_page, offset_limit)


def _offset_page(listing: Listing, query: dict[str, list[str]], base: str, per_page: int,
                 offset_limit: int = OFFSET_LIMIT) -> Page:
    page = max(1, _int(query, "page", 1))
    if listing.offset_limit_type and page * per_page > offset_limit:
        raise ApiError(405, {"error": (
            f"Offset pagination has a maximum allowed offset of {offset_limit} for requests that return "
            f"objects of type {listing.offset_limit_type}. Remaining records can be retrieved using "
            "keyset pagination.")})
    total = len(listing.items)
    pages = max(1, -(-total // per_page))
    rows = _rows(listing, listing.items[(page - 1) * per_page: page * per_page])
    counted = total <= COUNT_LIMIT
    has_next = page * per_page < total
    query = {**query, "per_page": [str(per_page)]}
    headers = {
        "X-Page": str(page), "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    links = []
    if page > 1:
        links.append(f'<{_link(base, query, page=page - 1)}>; rel="prev"')
    if has_next:
        links.append(f'<{_link(base, query, page=page + 1)}>; rel="next"')
    links.append(f'<{_link(base, query, page=1)}>; rel="first"')
    if counted:
        links.append(f'<{_link(base, query, page=pages)}>; rel="last"')
        headers["X-Total"] = str(total)
        headers["X-Total-Pages"] = str(pages)
    headers["Link"] = ", ".join(links)
    return rows, headers


def encode_cursor(item_id: int) -> str:
    raw = json.dumps({"id": str(item_id), "_kd": "n"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(data["id"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, {"message": "400 Bad request - Invalid cursor"}) from None


def _keyset_page(listing: Listing, query: dict[str, list[str]], base: str, per_page: int) -> Page:
    # doc/api/rest/_index.md "Keyset-based pagination": only a rel="next" Link, absent on the
    # last page, and no other pagination headers.
    keyset = listing.keyset
    assert keyset is not None
    items = listing.items
    key = keyset.key
    if keyset.descending:  # an ascending view for bisect, read only where bisect looks
        def key(item: Any, own: Callable[[Any], int] = keyset.key) -> int:
            return -own(item)
    start = 0
    if keyset.style == "cursor" and query.get("cursor"):
        after = decode_cursor(query["cursor"][-1])
        start = bisect_left(items, -after + 1 if keyset.descending else after + 1, key=key)
    elif keyset.style == "id":
        after_id = _int(query, "id_after", 0) if not keyset.descending else None
        before_id = _int(query, "id_before", 0) if keyset.descending else None
        if after_id:
            start = bisect_left(items, after_id + 1, key=key)
        if before_id:
            start = bisect_left(items, -before_id + 1, key=key)
    chunk = items[start: start + per_page]
    rows = _rows(listing, chunk)
    headers: dict[str, str] = {}
    if start + per_page < len(items) and chunk:
        last = keyset.key(chunk[-1])
        query = {**query, "per_page": [str(per_page)]}
        if keyset.style == "cursor":
            url = _link(base, query, cursor=encode_cursor(last))
        elif keyset.descending:
            url = _link(base, query, id_before=last)
        else:
            url = _link(base, query, id_after=last)
        headers["Link"] = f'<{url}>; rel="next"'
    return rows, headers
