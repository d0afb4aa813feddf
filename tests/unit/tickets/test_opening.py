"""Opening a ticket (``TicketService.open_ticket``): what a new ticket is, where it may go,
what is recorded and published, and the assignment a department may ask for at once."""

from __future__ import annotations

import uuid

import attrs
import pytest

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import StaffRole, TicketPriority, TicketStatus
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.tickets.support import PDF, Desk


def test_a_new_ticket_is_the_requesters_new_unassigned_ticket_at_version_one(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing, priority=TicketPriority.HIGH)
    assert (ticket.requester_id, ticket.department_id) == (desk.ann.user_id, desk.billing)
    assert (ticket.status, ticket.priority, ticket.version) == (
        TicketStatus.NEW,
        TicketPriority.HIGH,
        1,
    )
    assert (ticket.team_id, ticket.assignee_id, ticket.closed_at) == (None, None, None)
    assert ticket.created_at == ticket.updated_at == desk.clock.current
    assert desk.current(ticket) == ticket


def test_the_priority_is_normal_unless_asked(desk: Desk) -> None:
    assert desk.open(department=desk.billing).priority is TicketPriority.NORMAL


def test_subject_and_description_are_kept_trimmed(desk: Desk) -> None:
    ticket = desk.open(subject="  Printer  ", description="\n It jams.\n\n")
    assert (ticket.subject, ticket.description) == ("Printer", "It jams.")


def test_numbers_are_unique_and_increasing(desk: Desk) -> None:
    numbers = [desk.open(who).number for who in (desk.ann, desk.bob, desk.ann, desk.bob)]
    assert numbers == sorted(set(numbers))


def test_a_ticket_may_be_opened_in_no_department(desk: Desk) -> None:
    ticket = desk.open(department=None)
    assert (ticket.department_id, ticket.team_id, ticket.assignee_id) == (None, None, None)


@pytest.mark.parametrize("which", ["unknown", "deactivated", "a team's id"])
def test_a_ticket_goes_only_to_an_active_department(desk: Desk, which: str) -> None:
    if which == "deactivated":
        desk.close_department(desk.tech)
    department = {"unknown": uuid.uuid4(), "deactivated": desk.tech, "a team's id": desk.refunds}
    command = OpenTicket("Printer", "It jams.", department_id=department[which])
    with desk.refuses(ValidationFailed, "department_id", match="no such department"):
        desk.tickets.open_ticket(desk.ann, command)


def test_opening_records_the_creation_then_each_attachment(desk: Desk) -> None:
    other = attrs.evolve(PDF, filename="receipt.pdf")
    ticket = desk.open(department=desk.billing, attachments=(PDF, other))
    ann = desk.ann.user_id
    assert desk.history(ticket) == [
        (ann, "ticket", None, "created"),
        (ann, "attachment", None, "invoice.pdf"),
        (ann, "attachment", None, "receipt.pdf"),
    ]


def test_the_attachments_of_a_new_ticket_belong_to_the_ticket(desk: Desk) -> None:
    command = OpenTicket("Printer", "It jams.", attachments=(PDF,))
    detail = desk.tickets.open_ticket(desk.ann, command)
    [attachment] = detail.attachments
    assert (attachment.ticket_id, attachment.message_id) == (detail.ticket.id, None)
    assert (attachment.url, attachment.filename, attachment.size_bytes) == (
        PDF.url,
        PDF.filename,
        PDF.size_bytes,
    )
    assert (attachment.uploaded_by, attachment.created_at) == (desk.ann.user_id, desk.clock.current)
    assert detail.messages == ()
    assert desk.tickets.get_ticket(desk.ann, detail.ticket.id).attachments == detail.attachments


def test_opening_publishes_ticket_created_with_the_description(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing, attachments=(PDF,))
    [event] = desk.events(ticket)
    assert (event.type, event.actor_id, event.occurred_at) == (
        "ticket.created",
        desk.ann.user_id,
        desk.clock.current,
    )
    assert event.data["description"] == "The invoice came twice."
    assert event.data["attachments"] == 1
    assert event.data["ticket"]["id"] == str(ticket.id)
    assert (event.data["ticket"]["status"], event.data["ticket"]["version"]) == ("new", 1)


# ---------------------------------------------------------------- assigned on opening


def test_an_auto_assigning_department_assigns_a_new_ticket_at_once(desk: Desk) -> None:
    desk.auto_assign(desk.billing)
    ticket = desk.open(department=desk.billing)
    assert ticket.assignee_id in {desk.agent.user_id, desk.agent2.user_id}
    assert (ticket.status, ticket.team_id, ticket.version) == (TicketStatus.NEW, None, 2)
    assert desk.current(ticket) == ticket
    # The assignment is the system's second change, after the creation.
    assert desk.history(ticket) == [
        (desk.ann.user_id, "ticket", None, "created"),
        (None, "assignee", None, str(ticket.assignee_id)),
    ]
    created, assigned = desk.events(ticket)
    assert (created.type, created.data["ticket"]["version"]) == ("ticket.created", 1)
    assert (assigned.type, assigned.actor_id) == ("ticket.assigned", None)
    assert assigned.data["ticket"]["version"] == 2
    assert assigned.data["previous_assignee_id"] is None


def test_new_tickets_go_round_the_departments_agents_in_turn(desk: Desk) -> None:
    desk.auto_assign(desk.billing)
    turn = sorted([desk.agent.user_id, desk.agent2.user_id])
    assignees = [desk.open(department=desk.billing).assignee_id for _ in range(4)]
    assert assignees == turn + turn


def test_new_tickets_skip_leads_and_deactivated_agents(desk: Desk) -> None:
    desk.auto_assign(desk.billing)
    desk.deactivate(desk.agent2)
    assignees = {desk.open(department=desk.billing).assignee_id for _ in range(3)}
    assert assignees == {desk.agent.user_id}


def test_a_department_without_an_active_agent_still_takes_new_tickets(desk: Desk) -> None:
    empty = desk.department("Empty", auto_assign=True)
    desk.staff(StaffRole.LEAD, empty)
    ticket = desk.open(department=empty)
    assert (ticket.assignee_id, ticket.version) == (None, 1)
    assert desk.fields_recorded(ticket) == ["ticket"]
    assert desk.event_types(ticket) == ["ticket.created"]


def test_only_the_asking_department_assigns_new_tickets(desk: Desk) -> None:
    desk.auto_assign(desk.billing)
    assert desk.open(department=desk.tech).assignee_id is None
    assert desk.open(department=None).assignee_id is None
