"""Public holidays from the ``holidays`` package: the maintained source of countries' (and
their subdivisions') public holidays, observed days included.

Names are English where the package has them (its ``language`` option): the country's own
language when that is English (``en_GB`` for GB), else ``en_US``, else any English it has, else
the country's default. Codes are matched regardless of case; only ISO codes are taken (the
package's aliases, such as ``UK`` or ``Germany``, are not).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

import holidays

from helpdesk_core.domain.errors import ValidationFailed


@functools.cache
def _countries() -> dict[str, dict[str, str]]:
    """ISO country code -> {subdivision code, upper case -> as the package spells it}."""
    return {
        code: {subdivision.upper(): subdivision for subdivision in subdivisions}
        for code, subdivisions in holidays.list_supported_countries(include_aliases=False).items()
    }


def _english(default: str | None, supported: Sequence[str]) -> str | None:
    if default is not None and default.startswith("en"):
        return default
    if "en_US" in supported:
        return "en_US"
    return next((language for language in supported if language.startswith("en")), default)


class PackagePublicHolidays:
    """The ``holidays`` package behind the PublicHolidays port."""

    def of(
        self, country: str, subdivision: str | None, years: Sequence[int]
    ) -> Sequence[tuple[date, str]]:
        code = country.strip().upper()
        subdivisions = _countries().get(code)
        if subdivisions is None:
            raise ValidationFailed.field(
                "country", f"{country!r} is not a country code the holiday source knows"
            )
        subdiv = None
        if subdivision is not None:
            subdiv = subdivisions.get(subdivision.strip().upper())
            if subdiv is None:
                known = ", ".join(sorted(subdivisions.values())) or "none"
                raise ValidationFailed.field(
                    "subdivision",
                    f"{subdivision!r} is not a subdivision of {code} the holiday source knows "
                    f"(it knows {known})",
                )
        entity = holidays.country_holidays(code, subdiv=subdiv)
        language = _english(entity.default_language, entity.supported_languages)
        found = holidays.country_holidays(
            code, subdiv=subdiv, years=sorted(set(years)), language=language
        )
        return sorted(found.items())
