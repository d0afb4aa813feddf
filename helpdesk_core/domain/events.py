"""Domain events: the facts the helpdesk tells people (mail) and other systems (webhooks).

An event is recorded by a use case inside its transaction (``tx.outbox.add``) and so exists if
and only if its change committed. Its ``data`` is a versioned, JSON-ready payload whose
entities are the documents the API shows (``helpdesk_core.documents``); it never holds a
password, a token, or the body of an internal note (those payloads may reach customers'
systems). Events sharing an ``ordering_key`` (one ticket, one user) are handled in the order they
were recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import _aware

# 2: every entity in a payload is the document the API shows (``helpdesk_core.documents``):
# a ticket names its requester, department, team and assignee ({id, name} objects).
PAYLOAD_VERSION = 2

# Every event type, with what it means (the webhooks API and the docs list these).
EVENT_TYPES: dict[str, str] = {
    "ticket.created": "a customer opened a ticket",
    "ticket.assigned": "the ticket's assignee or team changed",
    "ticket.status_changed": "the ticket moved to another status",
    "ticket.priority_changed": "the ticket's priority changed",
    "ticket.department_changed": "the ticket was routed to another department",
    "ticket.message_added": "a reply or an internal note was added (a note's body is never sent)",
    "ticket.closed": "the ticket was closed",
    "ticket.reopened": "a resolved or closed ticket was reopened",
    "ticket.followers_changed": (
        "staff began or stopped following the ticket (followed, were added or removed, or were "
        "mentioned in an internal note)"
    ),
    "ticket.tags_changed": "tags were put on the ticket or taken off it (the names added, removed)",
    "user.registered": "a customer registered",
    "user.registration_attempted": (
        "someone tried to register an address that has an account (its owner is mailed)"
    ),
    "user.updated": "a user changed their profile",
    "user.password_changed": "a user changed or reset their password",
    "user.password_reset_requested": "someone asked for a password reset link",
    "user.deactivated": "an administrator deactivated a customer account",
    "user.reactivated": "an administrator reactivated a customer account",
    "user.erased": "an administrator erased a customer's personal data (their tickets stay)",
    "department.created": "a department was created",
    "department.updated": "a department was renamed, activated or deactivated",
    "team.created": "a team was created",
    "team.updated": "a team was renamed, activated or deactivated",
    "staff.created": "a staff member was added",
    "staff.updated": "a staff member's role, department or team changed",
    "staff.activated": "a staff member was activated",
    "staff.deactivated": "a staff member was deactivated",
    "sla.warning": "a service-level clock of a ticket is about to run out (its warning time came)",
    "sla.breached": "a service-level clock of a ticket ran out before it was met",
    "sla.met": "a service-level clock of a ticket was met (a staff reply, the ticket resolved)",
    "sla.cancelled": (
        "a service-level clock of a ticket is no longer owed (its policy switched off or no "
        "longer matches, or the ticket was resolved before a response)"
    ),
    "email.received": "a received mail became a ticket or a message of one (automatic mail too)",
    "email.ignored": (
        "a received mail changed no ticket: the helpdesk's own, automatic without a ticket, a "
        "flood, held for review (an unknown sender) or failed"
    ),
    "email.bounced": "a delivery report came back: the address is marked and the ticket noted",
    "webhook.ping": "a test event sent to one webhook on request",
}
ALL_EVENTS = "*"


@attrs.frozen
class Event:
    """Something that happened; ``id`` is also the ``webhook-id`` of every delivery of it."""

    id: uuid.UUID
    type: str = attrs.field()
    occurred_at: datetime = attrs.field(validator=_aware)
    ordering_key: str
    data: Mapping[str, Any] = attrs.field(eq=False, hash=False)
    actor_id: uuid.UUID | None = None
    version: int = PAYLOAD_VERSION

    @type.validator
    def _known(self, _attribute: Any, value: str) -> None:
        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}")

    def envelope(self) -> dict[str, Any]:
        """What a webhook receives: type, timestamp, payload version and data."""
        return {
            "id": str(self.id),
            "type": self.type,
            "timestamp": self.occurred_at.isoformat(),
            "version": self.version,
            "data": dict(self.data),
        }


def ticket_key(ticket_id: uuid.UUID) -> str:
    return f"ticket:{ticket_id}"


def user_key(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


ORG_KEY = "org"  # departments, teams and staff: one order for the organization
