"""Opening a ticket with an idempotency key (``open_ticket(..., idempotency_key)``): the same
request again is answered with the first ticket, another request with the same key is a
Conflict, and a key is its user's own."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from helpdesk_core.domain.errors import Conflict, ValidationFailed
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.tickets.support import PDF, Desk, message_of


@pytest.fixture
def command(desk: Desk) -> OpenTicket:
    return OpenTicket("Printer", "It jams.", department_id=desk.billing, attachments=(PDF,))


def test_the_same_request_with_the_same_key_is_answered_with_the_first_ticket(
    desk: Desk, command: OpenTicket
) -> None:
    first = desk.tickets.open_ticket(desk.ann, command, "key-1")
    again = desk.tickets.open_ticket(desk.ann, command, "key-1")
    assert again.ticket == first.ticket
    assert again.attachments == first.attachments
    assert [t.id for t in desk.listed(desk.ann)] == [first.ticket.id]
    assert desk.event_types(first.ticket) == ["ticket.created"]
    assert desk.fields_recorded(first.ticket) == ["ticket", "attachment"]


def test_a_replay_shows_the_ticket_as_it_is_now_and_as_its_reader_may_see_it(
    desk: Desk, command: OpenTicket
) -> None:
    first = desk.tickets.open_ticket(desk.ann, command, "key-1").ticket
    desk.reply(desk.agent, first, "Batch job again.", MessageVisibility.INTERNAL)
    desk.reply(desk.agent, first, "On it.")
    again = desk.tickets.open_ticket(desk.ann, command, "key-1")
    assert (again.ticket.status, again.ticket.version) == (TicketStatus.OPEN, 3)
    assert [message_of(m).body for m in again.messages] == ["On it."]


def test_a_replay_is_answered_though_the_department_closed_since(
    desk: Desk, command: OpenTicket
) -> None:
    first = desk.tickets.open_ticket(desk.ann, command, "key-1").ticket
    desk.close_department(desk.billing)
    assert desk.tickets.open_ticket(desk.ann, command, "key-1").ticket == first


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Scanner"},
        {"description": "It jams again."},
        {"priority": TicketPriority.URGENT},
        {"department_id": None},
        {"attachments": ()},
    ],
    ids=lambda change: next(iter(change)),
)
def test_the_same_key_with_another_request_is_a_conflict(
    desk: Desk, command: OpenTicket, change: dict[str, Any]
) -> None:
    desk.tickets.open_ticket(desk.ann, command, "key-1")
    with desk.refuses(Conflict, match="already used for a different request"):
        desk.tickets.open_ticket(desk.ann, attrs.evolve(command, **change), "key-1")


def test_a_key_is_its_users_own(desk: Desk, command: OpenTicket) -> None:
    anns = desk.tickets.open_ticket(desk.ann, command, "key-1").ticket
    bobs = desk.tickets.open_ticket(desk.bob, command, "key-1").ticket
    assert anns.id != bobs.id
    assert bobs.requester_id == desk.bob.user_id


def test_without_a_key_every_request_opens_a_ticket(desk: Desk, command: OpenTicket) -> None:
    first = desk.tickets.open_ticket(desk.ann, command).ticket
    second = desk.tickets.open_ticket(desk.ann, command).ticket
    assert first.id != second.id


def test_another_key_opens_another_ticket(desk: Desk, command: OpenTicket) -> None:
    first = desk.tickets.open_ticket(desk.ann, command, "key-1").ticket
    assert desk.tickets.open_ticket(desk.ann, command, "key-2").ticket.id != first.id


def test_a_refused_request_does_not_use_up_its_key(desk: Desk, command: OpenTicket) -> None:
    with desk.refuses(ValidationFailed, "subject"):
        desk.tickets.open_ticket(desk.ann, attrs.evolve(command, subject=" "), "key-1")
    opened = desk.tickets.open_ticket(desk.ann, command, "key-1").ticket
    with desk.refuses(Conflict):
        desk.tickets.open_ticket(desk.ann, attrs.evolve(command, subject="Other"), "key-1")
    assert desk.tickets.open_ticket(desk.ann, command, "key-1").ticket == opened


@pytest.mark.parametrize("key", ["key\x00", "k\ud800"], ids=["nul", "lone-surrogate"])
def test_a_key_no_store_can_hold_is_refused(desk: Desk, command: OpenTicket, key: str) -> None:
    with desk.refuses(ValidationFailed, "Idempotency-Key"):
        desk.tickets.open_ticket(desk.ann, command, key)
