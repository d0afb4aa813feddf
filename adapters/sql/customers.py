"""The customer list on SQL: users without a staff profile, filtered, by a keyset."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.tables import staff_members, users
from helpdesk_core.ports.repositories import CustomerFilter


def customers_statement(
    where: CustomerFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> sa.Select[Any]:
    """The users without a staff profile matching ``where``, by ``(created_at, id)``.

    The email filter is a LIKE with its wildcards escaped (``%`` and ``_`` are plain
    characters) over the stored, lower-cased address.
    """
    is_staff = sa.exists().where(staff_members.c.user_id == users.c.id)
    statement = sa.select(users).where(~is_staff)
    if where.active is not None:
        statement = statement.where(users.c.is_active == where.active)
    if where.email_contains:
        statement = statement.where(
            users.c.email.contains(where.email_contains.lower(), autoescape=True)
        )
    if after is not None:
        created_at, user_id = after
        statement = statement.where(
            sa.or_(
                users.c.created_at > created_at,
                sa.and_(users.c.created_at == created_at, users.c.id > user_id),
            )
        )
    return statement.order_by(users.c.created_at, users.c.id).limit(max(0, limit))


def list_customers(
    connection: sa.Connection,
    where: CustomerFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[sa.Row[Any]]:
    """The rows of ``customers_statement``."""
    return connection.execute(customers_statement(where, after, limit)).all()
