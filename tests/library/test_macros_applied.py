"""Macros applied and bulk actions through the library, on every store: a macro whose third
action is refused changes nothing, leaves no history and emits no event; a bulk action over 50
tickets where 3 are out of scope or stale reports 47 successes and 3 failures with reasons,
and the 3 are unchanged. The rules are tested on the use case
(tests/unit/tickets/test_macros_applied.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import helpdesk
from helpdesk import (
    BulkAction,
    BulkTicket,
    ChangeTicket,
    CreateDepartment,
    OpenTicket,
    PermissionDenied,
    StaffRole,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.domain.macros import MacroScope
from helpdesk_core.usecases.macros import CreateMacro


def people(desk: helpdesk.Helpdesk) -> dict[str, Any]:
    billing = desk.system.create_department(CreateDepartment("Billing"))
    tech = desk.system.create_department(CreateDepartment("Tech"))
    agent = desk.ensure_staff("a-1", "dan@example.com", "Dan", StaffRole.AGENT, billing.id)
    customer = desk.ensure_customer("c-1", "ann@example.com", "Ann")
    return {
        "billing": billing.id,
        "tech": tech.id,
        "agent": desk.as_user(agent),
        "customer": desk.as_user(customer),
    }


def open_ticket(who: Any, department: uuid.UUID) -> helpdesk.Ticket:
    ticket: helpdesk.Ticket = who.open_ticket(
        OpenTicket("Refund", "Twice.", department_id=department)
    ).ticket
    return ticket


def test_a_macro_whose_third_action_is_refused_changes_nothing(desk: helpdesk.Helpdesk) -> None:
    world = people(desk)
    agent = world["agent"]
    ticket = open_ticket(world["customer"], world["billing"])
    moving = agent.create_macro(
        CreateMacro(
            "Escalate",
            [
                {"action": "set_status", "value": "pending"},
                {"action": "add_tags", "value": ["refund"]},
                {"action": "set_department", "value": str(world["tech"])},  # not Dan's
            ],
            MacroScope.PERSONAL,
        )
    )
    before = agent.get_ticket(ticket.id)
    history = agent.ticket_history(ticket.id)
    events = _pending_events(desk)
    with pytest.raises(PermissionDenied, match=r"action 3 \(set_department\) was refused"):
        agent.apply_macro(ticket.id, moving.id, before.ticket.version)
    assert agent.get_ticket(ticket.id) == before
    assert agent.ticket_history(ticket.id) == history
    assert agent.list_tags() == []  # the tag the second action made is gone with it
    assert _pending_events(desk) == events  # no event was recorded
    applied = agent.apply_macro(ticket.id, _taking(agent).id, before.ticket.version)
    assert applied.ticket.assignee_id == agent.user_id
    assert _pending_events(desk) > events  # the store does record what a macro does


def _taking(agent: Any) -> Any:
    command = CreateMacro("Take it", [{"action": "assign_to_me"}], MacroScope.PERSONAL)
    return agent.create_macro(command)


def _pending_events(desk: helpdesk.Helpdesk) -> int:
    """How many events wait in the store's outbox (nothing delivers them in these tests)."""
    services = desk._s
    with services.uow.begin(read_only=True) as tx:
        return tx.outbox.stats().pending


def test_a_bulk_action_over_50_tickets_reports_47_successes_and_3_failures(
    desk: helpdesk.Helpdesk,
) -> None:
    world = people(desk)
    agent, customer = world["agent"], world["customer"]
    ours = [open_ticket(customer, world["billing"]) for _ in range(48)]
    theirs = [open_ticket(customer, world["tech"]) for _ in range(2)]  # out of Dan's scope
    stale = ours[7]
    agent.change_ticket(stale.id, 1, ChangeTicket(priority=TicketPriority.LOW))
    tickets = [*ours, *theirs]
    action = BulkAction(
        tuple(BulkTicket(t.id, 1) for t in tickets),
        actions=[
            {"action": "set_status", "value": "pending"},
            {"action": "add_tags", "value": ["refund"]},
        ],
    )
    result = agent.bulk_action(action, idempotency_key="bulk-1")
    failed = {item.ticket_id: item.error for item in result.items if not item.ok}
    assert len(result.items) == 50
    assert sum(item.ok for item in result.items) == 47
    assert {k: e.code for k, e in failed.items() if e} == {
        stale.id: "stale_version",
        theirs[0].id: "not_found",
        theirs[1].id: "not_found",
    }
    assert all(e and e.detail for e in failed.values())
    for ticket in ours:
        now = desk.system.get_ticket(ticket.id).ticket
        if ticket.id == stale.id:
            assert (now.status, now.tags, now.version) == (TicketStatus.NEW, (), 2)
        else:
            assert (now.status, now.tags) == (TicketStatus.PENDING, ("refund",))
    for ticket in theirs:
        now = desk.system.get_ticket(ticket.id).ticket
        assert (now.status, now.tags, now.version) == (TicketStatus.NEW, (), 1)
    replay = agent.bulk_action(action, idempotency_key="bulk-1")
    assert replay.replayed
    assert [(i.ticket_id, i.ok) for i in replay.items] == [
        (i.ticket_id, i.ok) for i in result.items
    ]
    assert helpdesk.document(result)["items"][0]["ticket"]["tags"] == ["refund"]
