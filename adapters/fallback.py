"""Degrade instead of failing: a secondary adapter takes over while the primary is down."""

from __future__ import annotations

import logging

from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.ports.cache import RateLimiter

logger = logging.getLogger(__name__)


class FallbackRateLimiter:
    """A ``RateLimiter`` that asks ``primary`` (Redis) and, when it is unavailable, ``fallback``
    (SQL). Only ``DependencyUnavailable`` switches over: any other error is a bug, and it
    propagates rather than being answered by the fallback.

    The fallback counts for that call only; the next call tries the primary again. Login
    throttling so keeps working while Redis is down. The events counted during an outage live
    only in the fallback, so while the primary works a key it lets go is still asked of the
    fallback (one indexed read, nearly always empty): a limit reached during the outage holds
    after Redis returns, until those events leave the window. The two counts are not added,
    so across a switch-over a key may get up to twice its limit within one window.
    """

    def __init__(self, primary: RateLimiter, fallback: RateLimiter) -> None:
        self._primary = primary
        self._fallback = fallback

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        try:
            wait = self._primary.retry_after(key, limit, window_seconds)
        except DependencyUnavailable as exc:
            self._warn("retry_after", exc)
        else:
            if wait:
                return wait
        return self._fallback.retry_after(key, limit, window_seconds)

    def hit(self, key: str, window_seconds: int) -> None:
        try:
            self._primary.hit(key, window_seconds)
        except DependencyUnavailable as exc:
            self._warn("hit", exc)
            self._fallback.hit(key, window_seconds)

    def reset(self, key: str) -> None:
        try:
            self._primary.reset(key)
        except DependencyUnavailable as exc:
            self._warn("reset", exc)
        self._fallback.reset(key)  # it may hold events from an outage

    def _warn(self, operation: str, exc: DependencyUnavailable) -> None:
        logger.warning(
            "rate limiter: the primary failed on %s (%s: %s); using the fallback",
            operation,
            type(exc).__name__,
            exc,
        )
