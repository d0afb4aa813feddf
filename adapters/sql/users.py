"""Users (SQLAlchemy Core); the email column holds the trimmed, lower-cased address.

The conventions are those of ``adapters.sql`` (its package docstring).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.customers import list_customers
from adapters.sql.refusals import (
    Refusal,
    Refusals,
    primary_key,
    refused_as_conflict,
    taken,
    unique,
)
from adapters.sql.shared import chunks, update_at_version, user_from_row
from adapters.sql.tables import users
from helpdesk_core.domain.entities import User
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.ports.repositories import CustomerFilter

# Every request reads users by id (the session's, the names a page shows): the repository's
# statements are built once and run as compiled statements (adapters/sql/compiled.py).
_USER = CompiledStatement(sa.select(users).where(users.c.id == sa.bindparam("id")), prepare=True)


def _by_ids(columns: Sequence[Any], dialect: str) -> sa.Select[Any]:
    return sa.select(*columns).where(any_of(users.c.id, "ids", dialect))


_DISPLAY_NAMES = CompiledStatement(
    _by_ids([users.c.id, users.c.display_name], "sqlite"),
    postgresql=_by_ids([users.c.id, users.c.display_name], "postgresql"),
    prepare=True,
)
_USERS = CompiledStatement(
    _by_ids([users], "sqlite"), postgresql=_by_ids([users], "postgresql"), prepare=True
)
_USER_BY_EMAIL = CompiledStatement(
    sa.select(users).where(users.c.email == sa.bindparam("email")), prepare=True
)
_USER_BY_EXTERNAL_ID = CompiledStatement(
    sa.select(users).where(users.c.external_id == sa.bindparam("external_id"))
)
_INSERT_USER = CompiledStatement(sa.insert(users), prepare=True)
_UPDATE_USER = CompiledStatement(update_at_version(users, users.c.id), prepare=True)


def _email_key(email: str) -> str:
    """How emails are stored and looked up: trimmed and lower-cased."""
    return email.strip().lower()


def _user_values(user: User) -> dict[str, Any]:
    return {
        "email": _email_key(user.email),
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "is_active": user.is_active,
        "updated_at": user.updated_at,
        "version": user.version,
        "external_id": user.external_id,
    }


_EMAIL_TAKEN: Refusal[User] = unique(
    users.c.email,
    "the email is already registered",
    value=lambda u: _email_key(u.email),
    other_than=lambda u: u.id,
)
# A unique index, not a constraint (SQLite adds no constraint to a table in place): PostgreSQL
# names the index.
_EXTERNAL_ID_TAKEN = Refusal[User](
    "uq_users_external_id",
    "the external id names another account",
    taken(users.c.external_id, attrgetter("external_id"), other_than=attrgetter("id")),
)
_USER_ADDED = Refusals[User](
    "user",
    (
        _EMAIL_TAKEN,
        _EXTERNAL_ID_TAKEN,
        primary_key(users, "a user with this id already exists"),
    ),
)
_USER_UPDATED = Refusals[User]("user", (_EMAIL_TAKEN, _EXTERNAL_ID_TAKEN))


class SqlUserRepository:
    """Users; the email column holds the lower-cased address and is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, user: User) -> None:
        values = {"id": user.id, "created_at": user.created_at, **_user_values(user)}
        with refused_as_conflict(self._connection, _USER_ADDED, user):
            _INSERT_USER.execute(self._connection, values)

    def get(self, user_id: uuid.UUID) -> User | None:
        row = _USER.first(self._connection, {"id": user_id})
        return user_from_row(row) if row is not None else None

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
        found: dict[uuid.UUID, User] = {}
        for chunk in chunks(user_ids):
            for row in _USERS.all(self._connection, {"ids": list(chunk)}):
                user = user_from_row(row)
                found[user.id] = user
        return found

    def display_names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        found: dict[uuid.UUID, str] = {}
        for chunk in chunks(user_ids):
            rows = _DISPLAY_NAMES.all(self._connection, {"ids": list(chunk)})
            found.update((row[0], row[1]) for row in rows)
        return found

    def get_by_email(self, email: str) -> User | None:
        row = _USER_BY_EMAIL.first(self._connection, {"email": _email_key(email)})
        return user_from_row(row) if row is not None else None

    def get_by_external_id(self, external_id: str) -> User | None:
        row = _USER_BY_EXTERNAL_ID.first(self._connection, {"external_id": external_id})
        return user_from_row(row) if row is not None else None

    def update(self, user: User) -> None:
        values = {**_user_values(user), "key_": user.id, "read_version": user.version - 1}
        with refused_as_conflict(self._connection, _USER_UPDATED, user):
            matched = _UPDATE_USER.execute(self._connection, values)
        if matched != 1:
            raise stale_version("user", user.version)

    def list_customers(
        self,
        where: CustomerFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[User]:
        rows = list_customers(self._connection, where, after, limit)
        return [user_from_row(row) for row in rows]
