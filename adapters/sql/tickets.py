"""SQL ticket repositories: tickets, messages, history, attachments, idempotency records.

The conventions of ``adapters.sql.repositories`` hold here too: each repository takes the
transaction's Connection, writes that can break a constraint run in a SAVEPOINT and become
Conflict naming the broken rule, rows are mapped by explicit ``_x_from_row`` functions, and an
update names the version it read (StaleVersion otherwise).

Text search reads ``ticket_search``: one document per ticket, the words of its subject,
description and messages, lower-cased and separated by single spaces (the rules are the core's,
``helpdesk_core.domain.search``). The repositories keep it; the dialect indexes it (migration
0002): PostgreSQL matches a generated tsvector ('simple' configuration, GIN index) and ranks
with ts_rank, SQLite matches a contentless FTS5 table (rowid = ticket number) and ranks with
bm25. Because the document holds only those words, both engines (and the memory store) split it
into the same words.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

import sqlalchemy as sa

from adapters.sql.lean import Lean
from adapters.sql.repositories import SqlCounterRepository
from adapters.sql.shared import exists, refused_as_conflict
from adapters.sql.tables import (
    UTCDateTime,
    attachment_references,
    departments,
    idempotency_keys,
    staff_members,
    teams,
    ticket_history,
    ticket_messages,
    ticket_number_seq,
    ticket_search,
    tickets,
    users,
)
from helpdesk_core.domain.entities import (
    AttachmentReference,
    HistoryEntry,
    Ticket,
    TicketMessage,
)
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.search import (
    SEARCH_DOCUMENT_MAX,
    new_search_document,
    search_text,
    search_words,
)
from helpdesk_core.domain.values import (
    OPEN_STATUSES,
    MessageVisibility,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.ports.tickets import (
    IdempotencyRecord,
    QueueCounts,
    TicketPage,
    TicketQuery,
    TicketSort,
    sort_key,
)
from helpdesk_core.ports.uow import TICKET_NUMBER_COUNTER

# ---------------------------------------------------------------- the search document

# The document's rules (words, cap) are the core's: helpdesk_core.domain.search.

# PostgreSQL: a text search with at most this many matches starts from the GIN index; with
# more, the planner may walk an order's index instead (it soon finds a page of matches).
FEW_MATCHES = 1000


# ---------------------------------------------------------------- tickets


def _ticket_from_row(row: Any) -> Ticket:
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
    )


# What an update may change: the opening fields are written once, by ``add``.
_TICKET_CHANGEABLE = (
    "status",
    "priority",
    "department_id",
    "team_id",
    "assignee_id",
    "updated_at",
    "closed_at",
    "version",
)


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    """The values of what an update may change (``_TICKET_CHANGEABLE``)."""
    return {name: getattr(ticket, name) for name in _TICKET_CHANGEABLE}


# The priority's rank (TicketPriority.rank) in SQL, for the priority orders.
_PRIORITY_RANK = sa.case(
    {priority.value: priority.rank for priority in TicketPriority},
    value=tickets.c.priority,
)

# Where the dialects keep their full-text index (made by the migration, outside the metadata).
_PG_SEARCH = sa.table("ticket_search", sa.column("ticket_id", sa.Uuid()), sa.column("document_tsv"))
_SQLITE_SEARCH = sa.table("ticket_search_fts", sa.column("rowid", sa.BigInteger()))
_SQLITE_SEARCH_NAME: sa.ColumnClause[Any] = sa.literal_column("ticket_search_fts")


class _Shape(NamedTuple):
    """What the SQL of a ticket list depends on; the values it binds do not change it.

    Statements are built once per shape (``_list_statement``) with bound parameters: building
    a SELECT and its cache key costs more than running it on an indexed table.
    """

    dialect: str
    scope: str  # "all", "nothing", or "routed", "unrouted", "routed+unrouted"
    requester: bool
    statuses: bool
    priorities: bool
    department: bool
    team: bool
    assignee: bool
    unassigned: bool
    created_from: bool
    created_to: bool
    search: bool
    few_matches: bool
    sort: TicketSort
    after: bool


def _scope(query: TicketQuery, params: dict[str, Any]) -> str:
    scope = query.visible_departments
    if scope is None:
        return "all"
    if query.department_id is not None:  # one department asked for: in scope, or nothing
        return "all" if query.department_id in scope else "nothing"
    routed = sorted({d for d in scope if d is not None})
    if routed:
        params["scope"] = routed
    kinds = [kind for kind, present in (("routed", routed), ("unrouted", None in scope)) if present]
    return "+".join(kinds) or "nothing"


def _scope_condition(kind: str) -> sa.ColumnElement[bool] | None:
    if kind == "all":
        return None
    parts: list[sa.ColumnElement[bool]] = []
    if "routed" in kind.split("+"):
        parts.append(tickets.c.department_id.in_(sa.bindparam("scope", expanding=True)))
    if "unrouted" in kind.split("+"):
        parts.append(tickets.c.department_id.is_(None))
    return sa.or_(*parts) if parts else sa.false()


def _filters(shape: _Shape) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    scope = _scope_condition(shape.scope)
    if scope is not None:
        conditions.append(scope)
    c = tickets.c
    equal = (
        (shape.requester, c.requester_id, "requester_id"),
        (shape.department, c.department_id, "department_id"),
        (shape.team, c.team_id, "team_id"),
        (shape.assignee, c.assignee_id, "assignee_id"),
    )
    conditions.extend(column == sa.bindparam(name) for wanted, column, name in equal if wanted)
    if shape.statuses:
        conditions.append(c.status.in_(sa.bindparam("statuses", expanding=True)))
    if shape.priorities:
        conditions.append(c.priority.in_(sa.bindparam("priorities", expanding=True)))
    if shape.unassigned:
        conditions.append(c.assignee_id.is_(None))
    if shape.created_from:
        conditions.append(c.created_at >= sa.bindparam("created_from"))
    if shape.created_to:
        conditions.append(c.created_at < sa.bindparam("created_to"))
    return conditions


def _effective_sort(query: TicketQuery, words: Sequence[str]) -> TicketSort:
    if query.sort is TicketSort.RELEVANCE and not words:
        return TicketSort.CREATED_DESC
    return query.sort


_TIME_SORTS = frozenset(
    {TicketSort.CREATED, TicketSort.CREATED_DESC, TicketSort.UPDATED, TicketSort.UPDATED_DESC}
)


def _keyset_types(sort: TicketSort) -> list[sa.types.TypeEngine[Any]]:
    """The types of the parts of a cursor (``after``) in ``sort``."""
    if sort in _TIME_SORTS:
        return [UTCDateTime(), sa.Uuid()]
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return [sa.Integer(), UTCDateTime(), sa.Uuid()]
    return [sa.Double(), sa.Uuid()]


def _keyset_columns(
    sort: TicketSort, cost: sa.ColumnElement[Any] | None
) -> list[sa.ColumnElement[Any]]:
    """The ordered key columns of ``sort`` (``cost``: the search's, for RELEVANCE)."""
    if sort in {TicketSort.CREATED, TicketSort.CREATED_DESC}:
        return [tickets.c.created_at, tickets.c.id]
    if sort in {TicketSort.UPDATED, TicketSort.UPDATED_DESC}:
        return [tickets.c.updated_at, tickets.c.id]
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return [_PRIORITY_RANK, tickets.c.created_at, tickets.c.id]
    assert cost is not None
    return [cost, tickets.c.id]


def _after_values(after: Sequence[Any], types: Sequence[sa.types.TypeEngine[Any]]) -> list[Any]:
    """The cursor's parts as the values they stand for (ISO strings become datetimes)."""
    values: list[Any] = []
    for part, type_ in zip(after, types, strict=True):
        if isinstance(type_, UTCDateTime):
            values.append(datetime.fromisoformat(part))
        elif isinstance(type_, sa.Uuid):
            values.append(uuid.UUID(str(part)))
        elif isinstance(type_, sa.Double):
            values.append(float(part))
        else:
            values.append(int(part))
    return values


def _pg_tsquery() -> sa.ColumnElement[Any]:
    return sa.func.plainto_tsquery(
        sa.literal_column("'simple'::regconfig"), sa.bindparam("q", type_=sa.String())
    )


_PROBE = sa.select(sa.func.count()).select_from(
    sa.select(sa.literal(1))
    .where(_PG_SEARCH.c.document_tsv.op("@@")(_pg_tsquery()))
    .limit(FEW_MATCHES + 1)
    .subquery("found")
)


_LEAN_PROBE = Lean(_PROBE)


class MatchCounts:
    """The probe's counts (up to ``FEW_MATCHES + 1``) by search text, per engine, kept for
    ``TTL`` seconds: a text searched again meanwhile costs no probe.

    The count only chooses where the plan starts; both plans give the same rows, so a count
    that moved meanwhile costs time, never a wrong answer. The probe of a common word is not
    cheap: after the benchmark's creates, "printer" was in 19,000 of 30,000 documents and its
    probe took 1.3 ms of PostgreSQL (docs/performance.md), against 0.12 ms for a rare word.
    The decision itself (``count <= FEW_MATCHES``) is made at each search.
    """

    TTL = 30.0
    SIZE = 4096  # texts per engine; the oldest goes first

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_engine: weakref.WeakKeyDictionary[sa.Engine, OrderedDict[str, tuple[int, float]]]
        self._by_engine = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def count(self, connection: sa.Connection, text: str) -> int:
        """How many documents match ``text``, up to ``FEW_MATCHES + 1``: kept, or probed."""
        engine, now = connection.engine, self.clock()
        with self._lock:
            counts = self._by_engine.get(engine)
            kept = counts.get(text) if counts is not None else None
        if kept is not None and kept[1] > now:
            return kept[0]
        _probe, probe_params = search_probe_query(text)
        count = int(_LEAN_PROBE.scalar(connection, probe_params))
        with self._lock:
            counts = self._by_engine.setdefault(engine, OrderedDict())
            counts.pop(text, None)
            counts[text] = (count, now + self.TTL)
            while len(counts) > self.SIZE:
                counts.popitem(last=False)
        return count


MATCH_COUNTS = MatchCounts()


def search_probe_query(text: str) -> tuple[sa.Select[Any], dict[str, Any]]:
    """PostgreSQL: how many tickets match ``text``, counted up to ``FEW_MATCHES + 1``; the
    statement and its values."""
    return _PROBE, {"q": " ".join(search_words(text))}


# PostgreSQL: the ids of the tickets whose document matches, as an array built before the
# tickets are read (an InitPlan, which the planner cannot turn into a join).
_PG_MATCH_IDS = sa.func.array(
    sa.select(_PG_SEARCH.c.ticket_id)
    .where(_PG_SEARCH.c.document_tsv.op("@@")(_pg_tsquery()))
    .scalar_subquery()
)


def _search_matches(dialect: str, ranked: bool) -> sa.FromClause:
    """(key, cost) of the matching tickets, the key alone unless ``ranked`` (the relevance
    order; other orders need no rank, and ranking reads every match's whole document): the
    ticket_id on PostgreSQL, the number on SQLite."""
    if dialect == "postgresql":
        tsquery = _pg_tsquery()
        columns: list[sa.ColumnElement[Any]] = [_PG_SEARCH.c.ticket_id.label("key")]
        if ranked:
            # ts_rank is a real; as a double it compares exactly with the cursor's float.
            cost: sa.ColumnElement[float] = sa.cast(
                -sa.func.ts_rank(_PG_SEARCH.c.document_tsv, tsquery, 1), sa.Double()
            )
            columns.append(cost.label("cost"))
        matches = sa.select(*columns).where(_PG_SEARCH.c.document_tsv.op("@@")(tsquery))
        return matches.subquery("matches")
    sqlite_columns: list[sa.ColumnElement[Any]] = [_SQLITE_SEARCH.c.rowid.label("key")]
    if ranked:
        sqlite_columns.append(sa.cast(sa.func.bm25(_SQLITE_SEARCH_NAME), sa.Double()).label("cost"))
    return (
        sa.select(*sqlite_columns)
        .where(_SQLITE_SEARCH_NAME.op("MATCH")(sa.bindparam("q", type_=sa.String())))
        .subquery("matches")
    )


@functools.lru_cache(maxsize=1024)
def _lean_list(statement: sa.Select[Any]) -> Lean:
    """The list statement of one shape, as a Lean (statements are cached per shape, so this
    holds one Lean per shape)."""
    return Lean(statement)


@functools.lru_cache(maxsize=1024)
def _list_statement(shape: _Shape) -> sa.Select[Any]:
    statement = sa.select(tickets)
    cost: sa.ColumnElement[Any] | None = None
    ranked = shape.sort is TicketSort.RELEVANCE
    if shape.search and shape.few_matches and not ranked:
        # Read the few matches from the GIN index first, then each ticket by its primary key:
        # at most FEW_MATCHES probes whatever the number of tickets. As a join (even fenced by
        # a materialized CTE) the planner may hash every ticket in scope, or walk an order's
        # index probing each ticket, as its estimate ignores how rarely (or never) the words
        # occur together. 846 matches on the benchmark's 10k seed: 5.8 ms as a join, 3.6 ms so.
        statement = statement.where(tickets.c.id == sa.any_(_PG_MATCH_IDS))
    elif shape.search:
        matches = _search_matches(shape.dialect, ranked)
        key = tickets.c.id if shape.dialect == "postgresql" else tickets.c.number
        statement = statement.join(matches, matches.c.key == key)
        if ranked:
            cost = matches.c.cost
            statement = statement.add_columns(cost.label("search_cost"))
    columns = _keyset_columns(shape.sort, cost)
    descending = shape.sort.value.startswith("-")
    statement = statement.where(*_filters(shape))
    if shape.after:
        types = _keyset_types(shape.sort)
        after = sa.tuple_(*(sa.bindparam(f"after_{i}", type_=t) for i, t in enumerate(types)))
        position = sa.tuple_(*columns)
        statement = statement.where(position < after if descending else position > after)
    order = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(*order).limit(sa.bindparam("limit", type_=sa.Integer()))


def ticket_list_query(
    query: TicketQuery, dialect: str, *, few_matches: bool = False
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The SELECT behind ``TicketRepository.list`` on ``dialect`` ("postgresql" or "sqlite"),
    and the values it binds.

    It asks for ``limit + 1`` rows (one more tells whether a next page exists); with text in
    the relevance order it also returns ``search_cost``, lower for a better match.
    ``few_matches`` (PostgreSQL, with text): the text matches at most FEW_MATCHES tickets
    (``search_probe_query`` tells), so the query starts from the full-text index. Public so
    that the query-plan tests EXPLAIN exactly what the repository runs.
    """
    words = search_words(query.text or "")
    params: dict[str, Any] = {"limit": query.limit + 1}
    scope = _scope(query, params)
    values = {
        "requester_id": query.requester_id,
        "department_id": query.department_id,
        "team_id": query.team_id,
        "assignee_id": query.assignee_id,
        "created_from": query.created_from,
        "created_to": query.created_to,
    }
    params.update((name, value) for name, value in values.items() if value is not None)
    if query.statuses:
        params["statuses"] = sorted(query.statuses)
    if query.priorities:
        params["priorities"] = sorted(query.priorities)
    if words:
        # quoted words on SQLite: never FTS5 syntax
        params["q"] = (
            " ".join(words) if dialect == "postgresql" else " ".join(f'"{w}"' for w in words)
        )
    sort = _effective_sort(query, words)
    if query.after is not None:
        after_values = _after_values(query.after, _keyset_types(sort))
        params.update((f"after_{i}", value) for i, value in enumerate(after_values))
    shape = _Shape(
        dialect=dialect,
        scope=scope,
        requester=query.requester_id is not None,
        statuses=bool(query.statuses),
        priorities=bool(query.priorities),
        department=query.department_id is not None,
        team=query.team_id is not None,
        assignee=query.assignee_id is not None,
        unassigned=query.unassigned,
        created_from=query.created_from is not None,
        created_to=query.created_to is not None,
        search=bool(words),
        few_matches=few_matches and bool(words) and dialect == "postgresql",
        sort=sort,
        after=query.after is not None,
    )
    return _list_statement(shape), params


def _page(rows: Sequence[Any], query: TicketQuery) -> TicketPage:
    items = tuple(_ticket_from_row(row) for row in rows[: query.limit])
    if len(rows) <= query.limit or not items:
        return TicketPage(items, None)
    last = rows[query.limit - 1]
    sort = _effective_sort(query, search_words(query.text or ""))
    if sort is TicketSort.RELEVANCE:
        return TicketPage(items, (float(last.search_cost), str(last.id)))
    return TicketPage(items, sort_key(items[-1], sort))


class SqlTicketRepository:
    """Tickets and their search documents; numbers from a sequence (PostgreSQL) or counter."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def next_number(self) -> int:
        if self._connection.dialect.name == "postgresql":
            # No row lock held until commit: concurrent openings do not wait for each other.
            return int(_NEXT_NUMBER.scalar(self._connection))
        return SqlCounterRepository(self._connection).next_value(TICKET_NUMBER_COUNTER)

    def add(self, ticket: Ticket) -> None:
        values = {
            "id": ticket.id,
            "number": ticket.number,
            "subject": ticket.subject,
            "description": ticket.description,
            "requester_id": ticket.requester_id,
            "created_at": ticket.created_at,
            **_ticket_values(ticket),
        }
        document = new_search_document(ticket)
        with refused_as_conflict(
            self._connection,
            partial(self._why_refused, ticket, new=True),
            _ticket_constraints(ticket),
        ):
            if self._connection.dialect.name == "postgresql":
                _INSERT_TICKET_AND_SEARCH.execute(
                    self._connection, {**values, "document": document}
                )
            else:
                _INSERT_TICKET.execute(self._connection, values)
                _INSERT_SEARCH.execute(
                    self._connection, {"ticket_id": ticket.id, "document": document}
                )

    def get(self, ticket_id: uuid.UUID, for_update: bool = False) -> Ticket | None:
        # SQLite renders no FOR UPDATE: BEGIN IMMEDIATE already serializes.
        query = _TICKET_FOR_UPDATE if for_update else _TICKET
        row = query.first(self._connection, {"id": ticket_id})
        return _ticket_from_row(row) if row is not None else None

    def get_by_number(self, number: int) -> Ticket | None:
        row = _TICKET_BY_NUMBER.first(self._connection, {"number": number})
        return _ticket_from_row(row) if row is not None else None

    def update(self, ticket: Ticket) -> None:
        values = {f"new_{name}": value for name, value in _ticket_values(ticket).items()}
        values.update(id_=ticket.id, read_version=ticket.version - 1)
        explain = partial(self._why_refused, ticket, new=False)
        with refused_as_conflict(self._connection, explain, _ticket_constraints(ticket)):
            matched = _UPDATE_TICKET.execute(self._connection, values)
        if matched != 1:
            raise stale_version("ticket", ticket.version)

    def list(self, query: TicketQuery) -> TicketPage:
        statement, params = self.list_statement(query)
        return _page(_lean_list(statement).all(self._connection, params), query)

    def list_statement(self, query: TicketQuery) -> tuple[sa.Select[Any], dict[str, Any]]:
        """The SELECT ``list`` runs for ``query`` and its values (on PostgreSQL, a text search
        first counts its matches to choose where the plan starts)."""
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
        where = (
            tickets.c.department_id.is_(None)
            if department_id is None
            else tickets.c.department_id == department_id
        )
        by_status = dict.fromkeys((s.value for s in TicketStatus), 0)
        statuses = (
            sa.select(tickets.c.status, sa.func.count()).where(where).group_by(tickets.c.status)
        )
        for status, count in self._connection.execute(statuses):
            by_status[TicketStatus(status).value] = int(count)
        by_priority = dict.fromkeys((p.value for p in TicketPriority), 0)
        unassigned = 0
        by_assignee: dict[str, int] = {}
        open_work = (
            sa.select(tickets.c.priority, tickets.c.assignee_id, sa.func.count())
            .where(where, tickets.c.status.in_(OPEN_STATUSES))
            .group_by(tickets.c.priority, tickets.c.assignee_id)
        )
        for priority, assignee_id, count in self._connection.execute(open_work):
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

    def _why_refused(self, ticket: Ticket, *, new: bool) -> str:
        connection = self._connection
        if new and exists(connection, tickets.c.id, ticket.id):
            return "a ticket with this id already exists"
        if new and exists(connection, tickets.c.number, ticket.number):
            return f"a ticket numbered {ticket.number} already exists"
        if new and not exists(connection, users.c.id, ticket.requester_id):
            return "no such user"
        if ticket.department_id is not None and not exists(
            connection, departments.c.id, ticket.department_id
        ):
            return "no such department"
        if ticket.team_id is not None:
            team_department = connection.execute(
                sa.select(teams.c.department_id).where(teams.c.id == ticket.team_id)
            ).scalar_one_or_none()
            if team_department is None:
                return "no such team"
            if team_department != ticket.department_id:
                return "the team belongs to another department"
        if ticket.assignee_id is not None and not exists(
            connection, staff_members.c.user_id, ticket.assignee_id
        ):
            return "no such staff member"
        return "the ticket breaks a rule of the store"


# ---------------------------------------------------------------- messages and attachments


def _attachment_from_row(row: Any) -> AttachmentReference:
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
    )


def _message_from_row(row: Any, attachments: tuple[AttachmentReference, ...] = ()) -> TicketMessage:
    return TicketMessage(
        id=row.id,
        ticket_id=row.ticket_id,
        author_id=row.author_id,
        body=row.body,
        visibility=MessageVisibility(row.visibility),
        created_at=row.created_at,
        attachments=attachments,
    )


class SqlTicketMessageRepository:
    """The conversation; adding a message adds its words to the ticket's search document."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, message: TicketMessage) -> None:
        values = {
            "id": message.id,
            "ticket_id": message.ticket_id,
            "author_id": message.author_id,
            "body": message.body,
            "visibility": message.visibility,
            "created_at": message.created_at,
        }
        words = search_text(message.body)
        together = words and self._connection.dialect.name == "postgresql"
        with refused_as_conflict(
            self._connection, partial(self._why_refused, message), _MESSAGE_CONSTRAINTS
        ):
            if together:
                _INSERT_MESSAGE_AND_WORDS.execute(self._connection, {**values, "words": words})
            else:
                _INSERT_MESSAGE.execute(self._connection, values)
        if words and not together:
            _APPEND_SEARCH.execute(
                self._connection, {"for_ticket": message.ticket_id, "words": words}
            )

    def list(
        self, ticket_id: uuid.UUID, include_internal: bool, with_attachments: bool = True
    ) -> Sequence[TicketMessage]:
        query = _MESSAGES if include_internal else _PUBLIC_MESSAGES
        rows = query.all(self._connection, {"ticket_id": ticket_id})
        if not rows or not with_attachments:
            return [_message_from_row(row, ()) for row in rows]
        attached: dict[uuid.UUID, list[AttachmentReference]] = {}
        for row in _MESSAGE_ATTACHMENTS.all(self._connection, {"ticket_id": ticket_id}):
            attached.setdefault(row.message_id, []).append(_attachment_from_row(row))
        return [_message_from_row(row, tuple(attached.get(row.id, ()))) for row in rows]

    def _why_refused(self, message: TicketMessage) -> str:
        connection = self._connection
        if exists(connection, ticket_messages.c.id, message.id):
            return "a message with this id already exists"
        if not exists(connection, tickets.c.id, message.ticket_id):
            return "no such ticket"
        if not exists(connection, users.c.id, message.author_id):
            return "no such user"
        return "the message breaks a rule of the store"


class SqlAttachmentRepository:
    """References to files stored elsewhere, of a ticket or one of its messages."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, attachment: AttachmentReference) -> None:
        insert = sa.insert(attachment_references).values(
            id=attachment.id,
            ticket_id=attachment.ticket_id,
            message_id=attachment.message_id,
            uploaded_by=attachment.uploaded_by,
            url=attachment.url,
            filename=attachment.filename,
            mime_type=attachment.mime_type,
            size_bytes=attachment.size_bytes,
            checksum=attachment.checksum,
            created_at=attachment.created_at,
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, attachment)):
            self._connection.execute(insert)

    def list(self, ticket_id: uuid.UUID) -> Sequence[AttachmentReference]:
        rows = _ATTACHMENTS.all(self._connection, {"ticket_id": ticket_id})
        return [_attachment_from_row(row) for row in rows]

    def _why_refused(self, attachment: AttachmentReference) -> str:
        connection = self._connection
        if exists(connection, attachment_references.c.id, attachment.id):
            return "an attachment with this id already exists"
        if not exists(connection, tickets.c.id, attachment.ticket_id):
            return "no such ticket"
        if attachment.message_id is not None and not exists(
            connection, ticket_messages.c.id, attachment.message_id
        ):
            return "no such message"
        if not exists(connection, users.c.id, attachment.uploaded_by):
            return "no such user"
        return "the attachment breaks a rule of the store"


# ---------------------------------------------------------------- history


def _history_from_row(row: Any) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        ticket_id=row.ticket_id,
        actor_id=row.actor_id,
        field=row.field,
        old_value=row.old_value,
        new_value=row.new_value,
        created_at=row.created_at,
    )


# What each constraint a hot insert can break means (PostgreSQL takes no savepoint for them).
# The statements of reading and changing a ticket, built once (bound parameters; see
# repositories.py) and run through Lean (adapters/sql/lean.py) on psycopg.
_TICKET_SELECT = sa.select(tickets).where(tickets.c.id == sa.bindparam("id"))
_TICKET = Lean(_TICKET_SELECT, prepare=True)
_TICKET_FOR_UPDATE = Lean(_TICKET_SELECT.with_for_update(), prepare=True)
# By the unique number (uq_tickets_number): a key lookup, one plan for every value.
_TICKET_BY_NUMBER = Lean(
    sa.select(tickets).where(tickets.c.number == sa.bindparam("number")), prepare=True
)
_MESSAGES_SELECT = (
    sa.select(ticket_messages)
    .where(ticket_messages.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(ticket_messages.c.created_at, ticket_messages.c.id)
)
_MESSAGES = Lean(_MESSAGES_SELECT, prepare=True)
_PUBLIC_MESSAGES = Lean(
    _MESSAGES_SELECT.where(ticket_messages.c.visibility == MessageVisibility.PUBLIC),
    prepare=True,
)
_ATTACHMENTS_SELECT = (
    sa.select(attachment_references)
    .where(attachment_references.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(attachment_references.c.created_at, attachment_references.c.id)
)
_ATTACHMENTS = Lean(_ATTACHMENTS_SELECT, prepare=True)
_MESSAGE_ATTACHMENTS = Lean(
    _ATTACHMENTS_SELECT.where(attachment_references.c.message_id.is_not(None)),
    prepare=True,
)
_NEXT_NUMBER = Lean(sa.select(ticket_number_seq.next_value()), prepare=True)
_INSERT_TICKET = Lean(sa.insert(tickets), prepare=True)  # the values come with each execution
_INSERT_SEARCH = Lean(sa.insert(ticket_search), prepare=True)
_INSERT_MESSAGE = Lean(sa.insert(ticket_messages), prepare=True)
_TICKET_COLUMNS = (
    "id",
    "number",
    "subject",
    "description",
    "requester_id",
    "created_at",
    *_TICKET_CHANGEABLE,
)
_MESSAGE_COLUMNS = ("id", "ticket_id", "author_id", "body", "visibility", "created_at")


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
    return sa.insert(ticket_search).from_select(
        ["ticket_id", "document"], sa.select(new.c.id, document)
    )


_INSERT_TICKET_AND_SEARCH = Lean(
    _insert_ticket_and_search(), prepare=True, values_per_call=False
)  # PostgreSQL
_INSERT_HISTORY = Lean(sa.insert(ticket_history), prepare=True)
_APPENDED_DOCUMENT = sa.func.substr(  # a message's words join its ticket's document, up to the cap
    ticket_search.c.document + " " + sa.bindparam("words", type_=sa.String()),
    1,
    SEARCH_DOCUMENT_MAX,
)
_APPEND_SEARCH = Lean(
    sa.update(ticket_search)
    .where(
        ticket_search.c.ticket_id == sa.bindparam("for_ticket"),
        sa.func.length(ticket_search.c.document) < SEARCH_DOCUMENT_MAX,
    )
    .values(document=_APPENDED_DOCUMENT),
    prepare=True,
)


def _insert_message_and_words() -> sa.Update:
    """The message, and its words appended to its ticket's document (``_APPEND_SEARCH``)."""
    new = _inserted(ticket_messages, _MESSAGE_COLUMNS, "ticket_id")
    return (
        sa.update(ticket_search)
        .where(
            ticket_search.c.ticket_id == new.c.ticket_id,
            sa.func.length(ticket_search.c.document) < SEARCH_DOCUMENT_MAX,
        )
        .values(document=_APPENDED_DOCUMENT)
    )


_INSERT_MESSAGE_AND_WORDS = Lean(
    _insert_message_and_words(), prepare=True, values_per_call=False
)  # PostgreSQL
_UPDATE_TICKET = Lean(  # what an update may change (_ticket_values), at the version it read
    sa.update(tickets)
    .where(
        tickets.c.id == sa.bindparam("id_"),
        tickets.c.version == sa.bindparam("read_version"),
    )
    .values(
        {
            name: sa.bindparam(f"new_{name}", type_=tickets.c[name].type)
            for name in _TICKET_CHANGEABLE
        }
    ),
    prepare=True,
)


def _ticket_constraints(ticket: Ticket) -> dict[str, str]:
    """What each constraint a ticket's insert or update can break means (PostgreSQL names).

    With it no savepoint is taken on PostgreSQL (see ``refused_as_conflict``). The composite
    foreign key cannot tell an unknown team from one of another department.
    """
    return {
        "pk_tickets": "a ticket with this id already exists",
        "pk_ticket_search": "a ticket with this id already exists",
        "uq_tickets_number": f"a ticket numbered {ticket.number} already exists",
        "fk_tickets_requester_id_users": "no such user",
        "fk_tickets_department_id_departments": "no such department",
        "fk_tickets_team_in_department": (
            "no such team, or the team belongs to another department"
        ),
        "ck_tickets_team_needs_department": "a ticket needs a department to have a team",
        "fk_tickets_assignee_id_staff_members": "no such staff member",
    }


_MESSAGE_CONSTRAINTS = {
    "pk_ticket_messages": "a message with this id already exists",
    "fk_ticket_messages_ticket_id_tickets": "no such ticket",
    "fk_ticket_messages_author_id_users": "no such user",
}
_HISTORY_CONSTRAINTS = {
    "pk_ticket_history": "a history entry with this id already exists",
    "fk_ticket_history_ticket_id_tickets": "no such ticket",
    "fk_ticket_history_actor_id_users": "no such user",
}


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
        with refused_as_conflict(
            self._connection, partial(self._why_refused, entry), _HISTORY_CONSTRAINTS
        ):
            _INSERT_HISTORY.execute(self._connection, values)

    def list(self, ticket_id: uuid.UUID) -> Sequence[HistoryEntry]:
        query = (
            sa.select(ticket_history)
            .where(ticket_history.c.ticket_id == ticket_id)
            .order_by(ticket_history.c.created_at, ticket_history.c.id)
        )
        return [_history_from_row(row) for row in self._connection.execute(query)]

    def _why_refused(self, entry: HistoryEntry) -> str:
        connection = self._connection
        if exists(connection, ticket_history.c.id, entry.id):
            return "a history entry with this id already exists"
        if not exists(connection, tickets.c.id, entry.ticket_id):
            return "no such ticket"
        if entry.actor_id is not None and not exists(connection, users.c.id, entry.actor_id):
            return "no such user"
        return "the history entry breaks a rule of the store"


# ---------------------------------------------------------------- idempotency


def _idempotency_from_row(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=row.user_id,
        key=row.key,
        fingerprint=row.fingerprint,
        ticket_id=row.ticket_id,
        created_at=row.created_at,
    )


class SqlIdempotencyRepository:
    """Records by (user, key), the primary key: a second use of a key is refused."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def get(self, user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        query = sa.select(idempotency_keys).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
        )
        row = self._connection.execute(query).first()
        return _idempotency_from_row(row) if row is not None else None

    def add(self, record: IdempotencyRecord) -> None:
        insert = sa.insert(idempotency_keys).values(
            user_id=record.user_id,
            key=record.key,
            fingerprint=record.fingerprint,
            ticket_id=record.ticket_id,
            created_at=record.created_at,
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, record)):
            self._connection.execute(insert)

    def _why_refused(self, record: IdempotencyRecord) -> str:
        if self.get(record.user_id, record.key) is not None:
            return "this Idempotency-Key was already used"
        if not exists(self._connection, users.c.id, record.user_id):
            return "no such user"
        if not exists(self._connection, tickets.c.id, record.ticket_id):
            return "no such ticket"
        return "the idempotency record breaks a rule of the store"
