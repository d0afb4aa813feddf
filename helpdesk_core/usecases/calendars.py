"""Business calendars, managed by administrators: what service-level policies count time on.

Like the organization (``usecases/org.py``), calendars are an administrator's concern: every
method, reads and the ``compute`` preview included, is for administrators only (they live under
``/admin`` in the API). A change names the version the caller saw: without one it is refused
(PreconditionRequired), with another it is refused (StaleVersion), and a command that changes
nothing stores nothing. The command itself is checked first, so a bad one is ValidationFailed
whatever version it names (over HTTP a 422, never a 412 for a body that could never apply).
No events yet: a calendar's ``calendar.*`` events would need the webhook event enum of the API
changed with them.

Public holidays: a command may ask for a country's (``PublicHolidaysRequest``); they are
looked up through the PublicHolidays port and stored as the calendar's own dates, beside the
hand-listed ones, which win on a date both name. A calendar therefore never changes when the
holiday source does: asking again (an update with ``public_holidays``) is how it learns more.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import attrs

from helpdesk_core.domain.business_time import add_business_minutes
from helpdesk_core.domain.calendars import HOLIDAY_NAME_MAX, Calendar, TextInterval
from helpdesk_core.domain.errors import (
    FieldError,
    NotFound,
    PreconditionRequired,
    ValidationFailed,
    stale_version,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.calendars import PublicHolidays
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.sla import SlaPolicyService

PUBLIC_HOLIDAY_YEARS_MAX = 10
PUBLIC_HOLIDAY_FIRST_YEAR = 1900
PUBLIC_HOLIDAY_LAST_YEAR = 2200

Holidays = tuple[tuple[date, str], ...]


@attrs.frozen
class PublicHolidaysRequest:
    """A country's public holidays (``"DE"``), and its subdivision's too when given
    (``"BY"``), in up to 10 ``years`` from 1900 to 2200, to list as a calendar's own."""

    country: str
    subdivision: str | None = None
    years: tuple[int, ...] = ()


@attrs.frozen
class CreateCalendar:
    """A new calendar: intervals as ``(weekday, start, end)`` text, holidays as
    ``(date, name)``, and any public holidays to list beside them."""

    name: str
    timezone: str
    intervals: tuple[TextInterval, ...]
    holidays: tuple[tuple[date, str], ...] = ()
    public_holidays: PublicHolidaysRequest | None = None


@attrs.frozen
class UpdateCalendar:
    """A change of a calendar: each part given replaces the stored one, None keeps it.

    ``public_holidays`` adds a country's holidays to ``holidays`` when that is given, else to
    the stored holidays; the listed ones win on a date both name."""

    name: str | None = None
    timezone: str | None = None
    intervals: tuple[TextInterval, ...] | None = None
    holidays: tuple[tuple[date, str], ...] | None = None
    active: bool | None = None
    public_holidays: PublicHolidaysRequest | None = None


@attrs.define
class CalendarService:
    """Creating, reading, changing and deactivating calendars, and adding business time."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _public_holidays: PublicHolidays
    _sla: SlaPolicyService

    def create(self, actor: Principal, command: CreateCalendar) -> Calendar:
        """A new active calendar; ValidationFailed names the field, Conflict a taken name."""
        require_admin(actor, "create calendars")
        public = self._public(command.public_holidays)
        calendar = Calendar.create(
            self._ids.new_id(),
            command.name,
            command.timezone,
            command.intervals,
            _listed_first(command.holidays, public),
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
        """The calendar with the command's parts replaced, one version on; when its hours,
        holidays or zone changed, the open tickets of the policies counting on it are
        recomputed (``SlaPolicyService.recompute_calendar``).

        A bad command: ValidationFailed, whatever the version. Then no version:
        PreconditionRequired; another version: StaleVersion (checked here for a clear answer,
        and again by the repository against a concurrent change). A command that changes
        nothing answers the stored calendar, its version unchanged.
        """
        require_admin(actor, "change calendars")
        public = self._public(command.public_holidays)
        with self._uow.begin() as tx:
            current = _calendar(tx, calendar_id)
            holidays = command.holidays
            if public and holidays is None:
                holidays = tuple((holiday.day, holiday.name) for holiday in current.holidays)
            updated = current.revised(
                self._clock.now(),
                name=command.name,
                timezone=command.timezone,
                intervals=command.intervals,
                holidays=None if holidays is None else _listed_first(holidays, public),
                is_active=command.active,
            )
            if expected_version is None:
                raise PreconditionRequired("send If-Match with the calendar's ETag to change it")
            if current.version != expected_version:
                raise stale_version("calendar", expected_version + 1)
            if _same(updated, current):
                return current
            tx.calendars.update(updated)
            tx.commit()
        if updated.business != current.business:
            # The due times counting on it move; the time spent so far counted on the old hours.
            self._sla.recompute_calendar(calendar_id, current.business)
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

    def _public(self, request: PublicHolidaysRequest | None) -> Holidays:
        """The holidays ``request`` asks for (none without one); ValidationFailed names
        ``public_holidays.years`` and so on."""
        if request is None:
            return ()
        years = request.years
        if not 1 <= len(years) <= PUBLIC_HOLIDAY_YEARS_MAX:
            raise ValidationFailed.field(
                "public_holidays.years", f"must name from 1 to {PUBLIC_HOLIDAY_YEARS_MAX} years"
            )
        for index, year in enumerate(years):
            if not PUBLIC_HOLIDAY_FIRST_YEAR <= year <= PUBLIC_HOLIDAY_LAST_YEAR:
                raise ValidationFailed.field(
                    f"public_holidays.years.{index}",
                    f"must be a year from {PUBLIC_HOLIDAY_FIRST_YEAR} to "
                    f"{PUBLIC_HOLIDAY_LAST_YEAR}",
                )
        try:
            found = self._public_holidays.of(request.country, request.subdivision, years)
        except ValidationFailed as refused:
            raise _within("public_holidays", refused) from None
        return tuple((day, _fitting(name)) for day, name in found)


def _listed_first(listed: Holidays, public: Holidays) -> Holidays:
    """The hand-listed holidays (in their order: errors name them by index), then the public
    ones on other dates."""
    if not public:
        return listed
    taken = {day for day, _name in listed}
    return (*listed, *((day, name) for day, name in public if day not in taken))


def _fitting(name: str) -> str:
    """A public holiday's name cut to what a holiday's name may hold (the source joins the
    names of one day's holidays, which may together run longer)."""
    return name if len(name) <= HOLIDAY_NAME_MAX else name[: HOLIDAY_NAME_MAX - 1] + "…"


def _within(prefix: str, refused: ValidationFailed) -> ValidationFailed:
    """``refused`` with each field named inside ``prefix`` (``country`` ->
    ``public_holidays.country``)."""
    errors = tuple(FieldError(f"{prefix}.{e.field}", e.message) for e in refused.errors)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or refused.detail
    return ValidationFailed(detail, errors)


def _same(updated: Calendar, current: Calendar) -> bool:
    """Whether a revision changed nothing but its time and version."""
    return attrs.evolve(updated, updated_at=current.updated_at, version=current.version) == current


def _calendar(tx: Transaction, calendar_id: uuid.UUID) -> Calendar:
    calendar = tx.calendars.get(calendar_id)
    if calendar is None:
        raise NotFound("no such calendar")
    return calendar
