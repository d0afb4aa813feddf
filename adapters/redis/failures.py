"""Why Redis cannot be used, in one line: the cause first (callers redact URLs in it)."""

from __future__ import annotations

import redis


def classify_redis_error(exc: BaseException) -> str | None:
    """``cause: detail`` for a redis-py error, None for anything else."""
    if not isinstance(exc, redis.exceptions.RedisError):
        return None
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if isinstance(exc, redis.exceptions.AuthenticationError) or "wrongpass" in lowered:
        cause = "authentication failed"
    elif isinstance(exc, redis.exceptions.TimeoutError):
        cause = "timeout"
    elif "connection refused" in lowered:
        cause = "connection refused"
    elif "name or service not known" in lowered or "nodename nor servname" in lowered:
        cause = "unknown host"
    else:
        cause = "unavailable"
    return f"{cause}: {text}"
