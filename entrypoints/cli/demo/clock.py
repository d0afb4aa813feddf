"""The two ports the demo replaces at the composition root: its clock and its ids.

A clock the demo moves, so the tickets spread over the last weeks (and each ticket's events
over hours or days after it was opened) instead of all sharing one minute; and time-ordered ids
whose random bits come from the seed, so the same ``--seed`` gives the same data (round-robin
assignment orders agents by id).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime


class DemoClock:
    """A clock the demo sets: the time each action of the sample happens at."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


class SeededIds:
    """Version-7 UUIDs (as ``adapters.system.clock.UuidGenerator`` makes) whose time is the
    demo clock's and whose random bits come from the seed: the same seed, the same ids, and
    ids made later within one moment sort later (a use case's rows keep their order)."""

    def __init__(self, rng: random.Random, clock: DemoClock) -> None:
        self._rng = rng
        self._clock = clock
        self._last_ms = -1
        self._sequence = 0

    def new_id(self) -> uuid.UUID:
        ms = int(self._clock.now().timestamp() * 1000)
        if ms == self._last_ms:
            self._sequence += 1
            if self._sequence > 0xFFF:  # never within one use case; keep the order anyway
                ms, self._sequence = ms + 1, 0
        else:
            self._sequence = self._rng.getrandbits(10)
        self._last_ms = ms
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version 7
        value |= self._sequence << 64
        value |= 0b10 << 62  # RFC 4122 variant
        value |= self._rng.getrandbits(62)
        return uuid.UUID(int=value)
