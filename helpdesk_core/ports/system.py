"""Time and identity: the two things a use case must never take from globals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class IdGenerator(Protocol):
    """Makes new identifiers for entities."""

    def new_id(self) -> uuid.UUID:
        """A fresh, unique UUID."""
        ...
