"""Business calendars, managed by administrators: what service-level policies count time on.

Like the organization (``usecases/org.py``), calendars are an administrator's concern: every
method, reads and the ``compute`` preview included, is for administrators only (they live under
``/admin`` in the API). A change names the version the caller saw: without one it is refused
(PreconditionRequired), with another it is refused (StaleVersion), and a command that changes
nothing stores nothing. No events yet: a calendar's ``calendar.*`` events would need the
webhook event enum of the API changed with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import attrs

from helpdesk_core.domain.business_time import add_business_minutes
from helpdesk_core.domain.calendars import Calendar, TextInterval
from helpdesk_core.domain.errors import NotFound, PreconditionRequired, stale_version
from helpdesk_core.domain.principal import Principal
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork


@attrs.frozen
class CreateCalendar:
    """A new calendar: intervals as ``(weekday, start, end)`` text, holidays as
    ``(date, name)``."""

    name: str
    timezone: str
    intervals: tuple[TextInterval, ...]
    holidays: tuple[tuple[date, str], ...] = ()


@attrs.frozen
class UpdateCalendar:
    """A change of a calendar: each part given replaces the stored one, None keeps it."""

    name: str | None = None
    timezone: str | None = None
    intervals: tuple[TextInterval, ...] | None = None
    holidays: tuple[tuple[date, str], ...] | None = None
    active: bool | None = None


@attrs.define
class CalendarService:
    """Creating, reading, changing and deactivating calendars, and adding business time."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator

    def create(self, actor: Principal, command: CreateCalendar) -> Calendar:
        """A new active calendar; ValidationFailed names the field, Conflict a taken name."""
        require_admin(actor, "create calendars")
        calendar = Calendar.create(
            self._ids.new_id(),
            command.name,
            command.timezone,
            command.intervals,
            command.holidays,
            self._clock.now(),
        )
        with self._uow.begin() as tx:
            tx.calendars.add(calendar)
            tx.commit()
        return calendar

    def list(self, actor: Principal, active: bool | None = None) -> Sequence[Calendar]:
        """Calendars by name; ``active`` filters when not None."""
        require_admin(actor, "list calendars")
        with self._uow.begin(read_only=True) as tx:
            return tx.calendars.list(active)

    def get(self, actor: Principal, calendar_id: uuid.UUID) -> Calendar:
        require_admin(actor, "read calendars")
        with self._uow.begin(read_only=True) as tx:
            return _calendar(tx, calendar_id)

    def update(
        self,
        actor: Principal,
        calendar_id: uuid.UUID,
        expected_version: int | None,
        command: UpdateCalendar,
    ) -> Calendar:
        """The calendar with the command's parts replaced, one version on.

        No version: PreconditionRequired. Another version: StaleVersion (checked here for a
        clear answer, and again by the repository against a concurrent change). A command that
        changes nothing answers the stored calendar, its version unchanged.
        """
        require_admin(actor, "change calendars")
        if expected_version is None:
            raise PreconditionRequired("send If-Match with the calendar's ETag to change it")
        with self._uow.begin() as tx:
            current = _calendar(tx, calendar_id)
            if current.version != expected_version:
                raise stale_version("calendar", expected_version + 1)
            updated = current.revised(
                self._clock.now(),
                name=command.name,
                timezone=command.timezone,
                intervals=command.intervals,
                holidays=command.holidays,
                is_active=command.active,
            )
            if _same(updated, current):
                return current
            tx.calendars.update(updated)
            tx.commit()
        return updated

    def deactivate(
        self, actor: Principal, calendar_id: uuid.UUID, expected_version: int | None
    ) -> Calendar:
        """:meth:`update` with ``active`` False: a calendar is never deleted, so the policies
        naming it keep their meaning."""
        return self.update(actor, calendar_id, expected_version, UpdateCalendar(active=False))

    def compute(
        self, actor: Principal, calendar_id: uuid.UUID, start: datetime, minutes: int
    ) -> datetime:
        """The instant (UTC) ``minutes`` of business time after ``start`` on the calendar,
        active or not (a preview before a policy uses it). ValidationFailed names ``start``
        (no UTC offset) or ``minutes`` (negative, or beyond the calendar's reach)."""
        require_admin(actor, "compute with calendars")
        with self._uow.begin(read_only=True) as tx:
            calendar = _calendar(tx, calendar_id)
        return add_business_minutes(calendar.business, start, minutes)


def _same(updated: Calendar, current: Calendar) -> bool:
    """Whether a revision changed nothing but its time and version."""
    return attrs.evolve(updated, updated_at=current.updated_at, version=current.version) == current


def _calendar(tx: Transaction, calendar_id: uuid.UUID) -> Calendar:
    calendar = tx.calendars.get(calendar_id)
    if calendar is None:
        raise NotFound("no such calendar")
    return calendar
