"""Round-robin positions in the store itself: the ``counters`` row, inside the assignment's
own transaction (so the position and the assignment commit together, or neither does)."""

from __future__ import annotations

import logging

from helpdesk_core.ports.assignment import RoundRobinCounter
from helpdesk_core.ports.uow import Transaction

log = logging.getLogger("helpdesk.assignment")


class TransactionalRoundRobin:
    """A ``RoundRobinCounter`` over ``tx.counters`` (SQL row lock, or the memory store)."""

    def next_value(self, key: str, tx: Transaction) -> int:
        return tx.counters.next_value(key)


class FallbackRoundRobin:
    """Uses ``primary`` (Redis); when it fails, the transactional counter for that call."""

    def __init__(self, primary: RoundRobinCounter, fallback: RoundRobinCounter) -> None:
        self._primary = primary
        self._fallback = fallback

    def next_value(self, key: str, tx: Transaction) -> int:
        try:
            return self._primary.next_value(key, tx)
        except Exception as exc:  # Redis down: keep assigning from the database
            log.warning(
                "round-robin counter unavailable, using the database: %s", type(exc).__name__
            )
            return self._fallback.next_value(key, tx)
