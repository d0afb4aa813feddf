"""The ticket list: its SELECT per shape (filters, scope, order, keyset, search) and its pages.

Statements are built once per *shape* (``_Shape``: which filters, which sort, search or not)
with bound parameters, memoized by ``_list_statement``: building a SELECT and its cache key
costs more than running it on an indexed table. Pages are keyset pages: the cursor
(``after``) is the last row's position in the order, and the SELECT asks for one row more
than the page, which tells whether a next page exists.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adapters.sql.columns import UTCDateTime
from adapters.sql.compiled import CompiledStatement
from adapters.sql.tables import tags, ticket_followers, ticket_tags, tickets
from adapters.sql.ticket_search import PG_MATCH_IDS, search_matches
from adapters.sql.ticket_statements import TICKET_NAMES, view_from_row
from helpdesk_core.domain.search import search_words
from helpdesk_core.domain.values import TicketPriority
from helpdesk_core.ports.tickets import SlaState, TicketPage, TicketQuery, TicketSort, sort_key

# The priority's rank (TicketPriority.rank) in SQL, for the priority orders.
_PRIORITY_RANK = sa.case(
    {priority.value: priority.rank for priority in TicketPriority},
    value=tickets.c.priority,
)


class _Shape(NamedTuple):
    """What the SQL of a ticket list depends on; the values it binds do not change it."""

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
    sla: SlaState | None
    tags: int  # how many tags every ticket must carry
    following: bool
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
    conditions.extend(_sla_conditions(shape))
    conditions.extend(_tag_conditions(shape))
    if shape.following:  # a follower's row, or the assignee (who follows without one)
        follower = sa.bindparam("following", type_=sa.Uuid())
        conditions.append(
            sa.or_(
                c.assignee_id == follower,
                sa.exists().where(
                    ticket_followers.c.user_id == follower,
                    ticket_followers.c.ticket_id == c.id,
                ),
            )
        )
    return conditions


# The names a ticket shows contain every name asked for (PostgreSQL: ``jsonb @>``, from the
# partial GIN index ix_tickets_tags of the tickets that carry a tag, made by 0012; its
# predicate is written here as the index states it).
_TAGGED: sa.ColumnElement[Any] = sa.literal_column("'[]'::jsonb")


def _tag_conditions(shape: _Shape) -> list[sa.ColumnElement[bool]]:
    """Every tag asked for. PostgreSQL: one containment test of the names the ticket shows,
    answered by the GIN index whatever the number of tags; SQLite: each name's row of
    ticket_tags (by the ticket's index)."""
    if not shape.tags:
        return []
    c = tickets.c
    if shape.dialect == "postgresql":
        names = sa.bindparam("tag_names", type_=postgresql.JSONB())
        return [c.tags != _TAGGED, c.tags.op("@>")(names)]
    return [
        sa.exists().where(
            ticket_tags.c.ticket_id == c.id,
            ticket_tags.c.tag_id == tags.c.id,
            tags.c.name == sa.bindparam(f"tag_{i}"),
        )
        for i in range(shape.tags)
    ]


def _sla_conditions(shape: _Shape) -> list[sa.ColumnElement[bool]]:
    """The service-level filter and the SLA_DUE order's rows, written as the partial indexes
    ``ix_tickets_sla_due`` and ``ix_tickets_sla_paused_created`` state their predicates."""
    c = tickets.c
    now = sa.bindparam("sla_now", type_=UTCDateTime())
    conditions: list[sa.ColumnElement[bool]] = []
    if shape.sort is TicketSort.SLA_DUE or shape.sla in {SlaState.BREACHED, SlaState.AT_RISK}:
        conditions.append(c.sla_due_at.is_not(None))
    if shape.sla is SlaState.BREACHED:
        conditions.append(c.sla_due_at <= now)
    elif shape.sla is SlaState.AT_RISK:
        conditions.extend((c.sla_due_at > now, c.sla_warn_at <= now))
    elif shape.sla is SlaState.PAUSED:
        conditions.append(c.sla_paused)
    return conditions


def _effective_sort(query: TicketQuery, words: Sequence[str]) -> TicketSort:
    if query.sort is TicketSort.RELEVANCE and not words:
        return TicketSort.CREATED_DESC
    return query.sort


_TIME_SORTS = frozenset(
    {
        TicketSort.CREATED,
        TicketSort.CREATED_DESC,
        TicketSort.UPDATED,
        TicketSort.UPDATED_DESC,
        TicketSort.SLA_DUE,
    }
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
    if sort is TicketSort.SLA_DUE:
        return [tickets.c.sla_due_at, tickets.c.id]
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


@functools.lru_cache(maxsize=1024)
def _list_statement(shape: _Shape) -> sa.Select[Any]:
    statement = sa.select(tickets, *TICKET_NAMES)
    cost: sa.ColumnElement[Any] | None = None
    ranked = shape.sort is TicketSort.RELEVANCE
    if shape.search and shape.few_matches and not ranked:
        # Read the few matches from the GIN index first, then each ticket by its primary key:
        # at most FEW_MATCHES probes whatever the number of tickets. As a join (even fenced by
        # a materialized CTE) the planner may hash every ticket in scope, or walk an order's
        # index probing each ticket, as its estimate ignores how rarely (or never) the words
        # occur together (docs/performance.md, "Measurements behind the code").
        statement = statement.where(tickets.c.id == sa.any_(PG_MATCH_IDS))
    elif shape.search:
        matches = search_matches(shape.dialect, ranked)
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
    if query.sla is not None:
        if query.now is None:
            raise ValueError("an sla filter is judged at a time: set TicketQuery.now")
        params["sla_now"] = query.now
    if dialect == "postgresql":
        if query.tags:
            params["tag_names"] = list(query.tags)
    else:  # one statement per number of tags, whichever they are
        params.update((f"tag_{i}", name) for i, name in enumerate(query.tags))
    if query.following is not None:
        params["following"] = query.following
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
        sla=query.sla,
        tags=len(query.tags),
        following=query.following is not None,
        search=bool(words),
        few_matches=few_matches and bool(words) and dialect == "postgresql",
        sort=sort,
        after=query.after is not None,
    )
    return _list_statement(shape), params


@functools.lru_cache(maxsize=1024)
def _compiled(statement: sa.Select[Any]) -> CompiledStatement:
    """The list statement of one shape, compiled (statements are memoized per shape, so this
    holds one compiled statement per shape)."""
    return CompiledStatement(statement)


def read_page(
    connection: sa.Connection,
    query: TicketQuery,
    statement: sa.Select[Any],
    params: dict[str, Any],
) -> TicketPage:
    """The page of ``query``: the rows of its ``statement`` (``ticket_list_query``), and the
    cursor of the next page when there is one."""
    rows = _compiled(statement).all(connection, params)
    items = tuple(view_from_row(row) for row in rows[: query.limit])
    if len(rows) <= query.limit or not items:
        return TicketPage(items, None)
    last = rows[query.limit - 1]
    sort = _effective_sort(query, search_words(query.text or ""))
    if sort is TicketSort.RELEVANCE:
        return TicketPage(items, (float(last.search_cost), str(last.id)))
    return TicketPage(items, sort_key(items[-1].ticket, sort))
