"""Keep-alive connections spread evenly over gunicorn's gthread workers.

All of gunicorn's workers wait on the one listening socket, and whichever wakes first takes a
new connection. With keep-alive the connection then stays with that worker until it closes.
A burst of new connections (a proxy filling its upstream pool, a load generator) is split by
chance: 16 connections were seen split 11 and 5 over two workers (docs/performance.md). The
worker with 11 serves them on its own threads and its own GIL, about one core, while the
other has cores to spare, so those 11 clients wait about twice as long as the other 5 for
as long as the connections live.

``FairThreadWorker`` is gunicorn's gthread worker with a fairer accept:

- every worker publishes how many connections it holds in a ``ConnectionTable``, a small
  anonymous shared memory map that the master makes before forking; the master gives each
  worker a slot in its ``pre_fork`` hook and clears it in ``child_exit``;
- a worker that holds more connections than the least loaded other worker that accepts
  *passes* on a new connection: it stops listening for ``PASS_PAUSE`` so that the other worker
  takes it;
- a worker never passes for longer than ``PATIENCE`` in a row, so a worker that is stuck, full
  or shutting down cannot leave a client waiting for more than that.

In steady keep-alive traffic no connection is accepted at all, so this costs nothing per
request; per accepted connection it reads one slot per worker.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from entrypoints.serving.read_deadline import ReadDeadlineWorker

SLOTS = 64  # as many workers as `helpdesk serve --workers` allows
PASS_PAUSE = 0.002  # seconds a worker that passed on a connection stops listening
PATIENCE = 0.02  # the longest a worker passes in a row before it accepts anyway
_EPISODE_GAP = 0.01  # passes further apart than this are a new episode (a new connection)


class ConnectionTable:
    """For each worker slot, the pid of a worker that accepts (0 if none) and how many
    connections it holds. Made before forking: the map is shared by the master and every
    worker it forks (an anonymous ``MAP_SHARED`` mapping)."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self._map = mmap.mmap(-1, slots * 2 * 8)
        self._cells = memoryview(self._map).cast("q")

    def free_slot(self, taken: Iterable[int | None]) -> int | None:
        """The lowest slot not in ``taken`` (None when all are taken)."""
        used = set(taken)
        return next((slot for slot in range(self.slots) if slot not in used), None)

    def publish(self, slot: int, pid: int, connections: int) -> None:
        self._cells[2 * slot + 1] = connections
        self._cells[2 * slot] = pid

    def clear(self, slot: int) -> None:
        self.publish(slot, 0, 0)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections held by another accepting worker (None if there is none)."""
        cells = self._cells
        counts = [
            cells[2 * other + 1]
            for other in range(self.slots)
            if other != slot and cells[2 * other] != 0
        ]
        return min(counts, default=None)


def _table_and_slot(worker: Any) -> tuple[ConnectionTable | None, int | None]:
    return getattr(worker, "connection_table", None), getattr(worker, "connection_slot", None)


def give_slot(table: ConnectionTable, server: Any, worker: Any) -> None:
    """gunicorn ``pre_fork`` (in the master): a free slot for the worker about to fork."""
    slot = table.free_slot(_table_and_slot(w)[1] for w in server.WORKERS.values())
    worker.connection_table, worker.connection_slot = table, slot
    if slot is not None:
        table.clear(slot)


def release_slot(worker: Any) -> None:
    """gunicorn ``child_exit`` (in the master): the worker's slot is free again."""
    table, slot = _table_and_slot(worker)
    if table is not None and slot is not None:
        table.clear(slot)


Hook = Callable[[Any, Any], None]


def master_hooks() -> tuple[Hook, Hook]:
    """gunicorn's ``pre_fork`` and ``child_exit`` hooks over a new ``ConnectionTable``; call
    it in the master before the workers fork (``helpdesk serve``, the benchmark's baseline)."""
    table = ConnectionTable()

    def pre_fork(server: Any, worker: Any) -> None:
        give_slot(table, server, worker)

    def child_exit(server: Any, worker: Any) -> None:
        release_slot(worker)

    return pre_fork, child_exit


class FairThreadWorker(ReadDeadlineWorker):
    """gunicorn's gthread worker that passes new connections to a less loaded worker (and
    reads requests in its poller under a deadline: entrypoints/serving/read_deadline.py)."""

    def run(self) -> None:
        self._passing_since: float | None = None
        self._last_pass = 0.0
        self._resume_at = 0.0
        self._publish()
        try:
            super().run()
        finally:
            release_slot(self)

    def _publish(self) -> None:
        table, slot = _table_and_slot(self)
        if table is not None and slot is not None:
            table.publish(slot, os.getpid() if self.alive else 0, self.nr_conns)

    def should_pass(self, now: float) -> bool:
        """Whether to leave the waiting connection to a worker that holds fewer."""
        table, slot = _table_and_slot(self)
        if table is None or slot is None:
            return False
        fewest = table.fewest_elsewhere(slot)
        if fewest is None or self.nr_conns <= fewest:
            self._passing_since = None
            return False
        if self._passing_since is None or now - self._last_pass > _EPISODE_GAP:
            self._passing_since = now
        self._last_pass = now
        return now - self._passing_since < PATIENCE

    def accept(self, listener: Any) -> None:
        now = time.monotonic()
        if self.should_pass(now):
            self._resume_at = now + PASS_PAUSE
            return
        self._passing_since = None
        super().accept(listener)
        self._publish()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        pause = self._resume_at - time.monotonic()
        if pause > 0:  # passed on a connection: not listening until the pause ends
            self.set_accept_enabled(False)  # run() listens again on its next turn
            timeout = min(timeout, pause)
        super().wait_for_and_dispatch_events(timeout)
        self._publish()
