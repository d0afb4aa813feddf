"""The business calendars' repository, on every store: memory, SQLite, PostgreSQL.

A calendar is stored with its intervals (in their order, several a day, a night shift across
midnight) and its holidays; names are unique regardless of case and spacing; an update names
the version it read and replaces the intervals and holidays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.business_time import Weekday, WorkingInterval, add_business_minutes
from helpdesk_core.domain.calendars import Calendar, Holiday, TextInterval
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.uow import UnitOfWork

T0 = datetime(2026, 3, 2, 8, 30, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
OFFICE_HOURS: tuple[TextInterval, ...] = (
    ("mon", "09:00", "17:00"),
    ("tue", "09:00", "17:00"),
    ("wed", "09:00", "17:00"),
    ("thu", "09:00", "17:00"),
    ("fri", "09:00", "17:00"),
)


def make_calendar(
    name: str = "Office",
    intervals: Iterable[TextInterval] = OFFICE_HOURS,
    holidays: Iterable[tuple[date, str]] = (),
    **changes: Any,
) -> Calendar:
    made = Calendar.create(uuid.uuid4(), name, "Europe/Berlin", intervals, holidays, T0)
    return attrs.evolve(made, **changes)


def add_all(uow: UnitOfWork, *calendars: Calendar) -> None:
    with uow.begin() as tx:
        for calendar in calendars:
            tx.calendars.add(calendar)
        tx.commit()


def stored(uow: UnitOfWork, calendar_id: uuid.UUID) -> Calendar | None:
    with uow.begin(read_only=True) as tx:
        return tx.calendars.get(calendar_id)


def bumped(calendar: Calendar, **changes: Any) -> Calendar:
    """``calendar`` changed as a use case changes it: a later updated_at, the next version."""
    return calendar.revised(calendar.updated_at + timedelta(minutes=5), **changes)


# ---------------------------------------------------------------- round trip


def test_a_calendar_round_trips_with_its_intervals_in_order_and_its_holidays(
    uow: UnitOfWork,
) -> None:
    calendar = make_calendar(
        "Berlin Support",
        intervals=[
            ("tue", "13:30", "17:00"),  # given after, stored after: the order is kept
            ("tue", "08:00", "12:30"),
            ("mon", "09:00", "12:30"),
            ("mon", "13:30", "17:00"),
            ("fri", "22:00", "24:00"),  # a night shift: two intervals across midnight
            ("sat", "00:00", "06:00"),
        ],
        holidays=[
            (date(2026, 12, 26), "Zweiter Weihnachtstag"),
            (date(2026, 12, 24), "Heiligabend"),
            (date(2026, 12, 25), "Erster Weihnachtstag"),
        ],
        created_at=datetime(2026, 3, 2, 10, 30, 0, 654321, tzinfo=PLUS_TWO),
        updated_at=T0 + timedelta(days=2, microseconds=7),
        is_active=False,
        version=3,
    )
    add_all(uow, calendar)

    loaded = stored(uow, calendar.id)

    assert loaded == calendar
    assert loaded is not None
    assert loaded.intervals[:2] == (
        WorkingInterval(Weekday.TUE, 13 * 60 + 30, 17 * 60),
        WorkingInterval(Weekday.TUE, 8 * 60, 12 * 60 + 30),
    )
    assert loaded.intervals[4] == WorkingInterval(Weekday.FRI, 22 * 60, 24 * 60)
    assert [h.day.day for h in loaded.holidays] == [24, 25, 26]
    assert loaded.holidays[0] == Holiday(date(2026, 12, 24), "Heiligabend")
    assert loaded.created_at == datetime(2026, 3, 2, 8, 30, 0, 654321, tzinfo=UTC)
    for instant in (loaded.created_at, loaded.updated_at):
        assert instant.utcoffset() == timedelta(0), instant
    assert loaded.is_active is False
    assert loaded.version == 3
    # What is read back counts time as what was stored: from Friday 16:00 (UTC+1), closed
    # until the night shift, 3 hours run 22:00-24:00 and on past midnight to Saturday 01:00.
    friday_four = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert add_business_minutes(loaded.business, friday_four, 180) == datetime(
        2026, 3, 7, 0, 0, tzinfo=UTC
    )


def test_unknown_calendars_are_none_and_an_empty_store_lists_none(uow: UnitOfWork) -> None:
    with uow.begin(read_only=True) as tx:
        assert tx.calendars.get(uuid.uuid4()) is None
        assert list(tx.calendars.list()) == []
    add_all(uow, make_calendar())
    assert stored(uow, uuid.uuid4()) is None


def test_a_calendar_without_holidays_round_trips(uow: UnitOfWork) -> None:
    calendar = make_calendar(intervals=[("sun", "00:00", "24:00")])
    add_all(uow, calendar)
    assert stored(uow, calendar.id) == calendar


def test_a_calendar_id_is_stored_once(uow: UnitOfWork) -> None:
    calendar = make_calendar("Office")
    add_all(uow, calendar)
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a calendar with this id already exists"),
    ):
        tx.calendars.add(attrs.evolve(calendar, name="Another"))


# ---------------------------------------------------------------- unique names


@pytest.mark.parametrize(
    "taken", ["Berlin Office", "berlin office", "  BERLIN   office ", "BeRLiN\tOffice"]
)
def test_calendar_names_are_unique_regardless_of_case_and_spacing(
    uow: UnitOfWork, taken: str
) -> None:
    add_all(uow, make_calendar("Berlin Office"))
    refused = make_calendar()
    refused = attrs.evolve(refused, name=taken)  # as stored, untrimmed: the key still matches
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a calendar named 'Berlin Office' already exists"),
    ):
        tx.calendars.add(refused)


def test_a_refused_calendar_leaves_the_transaction_usable(uow: UnitOfWork) -> None:
    first = make_calendar("Office")
    other = make_calendar("Night shift", intervals=[("mon", "22:00", "24:00")])
    add_all(uow, first)
    with uow.begin() as tx:
        with pytest.raises(Conflict):
            tx.calendars.add(make_calendar("OFFICE", holidays=[(date(2026, 1, 1), "New Year")]))
        tx.calendars.add(other)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert list(tx.calendars.list()) == [other, first]


def test_renaming_a_calendar_to_a_taken_name_is_a_conflict_and_changes_nothing(
    uow: UnitOfWork,
) -> None:
    berlin, paris = make_calendar("Berlin"), make_calendar("Paris")
    add_all(uow, berlin, paris)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="a calendar named 'Berlin' already exists"):
            tx.calendars.update(bumped(paris, name="BERLIN", intervals=[("sat", "10:00", "14:00")]))
        tx.commit()
    assert stored(uow, paris.id) == paris
    assert stored(uow, berlin.id) == berlin


# ---------------------------------------------------------------- updates


def test_an_update_replaces_the_intervals_and_holidays(uow: UnitOfWork) -> None:
    calendar = make_calendar(
        "Berlin",
        intervals=[("mon", "09:00", "12:00"), ("mon", "13:00", "17:00")],
        holidays=[(date(2026, 5, 1), "Tag der Arbeit")],
    )
    add_all(uow, calendar)
    changed = bumped(
        calendar,
        name="BERLIN",  # its own name, recased: allowed
        timezone="America/New_York",
        intervals=[("sun", "10:00", "11:00")],
        holidays=[(date(2026, 7, 4), "Independence Day"), (date(2026, 1, 1), "New Year")],
        is_active=False,
    )
    with uow.begin() as tx:
        tx.calendars.update(changed)
        tx.commit()

    assert stored(uow, calendar.id) == changed
    with uow.begin(read_only=True) as tx:
        assert list(tx.calendars.list()) == [changed]


def test_an_update_keeps_the_stored_creation_time(uow: UnitOfWork) -> None:
    calendar = make_calendar()
    add_all(uow, calendar)
    changed = bumped(calendar, name="Renamed")
    with uow.begin() as tx:
        tx.calendars.update(attrs.evolve(changed, created_at=T0 + timedelta(days=9)))
        tx.commit()
    assert stored(uow, calendar.id) == changed


def test_a_stale_calendar_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    calendar = make_calendar("Berlin", holidays=[(date(2026, 10, 3), "Einheit")])
    add_all(uow, calendar)
    first = bumped(calendar, intervals=[("mon", "08:00", "16:00")])
    with uow.begin() as tx:
        tx.calendars.update(first)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(StaleVersion, match="the calendar was changed meanwhile"):
            tx.calendars.update(bumped(calendar, name="Stale", holidays=[]))
        with pytest.raises(StaleVersion):  # a version from the future is stale too
            tx.calendars.update(attrs.evolve(bumped(first), version=first.version + 2))
        with pytest.raises(StaleVersion):  # and an unknown calendar has no version
            tx.calendars.update(bumped(make_calendar("Unknown")))
        tx.commit()
    assert stored(uow, calendar.id) == first
    with uow.begin(read_only=True) as tx:
        assert list(tx.calendars.list()) == [first]


# ---------------------------------------------------------------- lists


def test_calendars_are_listed_by_name_regardless_of_case_and_filtered_by_active(
    uow: UnitOfWork,
) -> None:
    names = ["sales", "Berlin", "Ärger", "asia", "Zeta", "berlin 2", "a-team", "ab"]
    calendars = [
        make_calendar(name, holidays=[(date(2026, 1, 1 + i), f"Day {i}")], is_active=i % 3 != 0)
        for i, name in enumerate(names)
    ]
    add_all(uow, *calendars)
    expected = sorted(calendars, key=lambda c: (name_key(c.name), c.id))
    assert [c.name for c in expected][:3] == ["a-team", "ab", "asia"]
    assert expected[-1].name == "Ärger"  # code-point order on every store, not a locale's
    with uow.begin(read_only=True) as tx:
        assert list(tx.calendars.list()) == expected
        assert list(tx.calendars.list(active=True)) == [c for c in expected if c.is_active]
        assert list(tx.calendars.list(active=False)) == [c for c in expected if not c.is_active]
