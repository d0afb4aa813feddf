"""Business calendars through the library, on every store: the methods of ``Acting`` answer
the read model whose ``helpdesk.document`` is the API's document, take the version seen as the
API takes If-Match, and raise the domain's errors; only administrators may."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

import helpdesk
from helpdesk import (
    CreateCalendar,
    PermissionDenied,
    PublicHolidaysRequest,
    StaffRole,
    StaleVersion,
    UpdateCalendar,
    ValidationFailed,
)
from helpdesk_core.documents import calendar_document

WEEKDAYS = tuple((day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri"))
MUNICH = CreateCalendar(
    "Munich office",
    "Europe/Berlin",
    WEEKDAYS,
    ((date(2026, 12, 25), "Office closed"),),
    PublicHolidaysRequest("DE", "BY", (2026,)),
)


def test_an_administrator_keeps_calendars_and_previews_business_time(
    desk: helpdesk.Helpdesk,
) -> None:
    admin = desk.system
    munich = admin.create_calendar(MUNICH)
    assert isinstance(munich, helpdesk.Calendar)
    document = helpdesk.document(munich)
    assert document == calendar_document(munich)
    assert document["intervals"][0] == {"weekday": "mon", "start": "09:00", "end": "17:00"}
    holidays = {h.day: h.name for h in munich.holidays}
    assert holidays[date(2026, 12, 25)] == "Office closed"
    assert holidays[date(2026, 1, 6)] == "Epiphany"  # Bavaria's, from the package
    assert admin.get_calendar(munich.id) == munich
    assert admin.list_calendars() == [munich]

    # Wednesday 23 December 16:00 in Munich + 4 hours: one that day, three on Christmas Eve
    # (a working day in Bavaria): 12:00 in Munich.
    start = datetime(2026, 12, 23, 16, 0, tzinfo=timezone(timedelta(hours=1)))
    due = admin.compute_due_at(munich.id, start, 240)
    assert due == datetime(2026, 12, 24, 11, 0, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)

    closed = admin.update_calendar(munich.id, munich.version, UpdateCalendar(active=False))
    assert (closed.is_active, closed.version) == (False, 2)
    assert admin.list_calendars(active=True) == []
    assert admin.list_calendars(active=False) == [closed]
    with pytest.raises(StaleVersion):
        admin.update_calendar(munich.id, munich.version, UpdateCalendar(name="Old view"))
    assert admin.get_calendar(munich.id) == closed


def test_bad_input_is_a_validation_error_naming_its_field(desk: helpdesk.Helpdesk) -> None:
    bad = {
        "timezone": CreateCalendar("A", "Europe/Atlantis", WEEKDAYS),
        "intervals.1": CreateCalendar(
            "B", "UTC", (("mon", "09:00", "12:00"), ("mon", "11:00", "13:00"))
        ),
        "public_holidays.country": CreateCalendar(
            "C", "UTC", WEEKDAYS, (), PublicHolidaysRequest("XX", None, (2026,))
        ),
    }
    for field, command in bad.items():
        with pytest.raises(ValidationFailed) as refused:
            desk.system.create_calendar(command)
        assert [e.field for e in refused.value.errors] == [field]
    assert desk.system.list_calendars() == []
    start = datetime(2026, 12, 23, 16, 0)  # no offset
    munich = desk.system.create_calendar(MUNICH)
    with pytest.raises(ValidationFailed) as refused:
        desk.system.compute_due_at(munich.id, start, 60)
    assert [e.field for e in refused.value.errors] == ["start"]


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.LEAD])
def test_only_administrators_may(desk: helpdesk.Helpdesk, role: StaffRole) -> None:
    munich = desk.system.create_calendar(MUNICH)
    department = desk.system.create_department(helpdesk.CreateDepartment("Support"))
    staff = desk.ensure_staff("staff-1", "kim@example.com", "Kim", role, department.id)
    acting = desk.as_user(staff)
    start = datetime(2026, 12, 23, 16, 0, tzinfo=UTC)
    calls: list[Callable[[], Any]] = [
        lambda: acting.list_calendars(),
        lambda: acting.get_calendar(munich.id),
        lambda: acting.create_calendar(CreateCalendar("Mine", "UTC", WEEKDAYS)),
        lambda: acting.update_calendar(munich.id, 1, UpdateCalendar(name="Mine")),
        lambda: acting.compute_due_at(munich.id, start, 60),
        lambda: acting.get_calendar(uuid.uuid4()),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert desk.system.list_calendars() == [munich]
