"""In-memory unit of work: a real, shipped backend for tests and embedding without a database.

Transactions are serialized by one lock (as SQLite's BEGIN IMMEDIATE does) and work on a copy
of the committed state; ``commit`` publishes the copy, anything else discards it. Entities are
frozen, so a shallow copy of each table is a true snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import attrs


@attrs.define
class MemoryState:
    """Every table of the in-memory store, keyed by primary key."""

    counters: dict[str, int] = attrs.Factory(dict)

    def copy(self) -> MemoryState:
        return MemoryState(
            **{f.name: dict(getattr(self, f.name)) for f in attrs.fields(MemoryState)}
        )


class MemoryCounterRepository:
    """Counters in a dict of the transaction's working state."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def next_value(self, name: str) -> int:
        self._state.counters[name] = self._state.counters.get(name, 0) + 1
        return self._state.counters[name]

    def current_value(self, name: str) -> int:
        return self._state.counters.get(name, 0)


class MemoryTransaction:
    """Repositories over a private working copy of the state."""

    def __init__(self, working: MemoryState) -> None:
        self.working = working
        self.committed = False
        self.counters = MemoryCounterRepository(working)

    def commit(self) -> None:
        self.committed = True

    def rollback(self) -> None:
        self.committed = False


class MemoryUnitOfWork:
    """Opens serialized transactions over one shared MemoryState."""

    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = state or MemoryState()
        self.commits = 0  # tests read it: how many transactions were committed
        self._lock = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[MemoryTransaction]:
        with self._lock:
            tx = MemoryTransaction(self.state.copy())
            yield tx
            if tx.committed:
                self.state = tx.working
                self.commits += 1
