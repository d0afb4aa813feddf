"""What an account signs in and recovers with (SQLAlchemy Core): login sessions and password
reset tokens.

The conventions are those of ``adapters.sql`` (its package docstring). Every authenticated
request reads its session: the session repository runs compiled statements
(adapters/sql/compiled.py); the reset tokens, read and written on a password reset only, run
through ``Connection.execute``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from adapters.sql.refusals import Refusals, primary_key, reference, refused_as_conflict, unique
from adapters.sql.shared import staff_from_row, user_from_row
from adapters.sql.tables import password_reset_tokens, sessions, staff_members, users
from helpdesk_core.domain.entities import PasswordResetToken, Session
from helpdesk_core.ports.repositories import SessionAccount

# ---------------------------------------------------------------- sessions


class _Prefixed:
    """The columns of one table in a joined row, read by attribute without their prefix."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


# Session, user, staff profile and one counter in one round trip: every authenticated request
# asks (the counter: the organization's generation, which validates the cached names).
_SESSION_ACCOUNT = CompiledStatement(
    sa.select(
        *(c.label(f"s_{c.name}") for c in sessions.c),
        *(c.label(f"u_{c.name}") for c in users.c),
        *(c.label(f"m_{c.name}") for c in staff_members.c),
    )
    .select_from(
        sessions.join(users, users.c.id == sessions.c.user_id).outerjoin(
            staff_members, staff_members.c.user_id == users.c.id
        )
    )
    .where(sessions.c.id == sa.bindparam("session_id")),
    prepare=True,
)


_SESSION = CompiledStatement(
    sa.select(sessions).where(sessions.c.id == sa.bindparam("session_id")), prepare=True
)
_INSERT_SESSION = CompiledStatement(sa.insert(sessions), prepare=True)
_NOT_REVOKED = sessions.c.revoked_at.is_(None)
_REVOKE = CompiledStatement(
    sa.update(sessions)
    .where(sessions.c.id == sa.bindparam("session_id"), _NOT_REVOKED)
    .values(revoked_at=sa.bindparam("at", type_=sessions.c.revoked_at.type)),
    prepare=True,
    values_per_call=False,
)
_REVOKE_ALL = {  # by "keeps one session"
    keeps: CompiledStatement(
        sa.update(sessions)
        .where(
            sessions.c.user_id == sa.bindparam("for_user"),
            _NOT_REVOKED,
            *([sessions.c.id != sa.bindparam("keep")] if keeps else []),
        )
        .values(revoked_at=sa.bindparam("at", type_=sessions.c.revoked_at.type)),
        prepare=True,
        values_per_call=False,
    )
    for keeps in (True, False)
}
_DELETE_SESSIONS = CompiledStatement(
    sa.delete(sessions).where(sessions.c.user_id == sa.bindparam("for_user")), prepare=True
)
_SESSION_ADDED = Refusals[Session](
    "session",
    (
        primary_key(sessions, "a session with this id already exists"),
        reference(sessions.c.user_id, "no such user"),
    ),
)


def _session_from_row(row: sa.Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlSessionRepository:
    """Login sessions; revocation is a timestamp, set once."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, session: Session) -> None:
        values = {
            "id": session.id,
            "user_id": session.user_id,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "revoked_at": session.revoked_at,
        }
        with refused_as_conflict(self._connection, _SESSION_ADDED, session):
            _INSERT_SESSION.execute(self._connection, values)

    def get(self, session_id: uuid.UUID) -> Session | None:
        row = _SESSION.first(self._connection, {"session_id": session_id})
        return _session_from_row(row) if row is not None else None

    def get_with_account(self, session_id: uuid.UUID) -> SessionAccount | None:
        row = _SESSION_ACCOUNT.first(self._connection, {"session_id": session_id})
        if row is None:
            return None
        parts = {prefix: _Prefixed(row, prefix) for prefix in ("s_", "u_", "m_")}
        staff = staff_from_row(parts["m_"]) if row.m_user_id is not None else None  # type: ignore[arg-type]
        return SessionAccount(
            _session_from_row(parts["s_"]),  # type: ignore[arg-type]
            user_from_row(parts["u_"]),  # type: ignore[arg-type]
            staff,
        )

    def revoke(self, session_id: uuid.UUID, at: datetime) -> bool:
        return _REVOKE.execute(self._connection, {"session_id": session_id, "at": at}) == 1

    def revoke_all(self, user_id: uuid.UUID, at: datetime, keep: uuid.UUID | None = None) -> int:
        values = {"for_user": user_id, "at": at}
        if keep is not None:
            values["keep"] = keep
        return _REVOKE_ALL[keep is not None].execute(self._connection, values)

    def delete_all(self, user_id: uuid.UUID) -> int:
        return _DELETE_SESSIONS.execute(self._connection, {"for_user": user_id})


# ---------------------------------------------------------------- password reset tokens


def _reset_token_from_row(row: sa.Row[Any]) -> PasswordResetToken:
    return PasswordResetToken(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


# No savepoint on PostgreSQL (two round trips): a reset's transaction only records the token
# and its event, so a refusal may end it.
_RESET_TOKEN_ADDED = Refusals[PasswordResetToken](
    "reset token",
    (
        primary_key(password_reset_tokens, "a reset token with this id already exists"),
        unique(password_reset_tokens.c.token_hash, "a reset token with this hash already exists"),
        reference(password_reset_tokens.c.user_id, "no such user"),
    ),
    savepoint=False,
)


class SqlPasswordResetRepository:
    """Reset tokens by hash; using one up is a single conditional UPDATE (one racer wins)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, token: PasswordResetToken) -> None:
        statement = sa.insert(password_reset_tokens).values(
            id=token.id,
            user_id=token.user_id,
            token_hash=token.token_hash,
            created_at=token.created_at,
            expires_at=token.expires_at,
            used_at=token.used_at,
        )
        with refused_as_conflict(self._connection, _RESET_TOKEN_ADDED, token):
            self._connection.execute(statement)

    def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        query = sa.select(password_reset_tokens).where(
            password_reset_tokens.c.token_hash == token_hash
        )
        row = self._connection.execute(query).first()
        return _reset_token_from_row(row) if row is not None else None

    def mark_used(self, token_id: uuid.UUID, at: datetime) -> bool:
        statement = (
            sa.update(password_reset_tokens)
            .where(
                password_reset_tokens.c.id == token_id, password_reset_tokens.c.used_at.is_(None)
            )
            .values(used_at=at)
        )
        return self._connection.execute(statement).rowcount == 1

    def invalidate_all(self, user_id: uuid.UUID, at: datetime) -> int:
        statement = (
            sa.update(password_reset_tokens)
            .where(
                password_reset_tokens.c.user_id == user_id,
                password_reset_tokens.c.used_at.is_(None),
            )
            .values(used_at=at)
        )
        return int(self._connection.execute(statement).rowcount)

    def delete_all(self, user_id: uuid.UUID) -> int:
        statement = sa.delete(password_reset_tokens).where(
            password_reset_tokens.c.user_id == user_id
        )
        return int(self._connection.execute(statement).rowcount)
