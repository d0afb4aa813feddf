"""The rate limiter on SQL: one row per event in ``rate_limit_events``.

Correct across the processes and hosts that share the database; the fallback when Redis is
absent or down. Each call is its own short transaction, outside any unit of work.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from adapters.sql.errors import translate_errors
from adapters.sql.tables import rate_limit_events as events


class SqlRateLimiter:
    """A ``RateLimiter`` over ``rate_limit_events`` (timezone-aware UTC times)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=window_seconds)
        # The limit-th newest event inside the window: once it leaves, fewer than limit remain.
        query = (
            sa.select(events.c.occurred_at)
            .where(events.c.key == key, events.c.occurred_at > cutoff)
            .order_by(events.c.occurred_at.desc())
            .offset(max(1, limit) - 1)
            .limit(1)
        )
        with translate_errors(), self._engine.connect() as connection:
            connection.info["read_only"] = True  # SQLite: no write lock for a read
            with connection.begin():
                occurred_at = connection.execute(query).scalar_one_or_none()
        if occurred_at is None:
            return 0
        release = occurred_at + timedelta(seconds=window_seconds)
        return max(1, math.ceil((release - now).total_seconds()))

    def hit(self, key: str, window_seconds: int) -> None:
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=window_seconds)
        with translate_errors(), self._engine.begin() as connection:
            connection.execute(sa.insert(events).values(key=key, occurred_at=now))
            # Events that left the window count for nothing: drop this key's old rows.
            connection.execute(
                sa.delete(events).where(events.c.key == key, events.c.occurred_at <= cutoff)
            )

    def reset(self, key: str) -> None:
        with translate_errors(), self._engine.begin() as connection:
            connection.execute(sa.delete(events).where(events.c.key == key))
