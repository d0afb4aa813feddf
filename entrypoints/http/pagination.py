"""``limit`` and ``cursor`` for every list: ``{items, next_cursor}``, keyset style.

A cursor is the sort key of the last item served, encoded opaquely; a page holds the items
whose key sorts after it. A ``limit`` above the configured maximum is a 422, never capped.
The cursor encoding itself lives in ``entrypoints.views.cursors`` (the CLI uses it too);
this module is its HTTP face: query parameters in, 422 problems out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
import falcon

from entrypoints.http.fields import invalid_input
from entrypoints.views import cursors
from entrypoints.views.cursors import (
    CURSOR_MAX_CHARS,
    OF_THIS_LIST,
    CursorRefused,
    Part,
    encode_cursor,
    is_id,
    is_number,
    is_text,
    is_time,
    whole,
)

# The kinds of a cursor's parts, for the resources that declare a list's cursor shape.
__all__ = [
    "CURSOR_MAX_CHARS",
    "PageRequest",
    "Part",
    "decode_cursor",
    "encode_cursor",
    "is_id",
    "is_number",
    "is_text",
    "is_time",
    "page_request",
    "paginate",
    "whole",
]

T = TypeVar("T")


@attrs.frozen
class PageRequest:
    """What the client asked for."""

    limit: int
    after: tuple[Any, ...] | None


def decode_cursor(cursor: str, shape: Sequence[Part] | None = None) -> tuple[Any, ...]:
    """``entrypoints.views.cursors.decode_cursor``, refusing with a 422 naming ``cursor``."""
    try:
        return cursors.decode_cursor(cursor, shape)
    except CursorRefused as refused:
        raise invalid_input("cursor", refused.reason) from None


def page_request(
    req: falcon.Request, default: int, maximum: int, shape: Sequence[Part] | None = None
) -> PageRequest:
    """Read ``limit`` and ``cursor`` (of ``shape``, when given) from the query string."""
    raw = req.get_param("limit")
    limit = default
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            raise invalid_input("limit", "must be a whole number")
        limit = int(raw)
        if not 1 <= limit <= maximum:
            raise invalid_input("limit", f"must be from 1 to {maximum}")
    cursor = req.get_param("cursor")
    return PageRequest(limit, decode_cursor(cursor, shape) if cursor else None)


def paginate(
    items: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    page: PageRequest,
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``items`` (already sorted by ``key``) as ``{items, next_cursor}``."""

    def normalized(item: T) -> tuple[Any, ...]:
        return tuple(p if isinstance(p, int | float) else str(p) for p in key(item))

    def after_cursor(item: T) -> bool:
        if page.after is None:
            return True
        key_ = normalized(item)
        if len(key_) != len(page.after) or any(
            _kind(a) != _kind(b) for a, b in zip(key_, page.after, strict=True)
        ):
            raise invalid_input("cursor", OF_THIS_LIST)
        return key_ > page.after

    remaining = [i for i in items if after_cursor(i)]
    chosen = remaining[: page.limit]
    more = len(remaining) > page.limit
    return {
        "items": [render(i) for i in chosen],
        "next_cursor": encode_cursor(normalized(chosen[-1])) if more and chosen else None,
    }


def _kind(part: Any) -> str:
    return "number" if isinstance(part, int | float) else type(part).__name__
