"""In-memory business calendars over a transaction's working MemoryState.

The rules, messages and order of the SQL repository (``adapters/sql/calendars.py``): names
unique by ``name_key``, listed by that key in code-point order then id, optimistic locking on
update, ``id`` and ``created_at`` kept as stored. Every check runs before anything changes, so a
refused write leaves the transaction as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.values import name_key

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryCalendarRepository:
    """Calendars by id; name keys unique."""

    def __init__(self, state: MemoryState) -> None:
        self._calendars = state.calendars

    def add(self, calendar: Calendar) -> None:
        self._refuse_taken_name(calendar)
        if calendar.id in self._calendars:
            raise Conflict("a calendar with this id already exists")
        self._calendars[calendar.id] = self._stored(calendar, calendar.created_at)

    def get(self, calendar_id: uuid.UUID) -> Calendar | None:
        return self._calendars.get(calendar_id)

    def list(self, active: bool | None = None) -> Sequence[Calendar]:
        found = [c for c in self._calendars.values() if active is None or c.is_active == active]
        return sorted(found, key=lambda c: (name_key(c.name), c.id))

    def update(self, calendar: Calendar) -> None:
        stored = self._calendars.get(calendar.id)
        if stored is None or stored.version != calendar.version - 1:
            raise stale_version("calendar", calendar.version)
        self._refuse_taken_name(calendar)
        self._calendars[calendar.id] = self._stored(calendar, stored.created_at)

    def _refuse_taken_name(self, calendar: Calendar) -> None:
        key = name_key(calendar.name)
        for other in self._calendars.values():
            if other.id != calendar.id and name_key(other.name) == key:
                raise Conflict(f"a calendar named '{other.name}' already exists")

    @staticmethod
    def _stored(calendar: Calendar, created_at: datetime) -> Calendar:
        return attrs.evolve(
            calendar, created_at=utc(created_at), updated_at=utc(calendar.updated_at)
        )
