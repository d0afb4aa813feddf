"""Caches, counters and rate limits: state that may be lost and rebuilt."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """A key-value cache of JSON-able text with a time to live. A miss is never an error."""

    def get(self, key: str) -> str | None:
        """The cached value, or None on a miss (or when the cache is unreachable)."""
        ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        """Store ``value`` for ``ttl_seconds``."""
        ...

    def delete(self, *keys: str) -> None:
        """Forget ``keys``; must hold even when the backend flaps (callers rely on it)."""
        ...


class RateLimiter(Protocol):
    """Counts attempts per key inside a sliding window."""

    def hit(self, key: str, limit: int, window_seconds: int) -> int:
        """Record one attempt; return 0 when allowed, else seconds until the next is allowed."""
        ...

    def reset(self, key: str) -> None:
        """Forget the attempts recorded for ``key``."""
        ...
