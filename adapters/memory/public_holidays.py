"""A few countries' public holidays from a fixed table, for tests: Germany's, nationwide and in
Bavaria (BY), in 2026 and 2027, as the ``holidays`` package gives them in English
(tests/contract/test_public_holidays.py holds the two to the same answers).

Codes are matched regardless of case, as the package adapter matches them. A country or
subdivision not in the table is unknown; a year not in it is refused (naming ``years``), so a
test never passes on an empty answer the real source would not give.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from helpdesk_core.domain.errors import ValidationFailed

_NATIONWIDE: dict[str, tuple[tuple[date, str], ...]] = {
    "DE": (
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 4, 6), "Easter Monday"),
        (date(2026, 5, 1), "Labor Day"),
        (date(2026, 5, 14), "Ascension Day"),
        (date(2026, 5, 25), "Pentecost Monday"),
        (date(2026, 10, 3), "German Unity Day"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Second Day of Christmas"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 29), "Easter Monday"),
        (date(2027, 5, 1), "Labor Day"),
        (date(2027, 5, 6), "Ascension Day"),
        (date(2027, 5, 17), "Pentecost Monday"),
        (date(2027, 10, 3), "German Unity Day"),
        (date(2027, 12, 25), "Christmas Day"),
        (date(2027, 12, 26), "Second Day of Christmas"),
    ),
}
_REGIONAL: dict[tuple[str, str], tuple[tuple[date, str], ...]] = {
    ("DE", "BY"): (
        (date(2026, 1, 6), "Epiphany"),
        (date(2026, 6, 4), "Corpus Christi"),
        (date(2026, 11, 1), "All Saints' Day"),
        (date(2027, 1, 6), "Epiphany"),
        (date(2027, 5, 27), "Corpus Christi"),
        (date(2027, 11, 1), "All Saints' Day"),
    ),
}
YEARS = frozenset({2026, 2027})


class MemoryPublicHolidays:
    """The table behind the PublicHolidays port."""

    def of(
        self, country: str, subdivision: str | None, years: Sequence[int]
    ) -> Sequence[tuple[date, str]]:
        code = country.strip().upper()
        if code not in _NATIONWIDE:
            raise ValidationFailed.field(
                "country", f"{country!r} is not a country code the holiday source knows"
            )
        found = list(_NATIONWIDE[code])
        if subdivision is not None:
            regional = _REGIONAL.get((code, subdivision.strip().upper()))
            if regional is None:
                raise ValidationFailed.field(
                    "subdivision",
                    f"{subdivision!r} is not a subdivision of {code} the holiday source knows",
                )
            found += regional
        missing = sorted(set(years) - YEARS)
        if missing:
            raise ValidationFailed.field(
                "years", f"the in-memory table holds 2026 and 2027 only, not {missing[0]}"
            )
        return sorted((day, name) for day, name in found if day.year in years)
