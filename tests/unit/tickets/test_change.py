"""Staff change a ticket (``change``): only of the version they saw (PreconditionRequired
without one, StaleVersion for another); priority; and routing: agents route into their own
department only, leads and administrators anywhere and out of every department; a team
belongs to the ticket's department, and an assignee who does not work in the new department
is let go."""

from __future__ import annotations

import uuid

import pytest

from helpdesk_core.domain.errors import (
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import TicketPriority, TicketStatus
from helpdesk_core.usecases.tickets import ChangeTicket
from tests.unit.tickets.support import Desk, ticket_of

HIGH = ChangeTicket(priority=TicketPriority.HIGH)


# ---------------------------------------------------------------- who, and which version


def test_customers_may_not_change_tickets(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(PermissionDenied, match="only staff may change tickets"):
        desk.tickets.change(desk.ann, ticket.id, ticket.version, HIGH)


@pytest.mark.parametrize("known", [True, False], ids=["a-ticket", "no-ticket"])
def test_a_change_names_the_version_it_was_made_to(desk: Desk, known: bool) -> None:
    ticket_id = desk.open(department=desk.billing).id if known else uuid.uuid4()
    with desk.refuses(PreconditionRequired, match="If-Match"):
        desk.tickets.change(desk.agent, ticket_id, None, HIGH)


def test_a_change_to_another_version_is_stale_and_changes_nothing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.change(desk.agent2, ticket, priority=TicketPriority.LOW)
    with desk.refuses(StaleVersion, match="changed since version 1 (now 2)"):
        desk.tickets.change(desk.agent, ticket.id, 1, HIGH)
    with desk.refuses(StaleVersion):
        desk.tickets.change(desk.agent, ticket.id, 3, HIGH)
    assert desk.current(ticket).priority is TicketPriority.LOW


@pytest.mark.parametrize("actor", ["tech_agent", "tech_lead"])
def test_outside_the_scope_there_is_no_ticket_whatever_the_version(desk: Desk, actor: str) -> None:
    ticket = desk.open(department=desk.billing)
    for ticket_id, version in ((ticket.id, ticket.version), (ticket.id, 7), (uuid.uuid4(), 1)):
        with desk.refuses(NotFound, match="no such ticket"):
            desk.tickets.change(getattr(desk, actor), ticket_id, version, HIGH)


# ---------------------------------------------------------------- what a change is


def test_a_priority_change_is_a_version_recorded_and_published(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    changed = desk.change(desk.agent, ticket, priority=TicketPriority.URGENT)
    assert (changed.priority, changed.version) == (TicketPriority.URGENT, 2)
    assert changed.updated_at == desk.clock.current
    assert desk.current(ticket) == changed
    assert desk.history(ticket)[-1] == (desk.agent.user_id, "priority", "normal", "urgent")
    [event] = desk.events(ticket)[1:]
    assert (event.type, event.data["from"], event.data["to"]) == (
        "ticket.priority_changed",
        "normal",
        "urgent",
    )


def test_a_change_of_several_fields_is_one_version(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    changed = desk.change(
        desk.agent,
        ticket,
        status=TicketStatus.OPEN,
        priority=TicketPriority.HIGH,
        team_id=desk.refunds,
    )
    assert (changed.status, changed.priority, changed.team_id) == (
        TicketStatus.OPEN,
        TicketPriority.HIGH,
        desk.refunds,
    )
    assert changed.version == 2
    assert desk.fields_recorded(ticket)[1:] == ["status", "priority", "team"]


def test_a_change_that_changes_nothing_is_no_new_version(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    command = ChangeTicket(
        status=TicketStatus.NEW,
        priority=TicketPriority.NORMAL,
        department_id=desk.billing,
        team_id=None,
        change_department=True,
        change_team=True,
    )
    before = desk.photo()
    assert ticket_of(desk.tickets.change(desk.agent, ticket.id, 1, command)) == ticket
    assert ticket_of(desk.tickets.change(desk.agent, ticket.id, 1, ChangeTicket())) == ticket
    assert desk.photo() == before


# ---------------------------------------------------------------- routing


def test_an_agent_routes_an_unrouted_ticket_into_their_own_department(desk: Desk) -> None:
    ticket = desk.open(department=None)
    routed = desk.change(desk.tech_agent, ticket, department_id=desk.tech)
    assert routed.department_id == desk.tech
    assert desk.history(ticket)[-1] == (desk.tech_agent.user_id, "department", None, str(desk.tech))
    [event] = desk.events(ticket)[1:]
    assert (event.type, event.data["previous_department_id"]) == ("ticket.department_changed", None)


def test_an_agent_may_not_unroute_a_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(PermissionDenied, match="only leads and administrators may unroute"):
        desk.change(desk.agent, ticket, department_id=None)


@pytest.mark.parametrize("where", ["tech", "unknown"])
@pytest.mark.parametrize("start", ["billing", "unrouted"])
def test_an_agent_may_not_send_a_ticket_to_a_department_they_do_not_work_in(
    desk: Desk, where: str, start: str
) -> None:
    ticket = desk.open(department=desk.billing if start == "billing" else None)
    department = desk.tech if where == "tech" else uuid.uuid4()
    with desk.refuses(PermissionDenied, match="a department they do not work in"):
        desk.change(desk.agent, ticket, department_id=department)


def test_naming_the_tickets_own_department_is_no_move(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    assert desk.change(desk.agent, ticket, department_id=desk.billing) == ticket


@pytest.mark.parametrize("who", ["lead", "admin", "operator"])
def test_leads_and_administrators_move_and_unroute(desk: Desk, who: str) -> None:
    actor = SYSTEM_OPERATOR if who == "operator" else getattr(desk, who)
    moved = desk.change(actor, desk.open(department=desk.billing), department_id=desk.tech)
    assert moved.department_id == desk.tech
    unrouted = desk.change(actor, desk.open(department=desk.billing), department_id=None)
    assert unrouted.department_id is None


@pytest.mark.parametrize("which", ["unknown", "deactivated", "a team's id"])
def test_a_ticket_goes_only_to_an_active_department(desk: Desk, which: str) -> None:
    ticket = desk.open(department=desk.billing)
    if which == "deactivated":
        desk.close_department(desk.tech)
    department = {"unknown": uuid.uuid4(), "deactivated": desk.tech, "a team's id": desk.tier1}
    with desk.refuses(ValidationFailed, "department_id", match="no such department"):
        desk.change(desk.lead, ticket, department_id=department[which])


def test_a_move_takes_the_ticket_out_of_its_team(desk: Desk) -> None:
    ticket = desk.change(desk.agent, desk.open(department=desk.billing), team_id=desk.refunds)
    moved = desk.change(desk.lead, ticket, department_id=desk.tech)
    assert (moved.department_id, moved.team_id) == (desk.tech, None)
    assert desk.history(ticket)[-2:] == [
        (desk.lead.user_id, "department", str(desk.billing), str(desk.tech)),
        (desk.lead.user_id, "team", str(desk.refunds), None),
    ]
    assert desk.event_types(ticket)[-2:] == ["ticket.department_changed", "ticket.assigned"]


def test_a_move_may_name_a_team_of_the_new_department(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    moved = desk.change(desk.lead, ticket, department_id=desk.tech, team_id=desk.tier1)
    assert (moved.department_id, moved.team_id) == (desk.tech, desk.tier1)


def test_a_move_naming_a_team_of_the_old_department_is_refused(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(ValidationFailed, "team_id", match="the team belongs to another department"):
        desk.change(desk.lead, ticket, department_id=desk.tech, team_id=desk.refunds)


def test_a_move_lets_go_of_an_assignee_who_does_not_work_in_the_new_department(
    desk: Desk,
) -> None:
    ticket = desk.assign(desk.agent, desk.open(department=desk.billing), "self")
    moved = desk.change(desk.lead, ticket, department_id=desk.tech)
    assert moved.assignee_id is None
    assert desk.history(ticket)[-1] == (
        desk.lead.user_id,
        "assignee",
        str(desk.agent.user_id),
        None,
    )
    event = desk.events(ticket)[-1]
    assert (event.type, event.data["previous_assignee_id"]) == (
        "ticket.assigned",
        str(desk.agent.user_id),
    )


def test_a_move_keeps_an_administrator_as_assignee(desk: Desk) -> None:
    ticket = desk.assign(desk.admin, desk.open(department=desk.billing), "self")
    moved = desk.change(desk.lead, ticket, department_id=desk.tech)
    assert moved.assignee_id == desk.admin.user_id


def test_unrouting_lets_go_of_team_and_assignee(desk: Desk) -> None:
    ticket = desk.assign(desk.agent, desk.open(department=desk.billing), "self")
    ticket = desk.change(desk.lead, ticket, team_id=desk.refunds)
    unrouted = desk.change(desk.lead, ticket, department_id=None)
    assert (unrouted.department_id, unrouted.team_id, unrouted.assignee_id) == (None, None, None)
    assert desk.fields_recorded(ticket)[-3:] == ["department", "team", "assignee"]


# ---------------------------------------------------------------- teams


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("unknown", "no such team"),
        ("deactivated", "no such team"),
        ("a department's id", "no such team"),
        ("of another department", "the team belongs to another department"),
    ],
)
def test_a_team_is_an_active_team_of_the_tickets_department(
    desk: Desk, which: str, message: str
) -> None:
    ticket = desk.open(department=desk.billing)
    if which == "deactivated":
        desk.close_team(desk.invoices)
    team = {
        "unknown": uuid.uuid4(),
        "deactivated": desk.invoices,
        "a department's id": desk.billing,
        "of another department": desk.tier1,
    }[which]
    with desk.refuses(ValidationFailed, "team_id", match=message):
        desk.change(desk.agent, ticket, team_id=team)


def test_an_unrouted_ticket_takes_no_team(desk: Desk) -> None:
    ticket = desk.open(department=None)
    with desk.refuses(ValidationFailed, "team_id", match="another department"):
        desk.change(desk.lead, ticket, team_id=desk.refunds)


def test_a_ticket_changes_team_or_leaves_it(desk: Desk) -> None:
    ticket = desk.change(desk.agent, desk.open(department=desk.billing), team_id=desk.refunds)
    assert desk.change(desk.agent, ticket, team_id=desk.invoices).team_id == desk.invoices
    assert desk.change(desk.agent, ticket, team_id=None).team_id is None
    assert desk.history(ticket)[-2:] == [
        (desk.agent.user_id, "team", str(desk.refunds), str(desk.invoices)),
        (desk.agent.user_id, "team", str(desk.invoices), None),
    ]


def test_a_change_is_counted_in_the_queues_of_both_departments(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    billing = desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.billing).by_status["new"]
    tech = desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.tech).by_status["new"]
    desk.change(desk.lead, ticket, department_id=desk.tech)
    assert desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.billing).by_status["new"] == billing - 1
    assert desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.tech).by_status["new"] == tech + 1
