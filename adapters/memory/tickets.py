"""In-memory ticket repositories over a transaction's working MemoryState.

Same rules, orders and messages as ``adapters.sql.tickets``: foreign keys checked before
anything changes, optimistic locking on update, the opening fields of a ticket written once.
Text search reads the same per-ticket search document the SQL stores keep (built by the same
functions), matches every word as a whole word, and ranks by a cost that is lower for a
better match: the words' occurrences, damped by the document's length.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from adapters.memory.shared import utc, utc_or_none
from adapters.memory.sla import MemorySlaClockRepository
from helpdesk_core.domain.entities import (
    AttachmentReference,
    HistoryEntry,
    Ticket,
    TicketMessage,
)
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.search import (
    SEARCH_DOCUMENT_MAX,
    new_search_document,
    search_text,
    search_words,
)
from helpdesk_core.domain.sla import SlaClock, TicketSla
from helpdesk_core.domain.values import (
    OPEN_STATUSES,
    MessageVisibility,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.domain.views import HistoryView, MessageView, TicketNames, TicketView
from helpdesk_core.ports.tickets import (
    IdempotencyRecord,
    QueueCounts,
    SlaState,
    TicketPage,
    TicketQuery,
    TicketSort,
    sort_key,
)
from helpdesk_core.ports.uow import TICKET_NUMBER_COUNTER

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


# ---------------------------------------------------------------- tickets


def _user_name(state: MemoryState, user_id: uuid.UUID | None) -> str | None:
    user = state.users.get(user_id) if user_id is not None else None
    return user.display_name if user is not None else None


def ticket_view(state: MemoryState, ticket: Ticket) -> TicketView:
    """The ticket with the names it refers to, as the SQL stores join them."""
    department = state.departments.get(ticket.department_id) if ticket.department_id else None
    team = state.teams.get(ticket.team_id) if ticket.team_id else None
    names = TicketNames(
        requester=_user_name(state, ticket.requester_id),
        assignee=_user_name(state, ticket.assignee_id),
        department=department.name if department is not None else None,
        team=team.name if team is not None else None,
    )
    return TicketView(ticket, names)


def _in_scope(ticket: Ticket, query: TicketQuery) -> bool:
    return query.visible_departments is None or ticket.department_id in query.visible_departments


def _matches(ticket: Ticket, query: TicketQuery) -> bool:
    return (
        _in_scope(ticket, query)
        and (query.requester_id is None or ticket.requester_id == query.requester_id)
        and (not query.statuses or ticket.status in query.statuses)
        and (not query.priorities or ticket.priority in query.priorities)
        and (query.department_id is None or ticket.department_id == query.department_id)
        and (query.team_id is None or ticket.team_id == query.team_id)
        and (query.assignee_id is None or ticket.assignee_id == query.assignee_id)
        and (not query.unassigned or ticket.assignee_id is None)
        and (query.created_from is None or ticket.created_at >= query.created_from)
        and (query.created_to is None or ticket.created_at < query.created_to)
        and _sla_matches(ticket, query)
    )


def _sla_matches(ticket: Ticket, query: TicketQuery) -> bool:
    if query.sort is TicketSort.SLA_DUE and ticket.sla_due_at is None:
        return False
    if query.sla is None:
        return True
    now = query.now
    assert now is not None, "an sla filter is judged at a time"
    due, warn = ticket.sla_due_at, ticket.sla_warn_at
    if query.sla is SlaState.BREACHED:
        return due is not None and due <= now
    if query.sla is SlaState.AT_RISK:
        return due is not None and warn is not None and warn <= now < due
    return ticket.sla_paused


def _cost(document: str, words: Sequence[str]) -> float | None:
    """None unless the document holds every word; else lower for a better match."""
    counts = Counter(document.split())
    if not all(counts[word] for word in words):
        return None
    occurrences = sum(counts[word] for word in set(words))
    return -occurrences / (1 + math.log(sum(counts.values())))


def _typed_key(ticket: Ticket, sort: TicketSort, cost: float | None) -> tuple[Any, ...]:
    """The keyset values, typed as the stores compare them (datetimes, UUIDs)."""
    if sort is TicketSort.RELEVANCE:
        return (cost, ticket.id)
    if sort in {TicketSort.CREATED, TicketSort.CREATED_DESC}:
        return (ticket.created_at, ticket.id)
    if sort in {TicketSort.UPDATED, TicketSort.UPDATED_DESC}:
        return (ticket.updated_at, ticket.id)
    if sort is TicketSort.SLA_DUE:
        return (ticket.sla_due_at, ticket.id)
    return (ticket.priority.rank, ticket.created_at, ticket.id)


def _typed_after(after: Sequence[Any], sort: TicketSort) -> tuple[Any, ...]:
    if sort is TicketSort.RELEVANCE:
        return (float(after[0]), uuid.UUID(str(after[1])))
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return (int(after[0]), datetime.fromisoformat(after[1]), uuid.UUID(str(after[2])))
    return (datetime.fromisoformat(after[0]), uuid.UUID(str(after[1])))


class MemoryTicketRepository:
    """Tickets by id, with their search documents; numbers from the ``counters`` table."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._tickets = state.tickets

    def next_number(self) -> int:
        counters = self._state.counters
        counters[TICKET_NUMBER_COUNTER] = counters.get(TICKET_NUMBER_COUNTER, 0) + 1
        return counters[TICKET_NUMBER_COUNTER]

    def add(self, ticket: Ticket, clocks: Sequence[SlaClock] = ()) -> TicketView:
        if ticket.id in self._tickets:
            raise Conflict("a ticket with this id already exists")
        if any(t.number == ticket.number for t in self._tickets.values()):
            raise Conflict(f"a ticket numbered {ticket.number} already exists")
        if ticket.requester_id not in self._state.users:
            raise Conflict("no such user")
        self._check_references(ticket)
        self._tickets[ticket.id] = attrs.evolve(
            ticket,
            created_at=utc(ticket.created_at),
            updated_at=utc(ticket.updated_at),
            closed_at=utc_or_none(ticket.closed_at),
            sla_due_at=utc_or_none(ticket.sla_due_at),
            sla_warn_at=utc_or_none(ticket.sla_warn_at),
            tags=(),  # a new ticket carries none: tags are put on by the tagging use case
        )
        self._state.ticket_search[ticket.id] = new_search_document(ticket)
        if clocks:
            MemorySlaClockRepository(self._state).add(clocks)
        return ticket_view(self._state, self._tickets[ticket.id])

    def get(self, ticket_id: uuid.UUID, for_update: bool = False) -> TicketView | None:
        ticket = self._tickets.get(ticket_id)  # writers are serialized: nothing to lock
        return ticket_view(self._state, ticket) if ticket is not None else None

    def get_by_number(self, number: int) -> TicketView | None:
        # A scan: the in-memory store holds test and demo sizes, and keeps no index to update.
        ticket = next((t for t in self._tickets.values() if t.number == number), None)
        return ticket_view(self._state, ticket) if ticket is not None else None

    def update(self, ticket: Ticket) -> None:
        stored = self._tickets.get(ticket.id)
        if stored is None or stored.version != ticket.version - 1:
            raise stale_version("ticket", ticket.version)
        self._check_references(ticket)
        self._tickets[ticket.id] = attrs.evolve(
            stored,
            status=ticket.status,
            priority=ticket.priority,
            department_id=ticket.department_id,
            team_id=ticket.team_id,
            assignee_id=ticket.assignee_id,
            updated_at=utc(ticket.updated_at),
            closed_at=utc_or_none(ticket.closed_at),
            version=ticket.version,
        )

    def set_sla(self, ticket_id: uuid.UUID, sla: TicketSla) -> None:
        stored = self._tickets.get(ticket_id)
        if stored is not None:
            self._tickets[ticket_id] = attrs.evolve(
                stored,
                sla_policy_id=sla.policy_id,
                sla_due_at=utc_or_none(sla.due_at),
                sla_warn_at=utc_or_none(sla.warn_at),
                sla_paused=sla.paused,
            )

    def set_tags(self, ticket_id: uuid.UUID, names: Sequence[str]) -> None:
        stored = self._tickets.get(ticket_id)
        if stored is not None:
            self._tickets[ticket_id] = attrs.evolve(stored, tags=tuple(names))

    def _carries(self, ticket: Ticket, query: TicketQuery) -> bool:
        """Whether ``ticket`` carries every tag ``query`` asks for, and is followed by whom
        it asks for (an assignee follows without a row)."""
        if not all(name in ticket.tags for name in query.tags):
            return False
        follower = query.following
        return (
            follower is None
            or ticket.assignee_id == follower
            or (ticket.id, follower) in self._state.followers
        )

    def list(self, query: TicketQuery) -> TicketPage:
        words = search_words(query.text or "")
        sort = query.sort
        if sort is TicketSort.RELEVANCE and not words:
            sort = TicketSort.CREATED_DESC
        found: list[tuple[tuple[Any, ...], Ticket, float | None]] = []
        for ticket in self._tickets.values():
            if not _matches(ticket, query) or not self._carries(ticket, query):
                continue
            cost = None
            if words:
                cost = _cost(self._state.ticket_search.get(ticket.id, ""), words)
                if cost is None:
                    continue
            found.append((_typed_key(ticket, sort, cost), ticket, cost))
        descending = sort.value.startswith("-")
        found.sort(key=lambda item: item[0], reverse=descending)
        if query.after is not None:
            after = _typed_after(query.after, sort)
            found = [f for f in found if (f[0] < after if descending else f[0] > after)]
        page = found[: query.limit]
        items = tuple(ticket_view(self._state, ticket) for _, ticket, _ in page)
        if len(found) <= query.limit or not page:
            return TicketPage(items, None)
        _, last, cost = page[-1]
        if sort is TicketSort.RELEVANCE:
            return TicketPage(items, (cost, str(last.id)))
        return TicketPage(items, sort_key(last, sort))

    def queue_counts(self, department_id: uuid.UUID | None) -> QueueCounts:
        by_status = dict.fromkeys((s.value for s in TicketStatus), 0)
        by_priority = dict.fromkeys((p.value for p in TicketPriority), 0)
        unassigned = 0
        by_assignee: dict[str, int] = {}
        for ticket in self._tickets.values():
            if ticket.department_id != department_id:
                continue
            by_status[ticket.status.value] += 1
            if ticket.status not in OPEN_STATUSES:
                continue
            by_priority[ticket.priority.value] += 1
            if ticket.assignee_id is None:
                unassigned += 1
            else:
                key = str(ticket.assignee_id)
                by_assignee[key] = by_assignee.get(key, 0) + 1
        return QueueCounts(
            by_status=by_status,
            open_by_priority=by_priority,
            open_unassigned=unassigned,
            open_by_assignee=by_assignee,
        )

    def _check_references(self, ticket: Ticket) -> None:
        state = self._state
        if ticket.department_id is not None and ticket.department_id not in state.departments:
            raise Conflict("no such department")
        if ticket.team_id is not None:
            team = state.teams.get(ticket.team_id)
            if team is None:
                raise Conflict("no such team")
            if team.department_id != ticket.department_id:
                raise Conflict("the team belongs to another department")
        if ticket.assignee_id is not None and ticket.assignee_id not in state.staff:
            raise Conflict("no such staff member")


# ---------------------------------------------------------------- messages and attachments


def _by_time(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: (item.created_at, item.id))


class MemoryTicketMessageRepository:
    """The conversation; adding a message adds its words to the ticket's search document."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._messages = state.messages

    def add(self, message: TicketMessage) -> MessageView:
        if message.id in self._messages:
            raise Conflict("a message with this id already exists")
        if message.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        if message.author_id not in self._state.users:
            raise Conflict("no such user")
        # Attachments are stored through the AttachmentRepository, never with the message.
        self._messages[message.id] = attrs.evolve(
            message, created_at=utc(message.created_at), attachments=()
        )
        words = search_text(message.body)
        document = self._state.ticket_search.get(message.ticket_id)
        if words and document is not None and len(document) < SEARCH_DOCUMENT_MAX:
            self._state.ticket_search[message.ticket_id] = f"{document} {words}"[
                :SEARCH_DOCUMENT_MAX
            ]
        stored = self._messages[message.id]
        return MessageView(stored, _user_name(self._state, stored.author_id))

    def list(
        self, ticket_id: uuid.UUID, include_internal: bool, with_attachments: bool = True
    ) -> Sequence[MessageView]:
        messages = _by_time(
            [
                m
                for m in self._messages.values()
                if m.ticket_id == ticket_id
                and (include_internal or m.visibility is MessageVisibility.PUBLIC)
            ]
        )
        attached: dict[uuid.UUID, list[AttachmentReference]] = {}
        if with_attachments:
            for reference in _by_time(list(self._state.attachments.values())):
                if reference.ticket_id == ticket_id and reference.message_id is not None:
                    attached.setdefault(reference.message_id, []).append(reference)
        return [
            MessageView(
                attrs.evolve(m, attachments=tuple(attached.get(m.id, ()))),
                _user_name(self._state, m.author_id),
            )
            for m in messages
        ]


class MemoryAttachmentRepository:
    """Attachment references by id."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._attachments = state.attachments

    def add(self, attachment: AttachmentReference) -> None:
        if attachment.id in self._attachments:
            raise Conflict("an attachment with this id already exists")
        if attachment.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        if attachment.message_id is not None and attachment.message_id not in self._state.messages:
            raise Conflict("no such message")
        if attachment.uploaded_by not in self._state.users:
            raise Conflict("no such user")
        self._attachments[attachment.id] = attrs.evolve(
            attachment, created_at=utc(attachment.created_at)
        )

    def list(self, ticket_id: uuid.UUID) -> Sequence[AttachmentReference]:
        return _by_time([a for a in self._attachments.values() if a.ticket_id == ticket_id])

    def get(self, attachment_id: uuid.UUID) -> AttachmentReference | None:
        return self._attachments.get(attachment_id)


# ---------------------------------------------------------------- history


class MemoryTicketHistoryRepository:
    """History entries by id."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._history = state.history

    def add(self, entry: HistoryEntry) -> None:
        if entry.id in self._history:
            raise Conflict("a history entry with this id already exists")
        if entry.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        if entry.actor_id is not None and entry.actor_id not in self._state.users:
            raise Conflict("no such user")
        self._history[entry.id] = attrs.evolve(entry, created_at=utc(entry.created_at))

    def list(self, ticket_id: uuid.UUID) -> Sequence[HistoryView]:
        entries = _by_time([e for e in self._history.values() if e.ticket_id == ticket_id])
        return [HistoryView(e, _user_name(self._state, e.actor_id)) for e in entries]


# ---------------------------------------------------------------- idempotency


class MemoryIdempotencyRepository:
    """Records by (user id, key); a second use of a key is refused."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._records = state.idempotency

    def get(self, user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        return self._records.get((user_id, key))

    def add(self, record: IdempotencyRecord) -> None:
        if (record.user_id, record.key) in self._records:
            raise Conflict("this Idempotency-Key was already used")
        if record.user_id not in self._state.users:
            raise Conflict("no such user")
        if record.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        self._records[(record.user_id, record.key)] = attrs.evolve(
            record, created_at=utc(record.created_at)
        )
