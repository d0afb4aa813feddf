"""Counters for round-robin assignment, and the ticket queue counts cache."""

from __future__ import annotations

import uuid
from typing import Protocol

from helpdesk_core.ports.tickets import QueueCounts
from helpdesk_core.ports.uow import Transaction


class RoundRobinCounter(Protocol):
    """Hands out 1, 2, 3, ... per key, atomically across processes and hosts."""

    def next_value(self, key: str, tx: Transaction) -> int:
        """The next value for ``key``. SQL stores count inside ``tx`` (committed with the
        assignment); Redis counts on its own (INCR) and ignores ``tx``."""
        ...


class QueueCountsCache(Protocol):
    """Caches a department's queue counts per generation (bumped with every ticket change)."""

    def get_counts(self, department_id: uuid.UUID | None, generation: int) -> QueueCounts | None:
        """The counts cached for that generation, or None (misses and failures alike)."""
        ...

    def set_counts(
        self, department_id: uuid.UUID | None, generation: int, counts: QueueCounts
    ) -> None:
        """Cache the counts (best effort)."""
        ...
