"""The real clock and id generator."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidGenerator:
    """Time-ordered UUIDs (version 7, RFC 9562): 48 bits of Unix milliseconds, then random.

    Ids made later sort later (within a process strictly: a counter breaks ties inside one
    millisecond), so rows written by one transaction keep their order when sorted by
    (created_at, id), and new rows land at the right edge of B-tree indexes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def new_id(self) -> uuid.UUID:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms = self._last_ms
                self._sequence += 1
                if self._sequence > 0xFFF:  # 4096 ids in one millisecond: borrow the next
                    ms += 1
                    self._sequence = 0
            else:
                self._sequence = int.from_bytes(os.urandom(2), "big") & 0x3FF
            self._last_ms = ms
            sequence = self._sequence
        random_tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version 7
        value |= sequence << 64  # 12 bits: the counter
        value |= 0b10 << 62  # RFC 4122 variant
        value |= random_tail
        return uuid.UUID(int=value)
