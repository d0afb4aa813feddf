"""``limit`` and ``cursor`` for every list: ``{items, next_cursor}``, keyset style.

A cursor is the sort key of the last item served, encoded opaquely; a page holds the items
whose key sorts after it. A ``limit`` above the configured maximum is a 422, never capped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
import falcon

from entrypoints.http.fields import invalid_input
from helpdesk_core.domain.values import storable

T = TypeVar("T")


@attrs.frozen
class PageRequest:
    """What the client asked for."""

    limit: int
    after: tuple[Any, ...] | None


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([str(part) if not isinstance(part, int | float) else part for part in key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_input("cursor", "is not a cursor this API issued") from None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(p, str | int | float) and not isinstance(p, bool) for p in value)
        or not all(storable(p) for p in value if isinstance(p, str))
    ):
        raise invalid_input("cursor", "is not a cursor this API issued")
    return tuple(value)


def page_request(req: falcon.Request, default: int, maximum: int) -> PageRequest:
    """Read ``limit`` and ``cursor`` from the query string."""
    raw = req.get_param("limit")
    limit = default
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            raise invalid_input("limit", "must be a whole number")
        limit = int(raw)
        if not 1 <= limit <= maximum:
            raise invalid_input("limit", f"must be from 1 to {maximum}")
    cursor = req.get_param("cursor")
    return PageRequest(limit, decode_cursor(cursor) if cursor else None)


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
            raise invalid_input("cursor", "is not a cursor of this list")
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
