"""Business-time arithmetic: due times and elapsed working time on calendars with breaks,
holidays, night shifts and daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.business_time import (
    AROUND_THE_CLOCK,
    MAX_YEARS,
    BusinessCalendar,
    Weekday,
    WorkingInterval,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
)
from helpdesk_core.domain.errors import ValidationFailed

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(
    timezone: str = "Europe/Berlin", *hours: tuple[str, str], holidays: tuple[date, ...] = ()
) -> BusinessCalendar:
    """Monday to Friday with the given intervals (09:00-17:00 unless told)."""
    return BusinessCalendar.parse(
        timezone,
        [(day, start, end) for day in WEEKDAYS for start, end in hours or [("09:00", "17:00")]],
        holidays,
    )


def every_day(timezone: str, start: str, end: str) -> BusinessCalendar:
    return BusinessCalendar.parse(timezone, [(day.value, start, end) for day in Weekday])


def at(zone: ZoneInfo, *parts: int) -> datetime:
    """A local time; an ambiguous one is its first occurrence (fold=0)."""
    return datetime(*parts, tzinfo=zone)


# ---------------------------------------------------------------- a working week


def test_friday_afternoon_plus_four_hours_is_monday_noon() -> None:
    due = add_business_time(office(), at(BERLIN, 2026, 11, 27, 16), 4 * HOUR)

    assert due == at(BERLIN, 2026, 11, 30, 12)
    assert due.tzinfo is UTC


def test_a_holiday_is_skipped() -> None:
    calendar = office(holidays=(date(2026, 11, 30),))

    assert add_business_time(calendar, at(BERLIN, 2026, 11, 27, 16), 4 * HOUR) == at(
        BERLIN, 2026, 12, 1, 12
    )
    assert business_time_between(
        calendar, at(BERLIN, 2026, 11, 27, 16), at(BERLIN, 2026, 12, 1, 12)
    ) == (4 * HOUR)


def test_time_runs_out_at_closing_not_at_the_next_opening() -> None:
    assert add_business_time(office(), at(BERLIN, 2026, 11, 27, 16), HOUR) == at(
        BERLIN, 2026, 11, 27, 17
    )


def test_a_ticket_opened_on_saturday_counts_from_monday_morning() -> None:
    saturday = at(BERLIN, 2026, 11, 28, 10)

    assert add_business_time(office(), saturday, HOUR) == at(BERLIN, 2026, 11, 30, 10)
    assert add_business_time(office(), saturday, 0) == at(BERLIN, 2026, 11, 30, 9)
    assert business_time_between(office(), saturday, at(BERLIN, 2026, 11, 30, 9)) == 0


def test_zero_seconds_is_the_start_when_open_and_the_next_opening_when_closed() -> None:
    open_at = at(BERLIN, 2026, 11, 26, 11, 17)

    assert add_business_time(office(), open_at, 0) == open_at
    # 17:00 is the first closed instant: the periods are [09:00, 17:00)
    assert add_business_time(office(), at(BERLIN, 2026, 11, 26, 17), 0) == at(
        BERLIN, 2026, 11, 27, 9
    )


def test_two_intervals_in_a_day_leave_the_lunch_break_out() -> None:
    calendar = office("Europe/Berlin", ("09:00", "12:30"), ("13:30", "17:00"))
    thursday = (2026, 11, 26)

    assert add_business_time(calendar, at(BERLIN, *thursday, 12), HOUR) == at(BERLIN, *thursday, 14)
    assert business_time_between(calendar, at(BERLIN, *thursday, 9), at(BERLIN, *thursday, 17)) == (
        7 * HOUR
    )


def test_a_start_inside_the_lunch_break_counts_from_its_end() -> None:
    calendar = office("Europe/Berlin", ("09:00", "12:30"), ("13:30", "17:00"))
    in_lunch = at(BERLIN, 2026, 11, 26, 12, 45)

    assert add_business_time(calendar, in_lunch, 30 * 60) == at(BERLIN, 2026, 11, 26, 14)
    assert add_business_time(calendar, in_lunch, 0) == at(BERLIN, 2026, 11, 26, 13, 30)
    assert business_time_between(calendar, in_lunch, at(BERLIN, 2026, 11, 26, 13, 30)) == 0


def test_an_overnight_shift_is_continuous_across_midnight() -> None:
    calendar = BusinessCalendar.parse(
        "Europe/Berlin", [("mon", "22:00", "24:00"), ("tue", "00:00", "06:00")]
    )
    monday_night = at(BERLIN, 2026, 11, 23, 23)

    assert add_business_time(calendar, monday_night, 3 * HOUR) == at(BERLIN, 2026, 11, 24, 2)
    assert add_business_time(calendar, at(BERLIN, 2026, 11, 24, 0), 0) == at(
        BERLIN, 2026, 11, 24, 0
    )
    assert business_time_between(
        calendar, at(BERLIN, 2026, 11, 23, 21), at(BERLIN, 2026, 11, 24, 7)
    ) == (8 * HOUR)
    # after the shift, the next one is a week later
    assert add_business_time(calendar, at(BERLIN, 2026, 11, 24, 5), 2 * HOUR) == at(
        BERLIN, 2026, 11, 30, 23
    )


def test_touching_intervals_are_allowed_in_any_order_and_count_as_one() -> None:
    calendar = BusinessCalendar.parse(
        "Europe/Berlin", [("mon", "12:00", "17:00"), ("mon", "09:00", "12:00")]
    )

    assert business_time_between(calendar, at(BERLIN, 2026, 11, 23), at(BERLIN, 2026, 11, 24)) == (
        8 * HOUR
    )
    assert add_business_time(calendar, at(BERLIN, 2026, 11, 23, 11), 2 * HOUR) == at(
        BERLIN, 2026, 11, 23, 13
    )


def test_a_week_is_its_working_hours_minus_its_holidays() -> None:
    calendar = office(
        "Europe/Berlin", ("09:00", "12:30"), ("13:30", "17:00"), holidays=(date(2026, 11, 25),)
    )

    week = business_time_between(calendar, at(BERLIN, 2026, 11, 23), at(BERLIN, 2026, 11, 30))

    assert week == 4 * 7 * HOUR
    assert business_minutes_between(
        calendar, at(BERLIN, 2026, 11, 23), at(BERLIN, 2026, 11, 30)
    ) == (4 * 7 * 60)


def test_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    monday = at(BERLIN, 2026, 11, 23, 10)

    assert business_time_between(office(), monday, monday) == 0
    assert business_time_between(office(), monday, monday - timedelta(hours=1)) == 0


def test_two_thousand_business_hours_are_walked_by_days() -> None:
    # 250 working days of 8 hours: fifty weeks, ending on a Friday's closing
    due = add_business_time(office(), at(BERLIN, 2026, 1, 5, 9), 2000 * HOUR)

    assert due == at(BERLIN, 2026, 12, 18, 17)
    assert business_time_between(office(), at(BERLIN, 2026, 1, 5, 9), due) == 2000 * HOUR


def test_minute_wrappers_speak_minutes() -> None:
    assert add_business_minutes(office(), at(BERLIN, 2026, 11, 27, 16), 240) == at(
        BERLIN, 2026, 11, 30, 12
    )
    # whole minutes, rounded down
    assert (
        business_minutes_between(
            office(), at(BERLIN, 2026, 11, 27, 16), at(BERLIN, 2026, 11, 27, 16, 1, 59)
        )
        == 1
    )


# ---------------------------------------------------------------- around the clock


def test_none_is_around_the_clock_where_business_time_is_wall_time() -> None:
    # instants in UTC: adding a timedelta to a Berlin datetime adds wall-clock time
    start = datetime(2026, 3, 28, 12, 0, 0, 500, tzinfo=UTC)

    assert add_business_time(None, start, 90) == start + timedelta(seconds=90)
    assert add_business_time(AROUND_THE_CLOCK, start, 90) == start + timedelta(seconds=90)
    assert business_time_between(None, start, start + timedelta(days=2)) == 2 * 24 * HOUR


def test_a_holiday_on_the_short_spring_day_takes_its_23_hours_away() -> None:
    always = every_day("Europe/Berlin", "00:00", "24:00")
    with_holiday = BusinessCalendar(
        always.timezone, always.intervals, frozenset({date(2026, 3, 29)})
    )
    week = (at(BERLIN, 2026, 3, 23), at(BERLIN, 2026, 3, 30))

    assert business_time_between(always, *week) == (7 * 24 - 1) * HOUR
    assert business_time_between(with_holiday, *week) == 6 * 24 * HOUR


# ---------------------------------------------------------------- daylight saving time


def test_berlin_spring_forward_counts_the_real_time_of_an_interval() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 01:00-04:00 holds two real hours
    calendar = BusinessCalendar.parse("Europe/Berlin", [("sun", "01:00", "04:00")])
    sunday = date(2026, 3, 29)

    assert calendar.periods_on(sunday) == [
        (datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))
    ]
    assert add_business_time(calendar, at(BERLIN, 2026, 3, 29, 1, 30), HOUR) == at(
        BERLIN, 2026, 3, 29, 3, 30
    )
    assert business_time_between(calendar, at(BERLIN, 2026, 3, 28), at(BERLIN, 2026, 3, 30)) == (
        2 * HOUR
    )


def test_berlin_an_interval_in_the_spring_gap_moves_to_the_change() -> None:
    inside = BusinessCalendar.parse("Europe/Berlin", [("sun", "02:00", "03:00")])
    across = BusinessCalendar.parse("Europe/Berlin", [("sun", "02:30", "03:30")])
    change = datetime(2026, 3, 29, 1, tzinfo=UTC)

    assert inside.periods_on(date(2026, 3, 29)) == []
    assert across.periods_on(date(2026, 3, 29)) == [(change, change + timedelta(minutes=30))]
    assert add_business_time(across, at(BERLIN, 2026, 3, 29), 0) == change
    # a week later, the same intervals hold their whole hour again
    assert business_time_between(inside, at(BERLIN, 2026, 4, 5), at(BERLIN, 2026, 4, 6)) == HOUR


def test_berlin_fall_back_counts_the_repeated_hour_inside_an_interval() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET; 01:00-05:00 holds five real hours
    calendar = BusinessCalendar.parse("Europe/Berlin", [("sun", "01:00", "05:00")])

    assert business_time_between(calendar, at(BERLIN, 2026, 10, 24), at(BERLIN, 2026, 10, 26)) == (
        5 * HOUR
    )
    # four real hours from 01:00 CEST is 04:00 CET, not 05:00
    assert add_business_time(calendar, at(BERLIN, 2026, 10, 25, 1), 4 * HOUR) == at(
        BERLIN, 2026, 10, 25, 4
    )


def test_berlin_an_ambiguous_time_is_its_first_occurrence() -> None:
    whole = BusinessCalendar.parse("Europe/Berlin", [("sun", "02:00", "03:00")])
    half = BusinessCalendar.parse("Europe/Berlin", [("sun", "02:00", "02:30")])
    sunday = date(2026, 10, 25)

    # 02:00 is its first occurrence (CEST), 03:00 exists once (CET): both passes of the hour
    assert whole.periods_on(sunday) == [
        (datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC))
    ]
    # 02:00-02:30 ends at the first 02:30: only the first pass counts
    assert half.periods_on(sunday) == [
        (datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    ]


def test_berlin_a_weekend_change_does_not_move_office_hours() -> None:
    friday, monday = at(BERLIN, 2026, 3, 27, 16), at(BERLIN, 2026, 3, 30, 10)

    assert add_business_time(office(), friday, 2 * HOUR) == monday
    assert business_time_between(office(), friday, monday) == 2 * HOUR
    assert add_business_time(office(), at(BERLIN, 2026, 10, 23, 16), 2 * HOUR) == at(
        BERLIN, 2026, 10, 26, 10
    )


def test_new_york_spring_forward() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT
    calendar = BusinessCalendar.parse("America/New_York", [("sun", "00:00", "04:00")])

    assert add_business_time(calendar, at(NEW_YORK, 2026, 3, 8, 0, 30), 2 * HOUR) == at(
        NEW_YORK, 2026, 3, 8, 3, 30
    )
    assert business_time_between(calendar, at(NEW_YORK, 2026, 3, 7), at(NEW_YORK, 2026, 3, 9)) == (
        3 * HOUR
    )
    gap = BusinessCalendar.parse("America/New_York", [("sun", "02:15", "02:45")])
    assert gap.periods_on(date(2026, 3, 8)) == []


def test_new_york_fall_back() -> None:
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST; 00:00-04:00 holds five real hours
    calendar = BusinessCalendar.parse("America/New_York", [("sun", "00:00", "04:00")])

    assert business_time_between(
        calendar, at(NEW_YORK, 2026, 10, 31), at(NEW_YORK, 2026, 11, 2)
    ) == (5 * HOUR)
    # two hours from 00:30 EDT is 01:30 the second time, in EST
    due = add_business_time(calendar, at(NEW_YORK, 2026, 11, 1, 0, 30), 2 * HOUR)
    assert due == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    local = due.astimezone(NEW_YORK)
    assert (local.hour, local.minute, local.fold, local.tzname()) == (1, 30, 1, "EST")
    repeated = BusinessCalendar.parse("America/New_York", [("sun", "01:00", "02:00")])
    assert business_time_between(
        repeated, at(NEW_YORK, 2026, 10, 31), at(NEW_YORK, 2026, 11, 2)
    ) == (2 * HOUR)


def test_an_office_in_new_york_measured_across_both_changes() -> None:
    calendar = office("America/New_York")
    spring = (at(NEW_YORK, 2026, 3, 6, 9), at(NEW_YORK, 2026, 3, 9, 17))
    fall = (at(NEW_YORK, 2026, 10, 30, 9), at(NEW_YORK, 2026, 11, 2, 17))

    assert business_time_between(calendar, *spring) == 16 * HOUR
    assert business_time_between(calendar, *fall) == 16 * HOUR
    assert add_business_time(calendar, spring[0], 12 * HOUR) == at(NEW_YORK, 2026, 3, 9, 13)


# ---------------------------------------------------------------- limits


def test_negative_time_is_refused_naming_the_parameter() -> None:
    with pytest.raises(ValidationFailed) as seconds:
        add_business_time(office(), at(BERLIN, 2026, 11, 27, 16), -1)
    with pytest.raises(ValidationFailed) as minutes:
        add_business_minutes(office(), at(BERLIN, 2026, 11, 27, 16), -1)

    assert seconds.value.errors[0].field == "seconds"
    assert minutes.value.errors[0].field == "minutes"


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        add_business_time(office(), datetime(2026, 11, 27, 16), HOUR)

    assert caught.value.errors[0].field == "start"


def test_more_than_a_century_of_business_time_is_refused() -> None:
    one_minute_a_week = BusinessCalendar.parse("UTC", [("mon", "09:00", "09:01")])

    for calendar in (one_minute_a_week, None):
        with pytest.raises(ValidationFailed) as caught:
            add_business_minutes(calendar, at(BERLIN, 2026, 1, 1), (MAX_YEARS + 1) * 366 * 24 * 60)
        assert caught.value.errors[0].field == "minutes"


def test_an_addition_past_the_year_9999_is_refused() -> None:
    for calendar in (office(), None):
        with pytest.raises(ValidationFailed) as caught:
            add_business_time(calendar, datetime(9999, 12, 30, tzinfo=UTC), 7 * 24 * HOUR)
        assert caught.value.errors[0].field == "seconds"


@pytest.mark.parametrize("minutes", [10**18, 2**63, 10**31], ids=["1e18", "2**63", "1e31"])
def test_more_minutes_than_a_timedelta_holds_are_refused_naming_them(minutes: int) -> None:
    """Such a number reaches the API as an ordinary integer (up to 32 digits)."""
    for calendar in (office(), None):
        with pytest.raises(ValidationFailed) as caught:
            add_business_minutes(calendar, at(BERLIN, 2026, 1, 1), minutes)
        assert caught.value.errors[0].field == "minutes"


def test_a_calendar_whose_every_working_day_is_a_holiday_for_ten_years_raises() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=week) for week in range(11 * 53))
    calendar = BusinessCalendar(
        "UTC", (WorkingInterval(Weekday.MON, 9 * 60, 17 * 60),), holidays=mondays
    )

    with pytest.raises(ValueError, match="no working time in the ten years"):
        add_business_time(calendar, at(BERLIN, 2026, 1, 1), HOUR)


# ---------------------------------------------------------------- bad calendars


def refusal(timezone: str, intervals: list[tuple[str, str, str]]) -> str:
    with pytest.raises(ValidationFailed) as caught:
        BusinessCalendar.parse(timezone, intervals)
    (error,) = caught.value.errors
    return error.field


NINE_TO_FIVE = [("mon", "09:00", "17:00")]


@pytest.mark.parametrize("timezone", ["Europe/Nowhere", "", "../etc/passwd", "utc", "localtime"])
def test_an_unknown_timezone_is_refused(timezone: str) -> None:
    assert refusal(timezone, NINE_TO_FIVE) == "timezone"


@pytest.mark.parametrize(
    ("intervals", "field"),
    [
        ([("mon", "25:00", "26:00")], "intervals.0.start"),
        ([("mon", "09:00", "25:00")], "intervals.0.end"),
        ([("mon", "09:00", "24:01")], "intervals.0.end"),
        ([("mon", "9:00", "17:00")], "intervals.0.start"),
        ([("mon", "09:60", "17:00")], "intervals.0.start"),
        ([("mon", "24:00", "24:00")], "intervals.0.start"),
        ([("mon", "17:00", "09:00")], "intervals.0.end"),
        ([("mon", "09:00", "09:00")], "intervals.0.end"),
        ([("monday", "09:00", "17:00")], "intervals.0.weekday"),
        ([], "intervals"),
        (
            [("mon", "09:00", "17:00"), ("tue", "09:00", "12:00"), ("mon", "16:00", "18:00")],
            "intervals.2",
        ),
        ([("mon", "16:00", "18:00"), ("mon", "09:00", "17:00")], "intervals.1"),
        ([("mon", "09:00", "17:00"), ("mon", "09:00", "17:00")], "intervals.1"),
        ([("sun", "10:00", "11:00"), ("sun", "08:00", "12:00")], "intervals.1"),
    ],
)
def test_a_bad_interval_is_refused_naming_its_field(
    intervals: list[tuple[str, str, str]], field: str
) -> None:
    assert refusal("Europe/Berlin", intervals) == field


def test_an_interval_built_in_code_is_checked_too() -> None:
    with pytest.raises(ValidationFailed) as caught:
        WorkingInterval(Weekday.MON, 17 * 60, 9 * 60)

    assert caught.value.errors[0].field == "end"


def test_holidays_must_be_dates_not_datetimes() -> None:
    with pytest.raises(ValidationFailed) as caught:
        BusinessCalendar(
            "UTC",
            (WorkingInterval(Weekday.MON, 0, 60),),
            frozenset({datetime(2026, 12, 24, tzinfo=UTC)}),
        )

    assert caught.value.errors[0].field == "holidays"


def test_an_interval_reads_as_it_was_written() -> None:
    interval = WorkingInterval.parse("fri", "22:00", "24:00")

    assert (interval.weekday, interval.start, interval.end) == (Weekday.FRI, 1320, 1440)
    assert str(interval) == "fri 22:00-24:00"


# ---------------------------------------------------------------- properties

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
# Minutes drawn on the half hour most of the time, so intervals meet the changes' edges.
MINUTE = st.one_of(st.integers(0, 48).map(lambda n: n * 30), st.integers(0, 1440))


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    points = sorted(draw(st.sets(MINUTE, max_size=5)))
    if draw(st.booleans()):  # touching intervals: 09:00-12:00, 12:00-17:00
        return list(itertools.pairwise(points))
    return list(zip(points[::2], points[1::2], strict=False))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    intervals = tuple(
        WorkingInterval(day, start, end) for day in Weekday for start, end in draw(day_hours())
    )
    assume(intervals)
    holidays = draw(st.frozensets(st.dates(date(2025, 12, 1), date(2028, 3, 1)), max_size=30))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), intervals, holidays)


# Whole-second instants, often within two days of a daylight-saving change.
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Berlin
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe: 02:00 back to 01:30
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe: 02:00 on to 02:30
]
INSTANTS = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
    st.builds(
        lambda change, offset: change + timedelta(seconds=offset),
        st.sampled_from(CHANGES),
        st.integers(-2 * 86400, 2 * 86400),
    ),
)
SPANS = st.integers(0, 21 * 86400)
PROPERTIES = settings(max_examples=200, deadline=None)


def weekly_seconds(calendar: BusinessCalendar) -> int:
    return sum(i.end - i.start for i in calendar.intervals) * 60


@PROPERTIES
@given(calendars(), INSTANTS, st.data())
def test_adding_then_measuring_back_gives_what_was_added(
    calendar: BusinessCalendar, start: datetime, data: st.DataObject
) -> None:
    seconds = data.draw(st.integers(0, 3 * weekly_seconds(calendar)))

    due = add_business_time(calendar, start, seconds)

    assert due >= start
    assert business_time_between(calendar, start, due) == seconds
    # the clock is not running at the start of a closed stretch: a zero-length addition lands
    # on working time, where one more second counts
    opening = add_business_time(calendar, start, 0)
    assert business_time_between(calendar, opening, opening + timedelta(seconds=1)) == 1


@PROPERTIES
@given(calendars(), INSTANTS, SPANS, SPANS)
def test_between_is_additive_and_never_exceeds_wall_time(
    calendar: BusinessCalendar, a: datetime, first: int, second: int
) -> None:
    b = a + timedelta(seconds=first)
    c = b + timedelta(seconds=second)

    whole = business_time_between(calendar, a, c)

    assert business_time_between(calendar, a, b) + business_time_between(calendar, b, c) == whole
    assert 0 <= whole <= first + second
