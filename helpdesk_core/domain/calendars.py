"""Stored business calendars: a named set of working hours, a time zone and holidays.

A service-level policy names a calendar; the arithmetic (``business_time``) works on the
:class:`BusinessCalendar` a stored :class:`Calendar` gives (``calendar.business``). Every
instance keeps the arithmetic's rules (a known time zone, intervals that do not overlap) and
holds each holiday date once, in date order. :meth:`Calendar.create` and
:meth:`Calendar.revised` build one from the text form the API and the CLI receive, each error
naming its field as the request does (``intervals.3.start``, ``holidays.1.date``).
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs

from helpdesk_core.domain.business_time import BusinessCalendar, WorkingInterval
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import clean_text

CALENDAR_NAME_MAX = 100
HOLIDAY_NAME_MAX = 100

TextInterval = tuple[str, str, str]
"""An interval as requests give it: ``("mon", "09:00", "17:00")``."""


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be timezone-aware")


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _calendar_day(_instance: Any, attribute: attrs.Attribute[Any], value: date) -> None:
    # A datetime is a date too, but never equal to one: as a holiday it would silently not count.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{attribute.name} must be a calendar date (no time)")


@attrs.frozen
class Holiday:
    """A local date on which no working interval counts (``2026-12-24``, "Christmas Eve")."""

    day: date = attrs.field(validator=_calendar_day)
    name: str


def _holidays_in_order(
    _instance: Any, _attribute: attrs.Attribute[Any], value: tuple[Holiday, ...]
) -> None:
    # One order for every store: the SQL stores read holidays back by date.
    for earlier, later in itertools.pairwise(value):
        if later.day <= earlier.day:
            raise ValueError("holidays must be in date order, each date once")


@attrs.frozen
class Calendar:
    """When a service-level clock runs: weekly working intervals and holidays in one IANA time
    zone, under a name unique regardless of case and spacing.

    ``intervals`` keep the order they were given in (errors name ``intervals.N``); ``holidays``
    are in date order, each date once. A calendar is never deleted, only deactivated, so the
    policies that name it keep their meaning.
    """

    id: uuid.UUID
    name: str
    timezone: str
    intervals: tuple[WorkingInterval, ...]
    holidays: tuple[Holiday, ...] = attrs.field(validator=_holidays_in_order)
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)

    def __attrs_post_init__(self) -> None:
        # Building the arithmetic's calendar checks its rules (the zone, the intervals).
        _ = self.business

    @functools.cached_property
    def business(self) -> BusinessCalendar:
        """The calendar the arithmetic works on: this one's zone, intervals and holiday dates."""
        return BusinessCalendar(
            self.timezone, self.intervals, frozenset(holiday.day for holiday in self.holidays)
        )

    @classmethod
    def create(
        cls,
        id: uuid.UUID,
        name: str,
        timezone: str,
        intervals: Iterable[TextInterval],
        holidays: Iterable[tuple[date, str]],
        now: datetime,
    ) -> Calendar:
        """A new calendar from the text form of its intervals and its ``(date, name)``
        holidays, as a request gives them; ValidationFailed names the offending field."""
        return cls(
            id=id,
            name=calendar_name(name),
            timezone=timezone,
            intervals=parse_intervals(intervals),
            holidays=parse_holidays(holidays),
            created_at=now,
            updated_at=now,
        )

    def revised(
        self,
        now: datetime,
        *,
        name: str | None = None,
        timezone: str | None = None,
        intervals: Iterable[TextInterval] | None = None,
        holidays: Iterable[tuple[date, str]] | None = None,
        is_active: bool | None = None,
    ) -> Calendar:
        """This calendar with the given parts replaced (None keeps a part), one version on;
        the same checks and field names as :meth:`create`."""
        return attrs.evolve(
            self,
            name=self.name if name is None else calendar_name(name),
            timezone=self.timezone if timezone is None else timezone,
            intervals=self.intervals if intervals is None else parse_intervals(intervals),
            holidays=self.holidays if holidays is None else parse_holidays(holidays),
            is_active=self.is_active if is_active is None else is_active,
            updated_at=now,
            version=self.version + 1,
        )


def calendar_name(value: str) -> str:
    """A calendar's name, trimmed and checked like a department's."""
    return clean_text(value, "name", max_length=CALENDAR_NAME_MAX)


def parse_intervals(intervals: Iterable[TextInterval]) -> tuple[WorkingInterval, ...]:
    """Working intervals from their text form, errors naming ``intervals.N.start`` and so on
    (overlaps are the calendar's to find: they depend on the whole set)."""
    return tuple(
        WorkingInterval.parse(*interval, field=f"intervals.{index}")
        for index, interval in enumerate(intervals)
    )


def parse_holidays(holidays: Iterable[tuple[date, str]]) -> tuple[Holiday, ...]:
    """Holidays from ``(date, name)`` pairs, in date order; a date given twice is refused,
    naming the later one (``holidays.3.date``)."""
    seen: dict[date, int] = {}
    found = []
    for index, (day, name) in enumerate(holidays):
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValidationFailed.field(f"holidays.{index}.date", "must be a calendar date")
        if day in seen:
            raise ValidationFailed.field(
                f"holidays.{index}.date", f"{day.isoformat()} is already holidays.{seen[day]}"
            )
        seen[day] = index
        found.append(
            Holiday(day, clean_text(name, f"holidays.{index}.name", max_length=HOLIDAY_NAME_MAX))
        )
    return tuple(sorted(found, key=lambda holiday: holiday.day))
