"""The followers of tickets in SQL: ``ticket_followers``, keyed by (ticket, user).

Following twice must not fail, nor store two rows, when two requests (or a request and a
mention) add the same follower at once: ``INSERT ... ON CONFLICT DO NOTHING`` on both
databases, the second writer waiting for the first's row and matching none. Every statement
runs once per request or per notification: compiled statements (``compiled.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.compiled import CompiledStatement
from adapters.sql.refusals import Refusals, reference, refused_as_conflict
from adapters.sql.tables import ticket_followers, users
from helpdesk_core.domain.followers import Follower, FollowerView

_ADDED = Refusals[Follower](
    "follower",
    (
        reference(ticket_followers.c.ticket_id, "no such ticket"),
        reference(ticket_followers.c.user_id, "no such user"),
        reference(ticket_followers.c.added_by, "no such user"),
    ),
    savepoint=False,
)
_ADD = CompiledStatement(
    sqlite.insert(ticket_followers).on_conflict_do_nothing(index_elements=["ticket_id", "user_id"]),
    postgresql=postgresql.insert(ticket_followers).on_conflict_do_nothing(
        index_elements=["ticket_id", "user_id"]
    ),
    prepare=True,
)
_REMOVE = CompiledStatement(
    sa.delete(ticket_followers).where(
        ticket_followers.c.ticket_id == sa.bindparam("ticket_id"),
        ticket_followers.c.user_id == sa.bindparam("user_id"),
    ),
    prepare=True,
)
_LIST = CompiledStatement(
    sa.select(ticket_followers, users.c.display_name)
    .select_from(ticket_followers.outerjoin(users, users.c.id == ticket_followers.c.user_id))
    .where(ticket_followers.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(ticket_followers.c.created_at, ticket_followers.c.user_id),
    prepare=True,
)
_OF_TICKET = CompiledStatement(
    sa.select(ticket_followers.c.user_id).where(
        ticket_followers.c.ticket_id == sa.bindparam("ticket_id")
    ),
    prepare=True,
)


def _follower_from_row(row: Any) -> Follower:
    return Follower(
        ticket_id=row.ticket_id,
        user_id=row.user_id,
        created_at=row.created_at,
        added_by=row.added_by,
    )


class SqlFollowerRepository:
    """Who follows which ticket; one row per ticket and user."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID, added_by: uuid.UUID | None, at: datetime
    ) -> bool:
        follower = Follower(ticket_id, user_id, at, added_by)
        values = {
            "ticket_id": ticket_id,
            "user_id": user_id,
            "added_by": added_by,
            "created_at": at,
        }
        with refused_as_conflict(self._connection, _ADDED, follower):
            return _ADD.execute(self._connection, values) == 1

    def remove(self, ticket_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        params = {"ticket_id": ticket_id, "user_id": user_id}
        return _REMOVE.execute(self._connection, params) == 1

    def list(self, ticket_id: uuid.UUID) -> Sequence[FollowerView]:
        rows = _LIST.all(self._connection, {"ticket_id": ticket_id})
        return [FollowerView(_follower_from_row(row), row.display_name) for row in rows]

    def of_ticket(self, ticket_id: uuid.UUID) -> frozenset[uuid.UUID]:
        rows = _OF_TICKET.all(self._connection, {"ticket_id": ticket_id})
        return frozenset(row.user_id for row in rows)
