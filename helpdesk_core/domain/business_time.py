"""Business-time arithmetic: when N seconds of working time have passed, and how much working
time lies between two instants, on a calendar of weekly working hours, holidays and a time zone.

Service-level targets are promised in business time ("an answer within 4 working hours"), but
stored and compared as instants. This module is the one place that converts between the two, so
due times, pauses and breaches all agree.

The rules, decided once:

- A calendar is a set of real (UTC) periods: each working interval of each local date that is not
  a holiday maps both its ends to UTC instants, and the interval counts as the real time between
  them. Periods are half-open, ``[start, end)``.
- A local time that does not exist (spring forward) maps to the first instant that exists after
  it, the moment of the change; an ambiguous one (fall back) maps to its first occurrence
  (``fold=0``). So an interval wholly inside the gap counts nothing, ``02:30-03:30`` on the
  Berlin spring-forward night counts 30 minutes (03:00-03:30 CEST), and ``01:00-05:00`` on the
  fall-back night counts 5 real hours; ``02:00-03:00`` on that night spans both occurrences of the
  repeated hour and counts 2. Ends shared by touching intervals map to the same instant, so an
  overnight shift (``mon 22:00-24:00`` and ``tue 00:00-06:00``) stays continuous through any change.
- ``AROUND_THE_CLOCK`` (every minute of every day, UTC) stands for "no calendar": every function
  takes ``None`` for it, which is what a policy without a calendar passes.
- Counting starts at the next opening: a start in a closed period (night, weekend, holiday, lunch
  break) counts from the next opening, and adding 0 seconds answers that opening (or the start
  itself when open). The answer of an addition is the instant the time runs out, so 1 hour from
  16:00 on a day closing at 17:00 is 17:00 that day, not the next opening.
- Business time between two instants is whole seconds, rounded down (``between`` of instants with
  microseconds can be up to a second short; whole-second instants are exact and additive).
- Limits: an addition that needs more than ``MAX_YEARS`` years of calendar refuses with
  ValidationFailed on ``seconds`` (``minutes`` for the minute wrapper), which bounds the work an
  API caller can ask for; a calendar with no working time in ten consecutive years (only possible
  when holidays cover every working day of those years) raises ValueError.
- Cost is linear in the calendar days walked (a few zoneinfo conversions a working day), never in
  minutes: 2,000 business hours on an 8-hour, 5-day calendar is about 350 days.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from helpdesk_core.domain.errors import ValidationFailed

MINUTES_PER_DAY = 24 * 60

# An addition walks at most this many years of calendar: far beyond any service target, and a
# bound on the work one API request can cause.
MAX_YEARS = 100
_MAX_DAYS = MAX_YEARS * 366

# Consecutive days without working time after which a calendar is taken to have none left.
_MAX_CLOSED_DAYS = 10 * 366

_ONE_SECOND = timedelta(seconds=1)


class Weekday(enum.StrEnum):
    """A day of the week, in the order of ``date.weekday()`` (Monday is 0)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEKDAYS = tuple(Weekday)

_CLOCK = re.compile(r"([0-9][0-9]):([0-9][0-9])")


def parse_clock(text: str, field: str, *, end: bool = False) -> int:
    """Minutes since local midnight of an ``"HH:MM"`` time of day, or ValidationFailed naming
    ``field``. ``"24:00"`` (the end of the day) is allowed only as an interval's ``end``."""
    match = _CLOCK.fullmatch(text)
    if match is None or int(match[1]) > 24 or int(match[2]) > 59:
        upper = "24:00" if end else "23:59"
        raise ValidationFailed.field(field, f"must be a time of day as HH:MM (00:00 to {upper})")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes == MINUTES_PER_DAY and not end:
        raise ValidationFailed.field(field, "24:00 is allowed only as the end of an interval")
    if minutes > MINUTES_PER_DAY:
        raise ValidationFailed.field(field, "must not be later than 24:00")
    return minutes


def format_clock(minutes: int) -> str:
    """``"HH:MM"`` of minutes since local midnight (1440 is ``"24:00"``), for showing intervals."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_bounds(start: int, end: int, prefix: str) -> None:
    """The invariant of an interval, its errors naming ``prefix.start`` / ``prefix.end``."""
    if not 0 <= start < MINUTES_PER_DAY:
        raise ValidationFailed.field(_path(prefix, "start"), "must be from 00:00 to 23:59")
    if not 0 < end <= MINUTES_PER_DAY:
        raise ValidationFailed.field(_path(prefix, "end"), "must be from 00:01 to 24:00")
    if end <= start:
        raise ValidationFailed.field(_path(prefix, "end"), "must be later than the start")


@attrs.frozen
class WorkingInterval:
    """Working hours on one weekday, as minutes since local midnight: ``[start, end)``.

    An interval never crosses midnight (``end`` is at most 1440, ``"24:00"``): a night shift is
    two intervals, one ending at 24:00 and one starting at 00:00 the next weekday, which the
    arithmetic treats as continuous time.
    """

    weekday: Weekday
    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        _check_bounds(self.start, self.end, "")

    @classmethod
    def parse(cls, weekday: str, start: str, end: str, *, field: str = "") -> WorkingInterval:
        """An interval from its text form (``"mon"``, ``"09:00"``, ``"17:00"``); errors name
        ``field.weekday``, ``field.start`` or ``field.end`` (``field`` is e.g. ``intervals.3``)."""
        try:
            day = Weekday(weekday)
        except ValueError:
            raise ValidationFailed.field(
                _path(field, "weekday"), f"must be one of {', '.join(_WEEKDAYS)}"
            ) from None
        first = parse_clock(start, _path(field, "start"))
        last = parse_clock(end, _path(field, "end"), end=True)
        _check_bounds(first, last, field)
        return cls(day, first, last)

    def __str__(self) -> str:
        return f"{self.weekday} {format_clock(self.start)}-{format_clock(self.end)}"


def _check_timezone(_instance: Any, _attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        ZoneInfo(value)
        # "localtime" loads on most machines, but names the host's zone, not one of IANA's
        known = value != "localtime"
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    if not known:
        raise ValidationFailed.field(
            "timezone", "must be an IANA time zone name such as Europe/Berlin or UTC"
        )


def _check_intervals(
    _instance: Any, _attribute: attrs.Attribute[Any], value: tuple[WorkingInterval, ...]
) -> None:
    if not value:
        raise ValidationFailed.field("intervals", "must hold at least one working interval")
    # Sorted by day and start, any overlap shows between neighbours; the error names the one
    # given later, so the earlier stays the reference.
    order = sorted(
        range(len(value)), key=lambda i: (_WEEKDAYS.index(value[i].weekday), value[i].start)
    )
    for earlier, later in itertools.pairwise(order):
        first, second = value[earlier], value[later]
        if first.weekday == second.weekday and second.start < first.end:
            named, other = max(earlier, later), min(earlier, later)
            raise ValidationFailed.field(
                f"intervals.{named}", f"{value[named]} overlaps intervals.{other} ({value[other]})"
            )


def _check_holidays(
    _instance: Any, _attribute: attrs.Attribute[Any], value: frozenset[date]
) -> None:
    # A datetime is a date too, but never equal to one: as a holiday it would silently not count.
    if any(isinstance(day, datetime) or not isinstance(day, date) for day in value):
        raise ValidationFailed.field("holidays", "must be calendar dates (no times)")


@attrs.frozen
class BusinessCalendar:
    """When work happens: weekly working intervals and holidays, in one IANA time zone.

    ``intervals`` keep the order they were given in, so an error names the offending one
    (``intervals.3``); intervals of one weekday may touch (09:00-12:00 and 12:00-17:00, in any
    order) but not overlap. ``holidays`` are local dates on which no interval counts.
    """

    timezone: str = attrs.field(validator=_check_timezone)
    intervals: tuple[WorkingInterval, ...] = attrs.field(validator=_check_intervals)
    holidays: frozenset[date] = attrs.field(default=frozenset(), validator=_check_holidays)

    @classmethod
    def parse(
        cls,
        timezone: str,
        intervals: Iterable[tuple[str, str, str]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """A calendar from the text form of its intervals, ``(weekday, start, end)`` each, as the
        API and the CLI receive them; every error names its field (``intervals.3.start``)."""
        return cls(
            timezone,
            tuple(
                WorkingInterval.parse(*interval, field=f"intervals.{index}")
                for index, interval in enumerate(intervals)
            ),
            frozenset(holidays),
        )

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone (zoneinfo caches one instance per name)."""
        return ZoneInfo(self.timezone)

    @functools.cached_property
    def _hours(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """The ``(start, end)`` minutes of each weekday (Monday first), in order of the day."""
        return tuple(
            tuple(sorted((i.start, i.end) for i in self.intervals if i.weekday == day))
            for day in _WEEKDAYS
        )

    @functools.cached_property
    def _always_open(self) -> bool:
        """Whether every instant is working time, so business time is wall time."""
        return not self.holidays and all(
            _merged(day) == ((0, MINUTES_PER_DAY),) for day in self._hours
        )

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of a local date as UTC instants ``[start, end)``, in order;
        none on a holiday, and none for an interval wholly inside a spring-forward gap.
        Remembered per calendar and date: every due time walks the same days."""
        known = self._days
        found = known.get(day)
        if found is None:
            found = self._periods_of(day)
            if len(known) < _DAYS_KEPT:
                known[day] = found
        return list(found)

    @functools.cached_property
    def _days(self) -> dict[date, tuple[tuple[datetime, datetime], ...]]:
        return {}

    def _periods_of(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if day in self.holidays:
            return ()
        zone = self.zone
        found = []
        for start, end in self._hours[day.weekday()]:
            first, last = _instant(zone, day, start), _instant(zone, day, end)
            if first < last:
                found.append((first, last))
        return tuple(found)


_DAYS_KEPT = 4096  # dates one calendar remembers (a decade of days)


def _merged(hours: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in hours:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


AROUND_THE_CLOCK = BusinessCalendar(
    "UTC", tuple(WorkingInterval(day, 0, MINUTES_PER_DAY) for day in Weekday)
)
"""Every minute of every day counts: the calendar of a policy that names none (pass ``None``)."""


def _instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The UTC instant of ``minute`` past local midnight of ``day``: the first occurrence of an
    ambiguous local time, the end of the gap for a nonexistent one."""
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60))
    instant = local.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier of two
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    return _end_of_gap(zone, local, instant)


def _end_of_gap(zone: ZoneInfo, local: datetime, after: datetime) -> datetime:
    """The first instant whose local time is at or after the nonexistent ``local``: the moment
    the clocks jumped. zoneinfo does not expose transitions; but ``local`` read with the offset
    from after the jump (fold=1) is an instant before it, and read with the one from before
    (``after``, fold=0) an instant after it, so bisect the seconds between: a few dozen
    conversions, once per gap."""
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _periods(calendar: BusinessCalendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working periods from the local date before ``start``'s onwards, in order (one day
    early, so a period the change of a day's offset carries past midnight is not missed).
    Ends when the search bounds are passed (see the module's limits)."""
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)
    closed_days = 0
    for _ in range(_MAX_DAYS):
        periods = calendar.periods_on(day)
        closed_days = 0 if periods else closed_days + 1
        if closed_days > _MAX_CLOSED_DAYS:
            since = day - timedelta(days=_MAX_CLOSED_DAYS)
            raise ValueError(f"the calendar has no working time in the ten years after {since}")
        yield from periods
        day += timedelta(days=1)


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed.field(field, "must include a UTC offset")
    return value.astimezone(UTC)


def add_business_time(
    calendar: BusinessCalendar | None, start: datetime, seconds: int, *, field: str = "seconds"
) -> datetime:
    """The instant (UTC) at which ``seconds`` of business time have passed after ``start``.

    A start in closed time counts from the next opening; 0 seconds answers that opening (or
    ``start`` when open). ``None`` is :data:`AROUND_THE_CLOCK`. Negative ``seconds``, a naive
    ``start`` and an addition beyond ``MAX_YEARS`` of calendar are ValidationFailed (naming
    ``field`` or ``start``)."""
    calendar = AROUND_THE_CLOCK if calendar is None else calendar
    begin = _utc(start, "start")
    if seconds < 0:
        raise ValidationFailed.field(field, "must not be negative")
    try:
        remaining = timedelta(seconds=seconds)  # beyond timedelta's days: OverflowError
        if calendar._always_open:
            due = begin + remaining if remaining <= timedelta(days=_MAX_DAYS) else None
        else:
            due = _walk(calendar, begin, remaining)
    except OverflowError:
        raise ValidationFailed.field(field, "reaches beyond the year 9999") from None
    if due is None:
        raise ValidationFailed.field(
            field, f"is more business time than the calendar holds in {MAX_YEARS} years"
        )
    return due


def _walk(calendar: BusinessCalendar, begin: datetime, remaining: timedelta) -> datetime | None:
    """The instant ``remaining`` business time after ``begin``; None past the walk's bounds."""
    for first, last in _periods(calendar, begin):
        if last <= begin:
            continue
        first = max(first, begin)
        if remaining <= last - first:
            return first + remaining
        remaining -= last - first
    return None


def business_time_between(calendar: BusinessCalendar | None, start: datetime, end: datetime) -> int:
    """Whole seconds of business time in ``[start, end)`` (rounded down; 0 when ``end`` is not
    after ``start``). ``None`` is :data:`AROUND_THE_CLOCK`. Walks every day in between."""
    calendar = AROUND_THE_CLOCK if calendar is None else calendar
    begin, finish = _utc(start, "start"), _utc(end, "end")
    if finish <= begin:
        return 0
    if calendar._always_open:
        return (finish - begin) // _ONE_SECOND
    total = timedelta()
    for first, last in _between_periods(calendar, begin, finish):
        total += min(last, finish) - max(first, begin)
    return total // _ONE_SECOND


def _between_periods(
    calendar: BusinessCalendar, begin: datetime, finish: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The periods overlapping ``[begin, finish)``; stops at ``finish``, not at the walk's
    bounds, whatever the span."""
    zone = calendar.zone
    day = begin.astimezone(zone).date() - timedelta(days=1)
    last_day = finish.astimezone(zone).date() + timedelta(days=1)
    while day <= last_day:
        for first, last in calendar.periods_on(day):
            if first < finish and begin < last:
                yield first, last
        day += timedelta(days=1)


def add_business_minutes(
    calendar: BusinessCalendar | None, start: datetime, minutes: int
) -> datetime:
    """:func:`add_business_time` in minutes, the unit of the API; errors name ``minutes``."""
    return add_business_time(calendar, start, minutes * 60, field="minutes")


def business_minutes_between(
    calendar: BusinessCalendar | None, start: datetime, end: datetime
) -> int:
    """Whole minutes of business time in ``[start, end)``, rounded down."""
    return business_time_between(calendar, start, end) // 60
