"""The conversation (``post_message``, ``messages``): public replies and internal notes, who
may write what where, how a reply moves the ticket's status, and what is recorded and
published."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from helpdesk_core.domain.errors import Conflict, NotFound, ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketStatus
from helpdesk_core.usecases.tickets import PostMessage
from tests.unit.tickets.support import Desk, message_of

NEW, OPEN, PENDING = TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING
RESOLVED, CLOSED = TicketStatus.RESOLVED, TicketStatus.CLOSED
INTERNAL = MessageVisibility.INTERNAL


def test_a_customer_replies_to_her_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.clock.current += timedelta(minutes=5)
    message = desk.reply(desk.ann, ticket, "  The invoice number is 1042. ")
    assert (message.ticket_id, message.author_id, message.body) == (
        ticket.id,
        desk.ann.user_id,
        "The invoice number is 1042.",
    )
    assert (message.visibility, message.created_at) == (
        MessageVisibility.PUBLIC,
        desk.clock.current,
    )
    assert desk.conversation(desk.ann, ticket) == [message]
    assert desk.history(ticket)[-1] == (desk.ann.user_id, "message", None, f"public:{message.id}")


def test_every_message_is_a_new_version_of_its_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.clock.current += timedelta(minutes=5)
    desk.reply(desk.ann, ticket)
    desk.reply(desk.agent, ticket, "Noted.", INTERNAL)
    current = desk.current(ticket)
    assert (current.version, current.updated_at) == (3, desk.clock.current)


def test_the_conversation_comes_oldest_first(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    bodies = ["One", "Two", "Three"]
    for who, body in zip((desk.ann, desk.agent, desk.ann), bodies, strict=True):
        desk.clock.current += timedelta(seconds=1)
        desk.reply(who, ticket, body)
    assert [m.body for m in desk.conversation(desk.ann, ticket)] == bodies


def test_internal_notes_are_read_by_staff_only(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    note = desk.reply(desk.agent, ticket, "Double-billed by the batch job.", INTERNAL)
    desk.clock.current += timedelta(seconds=1)
    reply = desk.reply(desk.agent, ticket, "We are on it.")
    assert desk.conversation(desk.ann, ticket) == [reply]
    customer_view = desk.tickets.messages(desk.ann, ticket.id)
    assert [message_of(m) for m in customer_view] == [reply]
    for staff in (desk.agent2, desk.lead, desk.admin, SYSTEM_OPERATOR):
        assert desk.conversation(staff, ticket) == [note, reply]
        assert [message_of(m) for m in desk.tickets.messages(staff, ticket.id)] == [note, reply]
    assert desk.history(ticket)[1] == (desk.agent.user_id, "message", None, f"internal:{note.id}")


def test_a_customer_cannot_post_an_internal_note(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    command = PostMessage("psst", INTERNAL)
    with desk.refuses(ValidationFailed, "visibility", match="only staff may post internal notes"):
        desk.tickets.post_message(desk.ann, ticket.id, command)


# ---------------------------------------------------------------- where


def test_a_customer_cannot_reply_to_a_closed_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.close(desk.ann, ticket.id)
    with desk.refuses(Conflict, match="closed: reopen it"):
        desk.reply(desk.ann, ticket, "One more thing.")


@pytest.mark.parametrize("visibility", list(MessageVisibility))
def test_staff_still_write_on_a_closed_ticket(desk: Desk, visibility: MessageVisibility) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.close(desk.ann, ticket.id)
    desk.reply(desk.agent, ticket, "For the record.", visibility)
    assert desk.current(ticket).status is CLOSED


# (who, whose ticket, visibility): customers write public replies only
OUTSIDE = [
    ("bob", "ann's", MessageVisibility.PUBLIC),
    ("ann", "bob's unrouted", MessageVisibility.PUBLIC),
    *[(staff, "ann's", v) for staff in ("tech_agent", "tech_lead") for v in MessageVisibility],
]


@pytest.mark.parametrize(("actor", "whose", "visibility"), OUTSIDE)
def test_a_ticket_outside_the_scope_takes_no_message(
    desk: Desk, actor: str, whose: str, visibility: MessageVisibility
) -> None:
    ticket = desk.open(desk.ann, desk.billing) if whose == "ann's" else desk.open(desk.bob)
    who = getattr(desk, actor)
    with desk.refuses(NotFound, match="no such ticket"):
        desk.reply(who, ticket, "Hello", visibility)
    with desk.refuses(NotFound, match="no such ticket"):
        desk.tickets.post_message(who, uuid.uuid4(), PostMessage("Hello", visibility))
    with desk.refuses(NotFound, match="no such ticket"):
        desk.tickets.messages(who, ticket.id)


# ---------------------------------------------------------------- the status a reply leaves


# (who writes, the status before, internal?, the status after)
REPLIES = [
    ("customer", NEW, False, NEW),
    ("customer", OPEN, False, OPEN),
    ("customer", PENDING, False, OPEN),  # the answer the helpdesk waited for
    ("customer", RESOLVED, False, OPEN),  # the problem came back
    ("staff", NEW, False, OPEN),  # the first answer opens a new ticket
    ("staff", OPEN, False, OPEN),
    ("staff", PENDING, False, PENDING),
    ("staff", RESOLVED, False, RESOLVED),
    ("staff", CLOSED, False, CLOSED),
    ("staff", NEW, True, NEW),  # a note is no answer
    ("staff", PENDING, True, PENDING),
    ("staff", CLOSED, True, CLOSED),
]


@pytest.mark.parametrize(
    ("who", "before", "internal", "after"),
    REPLIES,
    ids=[f"{w}-{'note' if i else 'reply'}-on-{b.value}" for w, b, i, _ in REPLIES],
)
def test_a_reply_moves_the_status_as_the_rules_say(
    desk: Desk, who: str, before: TicketStatus, internal: bool, after: TicketStatus
) -> None:
    ticket = desk.open(department=desk.billing)
    if before is not NEW:
        ticket = desk.set_status(ticket, before)
    author = desk.ann if who == "customer" else desk.agent
    visibility = INTERNAL if internal else MessageVisibility.PUBLIC
    desk.reply(author, ticket, "Hello", visibility)
    current = desk.current(ticket)
    assert (current.status, current.version) == (after, ticket.version + 1)
    status_entries = [h for h in desk.history(ticket) if h[1] == "status"]
    if after is before:
        assert desk.history(ticket)[-1][1] == "message"
    else:
        assert status_entries[-1] == (author.user_id, "status", before.value, after.value)
        assert desk.history(ticket)[-2][1] == "message"


# ---------------------------------------------------------------- what is published


def test_a_reply_publishes_the_message_then_the_status_it_changed(desk: Desk) -> None:
    ticket = desk.set_status(desk.open(department=desk.billing), PENDING)
    seen = len(desk.events(ticket))
    message = desk.reply(desk.ann, ticket, "It is 1042.")
    added, status = desk.events(ticket)[seen:]
    assert (added.type, added.actor_id) == ("ticket.message_added", desk.ann.user_id)
    assert added.data["message"]["id"] == str(message.id)
    assert added.data["message"]["body"] == "It is 1042."
    assert added.data["message"]["author_is_staff"] is False
    assert added.data["ticket"]["status"] == "open"
    assert status.type == "ticket.status_changed"
    assert (status.data["from"], status.data["to"], status.data["cause"]) == (
        "pending",
        "open",
        "reply",
    )


def test_a_reply_to_a_resolved_ticket_also_publishes_that_it_reopened(desk: Desk) -> None:
    ticket = desk.set_status(desk.open(department=desk.billing), RESOLVED)
    seen = len(desk.events(ticket))
    desk.reply(desk.ann, ticket, "It is back.")
    assert desk.event_types(ticket)[seen:] == [
        "ticket.message_added",
        "ticket.status_changed",
        "ticket.reopened",
    ]
    assert desk.events(ticket)[-1].data["cause"] == "reply"


def test_a_reply_that_leaves_the_status_publishes_the_message_only(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.reply(desk.ann, ticket)
    assert desk.event_types(ticket) == ["ticket.created", "ticket.message_added"]


def test_an_internal_notes_body_never_leaves_in_an_event(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.reply(desk.agent, ticket, "SECRET-NOTE", INTERNAL)
    [event] = desk.events(ticket)[1:]
    assert event.data["message"]["visibility"] == "internal"
    assert event.data["message"]["author_is_staff"] is True
    assert event.data["message"]["body"] is None
    assert "SECRET-NOTE" not in repr(event.data)
