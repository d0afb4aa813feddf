"""Stored business calendars: what service-level policies count their time on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from helpdesk_core.domain.calendars import Calendar


class CalendarRepository(Protocol):
    """Business calendars; names unique regardless of case and spacing (as departments')."""

    def add(self, calendar: Calendar) -> None:
        """Store a new calendar with its intervals and holidays; Conflict when the name is
        taken (the message names the calendar holding it)."""
        ...

    def get(self, calendar_id: uuid.UUID) -> Calendar | None:
        """The calendar, with its intervals in their order and its holidays, or None."""
        ...

    def list(self, active: bool | None = None) -> Sequence[Calendar]:
        """Calendars by name (the name key in code-point order, then id); ``active`` filters
        when not None."""
        ...

    def update(self, calendar: Calendar) -> None:
        """Store ``calendar`` (whose version was bumped), its intervals and holidays replacing
        the stored ones; StaleVersion unless the stored version is ``calendar.version - 1``,
        Conflict on a taken name. ``id`` and ``created_at`` keep their stored values."""
        ...
