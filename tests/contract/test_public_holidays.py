"""The PublicHolidays contract, held by the ``holidays`` package adapter (production) and the
in-memory table alike: what the table holds is what the package answers."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.holidays import PackagePublicHolidays
from adapters.memory import public_holidays as table
from adapters.memory.public_holidays import MemoryPublicHolidays
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.ports.calendars import PublicHolidays


@pytest.fixture(params=[PackagePublicHolidays, MemoryPublicHolidays], ids=["package", "memory"])
def source(request: pytest.FixtureRequest) -> PublicHolidays:
    made: PublicHolidays = request.param()
    return made


def refused_field(source: PublicHolidays, country: str, subdivision: str | None) -> str:
    with pytest.raises(ValidationFailed) as refused:
        source.of(country, subdivision, [2026])
    (error,) = refused.value.errors
    assert country in error.message or str(subdivision) in error.message
    return error.field


def test_a_country_in_a_year_in_date_order_each_date_once(source: PublicHolidays) -> None:
    found = source.of("DE", None, [2026])
    days = [day for day, _name in found]
    assert days == sorted(set(days))
    assert all(type(day) is date and day.year == 2026 for day in days)
    assert (date(2026, 10, 3), "German Unity Day") in found
    assert (date(2026, 12, 25), "Christmas Day") in found
    assert date(2026, 1, 6) not in days  # Epiphany is Bavaria's, not the whole country's


def test_a_subdivision_adds_its_own_holidays_to_the_countrys(source: PublicHolidays) -> None:
    nationwide = set(source.of("DE", None, [2026]))
    bavaria = set(source.of("DE", "BY", [2026]))
    assert nationwide < bavaria
    assert sorted(bavaria - nationwide) == [
        (date(2026, 1, 6), "Epiphany"),
        (date(2026, 6, 4), "Corpus Christi"),
        (date(2026, 11, 1), "All Saints' Day"),
    ]


def test_several_years_are_every_years_holidays(source: PublicHolidays) -> None:
    both = source.of("DE", "BY", [2027, 2026])
    assert [d for d in both if d[0].year == 2026] == list(source.of("DE", "BY", [2026]))
    assert [d for d in both if d[0].year == 2027] == list(source.of("DE", "BY", [2027]))
    assert (date(2027, 3, 26), "Good Friday") in both


def test_codes_are_taken_in_any_case_and_spacing(source: PublicHolidays) -> None:
    assert source.of(" de ", " by", [2026]) == source.of("DE", "BY", [2026])


@pytest.mark.parametrize("country", ["XX", "", "Germany", "DEU"])
def test_an_unknown_country_is_refused_naming_it(source: PublicHolidays, country: str) -> None:
    assert refused_field(source, country, None) == "country"


@pytest.mark.parametrize("subdivision", ["ZZ", "", "DE-BY"])
def test_an_unknown_subdivision_is_refused_naming_it(
    source: PublicHolidays, subdivision: str
) -> None:
    assert refused_field(source, "DE", subdivision) == "subdivision"


@pytest.mark.parametrize("subdivision", [None, "BY"])
@pytest.mark.parametrize("year", sorted(table.YEARS))
def test_the_table_is_what_the_package_answers(subdivision: str | None, year: int) -> None:
    """Every entry of the in-memory table, as the package gives it in English."""
    assert list(MemoryPublicHolidays().of("DE", subdivision, [year])) == list(
        PackagePublicHolidays().of("DE", subdivision, [year])
    )


def test_names_are_english_where_the_package_has_them() -> None:
    """Not the country's own language, where that is another (German, Japanese)."""
    package = PackagePublicHolidays()
    assert (date(2026, 12, 26), "Second Day of Christmas") in package.of("DE", None, [2026])
    assert (date(2026, 12, 26), "Boxing Day") in package.of("GB", "ENG", [2026])
    japan = dict(package.of("JP", None, [2026]))
    assert japan[date(2026, 1, 1)] == "New Year's Day"
