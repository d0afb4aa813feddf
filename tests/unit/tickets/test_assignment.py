"""Assignment (``assign``): agents take tickets themselves; leads and administrators hand a
ticket to an agent or a team of its department, or let the helpdesk share tickets out in turn
(``auto``); the terminal's operator assigns as no one and takes nothing itself."""

from __future__ import annotations

import uuid

import pytest

from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole, TicketPriority
from helpdesk_core.usecases.tickets import Assign
from tests.unit.tickets.support import Desk, ticket_of

# ---------------------------------------------------------------- who may do what


def test_an_agent_takes_a_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    taken = desk.assign(desk.agent, ticket, "self")
    assert (taken.assignee_id, taken.team_id, taken.version) == (desk.agent.user_id, None, 2)
    assert desk.current(ticket) == taken
    assert desk.history(ticket)[-1] == (
        desk.agent.user_id,
        "assignee",
        None,
        str(desk.agent.user_id),
    )
    [event] = desk.events(ticket)[1:]
    assert (event.type, event.actor_id) == ("ticket.assigned", desk.agent.user_id)
    assert (event.data["previous_assignee_id"], event.data["previous_team_id"]) == (None, None)
    assert (event.data["ticket"]["id"], event.data["ticket"]["version"]) == (str(ticket.id), 2)


@pytest.mark.parametrize("mode", ["agent", "team", "auto"])
def test_only_leads_and_administrators_assign_to_others(desk: Desk, mode: str) -> None:
    ticket = desk.open(department=desk.billing)
    command = Assign(mode, agent_id=desk.agent2.user_id, team_id=desk.refunds)
    with desk.refuses(PermissionDenied, match="only leads and administrators may assign"):
        desk.tickets.assign(desk.agent, ticket.id, command)


@pytest.mark.parametrize("mode", ["self", "auto"])
def test_customers_may_not_assign(desk: Desk, mode: str) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(PermissionDenied, match="only staff may assign tickets"):
        desk.tickets.assign(desk.ann, ticket.id, Assign(mode))


@pytest.mark.parametrize("who", ["agent", "lead"])
def test_an_unknown_mode_is_refused(desk: Desk, who: str) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(ValidationFailed, "mode", match="one of self, agent, team, auto"):
        desk.tickets.assign(getattr(desk, who), ticket.id, Assign("everyone"))


@pytest.mark.parametrize("who", ["lead", "admin", "operator"])
def test_leads_and_administrators_assign_to_an_agent_of_the_department(
    desk: Desk, who: str
) -> None:
    actor = SYSTEM_OPERATOR if who == "operator" else getattr(desk, who)
    ticket = desk.open(department=desk.billing)
    assert desk.assign(actor, ticket, "agent", desk.agent2).assignee_id == desk.agent2.user_id


def test_the_operator_assigns_as_no_one(desk: Desk) -> None:
    ticket = desk.assign(SYSTEM_OPERATOR, desk.open(department=desk.billing), "agent", desk.agent)
    assert desk.history(ticket)[-1] == (None, "assignee", None, str(desk.agent.user_id))
    assert desk.events(ticket)[-1].actor_id is None


def test_the_operator_cannot_take_a_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(ValidationFailed, "mode", match="the system operator cannot take tickets"):
        desk.tickets.assign(SYSTEM_OPERATOR, ticket.id, Assign("self"))


@pytest.mark.parametrize("department", ["billing", "tech"])
def test_an_administrator_takes_a_ticket_of_any_department(desk: Desk, department: str) -> None:
    ticket = desk.open(department=getattr(desk, department))
    assert desk.assign(desk.admin, ticket, "self").assignee_id == desk.admin.user_id


def test_a_lead_takes_a_ticket_and_may_be_handed_one(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    assert desk.assign(desk.lead, ticket, "self").assignee_id == desk.lead.user_id
    other = desk.open(department=desk.billing)
    assert desk.assign(SYSTEM_OPERATOR, other, "agent", desk.lead).assignee_id == desk.lead.user_id


# ---------------------------------------------------------------- whom


def test_assigning_to_an_agent_names_the_agent(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(ValidationFailed, "agent_id", match="is required"):
        desk.tickets.assign(desk.lead, ticket.id, Assign("agent"))


@pytest.mark.parametrize("whom", ["unknown", "a customer", "deactivated", "an administrator"])
def test_a_ticket_goes_only_to_an_active_agent(desk: Desk, whom: str) -> None:
    ticket = desk.open(department=desk.billing)
    if whom == "deactivated":
        desk.deactivate(desk.agent2)
    agent_id = {
        "unknown": uuid.uuid4(),
        "a customer": desk.ann.user_id,
        "deactivated": desk.agent2.user_id,
        "an administrator": desk.admin.user_id,
    }[whom]
    with desk.refuses(ValidationFailed, "agent_id", match="no such active agent"):
        desk.tickets.assign(desk.lead, ticket.id, Assign("agent", agent_id=agent_id))


def test_an_agent_of_another_department_is_refused(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    command = Assign("agent", agent_id=desk.tech_agent.user_id)
    with desk.refuses(ValidationFailed, "agent_id", match="works in another department"):
        desk.tickets.assign(SYSTEM_OPERATOR, ticket.id, command)


def test_a_deactivated_agent_cannot_take_a_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.deactivate(desk.agent)
    with desk.refuses(ValidationFailed, "agent_id", match="no such active agent"):
        desk.tickets.assign(desk.agent, ticket.id, Assign("self"))


def test_an_agent_moved_to_another_department_cannot_take_its_tickets(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.move_staff(desk.agent, desk.tech)  # the agent's principal still says Billing
    with desk.refuses(ValidationFailed, "mode", match="works in another department"):
        desk.tickets.assign(desk.agent, ticket.id, Assign("self"))


def test_an_agent_brings_the_ticket_into_their_team(desk: Desk) -> None:
    ticket = desk.change(desk.lead, desk.open(department=desk.billing), team_id=desk.invoices)
    taken = desk.assign(desk.lead, ticket, "agent", desk.agent)
    assert (taken.assignee_id, taken.team_id) == (desk.agent.user_id, desk.refunds)
    assert desk.fields_recorded(ticket)[-2:] == ["team", "assignee"]
    event = desk.events(ticket)[-1]
    assert (event.type, event.data["previous_team_id"]) == ("ticket.assigned", str(desk.invoices))


def test_a_ticket_without_a_team_stays_without(desk: Desk) -> None:
    ticket = desk.assign(desk.lead, desk.open(department=desk.billing), "agent", desk.agent)
    assert ticket.team_id is None


def test_assigning_the_assignee_again_changes_nothing(desk: Desk) -> None:
    ticket = desk.assign(desk.agent, desk.open(department=desk.billing), "self")
    before = desk.history(ticket), desk.events(ticket)
    assert desk.assign(desk.agent, ticket, "self") == ticket
    assert desk.assign(desk.lead, ticket, "agent", desk.agent) == ticket
    assert (desk.history(ticket), desk.events(ticket)) == before
    assert desk.current(ticket).version == ticket.version


# ---------------------------------------------------------------- teams


def test_a_lead_hands_a_ticket_to_a_team(desk: Desk) -> None:
    ticket = desk.assign(desk.agent, desk.open(department=desk.billing), "self")
    handed = desk.assign(desk.lead, ticket, "team", team=desk.invoices)
    assert (handed.team_id, handed.assignee_id) == (desk.invoices, None)
    assert desk.history(ticket)[-2:] == [
        (desk.lead.user_id, "team", None, str(desk.invoices)),
        (desk.lead.user_id, "assignee", str(desk.agent.user_id), None),
    ]


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("none", "is required to assign to a team"),
        ("unknown", "no such team"),
        ("deactivated", "no such team"),
        ("of another department", "the team belongs to another department"),
    ],
)
def test_a_ticket_goes_only_to_an_active_team_of_its_department(
    desk: Desk, which: str, message: str
) -> None:
    ticket = desk.open(department=desk.billing)
    if which == "deactivated":
        desk.close_team(desk.invoices)
    team = {
        "none": None,
        "unknown": uuid.uuid4(),
        "deactivated": desk.invoices,
        "of another department": desk.tier1,
    }[which]
    with desk.refuses(ValidationFailed, "team_id", match=message):
        desk.tickets.assign(desk.lead, ticket.id, Assign("team", team_id=team))


# ---------------------------------------------------------------- in turn


def test_auto_assignment_takes_the_departments_agents_in_turn(desk: Desk) -> None:
    """The active agents of the department (not its lead), in the order of their ids."""
    turn = sorted([desk.agent.user_id, desk.agent2.user_id])
    tickets = [desk.open(department=desk.billing) for _ in range(4)]
    assert [desk.assign(desk.lead, t, "auto").assignee_id for t in tickets] == turn + turn
    assert desk.history(tickets[0])[-1][1] == "assignee"


def test_auto_assignment_in_a_team_takes_only_its_agents(desk: Desk) -> None:
    third = desk.staff(StaffRole.AGENT, desk.billing, desk.invoices)
    for _ in range(3):
        ticket = desk.change(desk.lead, desk.open(department=desk.billing), team_id=desk.invoices)
        assert desk.assign(desk.lead, ticket, "auto").assignee_id == third.user_id


def test_auto_assignment_skips_deactivated_agents(desk: Desk) -> None:
    desk.deactivate(desk.agent)
    for _ in range(3):
        ticket = desk.open(department=desk.billing)
        assert desk.assign(desk.lead, ticket, "auto").assignee_id == desk.agent2.user_id


def test_auto_assignment_without_an_active_agent_is_a_conflict(desk: Desk) -> None:
    ticket = desk.change(desk.lead, desk.open(department=desk.billing), team_id=desk.invoices)
    with desk.refuses(Conflict, match="no active agent"):
        desk.tickets.assign(desk.lead, ticket.id, Assign("auto"))


def test_auto_assignment_that_picks_the_assignee_changes_nothing(desk: Desk) -> None:
    third = desk.staff(StaffRole.AGENT, desk.billing, desk.invoices)
    ticket = desk.change(desk.lead, desk.open(department=desk.billing), team_id=desk.invoices)
    ticket = desk.assign(desk.lead, ticket, "auto")
    assert ticket.assignee_id == third.user_id
    assert desk.assign(desk.lead, ticket, "auto") == ticket


# ---------------------------------------------------------------- preconditions


def test_an_unrouted_ticket_cannot_be_assigned(desk: Desk) -> None:
    ticket = desk.open(department=None)
    with desk.refuses(Conflict, match="route the ticket to a department before assigning it"):
        desk.tickets.assign(desk.agent, ticket.id, Assign("self"))


def test_a_version_named_must_be_the_current_one(desk: Desk) -> None:
    ticket = desk.change(
        desk.lead, desk.open(department=desk.billing), priority=TicketPriority.HIGH
    )
    with desk.refuses(StaleVersion):
        desk.tickets.assign(desk.agent, ticket.id, Assign("self"), 1)
    taken = ticket_of(desk.tickets.assign(desk.agent, ticket.id, Assign("self"), ticket.version))
    assert taken.assignee_id == desk.agent.user_id


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        ("tech_agent", Assign("self")),
        ("tech_lead", Assign("auto")),
        ("tech_lead", Assign("team", team_id=uuid.UUID(int=1))),
    ],
)
def test_outside_the_scope_there_is_no_ticket_to_assign(
    desk: Desk, actor: str, command: Assign
) -> None:
    ticket = desk.open(department=desk.billing)
    for ticket_id, version in ((ticket.id, None), (ticket.id, 7), (uuid.uuid4(), None)):
        with desk.refuses(NotFound, match="no such ticket"):
            desk.tickets.assign(getattr(desk, actor), ticket_id, command, version)


def test_the_assignee_lets_a_ticket_go_and_only_leads_take_it_from_another(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.assign(desk.agent, ticket, "self")
    with desk.refuses(PermissionDenied, match="only leads and administrators"):
        desk.assign(desk.agent2, ticket, "nobody")
    released = desk.assign(desk.agent, ticket, "nobody")
    assert released.assignee_id is None
    assert desk.history(ticket)[-1] == (
        desk.agent.user_id,
        "assignee",
        str(desk.agent.user_id),
        None,
    )
    desk.assign(desk.agent2, ticket, "self")
    assert desk.assign(desk.lead, ticket, "nobody").assignee_id is None
    before = desk.photo()
    assert desk.assign(desk.agent, ticket, "nobody").assignee_id is None  # nobody had it
    assert desk.photo() == before
