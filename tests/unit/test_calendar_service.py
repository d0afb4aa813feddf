"""Administrators keep business calendars, on the in-memory store: who may, names unique, changes
against the version seen, and business time added on a stored calendar."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.documents import calendar_document, document_of
from helpdesk_core.domain.calendars import Calendar, TextInterval
from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.calendars import CreateCalendar, UpdateCalendar
from tests.conftest import make_settings
from tests.support.clock import SettableClock

ADMIN = SYSTEM_OPERATOR
AGENT = Principal(uuid.uuid4(), Role.AGENT, uuid.uuid4())
LEAD = Principal(uuid.uuid4(), Role.LEAD, uuid.uuid4())
CUSTOMER = Principal(uuid.uuid4(), Role.CUSTOMER)
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS: tuple[TextInterval, ...] = tuple(
    (day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")
)
OFFICE = CreateCalendar("Office", "Europe/Berlin", WEEKDAYS)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def services(clock: SettableClock) -> Iterator[Services]:
    services = bootstrap(make_settings(), overrides={Clock: clock})
    yield services
    services.close()


def refused_field(call: Callable[[], object]) -> str:
    """The one field a ValidationFailed raised by ``call()`` names."""
    with pytest.raises(ValidationFailed) as refused:
        call()
    (error,) = refused.value.errors
    return error.field


# ------------------------------------------------------------------ who may


@pytest.mark.parametrize("actor", [AGENT, LEAD, CUSTOMER], ids=["agent", "lead", "customer"])
def test_only_administrators_touch_calendars(services: Services, actor: Principal) -> None:
    calendars = services.calendars
    office = calendars.create(ADMIN, OFFICE)
    start = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)
    refused = [
        lambda: calendars.create(actor, CreateCalendar("Other", "UTC", WEEKDAYS)),
        lambda: calendars.list(actor),
        lambda: calendars.get(actor, office.id),
        lambda: calendars.update(actor, office.id, 1, UpdateCalendar(name="Mine")),
        lambda: calendars.deactivate(actor, office.id, 1),
        lambda: calendars.compute(actor, office.id, start, 60),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied):
            call()
    assert calendars.list(ADMIN) == [office]  # nothing was made or changed


# ------------------------------------------------------------------ create, read


def test_a_created_calendar_is_stored_active_at_version_one(
    services: Services, clock: SettableClock
) -> None:
    command = CreateCalendar(
        "  Office  ",
        "Europe/Berlin",
        (("mon", "13:30", "17:00"), ("mon", "09:00", "12:30")),
        ((date(2026, 12, 25), "Christmas Day"), (date(2026, 12, 24), "Christmas Eve")),
    )
    office = services.calendars.create(ADMIN, command)
    assert (office.name, office.is_active, office.version) == ("Office", True, 1)
    assert office.created_at == office.updated_at == clock.current
    assert [h.day for h in office.holidays] == [date(2026, 12, 24), date(2026, 12, 25)]
    assert services.calendars.get(ADMIN, office.id) == office


def test_a_taken_name_is_a_conflict_regardless_of_case_and_spacing(services: Services) -> None:
    services.calendars.create(ADMIN, OFFICE)
    with pytest.raises(Conflict, match="Office"):
        services.calendars.create(ADMIN, CreateCalendar(" OFFICE ", "UTC", WEEKDAYS))
    assert [c.name for c in services.calendars.list(ADMIN)] == ["Office"]


def test_an_unknown_calendar_is_not_found(services: Services) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(NotFound):
        services.calendars.get(ADMIN, unknown)
    with pytest.raises(NotFound):
        services.calendars.update(ADMIN, unknown, 1, UpdateCalendar(name="Anything"))
    with pytest.raises(NotFound):
        services.calendars.compute(ADMIN, unknown, datetime(2026, 12, 4, tzinfo=UTC), 1)


def test_the_list_is_by_name_and_filters_on_active(services: Services) -> None:
    support = services.calendars.create(ADMIN, CreateCalendar("Support", "UTC", WEEKDAYS))
    office = services.calendars.create(ADMIN, OFFICE)
    closed = services.calendars.deactivate(ADMIN, support.id, 1)
    assert services.calendars.list(ADMIN) == [office, closed]
    assert services.calendars.list(ADMIN, active=True) == [office]
    assert services.calendars.list(ADMIN, active=False) == [closed]


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (CreateCalendar("", "Europe/Berlin", WEEKDAYS), "name"),
        (CreateCalendar("Office", "Mars/Olympus", WEEKDAYS), "timezone"),
        (CreateCalendar("Office", "UTC", ()), "intervals"),
        (
            CreateCalendar("Office", "UTC", (("mon", "09:00", "17:00"), ("xyz", "09:00", "17:00"))),
            "intervals.1.weekday",
        ),
        (CreateCalendar("Office", "UTC", (("mon", "9am", "17:00"),)), "intervals.0.start"),
        (CreateCalendar("Office", "UTC", (("mon", "17:00", "09:00"),)), "intervals.0.end"),
        (
            CreateCalendar("Office", "UTC", (("mon", "09:00", "13:00"), ("mon", "12:00", "17:00"))),
            "intervals.1",
        ),
        (
            CreateCalendar("Office", "UTC", WEEKDAYS, ((date(2026, 12, 24), " "),)),
            "holidays.0.name",
        ),
        (
            CreateCalendar(
                "Office",
                "UTC",
                WEEKDAYS,
                ((date(2026, 12, 24), "Eve"), (date(2026, 12, 24), "Again")),
            ),
            "holidays.1.date",
        ),
    ],
)
def test_bad_input_names_its_field_and_stores_nothing(
    services: Services, command: CreateCalendar, field: str
) -> None:
    assert refused_field(lambda: services.calendars.create(ADMIN, command)) == field
    assert services.calendars.list(ADMIN) == []


# ------------------------------------------------------------------ update, deactivate


def test_an_update_replaces_what_it_names_one_version_on(
    services: Services, clock: SettableClock
) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    clock.current += timedelta(hours=1)
    command = UpdateCalendar(
        name="Head office",
        intervals=(("mon", "08:00", "12:00"),),
        holidays=((date(2026, 12, 31), "New Year's Eve"),),
    )
    updated = services.calendars.update(ADMIN, office.id, 1, command)
    assert (updated.name, updated.timezone, updated.version) == ("Head office", "Europe/Berlin", 2)
    assert [str(i) for i in updated.intervals] == ["mon 08:00-12:00"]
    assert [h.name for h in updated.holidays] == ["New Year's Eve"]
    assert (updated.created_at, updated.updated_at) == (office.created_at, clock.current)
    assert services.calendars.get(ADMIN, office.id) == updated


def test_an_update_without_a_version_is_refused(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    with pytest.raises(PreconditionRequired):
        services.calendars.update(ADMIN, office.id, None, UpdateCalendar(name="Other"))
    with pytest.raises(PreconditionRequired):
        services.calendars.deactivate(ADMIN, office.id, None)
    assert services.calendars.get(ADMIN, office.id) == office


@pytest.mark.parametrize("seen", [1, 3, 0], ids=["older", "newer", "none such"])
def test_an_update_of_another_version_is_stale(services: Services, seen: int) -> None:
    """Version 1 is what a second administrator still holds after the rename."""
    office = services.calendars.create(ADMIN, OFFICE)
    services.calendars.update(ADMIN, office.id, 1, UpdateCalendar(name="Renamed"))
    with pytest.raises(StaleVersion):
        services.calendars.update(ADMIN, office.id, seen, UpdateCalendar(timezone="UTC"))
    stored = services.calendars.get(ADMIN, office.id)
    assert (stored.name, stored.timezone, stored.version) == ("Renamed", "Europe/Berlin", 2)


def test_an_update_to_a_taken_name_is_a_conflict(services: Services) -> None:
    services.calendars.create(ADMIN, CreateCalendar("Support", "UTC", WEEKDAYS))
    office = services.calendars.create(ADMIN, OFFICE)
    with pytest.raises(Conflict):
        services.calendars.update(ADMIN, office.id, 1, UpdateCalendar(name="support"))
    assert services.calendars.get(ADMIN, office.id) == office


def test_bad_input_in_an_update_names_its_field(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    overlapping = UpdateCalendar(intervals=(("tue", "09:00", "17:00"), ("tue", "16:00", "18:00")))
    assert (
        refused_field(lambda: services.calendars.update(ADMIN, office.id, 1, overlapping))
        == "intervals.1"
    )
    assert (
        refused_field(
            lambda: services.calendars.update(
                ADMIN, office.id, 1, UpdateCalendar(timezone="Nowhere")
            )
        )
        == "timezone"
    )
    assert services.calendars.get(ADMIN, office.id) == office


@pytest.mark.parametrize(
    "command",
    [
        UpdateCalendar(),
        UpdateCalendar(name=" Office ", timezone="Europe/Berlin", intervals=WEEKDAYS, active=True),
        UpdateCalendar(holidays=()),
    ],
    ids=["empty", "the same values", "no holidays again"],
)
def test_an_update_that_changes_nothing_stores_nothing(
    services: Services, clock: SettableClock, command: UpdateCalendar
) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    clock.current += timedelta(hours=1)
    assert services.calendars.update(ADMIN, office.id, 1, command) == office
    stored = services.calendars.get(ADMIN, office.id)
    assert (stored.version, stored.updated_at) == (1, office.updated_at)


def test_deactivation_keeps_the_calendar_and_can_be_undone(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    closed = services.calendars.deactivate(ADMIN, office.id, 1)
    assert (closed.is_active, closed.version, closed.name) == (False, 2, "Office")
    assert services.calendars.deactivate(ADMIN, office.id, 2) == closed  # already: no change
    reopened = services.calendars.update(ADMIN, office.id, 2, UpdateCalendar(active=True))
    assert (reopened.is_active, reopened.version) == (True, 3)


# ------------------------------------------------------------------ compute


def test_friday_afternoon_plus_four_business_hours_is_monday_noon(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)
    due = services.calendars.compute(ADMIN, office.id, friday, 240)
    assert due == datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)
    assert due.tzinfo is UTC


def test_compute_skips_the_holidays_of_the_stored_calendar(services: Services) -> None:
    office = services.calendars.create(
        ADMIN, CreateCalendar("Office", "Europe/Berlin", WEEKDAYS, ((date(2026, 12, 7), "Day"),))
    )
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)
    due = services.calendars.compute(ADMIN, office.id, friday, 240)
    assert due == datetime(2026, 12, 8, 12, 0, tzinfo=BERLIN)


def test_compute_works_on_a_deactivated_calendar(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    services.calendars.deactivate(ADMIN, office.id, 1)
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
    assert services.calendars.compute(ADMIN, office.id, monday, 60) == monday + timedelta(hours=1)


def test_compute_names_a_bad_start_or_minutes(services: Services) -> None:
    office = services.calendars.create(ADMIN, OFFICE)
    naive = datetime(2026, 12, 4, 16, 0)
    aware = naive.replace(tzinfo=BERLIN)
    compute = services.calendars.compute
    assert refused_field(lambda: compute(ADMIN, office.id, naive, 60)) == "start"
    assert refused_field(lambda: compute(ADMIN, office.id, aware, -1)) == "minutes"
    assert refused_field(lambda: compute(ADMIN, office.id, aware, 10**9)) == "minutes"


# ------------------------------------------------------------------ the document


def test_the_document_has_the_shape_of_the_api(services: Services, clock: SettableClock) -> None:
    office: Calendar = services.calendars.create(
        ADMIN,
        CreateCalendar(
            "Night desk",
            "America/New_York",
            (("mon", "22:00", "24:00"), ("tue", "00:00", "06:00")),
            ((date(2026, 12, 25), "Christmas Day"),),
        ),
    )
    expected = {
        "id": str(office.id),
        "name": "Night desk",
        "timezone": "America/New_York",
        "intervals": [
            {"weekday": "mon", "start": "22:00", "end": "24:00"},
            {"weekday": "tue", "start": "00:00", "end": "06:00"},
        ],
        "holidays": [{"date": "2026-12-25", "name": "Christmas Day"}],
        "active": True,
        "created_at": clock.current.isoformat(),
        "updated_at": clock.current.isoformat(),
        "version": 1,
    }
    assert calendar_document(office) == expected
    assert document_of(office) == expected
