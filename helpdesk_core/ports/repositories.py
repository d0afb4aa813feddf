"""Repositories: collections of entities, working inside one transaction.

Writes that would break a uniqueness rule raise Conflict; updates name the version they read
and raise StaleVersion when the stored one moved on (optimistic locking).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from helpdesk_core.domain.entities import (
    Department,
    PasswordResetToken,
    Session,
    StaffMember,
    Team,
    User,
)
from helpdesk_core.domain.values import StaffRole


@attrs.frozen
class CustomerFilter:
    """Which customers (users without a staff profile) to list; None means any.

    ``email_contains`` matches part of the stored (lower-cased) email, regardless of case;
    ``%`` and ``_`` in it are plain characters.
    """

    active: bool | None = None
    email_contains: str | None = None


class UserRepository(Protocol):
    """Everyone who can log in."""

    def add(self, user: User) -> None:
        """Store a new user; Conflict when the (normalized) email is taken."""
        ...

    def get(self, user_id: uuid.UUID) -> User | None:
        """The user, or None."""
        ...

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
        """The users that exist among ``user_ids``, by id (one query)."""
        ...

    def display_names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The display names of the users that exist among ``user_ids``, by id: what rendering
        needs, without reading whole accounts (one query)."""
        ...

    def get_by_email(self, email: str) -> User | None:
        """The user with this normalized (lower-case) email, or None."""
        ...

    def get_by_external_id(self, external_id: str) -> User | None:
        """The user an embedding program knows by ``external_id`` (exact match), or None.
        ``add`` and ``update`` refuse an external id another user holds (Conflict)."""
        ...

    def update(self, user: User) -> None:
        """Store ``user`` (whose version was bumped); StaleVersion unless the stored version
        is ``user.version - 1``."""
        ...

    def list_customers(
        self,
        where: CustomerFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[User]:
        """Up to ``limit`` users without a staff profile that match ``where``, oldest first
        (by ``created_at``, then id), after the keyset position ``after`` when given."""
        ...


@attrs.frozen
class StaffFilter:
    """Which staff members to list; None means any."""

    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    role: StaffRole | None = None
    active: bool | None = None


class StaffRepository(Protocol):
    """Staff profiles (role, department, team, active)."""

    def add(self, staff: StaffMember) -> None:
        """Store a new profile for an existing user; Conflict if the user has one."""
        ...

    def get(self, user_id: uuid.UUID) -> StaffMember | None:
        """The profile, or None for customers and unknown ids."""
        ...

    def update(self, staff: StaffMember) -> None:
        """Store ``staff``; StaleVersion unless the stored version is ``staff.version - 1``."""
        ...

    def list(self, where: StaffFilter) -> Sequence[StaffMember]:
        """Matching profiles, oldest first."""
        ...

    def count(self, where: StaffFilter) -> int:
        """How many profiles match."""
        ...


class DepartmentRepository(Protocol):
    """Departments; names unique regardless of case and spacing."""

    def add(self, department: Department) -> None:
        """Store a new department; Conflict when the name is taken."""
        ...

    def get(self, department_id: uuid.UUID) -> Department | None:
        """The department, or None."""
        ...

    def update(self, department: Department) -> None:
        """Store a change; Conflict on a taken name, StaleVersion on a moved version."""
        ...

    def list(self, active: bool | None = None) -> Sequence[Department]:
        """Departments by name; ``active`` filters when not None."""
        ...


class TeamRepository(Protocol):
    """Teams; names unique within their department."""

    def add(self, team: Team) -> None:
        """Store a new team; Conflict when its department has a team of that name."""
        ...

    def get(self, team_id: uuid.UUID) -> Team | None:
        """The team, or None."""
        ...

    def update(self, team: Team) -> None:
        """Store a change; Conflict on a taken name, StaleVersion on a moved version."""
        ...

    def list(
        self, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> Sequence[Team]:
        """Teams by department and name, filtered when the arguments are not None."""
        ...


@attrs.frozen
class SessionAccount:
    """A session with the account it belongs to: what authentication reads."""

    session: Session
    user: User
    staff: StaffMember | None


class SessionRepository(Protocol):
    """Server-side login sessions: the authority on whether a token still works."""

    def add(self, session: Session) -> None:
        """Store a new session."""
        ...

    def get(self, session_id: uuid.UUID) -> Session | None:
        """The session, or None."""
        ...

    def get_with_account(self, session_id: uuid.UUID) -> SessionAccount | None:
        """The session with its user and staff profile, in one lookup (every authenticated
        request asks), or None."""
        ...

    def revoke(self, session_id: uuid.UUID, at: datetime) -> bool:
        """End one session; False when it was unknown or already ended."""
        ...

    def revoke_all(self, user_id: uuid.UUID, at: datetime, keep: uuid.UUID | None = None) -> int:
        """End every live session of a user except ``keep``; how many ended."""
        ...

    def delete_all(self, user_id: uuid.UUID) -> int:
        """Remove every session of a user, ended or not (erasure); how many."""
        ...


class PasswordResetRepository(Protocol):
    """Password reset tokens, stored as hashes only."""

    def add(self, token: PasswordResetToken) -> None:
        """Store a new reset token."""
        ...

    def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        """The token with this hash, or None."""
        ...

    def mark_used(self, token_id: uuid.UUID, at: datetime) -> bool:
        """Use the token up; False when it was already used (two racing resets: one wins)."""
        ...

    def invalidate_all(self, user_id: uuid.UUID, at: datetime) -> int:
        """Use up every open token of a user; how many."""
        ...

    def delete_all(self, user_id: uuid.UUID) -> int:
        """Remove every reset token of a user, used or not (erasure); how many."""
        ...
