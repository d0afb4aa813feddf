"""What every ticket use case leaves behind: one history entry per changed field, and its
events in a fixed order, in the same transaction as the change. (Each capability's own
records are checked beside it; this is the whole life of a ticket, and the order within one
change that touches everything.)"""

from __future__ import annotations

from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from tests.unit.tickets.support import PDF, Desk


def test_a_change_of_everything_records_and_publishes_in_a_fixed_order(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    ticket = desk.change(desk.lead, ticket, team_id=desk.refunds)
    ticket = desk.assign(desk.lead, ticket, "agent", desk.agent)
    seen, recorded = len(desk.events(ticket)), len(desk.history(ticket))
    changed = desk.change(
        desk.lead,
        ticket,
        status=TicketStatus.CLOSED,
        priority=TicketPriority.URGENT,
        department_id=desk.tech,
    )
    lead = desk.lead.user_id
    assert desk.history(ticket)[recorded:] == [
        (lead, "status", "new", "closed"),
        (lead, "priority", "normal", "urgent"),
        (lead, "department", str(desk.billing), str(desk.tech)),
        (lead, "team", str(desk.refunds), None),
        (lead, "assignee", str(desk.agent.user_id), None),
    ]
    events = desk.events(ticket)[seen:]
    assert [e.type for e in events] == [
        "ticket.status_changed",
        "ticket.closed",
        "ticket.priority_changed",
        "ticket.department_changed",
        "ticket.assigned",
    ]
    for event in events:  # each carries the ticket as the change left it, and who made it
        assert event.data["ticket"]["version"] == changed.version
        assert (event.actor_id, event.occurred_at) == (lead, desk.clock.current)
    assigned = events[-1].data
    assert (assigned["previous_assignee_id"], assigned["previous_team_id"]) == (
        str(desk.agent.user_id),
        str(desk.refunds),
    )
    assert events[3].data["previous_department_id"] == str(desk.billing)


def test_the_life_of_a_ticket_in_its_history(desk: Desk) -> None:
    """The history a lead reads, as the feature "Working the queue" tells it."""
    ann, dan = desk.ann.user_id, desk.agent.user_id
    ticket = desk.open(department=desk.billing, attachments=(PDF,))
    ticket = desk.change(desk.agent, ticket, priority=TicketPriority.HIGH)
    ticket = desk.change(desk.agent, ticket, status=TicketStatus.PENDING)
    desk.assign(desk.agent, ticket, "self")
    note = desk.reply(desk.agent, ticket, "Called the bank.", MessageVisibility.INTERNAL)
    reply = desk.reply(desk.ann, ticket, "Here you are.", attachments=(PDF,))
    desk.tickets.close(desk.ann, ticket.id)
    desk.tickets.reopen(SYSTEM_OPERATOR, ticket.id)
    assert desk.history(ticket) == [
        (ann, "ticket", None, "created"),
        (ann, "attachment", None, "invoice.pdf"),
        (dan, "priority", "normal", "high"),
        (dan, "status", "new", "pending"),
        (dan, "assignee", None, str(dan)),
        (dan, "message", None, f"internal:{note.id}"),
        (ann, "message", None, f"public:{reply.id}"),
        (ann, "attachment", None, "invoice.pdf"),
        (ann, "status", "pending", "open"),
        (ann, "status", "open", "closed"),
        (None, "status", "closed", "open"),
    ]
    assert desk.event_types(ticket) == [
        "ticket.created",
        "ticket.priority_changed",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.message_added",
        "ticket.message_added",
        "ticket.status_changed",
        "ticket.status_changed",
        "ticket.closed",
        "ticket.status_changed",
        "ticket.reopened",
    ]


def test_each_ticket_has_an_ordering_of_its_own(desk: Desk) -> None:
    first, second = desk.open(department=desk.billing), desk.open(department=desk.tech)
    desk.reply(desk.ann, first)
    assert {e.ordering_key for e in desk.events(first)} == {f"ticket:{first.id}"}
    assert desk.event_types(second) == ["ticket.created"]
