"""The customer list on SQL: users without a staff profile, filtered, by a keyset.

A statement per filter shape (which of active, email, after are set), built once and run as a
compiled statement like the rest of the user repository's (adapters/sql/users.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from adapters.sql.tables import staff_members, users
from helpdesk_core.ports.repositories import CustomerFilter

# The email filter's LIKE escape: ``%``, ``_`` and the escape itself are plain characters.
_ESCAPE = "/"


def _plain(text: str) -> str:
    """``text`` as a LIKE pattern that matches it to the letter (as ``autoescape=True``)."""
    return (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    )


@functools.cache
def _customers(active: bool, email: bool, after: bool) -> CompiledStatement:
    """The users without a staff profile, by ``(created_at, id)``, filtered by what is set;
    not prepared: how many customers a filter keeps may change the best plan."""
    is_staff = sa.exists().where(staff_members.c.user_id == users.c.id)
    statement = sa.select(users).where(~is_staff)
    if active:
        statement = statement.where(users.c.is_active == sa.bindparam("active"))
    if email:
        part = sa.bindparam("email_contains", type_=sa.String())
        statement = statement.where(users.c.email.contains(part, escape=_ESCAPE))
    if after:
        created_at = sa.bindparam("after_created_at", type_=users.c.created_at.type)
        user_id = sa.bindparam("after_id", type_=users.c.id.type)
        statement = statement.where(
            sa.or_(
                users.c.created_at > created_at,
                sa.and_(users.c.created_at == created_at, users.c.id > user_id),
            )
        )
    limit = sa.bindparam("limit", type_=sa.Integer())
    return CompiledStatement(statement.order_by(users.c.created_at, users.c.id).limit(limit))


def list_customers(
    connection: sa.Connection,
    where: CustomerFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """The users without a staff profile matching ``where``, by ``(created_at, id)``.

    The email filter is a LIKE with its wildcards escaped (``%`` and ``_`` are plain
    characters) over the stored, lower-cased address.
    """
    params: dict[str, Any] = {"limit": max(0, limit)}
    if where.active is not None:
        params["active"] = where.active
    if where.email_contains:
        params["email_contains"] = _plain(where.email_contains.lower())
    if after is not None:
        params["after_created_at"], params["after_id"] = after
    statement = _customers(where.active is not None, bool(where.email_contains), after is not None)
    return statement.all(connection, params)
