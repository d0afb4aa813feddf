"""A stored business calendar keeps the arithmetic's rules, and says which field broke one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from helpdesk_core.domain.business_time import (
    BusinessCalendar,
    Weekday,
    WorkingInterval,
    add_business_minutes,
)
from helpdesk_core.domain.calendars import Calendar, Holiday, TextInterval
from helpdesk_core.domain.errors import ValidationFailed

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEEKDAYS: tuple[TextInterval, ...] = tuple(
    (day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")
)


def create(
    name: str = "Office",
    timezone: str = "Europe/Berlin",
    intervals: Iterable[TextInterval] = WEEKDAYS,
    holidays: Iterable[tuple[date, str]] = (),
) -> Calendar:
    return Calendar.create(uuid.uuid4(), name, timezone, intervals, holidays, NOW)


def refused_field(**arguments: object) -> str:
    """The one field named by the ValidationFailed that ``create(**arguments)`` raises."""
    with pytest.raises(ValidationFailed) as refused:
        create(**arguments)  # type: ignore[arg-type]
    (error,) = refused.value.errors
    return error.field


# ---------------------------------------------------------------- what a calendar is


def test_a_created_calendar_is_trimmed_ordered_and_new() -> None:
    calendar = create(
        "  Berlin office ",
        intervals=[("mon", "13:30", "17:00"), ("mon", "09:00", "12:30")],
        holidays=[(date(2026, 12, 26), " Boxing Day "), (date(2026, 12, 24), "Christmas Eve")],
    )
    assert calendar.name == "Berlin office"
    assert calendar.intervals == (  # in the order given: errors name intervals.N
        WorkingInterval(Weekday.MON, 13 * 60 + 30, 17 * 60),
        WorkingInterval(Weekday.MON, 9 * 60, 12 * 60 + 30),
    )
    assert calendar.holidays == (  # in date order: the order every store reads back
        Holiday(date(2026, 12, 24), "Christmas Eve"),
        Holiday(date(2026, 12, 26), "Boxing Day"),
    )
    assert (calendar.created_at, calendar.updated_at, calendar.version) == (NOW, NOW, 1)
    assert calendar.is_active


def test_its_business_calendar_is_the_arithmetics_with_the_holiday_dates() -> None:
    calendar = create(holidays=[(date(2026, 12, 24), "Christmas Eve")])
    assert calendar.business == BusinessCalendar(
        "Europe/Berlin", calendar.intervals, frozenset({date(2026, 12, 24)})
    )
    # Wednesday 23 December, 16:00 in Berlin, plus two business hours: the 24th is skipped.
    start = datetime(2026, 12, 23, 15, 0, tzinfo=UTC)
    assert add_business_minutes(calendar.business, start, 120) == datetime(
        2026, 12, 25, 9, 0, tzinfo=UTC
    )


def test_a_revision_is_checked_as_a_creation_and_moves_the_version_on() -> None:
    calendar = create()
    later = NOW + timedelta(hours=1)
    revised = calendar.revised(later, name=" Night ", intervals=[("sun", "22:00", "24:00")])
    assert (revised.name, revised.intervals) == (
        "Night",
        (WorkingInterval(Weekday.SUN, 1320, 1440),),
    )
    assert (revised.timezone, revised.holidays) == (calendar.timezone, calendar.holidays)
    assert (revised.updated_at, revised.version, revised.created_at) == (later, 2, NOW)
    with pytest.raises(ValidationFailed) as refused:
        calendar.revised(later, timezone="Mars/Olympus_Mons")
    assert [e.field for e in refused.value.errors] == ["timezone"]


# ---------------------------------------------------------------- refusals, by field


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "localtime", "Europe/Berlin "])
def test_an_unknown_time_zone_is_refused(timezone: str) -> None:
    assert refused_field(timezone=timezone) == "timezone"


def test_overlapping_intervals_are_refused_naming_the_later_one() -> None:
    intervals = [("mon", "09:00", "12:30"), ("tue", "09:00", "17:00"), ("mon", "12:00", "17:00")]
    with pytest.raises(ValidationFailed) as refused:
        create(intervals=intervals)
    (error,) = refused.value.errors
    assert error.field == "intervals.2"
    assert "overlaps intervals.0" in error.message


@pytest.mark.parametrize(
    ("interval", "field"),
    [
        (("monday", "09:00", "17:00"), "intervals.0.weekday"),
        (("mon", "9:00", "17:00"), "intervals.0.start"),
        (("mon", "17:00", "09:00"), "intervals.0.end"),
        (("mon", "24:00", "24:00"), "intervals.0.start"),
    ],
)
def test_a_bad_interval_is_refused_naming_its_part(interval: TextInterval, field: str) -> None:
    assert refused_field(intervals=[interval]) == field


def test_a_calendar_needs_working_time() -> None:
    assert refused_field(intervals=[]) == "intervals"


def test_a_holiday_date_given_twice_is_refused_naming_the_later_one() -> None:
    holidays = [
        (date(2026, 12, 25), "Christmas"),
        (date(2026, 12, 24), "Christmas Eve"),
        (date(2026, 12, 25), "Christmas again"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        create(holidays=holidays)
    (error,) = refused.value.errors
    assert (error.field, error.message) == ("holidays.2.date", "2026-12-25 is already holidays.0")


def test_a_holiday_with_a_time_is_refused() -> None:
    holidays = [(date(2026, 1, 1), "New Year"), (datetime(2026, 5, 1, 0, 0), "May Day")]
    assert refused_field(holidays=holidays) == "holidays.1.date"


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("x" * 101, "name"),
        ("   ", "name"),
        ("Office\nHours", "name"),
    ],
)
def test_a_bad_calendar_name_is_refused(name: str, field: str) -> None:
    assert refused_field(name=name) == field


def test_a_name_of_100_characters_is_allowed() -> None:
    assert create(name="x" * 100).name == "x" * 100


@pytest.mark.parametrize("name", ["y" * 101, "", "Boxing\tDay"])
def test_a_bad_holiday_name_is_refused_naming_it(name: str) -> None:
    holidays = [(date(2026, 12, 24), "Christmas Eve"), (date(2026, 12, 26), name)]
    assert refused_field(holidays=holidays) == "holidays.1.name"


# ---------------------------------------------------------------- invariants of every instance


def test_every_instance_keeps_the_rules_not_only_created_ones() -> None:
    calendar = create(holidays=[(date(2026, 12, 24), "Eve"), (date(2026, 12, 25), "Day")])
    with pytest.raises(ValidationFailed):
        attrs.evolve(calendar, timezone="Nowhere/Town")
    with pytest.raises(ValueError, match="date order"):
        attrs.evolve(calendar, holidays=tuple(reversed(calendar.holidays)))
    with pytest.raises(ValueError, match="date order"):
        attrs.evolve(calendar, holidays=calendar.holidays[:1] * 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        attrs.evolve(calendar, updated_at=datetime(2026, 12, 7, 9, 0))
    with pytest.raises(ValueError, match="at least 1"):
        attrs.evolve(calendar, version=0)
    with pytest.raises(ValueError, match="calendar date"):
        Holiday(datetime(2026, 12, 24, 0, 0), "Eve")
