"""Applying macros and bulk actions (``apply_macro``, ``bulk``) on the memory store: every
step as by hand, in one transaction or none; a refused step named; one history group; the
bulk's tickets each alone, a dry run keeping nothing, an Idempotency-Key replaying."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.macros import MacroScope
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import TicketPriority, TicketStatus
from helpdesk_core.usecases.macros import CreateMacro
from helpdesk_core.usecases.tickets.macros import BulkAction, BulkTicket
from tests.unit.tickets.support import Desk, entry_of, ticket_of


def macro(desk: Desk, who: Principal, *actions: dict[str, Any], **kw: Any) -> uuid.UUID:
    kw.setdefault("scope", MacroScope.PERSONAL)
    created = desk.services.macros.create(who, CreateMacro("Refund", list(actions), **kw))
    return created.id


def apply(desk: Desk, who: Principal, ticket_id: uuid.UUID, macro_id: uuid.UUID) -> Any:
    current = desk.current(ticket_id)
    return ticket_of(desk.tickets.apply_macro(who, ticket_id, macro_id, current.version))


PENDING = {"action": "set_status", "value": "pending"}
REFUND = {"action": "add_tags", "value": ["refund"]}


def test_a_macro_takes_every_step_as_by_hand_and_groups_its_history(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    refund = macro(
        desk,
        desk.agent,
        PENDING,
        REFUND,
        {"action": "set_priority", "value": "high"},
        {"action": "assign_to_me"},
        {"action": "add_note", "value": "Refund for {{ customer.first_name }} started."},
        {"action": "reply", "value": 'Hello {{ customer.first_name | default("there") }}'},
        {"action": "follow"},
    )
    applied = apply(desk, desk.agent, ticket.id, refund)
    # A staff reply leaves a pending ticket pending (only a new one opens).
    assert (applied.status, applied.priority, applied.tags) == (
        TicketStatus.PENDING,
        TicketPriority.HIGH,
        ("refund",),
    )
    assert applied.assignee_id == desk.agent.user_id
    bodies = [m.body for m in desk.conversation(desk.agent, ticket)]
    assert bodies[-2:] == ["Refund for Ann started.", "Hello Ann"]
    entries = [entry_of(e) for e in desk.tickets.history(desk.admin, ticket.id)]
    grouped = [e for e in entries if e.group_id is not None]
    assert len({e.group_id for e in grouped}) == 1
    assert (grouped[0].field, grouped[0].new_value) == ("macro", "Refund")
    assert {e.field for e in grouped} >= {"macro", "status", "tag", "priority", "assignee"}
    types = desk.event_types(ticket)
    assert {"ticket.status_changed", "ticket.tags_changed", "ticket.assigned"} <= set(types)


def test_a_macro_whose_third_step_is_refused_changes_nothing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    moving = macro(
        desk, desk.agent, PENDING, REFUND, {"action": "set_department", "value": str(desk.tech)}
    )
    current = desk.current(ticket)
    with desk.refuses(PermissionDenied, match="action 3 (set_department) was refused"):
        desk.tickets.apply_macro(desk.agent, ticket.id, moving, current.version)
    assert desk.current(ticket) == current


def test_a_refused_step_names_its_place(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    # Saved (an active agent), refused when applied: the agent works in another department.
    elsewhere = {"action": "assign_agent", "value": str(desk.tech_agent.user_id)}
    bad = macro(desk, desk.lead, REFUND, elsewhere)
    with desk.refuses(ValidationFailed, "actions.1.value", match="action 2 (assign_agent)"):
        desk.tickets.apply_macro(desk.lead, ticket.id, bad, 1)


def test_a_macro_names_the_version_seen_and_only_its_users_apply_it(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    mine = macro(desk, desk.agent, PENDING)
    with desk.refuses(PreconditionRequired):
        desk.tickets.apply_macro(desk.agent, ticket.id, mine, None)
    with desk.refuses(StaleVersion):
        desk.tickets.apply_macro(desk.agent, ticket.id, mine, 7)
    with desk.refuses(NotFound, match="no such macro"):
        desk.tickets.apply_macro(desk.agent2, ticket.id, mine, 1)
    with desk.refuses(NotFound, match="no such ticket"):
        desk.tickets.apply_macro(desk.agent, uuid.uuid4(), mine, 1)
    with desk.refuses(PermissionDenied):
        desk.tickets.apply_macro(desk.ann, ticket.id, mine, 1)


# ---------------------------------------------------------------- bulk


def test_a_bulk_action_changes_each_ticket_alone_and_reports_every_one(desk: Desk) -> None:
    ours = [desk.open(department=desk.billing) for _ in range(6)]
    theirs = desk.open(department=desk.tech)  # out of the agent's scope
    stale = ours[5]
    desk.change(desk.agent, stale, priority=TicketPriority.LOW)  # now version 2
    tickets = (
        *(BulkTicket(t.id, 1) for t in ours),
        BulkTicket(theirs.id),
        BulkTicket(uuid.uuid4()),
    )
    result = desk.tickets.bulk(desk.agent, BulkAction(tickets, actions=[PENDING, REFUND]))
    outcome = [(i.ticket_id, i.ok, i.error.code if i.error else None) for i in result.items]
    assert outcome == [
        *((t.id, True, None) for t in ours[:5]),
        (stale.id, False, "stale_version"),
        (theirs.id, False, "not_found"),
        (tickets[-1].id, False, "not_found"),
    ]
    assert all(desk.current(t).status is TicketStatus.PENDING for t in ours[:5])
    assert (desk.current(stale).status, desk.current(stale).tags) == (TicketStatus.NEW, ())
    assert desk.current(theirs).tags == ()


def test_a_dry_run_answers_what_would_be_and_keeps_nothing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    before = desk.photo()
    result = desk.tickets.bulk(
        desk.agent, BulkAction((BulkTicket(ticket.id),), actions=[PENDING], dry_run=True)
    )
    (item,) = result.items
    assert item.ok
    assert item.ticket is not None
    assert item.ticket.ticket.status is TicketStatus.PENDING
    assert result.dry_run
    assert desk.photo() == before


def test_an_idempotency_key_replays_the_outcomes_and_refuses_another_request(desk: Desk) -> None:
    one, two = desk.open(department=desk.billing), desk.open(department=desk.billing)
    action = BulkAction((BulkTicket(one.id), BulkTicket(two.id, 9)), actions=[REFUND])
    first = desk.tickets.bulk(desk.agent, action, "key-1")
    events = len(desk.events())
    again = desk.tickets.bulk(desk.agent, action, "key-1")
    assert (again.replayed, first.replayed) == (True, False)
    assert [(i.ticket_id, i.ok) for i in again.items] == [(one.id, True), (two.id, False)]
    assert again.items[1].error == first.items[1].error
    assert len(desk.events()) == events, "a replay changes nothing"
    other = BulkAction((BulkTicket(one.id),), actions=[PENDING])
    with pytest.raises(Conflict, match="another request"):
        desk.tickets.bulk(desk.agent, other, "key-1")


def test_a_bulk_action_names_a_macro_or_actions_and_at_most_100_tickets(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    one = (BulkTicket(ticket.id),)
    with desk.refuses(ValidationFailed, "macro_id"):
        desk.tickets.bulk(desk.agent, BulkAction(one))
    with desk.refuses(ValidationFailed, "tickets"):
        desk.tickets.bulk(desk.agent, BulkAction((), actions=[PENDING]))
    many = tuple(BulkTicket(uuid.uuid4()) for _ in range(101))
    with desk.refuses(ValidationFailed, "tickets"):
        desk.tickets.bulk(desk.agent, BulkAction(many, actions=[PENDING]))
    with desk.refuses(ValidationFailed, "tickets.1.id"):
        desk.tickets.bulk(desk.agent, BulkAction(one + one, actions=[PENDING]))
    with desk.refuses(ValidationFailed, "actions.0.action"):
        desk.tickets.bulk(desk.agent, BulkAction(one, actions=[{"action": "explode"}]))
    with desk.refuses(NotFound, match="no such macro"):
        desk.tickets.bulk(desk.agent, BulkAction(one, macro_id=uuid.uuid4()))
