"""Business calendars (SQLAlchemy Core): a row per calendar, its intervals and holidays as
child rows.

The conventions are those of ``adapters.sql`` (its package docstring). Calendars are read and
written by administrators, and read again when a policy's due times are computed: few rows, so
the statements run through ``Connection.execute``. A calendar is read with its parts in one
statement; an update replaces the parts once the calendar's row matched at the version read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from itertools import groupby
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from adapters.sql.refusals import Refusal, Refusals, primary_key, refused_as_conflict
from adapters.sql.tables import sla_calendar_holidays, sla_calendar_intervals, sla_calendars
from helpdesk_core.domain.business_time import WorkingInterval
from helpdesk_core.domain.calendars import Calendar, Holiday
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.values import name_key

_NAME_HOLDER = sa.select(sla_calendars.c.id, sla_calendars.c.name).where(
    sla_calendars.c.name_key == sa.bindparam("name_key")
)


def _name_taken() -> Refusal[Calendar]:
    """The unique name key is another calendar's: the message names it as stored."""
    (constraint,) = (
        c
        for c in sla_calendars.constraints
        if isinstance(c, sa.UniqueConstraint) and "name_key" in c.columns
    )

    def probe(connection: sa.Connection, calendar: Calendar) -> bool | str:
        holder = connection.execute(_NAME_HOLDER, {"name_key": name_key(calendar.name)}).first()
        return False if holder is None or holder.id == calendar.id else _says(holder.name)

    return Refusal(str(constraint.name), lambda calendar: _says(calendar.name), probe)


def _says(name: str) -> str:
    return f"a calendar named '{name}' already exists"


_NAME = _name_taken()
_CALENDAR_ADDED = Refusals[Calendar](
    "calendar", (_NAME, primary_key(sla_calendars, "a calendar with this id already exists"))
)
_CALENDAR_UPDATED = Refusals[Calendar]("calendar", (_NAME,))


def _calendar_values(calendar: Calendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "name_key": name_key(calendar.name),
        "timezone": calendar.timezone,
        "is_active": calendar.is_active,
        "updated_at": calendar.updated_at,
        "version": calendar.version,
    }


# A calendar and its parts in one statement, so one snapshot (READ COMMITTED gives each
# statement its own): one row per interval or holiday, the other part's columns NULL.
_PARTS = sa.union_all(
    sa.select(
        sla_calendar_intervals.c.calendar_id,
        sla_calendar_intervals.c.position,
        sla_calendar_intervals.c.weekday,
        sla_calendar_intervals.c.start_minute,
        sla_calendar_intervals.c.end_minute,
        sa.cast(sa.null(), sa.Date()).label("day"),
        sa.cast(sa.null(), sa.String(100)).label("holiday_name"),
    ),
    sa.select(
        sla_calendar_holidays.c.calendar_id,
        sa.cast(sa.null(), sa.Integer()),
        sa.cast(sa.null(), sa.String(16)),
        sa.cast(sa.null(), sa.Integer()),
        sa.cast(sa.null(), sa.Integer()),
        sla_calendar_holidays.c.day,
        sla_calendar_holidays.c.name,
    ),
).subquery("parts")

_CALENDARS_WITH_PARTS = sa.select(
    sla_calendars,
    *(column for column in _PARTS.c if column.key != "calendar_id"),
).select_from(sla_calendars.outerjoin(_PARTS, _PARTS.c.calendar_id == sla_calendars.c.id))


_CALENDAR_BY_ID = CompiledStatement(
    _CALENDARS_WITH_PARTS.where(sla_calendars.c.id == sa.bindparam("calendar_id")).order_by(
        _PARTS.c.position, _PARTS.c.day
    ),
    prepare=True,
)


def _calendar_from_rows(rows: Sequence[Any]) -> Calendar:
    """A calendar from its rows of ``_CALENDARS_WITH_PARTS`` (intervals by position, holidays
    by date)."""
    row = rows[0]
    return Calendar(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        intervals=tuple(
            WorkingInterval(part.weekday, part.start_minute, part.end_minute)
            for part in rows
            if part.position is not None
        ),
        holidays=tuple(
            Holiday(part.day, part.holiday_name) for part in rows if part.day is not None
        ),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _code_point_order(dialect: str, column: sa.Column[Any]) -> Any:
    # PostgreSQL sorts text by the database's locale; "C" is code-point order, as in SQLite
    # (BINARY) and Python, so every store lists the same names in the same order.
    return column.collate("C") if dialect == "postgresql" else column


class SqlCalendarRepository:
    """Business calendars; ``name_key`` (case- and space-insensitive) is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, calendar: Calendar) -> None:
        statement = sa.insert(sla_calendars).values(
            id=calendar.id, created_at=calendar.created_at, **_calendar_values(calendar)
        )
        with refused_as_conflict(self._connection, _CALENDAR_ADDED, calendar):
            self._connection.execute(statement)
        self._insert_parts(calendar)

    def get(self, calendar_id: uuid.UUID) -> Calendar | None:
        # Read by every ticket opened under a policy with a calendar: compiled once.
        rows = _CALENDAR_BY_ID.all(self._connection, {"calendar_id": calendar_id})
        return _calendar_from_rows(rows) if rows else None

    def list(self, active: bool | None = None) -> Sequence[Calendar]:
        return self._read(None if active is None else sla_calendars.c.is_active == active)

    def update(self, calendar: Calendar) -> None:
        statement = (
            sa.update(sla_calendars)
            .where(
                sla_calendars.c.id == calendar.id,
                sla_calendars.c.version == calendar.version - 1,
            )
            .values(**_calendar_values(calendar))
        )
        with refused_as_conflict(self._connection, _CALENDAR_UPDATED, calendar):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("calendar", calendar.version)
        for table in (sla_calendar_intervals, sla_calendar_holidays):
            self._connection.execute(sa.delete(table).where(table.c.calendar_id == calendar.id))
        self._insert_parts(calendar)

    def _insert_parts(self, calendar: Calendar) -> None:
        """The intervals (numbered in their order) and holidays of a stored calendar row. The
        entity keeps every rule their constraints hold (one day, one date each)."""
        intervals = [
            {
                "calendar_id": calendar.id,
                "position": position,
                "weekday": interval.weekday,
                "start_minute": interval.start,
                "end_minute": interval.end,
            }
            for position, interval in enumerate(calendar.intervals)
        ]
        holidays = [
            {"calendar_id": calendar.id, "day": holiday.day, "name": holiday.name}
            for holiday in calendar.holidays
        ]
        if intervals:
            self._connection.execute(sa.insert(sla_calendar_intervals), intervals)
        if holidays:
            self._connection.execute(sa.insert(sla_calendar_holidays), holidays)

    def _read(self, where: sa.ColumnElement[bool] | None) -> Sequence[Calendar]:
        """The calendars matching ``where`` in list order, each with its parts."""
        dialect = self._connection.dialect.name
        query = _CALENDARS_WITH_PARTS.order_by(
            _code_point_order(dialect, sla_calendars.c.name_key),
            sla_calendars.c.id,
            _PARTS.c.position,
            _PARTS.c.day,
        )
        rows = self._connection.execute(query if where is None else query.where(where))
        return [_calendar_from_rows(list(group)) for _, group in groupby(rows, attrgetter("id"))]
