"""The unit of work: every write of one use case commits together or not at all."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class CounterRepository(Protocol):
    """Named, monotonically increasing counters (ticket numbers, round-robin positions)."""

    def next_value(self, name: str) -> int:
        """Increment the counter ``name`` (created at 0 on first use) and return the new value.

        Atomic: concurrent transactions never receive the same value once they commit.
        """
        ...

    def current_value(self, name: str) -> int:
        """The counter's last committed value, 0 when it was never used."""
        ...


class Transaction(Protocol):
    """One open transaction and the repositories that work inside it."""

    @property
    def counters(self) -> CounterRepository:
        """Counters, inside this transaction."""
        ...

    def commit(self) -> None:
        """Make every change of this transaction durable. Without it, leaving rolls back."""
        ...

    def rollback(self) -> None:
        """Discard every change of this transaction."""
        ...


class UnitOfWork(Protocol):
    """Opens transactions. Safe to share between threads: each ``begin()`` is independent."""

    def begin(self) -> AbstractContextManager[Transaction]:
        """Open a transaction; leaving the block without ``commit()`` rolls it back."""
        ...
