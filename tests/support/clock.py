"""A clock the test sets: ``clock.current`` is what ``now()`` answers."""

from __future__ import annotations

from datetime import UTC, datetime


class SettableClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current
