"""The statements the ticket repositories run on the hot paths, and their row mappers.

Reading a ticket (by id, for update, by number), its messages, attachments and history, and
writing them (the inserts, the ticket's update, the next number, the queue's counts): each
statement is built once, with bound parameters, and run as a ``CompiledStatement``
(adapters/sql/compiled.py): building a SELECT and its cache key costs more than running it on
an indexed table. A row and what follows from it go in one statement on PostgreSQL (a data-
modifying CTE: a ticket and its search document, a message and its words).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from adapters.sql.sla_tables import CLOCK_COLUMNS
from adapters.sql.tables import (
    attachment_references,
    departments,
    sla_clocks,
    teams,
    ticket_history,
    ticket_messages,
    ticket_number_seq,
    ticket_search,
    tickets,
    users,
)
from helpdesk_core.domain.entities import AttachmentReference, HistoryEntry, Ticket, TicketMessage
from helpdesk_core.domain.search import SEARCH_DOCUMENT_MAX
from helpdesk_core.domain.values import (
    OPEN_STATUSES,
    Channel,
    MessageVisibility,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.domain.views import TicketNames, TicketView

# ---------------------------------------------------------------- rows


def ticket_from_row(row: Any) -> Ticket:
    return Ticket(
        id=row.id,
        number=row.number,
        subject=row.subject,
        description=row.description,
        requester_id=row.requester_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=TicketStatus(row.status),
        priority=TicketPriority(row.priority),
        department_id=row.department_id,
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        closed_at=row.closed_at,
        version=row.version,
        sla_policy_id=row.sla_policy_id,
        sla_due_at=row.sla_due_at,
        sla_warn_at=row.sla_warn_at,
        sla_paused=bool(row.sla_paused),
        source=Channel(row.source),
        tags=tuple(row.tags) if row.tags else (),
    )


def _name(column: sa.Column[Any], key: sa.Column[Any], refers: sa.Column[Any]) -> Any:
    return sa.select(column).where(key == refers).scalar_subquery()


# The names a ticket refers to, read with it: scalar subqueries by primary key, which
# PostgreSQL evaluates only for the rows a page returns (after its sort and limit), so the
# list's plan (which index it walks) is the plan without them.
TICKET_NAMES = (
    _name(users.c.display_name, users.c.id, tickets.c.requester_id).label("requester_name"),
    _name(users.c.display_name, users.c.id, tickets.c.assignee_id).label("assignee_name"),
    _name(departments.c.name, departments.c.id, tickets.c.department_id).label("department_name"),
    _name(teams.c.name, teams.c.id, tickets.c.team_id).label("team_name"),
)


def _value(table: sa.Table, name: str) -> Any:
    """The value bound for ``table``'s column ``name`` by a write of it."""
    return sa.bindparam(name, type_=table.c[name].type)


# The same names, of the values a write binds: what an insert returns with its row (PostgreSQL:
# in its RETURNING, one round trip; SQLite: ``TICKET_NAMES_OF_VALUES`` after it).
_NAMES_OF_VALUES = (
    _name(users.c.display_name, users.c.id, _value(tickets, "requester_id")).label(
        "requester_name"
    ),
    _name(users.c.display_name, users.c.id, _value(tickets, "assignee_id")).label("assignee_name"),
    _name(departments.c.name, departments.c.id, _value(tickets, "department_id")).label(
        "department_name"
    ),
    _name(teams.c.name, teams.c.id, _value(tickets, "team_id")).label("team_name"),
)
_AUTHOR_OF_VALUES = _name(
    users.c.display_name, users.c.id, _value(ticket_messages, "author_id")
).label("author_name")


def names_from_row(row: Any) -> TicketNames:
    return TicketNames(
        requester=row.requester_name,
        assignee=row.assignee_name,
        department=row.department_name,
        team=row.team_name,
    )


def view_from_row(row: Any) -> TicketView:
    return TicketView(ticket_from_row(row), names_from_row(row))


# What an update may change: the opening fields are written once, by ``add``.
TICKET_CHANGEABLE = (
    "status",
    "priority",
    "department_id",
    "team_id",
    "assignee_id",
    "updated_at",
    "closed_at",
    "version",
)


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    """The values of what an update may change (``TICKET_CHANGEABLE``)."""
    return {name: getattr(ticket, name) for name in TICKET_CHANGEABLE}


# What the service-level clocks come to: written with the new ticket, then only by ``set_sla``.
TICKET_SLA = ("sla_policy_id", "sla_due_at", "sla_warn_at", "sla_paused")


def ticket_sla_values(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in TICKET_SLA}


def attachment_from_row(row: Any) -> AttachmentReference:
    return AttachmentReference(
        id=row.id,
        ticket_id=row.ticket_id,
        message_id=row.message_id,
        url=row.url,
        filename=row.filename,
        mime_type=row.mime_type,
        size_bytes=row.size_bytes,
        checksum=row.checksum,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        blob_key=row.blob_key,
    )


def message_from_row(row: Any, attachments: tuple[AttachmentReference, ...] = ()) -> TicketMessage:
    return TicketMessage(
        id=row.id,
        ticket_id=row.ticket_id,
        author_id=row.author_id,
        body=row.body,
        visibility=MessageVisibility(row.visibility),
        created_at=row.created_at,
        attachments=attachments,
        source=Channel(row.source),
        automatic=bool(row.automatic),
    )


def history_from_row(row: Any) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        ticket_id=row.ticket_id,
        actor_id=row.actor_id,
        field=row.field,
        old_value=row.old_value,
        new_value=row.new_value,
        created_at=row.created_at,
        group_id=row.group_id,
    )


# ---------------------------------------------------------------- reading

_TICKET_SELECT = sa.select(tickets, *TICKET_NAMES).where(tickets.c.id == sa.bindparam("id"))
TICKET = CompiledStatement(_TICKET_SELECT, prepare=True)
TICKET_FOR_UPDATE = CompiledStatement(_TICKET_SELECT.with_for_update(), prepare=True)
# By the unique number (uq_tickets_number): a key lookup, one plan for every value.
TICKET_BY_NUMBER = CompiledStatement(
    sa.select(tickets, *TICKET_NAMES).where(tickets.c.number == sa.bindparam("number")),
    prepare=True,
)
_MESSAGES_SELECT = (
    sa.select(
        ticket_messages,
        _name(users.c.display_name, users.c.id, ticket_messages.c.author_id).label("author_name"),
    )
    .where(ticket_messages.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(ticket_messages.c.created_at, ticket_messages.c.id)
)
MESSAGES = CompiledStatement(_MESSAGES_SELECT, prepare=True)
PUBLIC_MESSAGES = CompiledStatement(
    _MESSAGES_SELECT.where(ticket_messages.c.visibility == MessageVisibility.PUBLIC),
    prepare=True,
)
_ATTACHMENTS_SELECT = (
    sa.select(attachment_references)
    .where(attachment_references.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(attachment_references.c.created_at, attachment_references.c.id)
)
ATTACHMENTS = CompiledStatement(_ATTACHMENTS_SELECT, prepare=True)
ATTACHMENT = CompiledStatement(
    sa.select(attachment_references).where(
        attachment_references.c.id == sa.bindparam("attachment_id")
    ),
    prepare=True,
)
MESSAGE_ATTACHMENTS = CompiledStatement(
    _ATTACHMENTS_SELECT.where(attachment_references.c.message_id.is_not(None)),
    prepare=True,
)
HISTORY = CompiledStatement(
    sa.select(
        ticket_history,
        _name(users.c.display_name, users.c.id, ticket_history.c.actor_id).label("actor_name"),
    )
    .where(ticket_history.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(ticket_history.c.created_at, ticket_history.c.id),
    prepare=True,
)


def _queue(routed: bool) -> sa.ColumnElement[bool]:
    """The tickets of one department (``department_id``), or the unrouted ones."""
    column = tickets.c.department_id
    return column == sa.bindparam("department_id") if routed else column.is_(None)


# A queue's counts, by "routed" (one department's, or the unrouted tickets'). Not prepared:
# a department's share of the tickets may change the best plan.
QUEUE_BY_STATUS = {
    routed: CompiledStatement(
        sa.select(tickets.c.status, sa.func.count())
        .where(_queue(routed))
        .group_by(tickets.c.status)
    )
    for routed in (True, False)
}
QUEUE_OPEN_WORK = {
    routed: CompiledStatement(
        sa.select(tickets.c.priority, tickets.c.assignee_id, sa.func.count())
        .where(_queue(routed), tickets.c.status.in_(OPEN_STATUSES))
        .group_by(tickets.c.priority, tickets.c.assignee_id)
    )
    for routed in (True, False)
}

# ---------------------------------------------------------------- writing

NEXT_NUMBER = CompiledStatement(sa.select(ticket_number_seq.next_value()), prepare=True)
# The values come with each execution.
INSERT_TICKET = CompiledStatement(sa.insert(tickets), prepare=True)
TICKET_NAMES_OF_VALUES = CompiledStatement(sa.select(*_NAMES_OF_VALUES), prepare=True)  # SQLite
AUTHOR_OF_VALUES = CompiledStatement(sa.select(_AUTHOR_OF_VALUES), prepare=True)  # SQLite
INSERT_SEARCH = CompiledStatement(sa.insert(ticket_search), prepare=True)
INSERT_MESSAGE = CompiledStatement(sa.insert(ticket_messages), prepare=True)
INSERT_ATTACHMENT = CompiledStatement(sa.insert(attachment_references), prepare=True)
INSERT_HISTORY = CompiledStatement(sa.insert(ticket_history), prepare=True)
_TICKET_COLUMNS = (
    "id",
    "number",
    "subject",
    "description",
    "requester_id",
    "created_at",
    "source",
    *TICKET_CHANGEABLE,
    *TICKET_SLA,
)
_MESSAGE_COLUMNS = (
    "id",
    "ticket_id",
    "author_id",
    "body",
    "visibility",
    "created_at",
    "source",
    "automatic",
)
INSERT_NAMED_MESSAGE = CompiledStatement(  # PostgreSQL: the author's name comes back with it
    sa.insert(ticket_messages)
    .values({name: _value(ticket_messages, name) for name in _MESSAGE_COLUMNS})
    .returning(_AUTHOR_OF_VALUES),
    prepare=True,
    values_per_call=False,
)


def _inserted(table: sa.Table, names: Sequence[str], returning: str) -> sa.CTE:
    """A CTE that inserts one row of ``table`` from the values bound by the column names and
    returns its ``returning`` column. On PostgreSQL a row and what follows from it go in one
    statement (one round trip): the row's foreign keys and unique constraints are checked as
    in an INSERT of its own, and name the same constraints when they refuse it."""
    values = {name: sa.bindparam(name, type_=table.c[name].type) for name in names}
    return sa.insert(table).values(values).returning(table.c[returning]).cte(f"new_{table.name}")


def _insert_ticket_and_search() -> sa.Insert:
    new = _inserted(tickets, _TICKET_COLUMNS, "id")
    document = sa.bindparam("document", type_=ticket_search.c.document.type)
    return (
        sa.insert(ticket_search)
        .from_select(["ticket_id", "document"], sa.select(new.c.id, document))
        .returning(*_NAMES_OF_VALUES)
    )


INSERT_TICKET_AND_SEARCH = CompiledStatement(
    _insert_ticket_and_search(), prepare=True, values_per_call=False
)  # PostgreSQL
# A new ticket's clocks, as its INSERT binds them (the ticket's id comes from its CTE).
CLOCK_VALUES = tuple(name for name in CLOCK_COLUMNS if name != "ticket_id")


def _insert_ticket_search_and_clocks(count: int) -> sa.Insert:
    """``_insert_ticket_and_search`` with the new ticket's first ``count`` service-level
    clocks, each row selected from the ticket's CTE (the i-th clock's values bound as
    ``clock_<column>_<i>``): a ticket opened under a policy is still one statement."""
    new = _inserted(tickets, _TICKET_COLUMNS, "id")
    rows = [
        sa.select(
            new.c.id,
            *(
                sa.bindparam(f"clock_{name}_{i}", type_=sla_clocks.c[name].type)
                for name in CLOCK_VALUES
            ),
        )
        for i in range(count)
    ]
    clocks = (
        sa.insert(sla_clocks)
        .from_select(["ticket_id", *CLOCK_VALUES], sa.union_all(*rows) if count > 1 else rows[0])
        .returning(sla_clocks.c.ticket_id)
        .cte("new_clocks")
    )
    document = sa.bindparam("document", type_=ticket_search.c.document.type)
    return (
        sa.insert(ticket_search)
        .from_select(["ticket_id", "document"], sa.select(new.c.id, document))
        .returning(*_NAMES_OF_VALUES)
        .add_cte(clocks)
    )


INSERT_TICKET_SEARCH_AND_CLOCKS = {  # PostgreSQL: a ticket and its first clocks (1 to 3)
    count: CompiledStatement(
        _insert_ticket_search_and_clocks(count), prepare=True, values_per_call=False
    )
    for count in (1, 2, 3)
}
_APPENDED_DOCUMENT = sa.func.substr(  # a message's words join its ticket's document, up to the cap
    ticket_search.c.document + " " + sa.bindparam("words", type_=sa.String()),
    1,
    SEARCH_DOCUMENT_MAX,
)
APPEND_SEARCH = CompiledStatement(
    sa.update(ticket_search)
    .where(
        ticket_search.c.ticket_id == sa.bindparam("for_ticket"),
        sa.func.length(ticket_search.c.document) < SEARCH_DOCUMENT_MAX,
    )
    .values(document=_APPENDED_DOCUMENT),
    prepare=True,
)


def _insert_message_and_words() -> sa.Update:
    """The message, and its words appended to its ticket's document (``APPEND_SEARCH``);
    the author's name comes back, unless the document was full (no row updated)."""
    new = _inserted(ticket_messages, _MESSAGE_COLUMNS, "ticket_id")
    return (
        sa.update(ticket_search)
        .where(
            ticket_search.c.ticket_id == new.c.ticket_id,
            sa.func.length(ticket_search.c.document) < SEARCH_DOCUMENT_MAX,
        )
        .values(document=_APPENDED_DOCUMENT)
        .returning(_AUTHOR_OF_VALUES)
    )


INSERT_MESSAGE_AND_WORDS = CompiledStatement(
    _insert_message_and_words(), prepare=True, values_per_call=False
)  # PostgreSQL
SET_TICKET_SLA = CompiledStatement(
    sa.update(tickets)
    .where(tickets.c.id == sa.bindparam("id_"))
    .values({name: sa.bindparam(f"new_{name}", type_=tickets.c[name].type) for name in TICKET_SLA}),
    prepare=True,
)
SET_TICKET_TAGS = CompiledStatement(  # the names a ticket shows, its version unchanged
    sa.update(tickets)
    .where(tickets.c.id == sa.bindparam("id_"))
    .values(tags=sa.bindparam("new_tags", type_=tickets.c.tags.type)),
    prepare=True,
)
UPDATE_TICKET = CompiledStatement(  # what an update may change (ticket_values), at its version
    sa.update(tickets)
    .where(
        tickets.c.id == sa.bindparam("id_"),
        tickets.c.version == sa.bindparam("read_version"),
    )
    .values(
        {
            name: sa.bindparam(f"new_{name}", type_=tickets.c[name].type)
            for name in TICKET_CHANGEABLE
        }
    ),
    prepare=True,
)
