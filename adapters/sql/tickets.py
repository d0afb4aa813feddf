"""SQL ticket repositories: tickets, messages, history, attachments.

The conventions of ``adapters.sql`` hold here too (its package docstring): each repository
takes the transaction's Connection, a refused write becomes Conflict naming the broken rule
(``adapters.sql.refusals``), rows are mapped by explicit ``*_from_row`` functions, and an
update names the version it read (StaleVersion otherwise).

The ticket repositories run on every request: their statements are built once
(``adapters.sql.ticket_statements``; the lists per shape, ``adapters.sql.ticket_lists``) and
run as compiled statements. The search document and its index: ``adapters.sql.ticket_search``;
the idempotency records: ``adapters.sql.idempotency``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from adapters.sql.counters import SqlCounterRepository
from adapters.sql.idempotency import SqlIdempotencyRepository
from adapters.sql.refusals import (
    Refusal,
    Refusals,
    primary_key,
    reference,
    refused_as_conflict,
    team_misplaced,
    unique,
)
from adapters.sql.sla import SqlSlaClockRepository
from adapters.sql.tables import (
    attachment_references,
    ticket_history,
    ticket_messages,
    ticket_search,
    tickets,
)
from adapters.sql.ticket_lists import read_page, ticket_list_query
from adapters.sql.ticket_search import FEW_MATCHES, MATCH_COUNTS, MatchCounts, search_probe_query
from adapters.sql.ticket_statements import (
    APPEND_SEARCH,
    ATTACHMENT,
    ATTACHMENTS,
    AUTHOR_OF_VALUES,
    CLOCK_VALUES,
    HISTORY,
    INSERT_ATTACHMENT,
    INSERT_HISTORY,
    INSERT_MESSAGE,
    INSERT_MESSAGE_AND_WORDS,
    INSERT_NAMED_MESSAGE,
    INSERT_SEARCH,
    INSERT_TICKET,
    INSERT_TICKET_AND_SEARCH,
    INSERT_TICKET_SEARCH_AND_CLOCKS,
    MESSAGE_ATTACHMENTS,
    MESSAGES,
    NEXT_NUMBER,
    PUBLIC_MESSAGES,
    QUEUE_BY_STATUS,
    QUEUE_OPEN_WORK,
    SET_TICKET_SLA,
    SET_TICKET_TAGS,
    TICKET,
    TICKET_BY_NUMBER,
    TICKET_FOR_UPDATE,
    TICKET_NAMES_OF_VALUES,
    UPDATE_TICKET,
    attachment_from_row,
    history_from_row,
    message_from_row,
    names_from_row,
    ticket_sla_values,
    ticket_values,
    view_from_row,
)
from helpdesk_core.domain.entities import AttachmentReference, HistoryEntry, Ticket, TicketMessage
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.search import new_search_document, search_text, search_words
from helpdesk_core.domain.sla import SlaClock, TicketSla
from helpdesk_core.domain.values import TicketPriority, TicketStatus
from helpdesk_core.domain.views import HistoryView, MessageView, TicketView
from helpdesk_core.ports.tickets import QueueCounts, TicketPage, TicketQuery, TicketSort
from helpdesk_core.ports.uow import TICKET_NUMBER_COUNTER

__all__ = [
    "FEW_MATCHES",
    "MATCH_COUNTS",
    "MatchCounts",
    "SqlAttachmentRepository",
    "SqlIdempotencyRepository",
    "SqlTicketHistoryRepository",
    "SqlTicketMessageRepository",
    "SqlTicketRepository",
    "search_probe_query",
    "ticket_list_query",
]

# ---------------------------------------------------------------- what a write can break


# The routing of a ticket, which an update may change too. The composite key cannot tell an
# unknown team from one of another department: its probe can (adapters.sql.refusals).
_ROUTING: tuple[Refusal[Ticket], ...] = (
    reference(tickets.c.department_id, "no such department"),
    Refusal(
        "fk_tickets_team_in_department",
        "no such team, or the team belongs to another department",
        team_misplaced,
    ),
    Refusal(
        "ck_tickets_team_needs_department",
        "a ticket needs a department to have a team",
        lambda _, t: t.team_id is not None and t.department_id is None,
    ),
    reference(tickets.c.assignee_id, "no such staff member"),
)
# The ticket's writes take no savepoint: on PostgreSQL a refusal ends the transaction, which
# then holds nothing worth keeping (the use case fails with it).
_TICKET_ADDED = Refusals[Ticket](
    "ticket",
    (
        primary_key(tickets, "a ticket with this id already exists"),
        primary_key(ticket_search, "a ticket with this id already exists", value=lambda t: t.id),
        unique(tickets.c.number, lambda t: f"a ticket numbered {t.number} already exists"),
        reference(tickets.c.requester_id, "no such user"),
        *_ROUTING,
    ),
    savepoint=False,
)
_TICKET_UPDATED = Refusals[Ticket]("ticket", _ROUTING, savepoint=False)
_MESSAGE_ADDED = Refusals[TicketMessage](
    "message",
    (
        primary_key(ticket_messages, "a message with this id already exists"),
        reference(ticket_messages.c.ticket_id, "no such ticket"),
        reference(ticket_messages.c.author_id, "no such user"),
    ),
    savepoint=False,
)
_ATTACHMENT_ADDED = Refusals[AttachmentReference](
    "attachment",
    (
        primary_key(attachment_references, "an attachment with this id already exists"),
        reference(attachment_references.c.ticket_id, "no such ticket"),
        reference(attachment_references.c.message_id, "no such message"),
        reference(attachment_references.c.uploaded_by, "no such user"),
    ),
)
_HISTORY_ADDED = Refusals[HistoryEntry](
    "history entry",
    (
        primary_key(ticket_history, "a history entry with this id already exists"),
        reference(ticket_history.c.ticket_id, "no such ticket"),
        reference(ticket_history.c.actor_id, "no such user"),
    ),
    savepoint=False,
)


# ---------------------------------------------------------------- tickets


class SqlTicketRepository:
    """Tickets and their search documents; numbers from a sequence (PostgreSQL) or counter."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def next_number(self) -> int:
        if self._connection.dialect.name == "postgresql":
            # No row lock held until commit: concurrent openings do not wait for each other.
            return int(NEXT_NUMBER.scalar(self._connection))
        return SqlCounterRepository(self._connection).next_value(TICKET_NUMBER_COUNTER)

    def add(self, ticket: Ticket, clocks: Sequence[SlaClock] = ()) -> TicketView:
        values = {
            "id": ticket.id,
            "number": ticket.number,
            "subject": ticket.subject,
            "description": ticket.description,
            "requester_id": ticket.requester_id,
            "created_at": ticket.created_at,
            "source": ticket.source,
            **ticket_values(ticket),
            **ticket_sla_values(ticket),
        }
        document = new_search_document(ticket)
        with_clocks = INSERT_TICKET_SEARCH_AND_CLOCKS.get(len(clocks))
        with refused_as_conflict(self._connection, _TICKET_ADDED, ticket):
            if self._connection.dialect.name == "postgresql":  # the names in its RETURNING
                bound = {**values, "document": document}
                if clocks and with_clocks is not None:
                    for i, clock in enumerate(clocks):
                        bound.update(
                            (f"clock_{name}_{i}", getattr(clock, name)) for name in CLOCK_VALUES
                        )
                    names = with_clocks.first(self._connection, bound)
                    clocks = ()
                else:
                    names = INSERT_TICKET_AND_SEARCH.first(self._connection, bound)
            else:
                INSERT_TICKET.execute(self._connection, values)
                INSERT_SEARCH.execute(
                    self._connection, {"ticket_id": ticket.id, "document": document}
                )
                names = TICKET_NAMES_OF_VALUES.first(self._connection, values)
        if clocks:
            SqlSlaClockRepository(self._connection).add(clocks)
        return TicketView(ticket, names_from_row(names))

    def get(self, ticket_id: uuid.UUID, for_update: bool = False) -> TicketView | None:
        # SQLite renders no FOR UPDATE: BEGIN IMMEDIATE already serializes.
        query = TICKET_FOR_UPDATE if for_update else TICKET
        row = query.first(self._connection, {"id": ticket_id})
        return view_from_row(row) if row is not None else None

    def get_by_number(self, number: int) -> TicketView | None:
        row = TICKET_BY_NUMBER.first(self._connection, {"number": number})
        return view_from_row(row) if row is not None else None

    def update(self, ticket: Ticket) -> None:
        values = {f"new_{name}": value for name, value in ticket_values(ticket).items()}
        values.update(id_=ticket.id, read_version=ticket.version - 1)
        with refused_as_conflict(self._connection, _TICKET_UPDATED, ticket):
            matched = UPDATE_TICKET.execute(self._connection, values)
        if matched != 1:
            raise stale_version("ticket", ticket.version)

    def set_tags(self, ticket_id: uuid.UUID, names: Sequence[str]) -> None:
        SET_TICKET_TAGS.execute(self._connection, {"id_": ticket_id, "new_tags": list(names)})

    def set_sla(self, ticket_id: uuid.UUID, sla: TicketSla) -> None:
        SET_TICKET_SLA.execute(
            self._connection,
            {
                "id_": ticket_id,
                "new_sla_policy_id": sla.policy_id,
                "new_sla_due_at": sla.due_at,
                "new_sla_warn_at": sla.warn_at,
                "new_sla_paused": sla.paused,
            },
        )

    def list(self, query: TicketQuery) -> TicketPage:
        statement, params = self.list_statement(query)
        return read_page(self._connection, query, statement, params)

    def list_statement(self, query: TicketQuery) -> tuple[sa.Select[Any], dict[str, Any]]:
        """The SELECT ``list`` runs for ``query`` and its values (on PostgreSQL, a text search
        first counts its matches to choose where the plan starts).

        ``MATCH_COUNTS`` and ``FEW_MATCHES`` are read from this module at each search: the
        tests replace them here."""
        dialect = self._connection.dialect.name
        few_matches = False
        if (
            dialect == "postgresql"
            and search_words(query.text or "")
            and query.sort is not TicketSort.RELEVANCE  # ranks every match anyway
        ):
            text = " ".join(search_words(query.text or ""))
            few_matches = MATCH_COUNTS.count(self._connection, text) <= FEW_MATCHES
        return ticket_list_query(query, dialect, few_matches=few_matches)

    def queue_counts(self, department_id: uuid.UUID | None) -> QueueCounts:
        routed = department_id is not None
        params = {"department_id": department_id} if routed else {}
        by_status = dict.fromkeys((s.value for s in TicketStatus), 0)
        for status, count in QUEUE_BY_STATUS[routed].all(self._connection, params):
            by_status[TicketStatus(status).value] = int(count)
        by_priority = dict.fromkeys((p.value for p in TicketPriority), 0)
        unassigned = 0
        by_assignee: dict[str, int] = {}
        for priority, assignee_id, count in QUEUE_OPEN_WORK[routed].all(self._connection, params):
            by_priority[TicketPriority(priority).value] += count
            if assignee_id is None:
                unassigned += count
            else:
                by_assignee[str(assignee_id)] = by_assignee.get(str(assignee_id), 0) + count
        return QueueCounts(
            by_status=by_status,
            open_by_priority=by_priority,
            open_unassigned=unassigned,
            open_by_assignee=by_assignee,
        )


# ---------------------------------------------------------------- messages and attachments


class SqlTicketMessageRepository:
    """The conversation; adding a message adds its words to the ticket's search document."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, message: TicketMessage) -> MessageView:
        values = {
            "id": message.id,
            "ticket_id": message.ticket_id,
            "author_id": message.author_id,
            "body": message.body,
            "visibility": message.visibility,
            "created_at": message.created_at,
            "source": message.source,
            "automatic": message.automatic,
        }
        words = search_text(message.body)
        postgresql = self._connection.dialect.name == "postgresql"
        named = None  # on PostgreSQL the author's name comes back with the write
        with refused_as_conflict(self._connection, _MESSAGE_ADDED, message):
            if words and postgresql:
                named = INSERT_MESSAGE_AND_WORDS.first(self._connection, {**values, "words": words})
            elif postgresql:
                named = INSERT_NAMED_MESSAGE.first(self._connection, values)
            else:
                INSERT_MESSAGE.execute(self._connection, values)
        if words and not postgresql:
            APPEND_SEARCH.execute(
                self._connection, {"for_ticket": message.ticket_id, "words": words}
            )
        if named is not None:
            author = named.author_name
        else:  # SQLite, or a document already full (no row of it updated)
            author = AUTHOR_OF_VALUES.scalar(self._connection, values)
        return MessageView(attrs.evolve(message, attachments=()), author)

    def list(
        self, ticket_id: uuid.UUID, include_internal: bool, with_attachments: bool = True
    ) -> Sequence[MessageView]:
        query = MESSAGES if include_internal else PUBLIC_MESSAGES
        rows = query.all(self._connection, {"ticket_id": ticket_id})
        attached: dict[uuid.UUID, list[AttachmentReference]] = {}
        if rows and with_attachments:
            for row in MESSAGE_ATTACHMENTS.all(self._connection, {"ticket_id": ticket_id}):
                attached.setdefault(row.message_id, []).append(attachment_from_row(row))
        return [
            MessageView(message_from_row(row, tuple(attached.get(row.id, ()))), row.author_name)
            for row in rows
        ]


class SqlAttachmentRepository:
    """References to files stored elsewhere, of a ticket or one of its messages."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, attachment: AttachmentReference) -> None:
        values = {
            "id": attachment.id,
            "ticket_id": attachment.ticket_id,
            "message_id": attachment.message_id,
            "uploaded_by": attachment.uploaded_by,
            "url": attachment.url,
            "filename": attachment.filename,
            "mime_type": attachment.mime_type,
            "size_bytes": attachment.size_bytes,
            "checksum": attachment.checksum,
            "created_at": attachment.created_at,
            "blob_key": attachment.blob_key,
        }
        with refused_as_conflict(self._connection, _ATTACHMENT_ADDED, attachment):
            INSERT_ATTACHMENT.execute(self._connection, values)

    def list(self, ticket_id: uuid.UUID) -> Sequence[AttachmentReference]:
        rows = ATTACHMENTS.all(self._connection, {"ticket_id": ticket_id})
        return [attachment_from_row(row) for row in rows]

    def get(self, attachment_id: uuid.UUID) -> AttachmentReference | None:
        row = ATTACHMENT.first(self._connection, {"attachment_id": attachment_id})
        return None if row is None else attachment_from_row(row)


# ---------------------------------------------------------------- history


class SqlTicketHistoryRepository:
    """One row per changed field."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, entry: HistoryEntry) -> None:
        values = {
            "id": entry.id,
            "ticket_id": entry.ticket_id,
            "actor_id": entry.actor_id,
            "field": entry.field,
            "old_value": entry.old_value,
            "new_value": entry.new_value,
            "created_at": entry.created_at,
        }
        if entry.group_id is not None:  # bound only then: every other write's statement as before
            values["group_id"] = entry.group_id
        with refused_as_conflict(self._connection, _HISTORY_ADDED, entry):
            INSERT_HISTORY.execute(self._connection, values)

    def list(self, ticket_id: uuid.UUID) -> Sequence[HistoryView]:
        rows = HISTORY.all(self._connection, {"ticket_id": ticket_id})
        return [HistoryView(history_from_row(row), row.actor_name) for row in rows]
