"""Stored business calendars, what service-level policies count their time on, and the
public holidays a calendar may list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
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


class PublicHolidays(Protocol):
    """Countries' public holidays, to list in a calendar as its own dates (adapters/holidays.py
    asks the maintained ``holidays`` package; adapters/memory/public_holidays.py holds a few)."""

    def of(
        self, country: str, subdivision: str | None, years: Sequence[int]
    ) -> Sequence[tuple[date, str]]:
        """The public holidays of ``country`` (an ISO 3166-1 alpha-2 code, any case), and of
        its ``subdivision`` too when given (an ISO 3166-2 code without the country, ``"BY"``),
        in ``years``: ``(date, English name where the source has one)``, in date order, each
        date once (two holidays on one day share it, their names joined by ``"; "``).
        ValidationFailed naming ``country`` or ``subdivision`` when the source knows no such
        one."""
        ...
