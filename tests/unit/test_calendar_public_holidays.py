"""A calendar lists a country's public holidays as its own dates, on the in-memory store with
the in-memory holiday table: merged with the hand-listed ones (which win on a date both
name), asked for within bounds, each refusal naming its field; and a bad change is refused
as bad before its version is compared."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date

import pytest

from adapters.memory.public_holidays import MemoryPublicHolidays
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.calendars import HOLIDAY_NAME_MAX, TextInterval
from helpdesk_core.domain.errors import (
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.calendars import PublicHolidays
from helpdesk_core.usecases.calendars import (
    CreateCalendar,
    PublicHolidaysRequest,
    UpdateCalendar,
)
from tests.conftest import make_settings

ADMIN = SYSTEM_OPERATOR
WEEKDAYS: tuple[TextInterval, ...] = tuple(
    (day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")
)
BAVARIA_2026 = PublicHolidaysRequest("DE", "BY", (2026,))


def build(source: PublicHolidays) -> Services:
    return bootstrap(make_settings(), overrides={PublicHolidays: source})


@pytest.fixture
def services() -> Iterator[Services]:
    services = build(MemoryPublicHolidays())
    yield services
    services.close()


def holidays_of(services: Services, command: CreateCalendar) -> list[tuple[date, str]]:
    calendar = services.calendars.create(ADMIN, command)
    return [(h.day, h.name) for h in services.calendars.get(ADMIN, calendar.id).holidays]


def refused_field(call: Callable[[], object]) -> str:
    with pytest.raises(ValidationFailed) as refused:
        call()
    (error,) = refused.value.errors
    return error.field


def test_a_countrys_holidays_are_stored_as_the_calendars_own(services: Services) -> None:
    stored = holidays_of(
        services, CreateCalendar("Munich", "Europe/Berlin", WEEKDAYS, (), BAVARIA_2026)
    )
    assert stored == list(MemoryPublicHolidays().of("DE", "BY", [2026]))
    assert (date(2026, 1, 6), "Epiphany") in stored


def test_a_hand_listed_holiday_wins_on_its_date_and_the_rest_are_merged_in_date_order(
    services: Services,
) -> None:
    listed = ((date(2026, 12, 25), "Office closed"), (date(2026, 12, 24), "Christmas Eve"))
    stored = holidays_of(
        services, CreateCalendar("Munich", "Europe/Berlin", WEEKDAYS, listed, BAVARIA_2026)
    )
    assert stored[-4:] == [
        (date(2026, 11, 1), "All Saints' Day"),
        (date(2026, 12, 24), "Christmas Eve"),
        (date(2026, 12, 25), "Office closed"),
        (date(2026, 12, 26), "Second Day of Christmas"),
    ]
    assert len(stored) == 12 + 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (PublicHolidaysRequest("XX", None, (2026,)), "public_holidays.country"),
        (PublicHolidaysRequest("DE", "ZZ", (2026,)), "public_holidays.subdivision"),
        (PublicHolidaysRequest("DE", None, ()), "public_holidays.years"),
        (PublicHolidaysRequest("DE", None, tuple(range(2020, 2031))), "public_holidays.years"),
        (PublicHolidaysRequest("DE", None, (1899,)), "public_holidays.years.0"),
        (PublicHolidaysRequest("DE", None, (2026, 2201)), "public_holidays.years.1"),
    ],
    ids=["country", "subdivision", "no years", "eleven years", "1899", "2201"],
)
def test_a_bad_request_names_its_field_and_stores_nothing(
    services: Services, request_: PublicHolidaysRequest, field: str
) -> None:
    command = CreateCalendar("Munich", "Europe/Berlin", WEEKDAYS, (), request_)
    assert refused_field(lambda: services.calendars.create(ADMIN, command)) == field
    assert services.calendars.list(ADMIN) == []


def test_an_update_adds_a_countrys_holidays_to_the_stored_ones(services: Services) -> None:
    listed = ((date(2027, 1, 1), "Stocktaking"),)
    office = services.calendars.create(
        ADMIN, CreateCalendar("Munich", "Europe/Berlin", WEEKDAYS, listed)
    )
    more = PublicHolidaysRequest("de", None, (2027,))
    updated = services.calendars.update(ADMIN, office.id, 1, UpdateCalendar(public_holidays=more))
    names = {h.day: h.name for h in updated.holidays}
    assert names[date(2027, 1, 1)] == "Stocktaking"  # the stored one wins on its date
    assert names[date(2027, 12, 26)] == "Second Day of Christmas"
    assert len(names) == 9
    assert updated.version == 2


def test_an_update_with_holidays_replaces_them_and_adds_the_countrys(services: Services) -> None:
    office = services.calendars.create(
        ADMIN,
        CreateCalendar("Munich", "Europe/Berlin", WEEKDAYS, ((date(2026, 8, 8), "Summer"),)),
    )
    command = UpdateCalendar(
        holidays=((date(2026, 12, 31), "New Year's Eve"),), public_holidays=BAVARIA_2026
    )
    updated = services.calendars.update(ADMIN, office.id, 1, command)
    days = [h.day for h in updated.holidays]
    assert date(2026, 8, 8) not in days
    assert date(2026, 12, 31) in days
    assert len(days) == 12 + 1


class LongNames:
    """A source whose one holiday has a name longer than a holiday's name may be."""

    def of(
        self, country: str, subdivision: str | None, years: Sequence[int]
    ) -> Sequence[tuple[date, str]]:
        return [(date(years[0], 5, 1), "; ".join(["Labour Day", "A" * 200]))]


def test_a_public_holidays_name_is_cut_to_fit() -> None:
    services = build(LongNames())
    try:
        command = CreateCalendar(
            "X", "UTC", WEEKDAYS, (), PublicHolidaysRequest("ZZ", None, (2026,))
        )
        (holiday,) = services.calendars.create(ADMIN, command).holidays
    finally:
        services.close()
    assert len(holiday.name) == HOLIDAY_NAME_MAX
    assert holiday.name.startswith("Labour Day; AAA")
    assert holiday.name.endswith("…")


@pytest.mark.parametrize("version", [None, 7], ids=["no version", "another version"])
@pytest.mark.parametrize(
    ("command", "field"),
    [
        (UpdateCalendar(name=""), "name"),
        (UpdateCalendar(intervals=(("mon", "25:00", "26:00"),)), "intervals.0.start"),
        (UpdateCalendar(timezone="Nowhere"), "timezone"),
        (UpdateCalendar(holidays=((date(2026, 1, 1), ""),)), "holidays.0.name"),
        (
            UpdateCalendar(public_holidays=PublicHolidaysRequest("XX", None, (2026,))),
            "public_holidays.country",
        ),
    ],
    ids=["name", "interval", "timezone", "holiday", "public holidays"],
)
def test_a_bad_change_is_refused_as_bad_whatever_version_it_names(
    services: Services, command: UpdateCalendar, field: str, version: int | None
) -> None:
    """Over HTTP: a 422 for a body that could never apply, never a 412 or a 428."""
    office = services.calendars.create(ADMIN, CreateCalendar("Munich", "UTC", WEEKDAYS))
    assert (
        refused_field(lambda: services.calendars.update(ADMIN, office.id, version, command))
        == field
    )
    assert services.calendars.get(ADMIN, office.id) == office


def test_a_good_change_still_needs_the_version_seen(services: Services) -> None:
    office = services.calendars.create(ADMIN, CreateCalendar("Munich", "UTC", WEEKDAYS))
    command = UpdateCalendar(public_holidays=BAVARIA_2026)
    with pytest.raises(PreconditionRequired):
        services.calendars.update(ADMIN, office.id, None, command)
    with pytest.raises(StaleVersion):
        services.calendars.update(ADMIN, office.id, 2, command)
    assert services.calendars.get(ADMIN, office.id) == office
