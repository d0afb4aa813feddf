"""Ticket storage: tickets, their conversation, history, attachments, and idempotency records.

All repositories work inside the caller's transaction (``tx.tickets``, ``tx.messages``, ...).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from helpdesk_core.domain.entities import (
    AttachmentReference,
    HistoryEntry,
    Ticket,
    TicketMessage,
)
from helpdesk_core.domain.sla import SlaClock, TicketSla
from helpdesk_core.domain.values import TicketPriority, TicketStatus
from helpdesk_core.domain.views import HistoryView, MessageView, TicketView


class TicketSort(enum.StrEnum):
    """List orders; each is a keyset: the value, then the id, break ties.

    A descending order ("-created") sorts every part of its key descending, the id included.
    RELEVANCE puts the best match of the query's text first (ties by id, ascending); without
    text it means CREATED_DESC.
    """

    CREATED = "created"
    CREATED_DESC = "-created"
    UPDATED = "updated"
    UPDATED_DESC = "-updated"
    PRIORITY = "priority"
    PRIORITY_DESC = "-priority"
    RELEVANCE = "relevance"
    SLA_DUE = "sla_due"  # soonest service-level due time first; only tickets that have one


class SlaState(enum.StrEnum):
    """The staff list's service-level filter, as of ``TicketQuery.now``."""

    BREACHED = "breached"  # a running clock's due time has passed
    AT_RISK = "at_risk"  # a running clock's warning time has passed, none is due yet
    PAUSED = "paused"  # every open clock stands (the ticket is in a paused status)


@attrs.frozen
class TicketQuery:
    """Which tickets to list, in what order, after which keyset position.

    ``visible_departments`` is the actor's scope: None means every ticket; a tuple lists the
    departments whose tickets may be seen, ``None`` inside it meaning tickets not yet routed to
    any department. ``statuses`` and ``priorities`` match any of their members (empty: any);
    ``unassigned`` keeps tickets without an assignee; ``created_from`` is inclusive,
    ``created_to`` exclusive.

    ``text`` keeps the tickets whose subject, description and messages (internal notes
    included: only staff search) together contain every word of it (a run of letters and
    digits), as a whole word, regardless of case; a text without words filters nothing.

    ``sla`` keeps the tickets whose service-level clocks stand so at ``now`` (the ticket's
    ``sla_due_at``, ``sla_warn_at`` and ``sla_paused``). SLA_DUE lists only the tickets with a
    due time (a running clock), soonest first: a ticket whose clocks stand or are done owes
    nothing now.

    ``tags`` keeps the tickets that carry every one of those tags, named exactly as the
    tickets show them (``list_tickets`` makes the names a caller typed so; a name no tag has
    selects nothing); ``following`` the
    tickets that user follows (a row of followers) or is assigned (an assignee follows without
    one).

    ``after`` is the ``sort_key`` of the last ticket of the previous page (for RELEVANCE with
    text: the page's ``next_after``); the page holds the tickets that sort after it.
    """

    visible_departments: tuple[uuid.UUID | None, ...] | None = None
    requester_id: uuid.UUID | None = None
    statuses: frozenset[TicketStatus] = frozenset()
    priorities: frozenset[TicketPriority] = frozenset()
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None
    sla: SlaState | None = None
    now: datetime | None = None  # the instant ``sla`` is judged at (required with it)
    tags: tuple[str, ...] = ()  # tickets carrying every one of these tags (names)
    following: uuid.UUID | None = None  # tickets this staff member follows or is assigned
    sort: TicketSort = TicketSort.CREATED_DESC
    after: tuple[Any, ...] | None = None
    limit: int = 25


@attrs.frozen
class TicketPage:
    """One page of tickets (with the names they refer to) and the keyset position after its
    last one (None: no more)."""

    items: tuple[TicketView, ...]
    next_after: tuple[Any, ...] | None


@attrs.frozen
class QueueCounts:
    """How a department's queue stands: counts by status and, for open work, by priority."""

    by_status: dict[str, int]
    open_by_priority: dict[str, int]
    open_unassigned: int
    open_by_assignee: dict[str, int]


@attrs.frozen
class IdempotencyRecord:
    """The first answer to a request sent with an Idempotency-Key."""

    user_id: uuid.UUID
    key: str
    fingerprint: str
    ticket_id: uuid.UUID
    created_at: datetime


def sort_key(ticket: Ticket, sort: TicketSort) -> tuple[Any, ...]:
    """The keyset values of ``ticket`` under ``sort`` (every store orders by exactly these).

    Timestamps are ISO strings of UTC datetimes, ids strings, a priority its ``rank``.
    RELEVANCE depends on the query's text, which a ticket does not know: with text, the
    store's ``next_after`` is ``(cost, id)``, a float that is lower for a better match (it
    round-trips through JSON); here, RELEVANCE gives the key of CREATED_DESC, its meaning
    without text.
    """
    if sort in {TicketSort.CREATED, TicketSort.CREATED_DESC, TicketSort.RELEVANCE}:
        return (ticket.created_at.isoformat(), str(ticket.id))
    if sort in {TicketSort.UPDATED, TicketSort.UPDATED_DESC}:
        return (ticket.updated_at.isoformat(), str(ticket.id))
    if sort is TicketSort.SLA_DUE:
        due = ticket.sla_due_at
        return (due.isoformat() if due else None, str(ticket.id))
    return (ticket.priority.rank, ticket.created_at.isoformat(), str(ticket.id))


class TicketRepository(Protocol):
    """Tickets."""

    def next_number(self) -> int:
        """A fresh human ticket number, larger than every number handed out before."""
        ...

    def add(self, ticket: Ticket, clocks: Sequence[SlaClock] = ()) -> TicketView:
        """Store a new ticket, and the service-level clocks it starts with (in the same
        statement on PostgreSQL); answer it with the names it refers to, read by the write
        itself (a ticket is opened by its requester, who expects to be named in the answer).

        Conflict when it breaks the store's rules; the transaction must then end (this hot
        insert takes no savepoint, so PostgreSQL has aborted it)."""
        ...

    def get(self, ticket_id: uuid.UUID, for_update: bool = False) -> TicketView | None:
        """The ticket with the names it refers to (read in the same query), or None.
        ``for_update`` also locks it until the transaction ends (on
        PostgreSQL; SQLite and memory serialize writers anyway), so a write that names no
        version waits for a concurrent one instead of failing on the version it read."""
        ...

    def get_by_number(self, number: int) -> TicketView | None:
        """The ticket (with its names) with this human number (the ``#301`` people quote),
        or None. Numbers are unique, positive and 64-bit (1 to 2**63 - 1) in every store."""
        ...

    def update(self, ticket: Ticket) -> None:
        """Store ``ticket``; StaleVersion unless the stored version is ``ticket.version - 1``.

        What a ticket is opened with (number, subject, description, requester, created_at)
        is written once: an update keeps the stored values. After a Conflict (a broken rule of
        the store) the transaction must end, as after ``add``; after StaleVersion it may go on.
        """
        ...

    def set_sla(self, ticket_id: uuid.UUID, sla: TicketSla) -> None:
        """Store what the ticket's service-level clocks come to (its ``sla_*`` fields), its
        version unchanged: the clocks are the service-level code's, not an edit of the
        ticket. The caller holds the ticket locked (``get(for_update=True)``)."""
        ...

    def set_tags(self, ticket_id: uuid.UUID, names: Sequence[str]) -> None:
        """Store the names the ticket's tags show (``Ticket.tags``), its version unchanged:
        the tagging use case bumps it with its own update. The caller holds the ticket locked
        (``get(for_update=True)``)."""
        ...

    def list(self, query: TicketQuery) -> TicketPage:
        """One page of the tickets ``query`` selects, in its order, with their names."""
        ...

    def queue_counts(self, department_id: uuid.UUID | None) -> QueueCounts:
        """Counts of one department's tickets (None: tickets not routed to a department).

        ``by_status`` names every status; open work (new, open, pending) is counted by every
        priority, unassigned, and by assignee (``str(user_id)``, only those with some).
        """
        ...


class TicketMessageRepository(Protocol):
    """The conversation of tickets."""

    def add(self, message: TicketMessage) -> MessageView:
        """Store a message (its attachments are stored through AttachmentRepository); answer
        it, without attachments, with its author's name, read by the write itself.

        Conflict when it breaks the store's rules; the transaction must then end (these hot
        inserts take no savepoint, so PostgreSQL has aborted it)."""
        ...

    def list(
        self, ticket_id: uuid.UUID, include_internal: bool, with_attachments: bool = True
    ) -> Sequence[MessageView]:
        """The ticket's messages, oldest first, with their authors' names and their
        attachments; internal notes only
        when ``include_internal``. ``with_attachments=False`` leaves every message's
        ``attachments`` empty and saves the read, for a caller that reads them anyway."""
        ...


class TicketHistoryRepository(Protocol):
    """One entry per changed field of a ticket."""

    def add(self, entry: HistoryEntry) -> None:
        """Record a change; after a Conflict the transaction must end (see messages)."""
        ...

    def list(self, ticket_id: uuid.UUID) -> Sequence[HistoryView]:
        """The ticket's history, oldest first, each entry with its actor's name (the names
        of old and new values are the use case's to add)."""
        ...


class AttachmentRepository(Protocol):
    """References to files stored elsewhere."""

    def add(self, attachment: AttachmentReference) -> None:
        """Store a reference."""
        ...

    def list(self, ticket_id: uuid.UUID) -> Sequence[AttachmentReference]:
        """Every reference of a ticket (its own and its messages'), oldest first."""
        ...

    def get(self, attachment_id: uuid.UUID) -> AttachmentReference | None:
        """One attachment, or None."""
        ...


class IdempotencyRepository(Protocol):
    """Answers already given to requests that carried an Idempotency-Key."""

    def get(self, user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        """The record of this user's key, or None."""
        ...

    def add(self, record: IdempotencyRecord) -> None:
        """Store a record; Conflict when the user already used the key (the record is kept)."""
        ...
