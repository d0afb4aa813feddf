"""Service-level policies through the library, on every store: the methods of ``Acting`` answer
the read model whose ``helpdesk.document`` is the API's document, take the version seen as the
API takes If-Match, and raise the domain's errors; only administrators may. What a policy does
to tickets' clocks is tested in tests/sla/."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import helpdesk
from helpdesk import (
    CreateCalendar,
    CreateDepartment,
    OpenTicket,
    PermissionDenied,
    SlaPolicyInput,
    SlaState,
    StaffRole,
    StaleVersion,
    TicketQuery,
    TicketSort,
    ValidationFailed,
)
from helpdesk_core.documents import sla_policy_document

URGENT = SlaPolicyInput(
    name="Urgent support",
    priorities=["urgent"],
    targets={"urgent": {"first_response": 30, "next_response": 60, "resolution": 480}},
    warn_before=15,
)


def test_an_administrator_keeps_policies(desk: helpdesk.Helpdesk) -> None:
    admin = desk.system
    support = admin.create_department(CreateDepartment("Support"))
    office = admin.create_calendar(CreateCalendar("Office", "UTC", (("mon", "09:00", "17:00"),)))
    urgent = admin.create_sla_policy(
        SlaPolicyInput(
            name=URGENT.name,
            priorities=URGENT.priorities,
            targets=URGENT.targets,
            department_ids=[support.id],
            calendar_id=office.id,
            on_reopen="restart",
        )
    )
    assert isinstance(urgent, helpdesk.SlaPolicy)
    document = helpdesk.document(urgent)
    assert document == sla_policy_document(urgent)
    assert document["targets"]["urgent"] == {
        "first_response": 30,
        "next_response": 60,
        "resolution": 480,
    }
    assert (urgent.department_ids, urgent.calendar_id) == ((support.id,), office.id)
    assert admin.get_sla_policy(urgent.id) == urgent
    assert admin.list_sla_policies() == [urgent]

    moved = admin.update_sla_policy(
        urgent.id, urgent.version, SlaPolicyInput(position=3, clear_calendar=True)
    )
    assert (moved.position, moved.calendar_id, moved.version) == (3, None, 2)
    with pytest.raises(StaleVersion):
        admin.update_sla_policy(urgent.id, urgent.version, SlaPolicyInput(name="Old view"))

    off = admin.update_sla_policy(urgent.id, moved.version, SlaPolicyInput(active=False))
    assert (off.is_active, off.version) == (False, 3)
    assert admin.list_sla_policies(active=True) == []
    assert admin.list_sla_policies(active=False) == [off]
    assert admin.get_sla_policy(urgent.id) == off


def test_recalc_brings_open_tickets_under_a_new_policy(desk: helpdesk.Helpdesk) -> None:
    ann = desk.as_user(desk.ensure_customer("ann", "ann@example.com", "Ann"))
    opened = ann.open_ticket(OpenTicket("Printer", "On fire."))
    policy = desk.system.create_sla_policy(
        SlaPolicyInput(name="Everything", targets={"normal": {"resolution": 2400}})
    )
    assert desk.system.recalc_sla() == 1
    ticket = desk.system.get_ticket(opened.ticket.id)
    assert ticket.ticket.sla_policy_id == policy.id
    due_first = desk.system.list_tickets(TicketQuery(sort=TicketSort.SLA_DUE))
    assert [v.ticket.id for v in due_first.items] == [opened.ticket.id]
    assert desk.system.list_tickets(TicketQuery(sla=SlaState.PAUSED)).items == ()


def test_bad_input_is_a_validation_error_naming_its_field(desk: helpdesk.Helpdesk) -> None:
    bad = {
        "name": SlaPolicyInput(targets=URGENT.targets),
        "targets.urgent.first_response": SlaPolicyInput(
            name="A", targets={"urgent": {"first_response": -1}}
        ),
        "pause_statuses.0": SlaPolicyInput(name="B", pause_statuses=["closed"]),
        "department_ids.0": SlaPolicyInput(name="C", department_ids=[uuid.UUID(int=1)]),
        "calendar_id": SlaPolicyInput(name="D", calendar_id=uuid.UUID(int=1)),
        "on_reopen": SlaPolicyInput(name="E", on_reopen="later"),
    }
    for field, command in bad.items():
        with pytest.raises(ValidationFailed) as refused:
            desk.system.create_sla_policy(command)
        assert [e.field for e in refused.value.errors] == [field]
    assert desk.system.list_sla_policies() == []


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.LEAD])
def test_only_administrators_may(desk: helpdesk.Helpdesk, role: StaffRole) -> None:
    urgent = desk.system.create_sla_policy(URGENT)
    department = desk.system.create_department(CreateDepartment("Support"))
    staff = desk.ensure_staff("staff-1", "kim@example.com", "Kim", role, department.id)
    acting = desk.as_user(staff)
    calls: list[Callable[[], Any]] = [
        lambda: acting.list_sla_policies(),
        lambda: acting.get_sla_policy(urgent.id),
        lambda: acting.create_sla_policy(SlaPolicyInput(name="Mine", targets={})),
        lambda: acting.update_sla_policy(urgent.id, 1, SlaPolicyInput(name="Mine")),
        lambda: acting.recalc_sla(),
        lambda: acting.get_sla_policy(uuid.uuid4()),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert desk.system.list_sla_policies() == [urgent]
