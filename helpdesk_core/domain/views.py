"""Read models: what a reader of the helpdesk sees, built by the repositories in the queries
that read the entities (a ticket with the names of its requester, assignee, department and
team; a message with its author's name; a history entry with the names it refers to).

Use cases return these; ``helpdesk_core.documents`` turns each into the one JSON document the
API, the CLI's ``--json``, events and the library all show. The entities stay what the rules
work on; a view is never written back.
"""

from __future__ import annotations

import attrs

from helpdesk_core.domain.entities import (
    AttachmentReference,
    HistoryEntry,
    StaffMember,
    Ticket,
    TicketMessage,
    User,
)
from helpdesk_core.domain.sla import SlaClock
from helpdesk_core.domain.values import Role


@attrs.frozen
class TicketNames:
    """The names a ticket refers to, as they are when it is read (None: nobody, or a name the
    store no longer has)."""

    requester: str | None = None
    assignee: str | None = None
    department: str | None = None
    team: str | None = None


@attrs.frozen
class TicketView:
    """A ticket with the names of what it refers to and, when a service-level policy
    governs it, the latest clock of each metric (``sla``)."""

    ticket: Ticket
    names: TicketNames = TicketNames()
    sla: tuple[SlaClock, ...] = ()


@attrs.frozen
class MessageView:
    """A message of a ticket's conversation with its author's name."""

    message: TicketMessage
    author_name: str | None = None


@attrs.frozen
class HistoryView:
    """One recorded change with the names it refers to: the actor's, and, when the change is
    of the assignee, department or team, the names of the old and new ones."""

    entry: HistoryEntry
    actor_name: str | None = None
    old_name: str | None = None
    new_name: str | None = None


@attrs.frozen
class TicketDetail:
    """A ticket with what the actor may see of its conversation and attachments."""

    ticket: Ticket
    names: TicketNames
    messages: tuple[MessageView, ...]
    attachments: tuple[AttachmentReference, ...]
    sla: tuple[SlaClock, ...] = ()

    @property
    def view(self) -> TicketView:
        return TicketView(self.ticket, self.names, self.sla)


@attrs.frozen
class Account:
    """A user with their staff profile when they have one: what /me and login answer."""

    user: User
    staff: StaffMember | None = None

    @property
    def role(self) -> Role:
        return Role(self.staff.role.value) if self.staff else Role.CUSTOMER

    @property
    def is_active(self) -> bool:
        """The user and, for staff, their staff profile are both active."""
        return self.user.is_active and (self.staff is None or self.staff.is_active)


@attrs.frozen
class StaffProfile:
    """A staff member with the user they are."""

    user: User
    staff: StaffMember
