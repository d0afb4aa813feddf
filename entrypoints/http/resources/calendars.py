"""Business calendars: /api/v1/admin/calendars (administrators).

Create, list (filtered by ``active``, by name a page at a time), read, change (PATCH with
If-Match, ``active: false`` deactivating as for departments and staff) and preview business
time (POST .../compute). Each answer carrying a calendar renders it through
``calendar_document`` with its version as the ETag, the shape ``helpdesk sla calendars ...
--json`` prints too. A change without If-Match is a 428; one of another version a 412, and so
is an If-Match that names no version at all: it matches none. The body is checked first,
whatever the If-Match, so a body that could never apply is always a 422.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate
from entrypoints.http.params import bool_param, path_uuid
from helpdesk_core.documents import calendar_document, timestamp
from helpdesk_core.domain.business_time import Weekday
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.values import name_key
from helpdesk_core.usecases.calendars import (
    CalendarService,
    CreateCalendar,
    PublicHolidaysRequest,
    UpdateCalendar,
)

BY_NAME: tuple[Part, ...] = (is_text, is_id)  # the list's cursor: (name key, id)
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
_NO_VERSION = 0  # versions start at 1: an If-Match naming none matches no calendar


@attrs.frozen
class IntervalBody:
    weekday: Weekday
    start: str
    end: str


@attrs.frozen
class HolidayBody:
    date: dt.date
    name: str


@attrs.frozen
class PublicHolidaysBody:
    country: str
    years: tuple[int, ...]
    subdivision: str | None = None

    def request(self) -> PublicHolidaysRequest:
        return PublicHolidaysRequest(self.country, self.subdivision, self.years)


@attrs.frozen
class CalendarBody:
    name: str
    timezone: str
    intervals: tuple[IntervalBody, ...]
    holidays: tuple[HolidayBody, ...] = ()
    public_holidays: PublicHolidaysBody | None = attrs.field(default=None, metadata=NOT_NULL)


@attrs.frozen
class CalendarPatch:
    name: str | None = None
    timezone: str | None = None
    intervals: tuple[IntervalBody, ...] | None = None
    holidays: tuple[HolidayBody, ...] | None = None
    public_holidays: PublicHolidaysBody | None = attrs.field(default=None, metadata=NOT_NULL)
    active: bool | None = None


@attrs.frozen
class ComputeBody:
    start: dt.datetime
    minutes: int


def _intervals(body: tuple[IntervalBody, ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple((i.weekday.value, i.start, i.end) for i in body)


def _holidays(body: tuple[HolidayBody, ...]) -> tuple[tuple[dt.date, str], ...]:
    return tuple((h.date, h.name) for h in body)


def if_match(req: falcon.Request) -> int | None:
    """The version named by If-Match (``"3"``, ``W/"3"``); None when absent, and one that
    matches no calendar when the header names no version."""
    raw = req.get_header("If-Match")
    if raw is None:
        return None
    match = _ETAG.match(raw.strip())
    return int(match.group(1)) if match is not None else _NO_VERSION


def etag(calendar: Calendar) -> str:
    return f'"{calendar.version}"'


@attrs.define
class CalendarResources:
    """Everything the calendar resources share."""

    calendars: CalendarService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)

    def answer(self, resp: falcon.Response, calendar: Calendar) -> None:
        resp.media = calendar_document(calendar)
        resp.etag = etag(calendar)


class Calendars:
    def __init__(self, shared: CalendarResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, BY_NAME)
        items = self._s.calendars.list(principal(req), bool_param(req, "active"))
        resp.media = paginate(
            items, lambda c: (name_key(c.name), str(c.id)), page, calendar_document
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        body: CalendarBody = self._s.body(req, CalendarBody)
        command = CreateCalendar(
            name=body.name,
            timezone=body.timezone,
            intervals=_intervals(body.intervals),
            holidays=_holidays(body.holidays),
            public_holidays=body.public_holidays.request() if body.public_holidays else None,
        )
        calendar = self._s.calendars.create(actor, command)
        self._s.answer(resp, calendar)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{calendar.id}"


class CalendarItem:
    def __init__(self, shared: CalendarResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, calendar_id: str) -> None:
        self._s.answer(resp, self._s.calendars.get(principal(req), path_uuid(calendar_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, calendar_id: str) -> None:
        actor = principal(req)
        patch: CalendarPatch = self._s.body(req, CalendarPatch)
        command = UpdateCalendar(
            name=patch.name,
            timezone=patch.timezone,
            intervals=None if patch.intervals is None else _intervals(patch.intervals),
            holidays=None if patch.holidays is None else _holidays(patch.holidays),
            active=patch.active,
            public_holidays=patch.public_holidays.request() if patch.public_holidays else None,
        )
        updated = self._s.calendars.update(actor, path_uuid(calendar_id), if_match(req), command)
        self._s.answer(resp, updated)


class Compute:
    """POST: when ``minutes`` of business time after ``start`` end on this calendar."""

    def __init__(self, shared: CalendarResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, calendar_id: str) -> None:
        actor = principal(req)
        body: ComputeBody = self._s.body(req, ComputeBody)
        due = self._s.calendars.compute(actor, path_uuid(calendar_id), body.start, body.minutes)
        resp.media = {"due_at": timestamp(due)}


def add_calendar_routes(app: falcon.App, prefix: str, shared: CalendarResources) -> None:
    app.add_route(f"{prefix}/admin/calendars", Calendars(shared))
    app.add_route(f"{prefix}/admin/calendars/{{calendar_id}}", CalendarItem(shared))
    app.add_route(f"{prefix}/admin/calendars/{{calendar_id}}/compute", Compute(shared))
