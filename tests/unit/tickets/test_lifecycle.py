"""The lifecycle (``close``, ``reopen``, and ``change`` of the status): which moves the
lifecycle allows, who may make them, and what each records and publishes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from helpdesk_core.domain.entities import TRANSITIONS
from helpdesk_core.domain.errors import Conflict, NotFound
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.usecases.tickets import ChangeTicket
from tests.unit.tickets.support import Desk, ticket_of

NEW, OPEN, PENDING = TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING
RESOLVED, CLOSED = TicketStatus.RESOLVED, TicketStatus.CLOSED


# ---------------------------------------------------------------- close


@pytest.mark.parametrize("start", [NEW, OPEN, PENDING, RESOLVED])
def test_a_ticket_closes_from_every_status_but_closed(desk: Desk, start: TicketStatus) -> None:
    ticket = desk.open(department=desk.billing)
    if start is not NEW:
        ticket = desk.set_status(ticket, start)
    desk.clock.current += timedelta(hours=1)
    closed = ticket_of(desk.tickets.close(desk.ann, ticket.id))
    assert (closed.status, closed.closed_at, closed.updated_at) == (
        CLOSED,
        desk.clock.current,
        desk.clock.current,
    )
    assert closed.version == ticket.version + 1
    assert desk.current(ticket) == closed
    assert desk.history(ticket)[-1] == (desk.ann.user_id, "status", start.value, "closed")


def test_closing_a_closed_ticket_is_a_conflict(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.close(desk.ann, ticket.id)
    with desk.refuses(Conflict, match="cannot move from closed to closed"):
        desk.tickets.close(desk.ann, ticket.id)


@pytest.mark.parametrize("who", ["agent", "lead", "admin"])
def test_staff_of_the_tickets_department_close_it_too(desk: Desk, who: str) -> None:
    ticket = desk.open(department=desk.billing)
    actor = getattr(desk, who)
    assert ticket_of(desk.tickets.close(actor, ticket.id)).status is CLOSED
    assert desk.history(ticket)[-1][0] == actor.user_id


def test_the_operator_closes_as_no_one(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.close(SYSTEM_OPERATOR, ticket.id)
    assert desk.history(ticket)[-1] == (None, "status", "new", "closed")
    assert {e.actor_id for e in desk.events(ticket)[1:]} == {None}


def test_closing_publishes_the_status_change_then_the_closing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.close(desk.ann, ticket.id)
    changed, closed = desk.events(ticket)[1:]
    assert (changed.type, closed.type) == ("ticket.status_changed", "ticket.closed")
    for event in (changed, closed):
        assert (event.data["from"], event.data["to"], event.data["cause"]) == (
            "new",
            "closed",
            "change",
        )
        assert event.data["ticket"]["status"] == "closed"
        assert event.actor_id == desk.ann.user_id


# ---------------------------------------------------------------- reopen


@pytest.mark.parametrize("start", [RESOLVED, CLOSED])
def test_a_resolved_or_closed_ticket_reopens(desk: Desk, start: TicketStatus) -> None:
    ticket = desk.set_status(desk.open(department=desk.billing), start)
    reopened = ticket_of(desk.tickets.reopen(desk.ann, ticket.id))
    assert (reopened.status, reopened.closed_at, reopened.version) == (
        OPEN,
        None,
        ticket.version + 1,
    )
    assert desk.history(ticket)[-1] == (desk.ann.user_id, "status", start.value, "open")
    assert desk.event_types(ticket)[-2:] == ["ticket.status_changed", "ticket.reopened"]


@pytest.mark.parametrize("start", [NEW, OPEN, PENDING])
def test_a_ticket_still_being_worked_cannot_be_reopened(desk: Desk, start: TicketStatus) -> None:
    ticket = desk.open(department=desk.billing)
    if start is not NEW:
        desk.set_status(ticket, start)
    with desk.refuses(Conflict, match=f"a ticket that is {start.value} cannot be reopened"):
        desk.tickets.reopen(desk.ann, ticket.id)


# ---------------------------------------------------------------- scope


@pytest.mark.parametrize("action", ["close", "reopen"])
@pytest.mark.parametrize("actor", ["bob", "tech_agent", "tech_lead"])
def test_outside_the_scope_there_is_no_ticket_to_close_or_reopen(
    desk: Desk, action: str, actor: str
) -> None:
    ticket = desk.open(department=desk.billing)
    if action == "reopen":
        desk.tickets.close(desk.ann, ticket.id)
    use_case = getattr(desk.tickets, action)
    for ticket_id in (ticket.id, uuid.uuid4()):
        with desk.refuses(NotFound, match="no such ticket"):
            use_case(getattr(desk, actor), ticket_id)


def test_a_customer_may_close_her_ticket_in_any_department(desk: Desk) -> None:
    ticket = desk.open(department=None)
    assert ticket_of(desk.tickets.close(desk.ann, ticket.id)).status is CLOSED
    assert ticket_of(desk.tickets.reopen(desk.ann, ticket.id)).status is OPEN


# ---------------------------------------------------------------- status changes by staff

MOVES = [(a, b) for a in TicketStatus for b in TicketStatus if a is not b]


@pytest.mark.parametrize(
    ("start", "target"), MOVES, ids=[f"{a.value}-to-{b.value}" for a, b in MOVES]
)
def test_staff_move_a_ticket_exactly_as_the_lifecycle_allows(
    desk: Desk, start: TicketStatus, target: TicketStatus
) -> None:
    ticket = desk.open(department=desk.billing)
    if start is not NEW:
        ticket = desk.set_status(ticket, start)
    command = ChangeTicket(status=target)
    if target in TRANSITIONS[start]:
        moved = ticket_of(desk.tickets.change(desk.agent, ticket.id, ticket.version, command))
        assert (moved.status, moved.version) == (target, ticket.version + 1)
        assert (moved.closed_at is not None) == (target is CLOSED)
        assert desk.history(ticket)[-1] == (desk.agent.user_id, "status", start.value, target.value)
    else:
        message = f"cannot move from {start.value} to {target.value}"
        with desk.refuses(Conflict, match=message):
            desk.tickets.change(desk.agent, ticket.id, ticket.version, command)


def test_the_lifecycle_is_the_one_documented() -> None:
    assert {a: set(b) for a, b in TRANSITIONS.items()} == {
        NEW: {OPEN, PENDING, RESOLVED, CLOSED},
        OPEN: {PENDING, RESOLVED, CLOSED},
        PENDING: {OPEN, RESOLVED, CLOSED},
        RESOLVED: {OPEN, CLOSED},
        CLOSED: {OPEN},
    }


@pytest.mark.parametrize("status", list(TicketStatus))
def test_asking_for_the_current_status_changes_nothing(desk: Desk, status: TicketStatus) -> None:
    ticket = desk.open(department=desk.billing)
    if status is not NEW:
        ticket = desk.set_status(ticket, status)
    before = desk.photo()
    same = desk.tickets.change(desk.agent, ticket.id, ticket.version, ChangeTicket(status=status))
    assert ticket_of(same) == ticket
    assert desk.photo() == before


@pytest.mark.parametrize(
    ("start", "target", "events"),
    [
        (NEW, PENDING, ["ticket.status_changed"]),
        (OPEN, CLOSED, ["ticket.status_changed", "ticket.closed"]),
        (RESOLVED, OPEN, ["ticket.status_changed", "ticket.reopened"]),
        (CLOSED, OPEN, ["ticket.status_changed", "ticket.reopened"]),
        (PENDING, OPEN, ["ticket.status_changed"]),  # no reopening: it was never done
    ],
)
def test_a_status_change_publishes_what_it_means(
    desk: Desk, start: TicketStatus, target: TicketStatus, events: list[str]
) -> None:
    ticket = desk.open(department=desk.billing)
    if start is not NEW:
        ticket = desk.set_status(ticket, start)
    seen = len(desk.events(ticket))
    desk.change(desk.lead, ticket, status=target)
    assert desk.event_types(ticket)[seen:] == events
    assert desk.events(ticket)[-1].data["cause"] == "change"
