"""In-process cache and rate limiter: correct for one process, shared by its threads."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

from helpdesk_core.ports.cache import OrgSnapshot
from helpdesk_core.ports.tickets import QueueCounts


class MemoryReferenceCache:
    """A ``ReferenceCache`` holding the newest generation only (older ones are never read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._snapshot: OrgSnapshot | None = None

    def get_org(self, generation: int) -> OrgSnapshot | None:
        with self._lock:
            return self._snapshot if generation == self._generation else None

    def set_org(self, generation: int, snapshot: OrgSnapshot) -> None:
        with self._lock:
            # A slow reader must not replace a newer snapshot with the one it computed earlier.
            if self._generation is None or generation >= self._generation:
                self._generation = generation
                self._snapshot = snapshot


class MemoryRateLimiter:
    """A ``RateLimiter`` with a sliding window per key: a deque of event times.

    ``clock`` returns seconds as a float (``time.monotonic`` by default); tests inject their own.
    Keys whose events all left their window are swept now and then, so memory stays bounded.
    """

    _SWEEP_EVERY = 1024  # hits

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}
        self._windows: dict[str, int] = {}  # the window of each key's latest hit, for sweeping
        self._hits = 0

    def _live(self, key: str, now: float, window_seconds: int) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - window_seconds:
            events.popleft()
        return events

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        now = self._clock()
        limit = max(1, limit)
        with self._lock:
            events = self._live(key, now, window_seconds)
            if len(events) < limit:
                return 0
            # Wait until enough events have left the window to fall below the limit.
            release = events[len(events) - limit] + window_seconds
            return max(1, math.ceil(release - now))

    def hit(self, key: str, window_seconds: int) -> None:
        now = self._clock()
        with self._lock:
            self._live(key, now, window_seconds)
            self._events.setdefault(key, deque()).append(now)
            self._windows[key] = window_seconds
            self._hits += 1
            if self._hits % self._SWEEP_EVERY == 0:
                self._sweep(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
            self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        stale = [
            key
            for key, events in self._events.items()
            if not events or events[-1] <= now - self._windows.get(key, 0)
        ]
        for key in stale:
            del self._events[key]
            self._windows.pop(key, None)


class MemoryQueueCountsCache:
    """Queue counts per department, keeping the newest generation of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[object, tuple[int, QueueCounts]] = {}

    def get_counts(self, department_id: uuid.UUID | None, generation: int) -> QueueCounts | None:
        with self._lock:
            entry = self._entries.get(department_id)
        return entry[1] if entry is not None and entry[0] == generation else None

    def set_counts(
        self, department_id: uuid.UUID | None, generation: int, counts: QueueCounts
    ) -> None:
        with self._lock:
            entry = self._entries.get(department_id)
            if entry is None or generation >= entry[0]:
                self._entries[department_id] = (generation, counts)
