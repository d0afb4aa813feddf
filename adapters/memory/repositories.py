"""In-memory repositories over a transaction's working MemoryState.

They keep the SQL schema's rules, in the same order and with the same messages as the SQL
repositories: unique lower-cased emails, unique name keys, foreign keys (a staff member's team
must be of their department), optimistic locking on update. Timestamps are stored in UTC and
immutable columns (ids, ``created_at``, a team's department) keep their stored values on update,
as the SQL UPDATEs do. Every check runs before anything changes, so a refused write leaves the
transaction as it was (the SQL repositories use a savepoint for that).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from adapters.memory.customers import customers_page
from adapters.memory.shared import utc, utc_or_none
from helpdesk_core.domain.entities import (
    Department,
    PasswordResetToken,
    Session,
    StaffMember,
    Team,
    User,
)
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.repositories import CustomerFilter, SessionAccount, StaffFilter

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


def _email_key(email: str) -> str:
    return email.strip().lower()


_Versioned = TypeVar("_Versioned", User, StaffMember, Department, Team)


def _current(stored: _Versioned | None, what: str, version: int) -> _Versioned:
    """The stored entity when its version is the one the update was based on."""
    if stored is None or stored.version != version - 1:
        raise stale_version(what, version)
    return stored


class MemoryUserRepository:
    """Users by id; emails stored lower-cased and unique."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._users = state.users

    def add(self, user: User) -> None:
        self._refuse_taken(user)
        if user.id in self._users:
            raise Conflict("a user with this id already exists")
        self._users[user.id] = self._stored(user, user.created_at)

    def get(self, user_id: uuid.UUID) -> User | None:
        return self._users.get(user_id)

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
        return {i: self._users[i] for i in user_ids if i in self._users}

    def display_names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {i: self._users[i].display_name for i in user_ids if i in self._users}

    def get_by_email(self, email: str) -> User | None:
        key = _email_key(email)
        return next((u for u in self._users.values() if u.email == key), None)

    def get_by_external_id(self, external_id: str) -> User | None:
        return next((u for u in self._users.values() if u.external_id == external_id), None)

    def update(self, user: User) -> None:
        stored = _current(self._users.get(user.id), "user", user.version)
        self._refuse_taken(user)
        self._users[user.id] = self._stored(user, stored.created_at)

    def list_customers(
        self,
        where: CustomerFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[User]:
        return customers_page(self._users.values(), self._state.staff, where, after, limit)

    def _refuse_taken(self, user: User) -> None:
        holder = self.get_by_email(user.email)
        if holder is not None and holder.id != user.id:
            raise Conflict("the email is already registered")
        if user.external_id is not None:
            holder = self.get_by_external_id(user.external_id)
            if holder is not None and holder.id != user.id:
                raise Conflict("the external id names another account")

    @staticmethod
    def _stored(user: User, created_at: datetime) -> User:
        return attrs.evolve(
            user,
            email=_email_key(user.email),
            created_at=utc(created_at),
            updated_at=utc(user.updated_at),
        )


def _matches(staff: StaffMember, where: StaffFilter) -> bool:
    return (
        (where.department_id is None or staff.department_id == where.department_id)
        and (where.team_id is None or staff.team_id == where.team_id)
        and (where.role is None or staff.role is where.role)
        and (where.active is None or staff.is_active == where.active)
    )


class MemoryStaffRepository:
    """Staff profiles by user id, with the schema's foreign keys checked."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._staff = state.staff

    def add(self, staff: StaffMember) -> None:
        if staff.user_id in self._staff:
            raise Conflict("the user already has a staff profile")
        self._check_references(staff)
        self._staff[staff.user_id] = self._stored(staff, staff.created_at)

    def get(self, user_id: uuid.UUID) -> StaffMember | None:
        return self._staff.get(user_id)

    def update(self, staff: StaffMember) -> None:
        stored = _current(self._staff.get(staff.user_id), "staff member", staff.version)
        self._check_references(staff)
        self._staff[staff.user_id] = self._stored(staff, stored.created_at)

    def list(self, where: StaffFilter) -> Sequence[StaffMember]:
        found = [s for s in self._staff.values() if _matches(s, where)]
        return sorted(found, key=lambda s: (s.created_at, s.user_id))

    def count(self, where: StaffFilter) -> int:
        return sum(1 for s in self._staff.values() if _matches(s, where))

    def _check_references(self, staff: StaffMember) -> None:
        if staff.user_id not in self._state.users:
            raise Conflict("no such user")
        if staff.department_id is not None and staff.department_id not in self._state.departments:
            raise Conflict("no such department")
        if staff.team_id is not None:
            team = self._state.teams.get(staff.team_id)
            if team is None:
                raise Conflict("no such team")
            if team.department_id != staff.department_id:
                raise Conflict("the team belongs to another department")

    @staticmethod
    def _stored(staff: StaffMember, created_at: datetime) -> StaffMember:
        return attrs.evolve(staff, created_at=utc(created_at), updated_at=utc(staff.updated_at))


class MemoryDepartmentRepository:
    """Departments by id; name keys unique."""

    def __init__(self, state: MemoryState) -> None:
        self._departments = state.departments

    def add(self, department: Department) -> None:
        self._refuse_taken_name(department)
        if department.id in self._departments:
            raise Conflict("a department with this id already exists")
        self._departments[department.id] = self._stored(department, department.created_at)

    def get(self, department_id: uuid.UUID) -> Department | None:
        return self._departments.get(department_id)

    def update(self, department: Department) -> None:
        stored = _current(self._departments.get(department.id), "department", department.version)
        self._refuse_taken_name(department)
        self._departments[department.id] = self._stored(department, stored.created_at)

    def list(self, active: bool | None = None) -> Sequence[Department]:
        found = [d for d in self._departments.values() if active is None or d.is_active == active]
        return sorted(found, key=lambda d: name_key(d.name))

    def _refuse_taken_name(self, department: Department) -> None:
        key = name_key(department.name)
        for other in self._departments.values():
            if other.id != department.id and name_key(other.name) == key:
                raise Conflict(f"a department named '{other.name}' already exists")

    @staticmethod
    def _stored(department: Department, created_at: datetime) -> Department:
        return attrs.evolve(
            department, created_at=utc(created_at), updated_at=utc(department.updated_at)
        )


class MemoryTeamRepository:
    """Teams by id; name keys unique within a department, which must exist."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._teams = state.teams

    def add(self, team: Team) -> None:
        if team.department_id not in self._state.departments:
            raise Conflict("no such department")
        self._refuse_taken_name(team, team.department_id)
        if team.id in self._teams:
            raise Conflict("a team with this id already exists")
        self._teams[team.id] = self._stored(team, team.department_id, team.created_at)

    def get(self, team_id: uuid.UUID) -> Team | None:
        return self._teams.get(team_id)

    def update(self, team: Team) -> None:
        """Store a change of name, active or timestamps; the department stays as stored."""
        stored = _current(self._teams.get(team.id), "team", team.version)
        self._refuse_taken_name(team, stored.department_id)
        self._teams[team.id] = self._stored(team, stored.department_id, stored.created_at)

    def list(
        self, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> Sequence[Team]:
        found = [
            t
            for t in self._teams.values()
            if (department_id is None or t.department_id == department_id)
            and (active is None or t.is_active == active)
        ]
        departments = self._state.departments
        return sorted(
            found, key=lambda t: (name_key(departments[t.department_id].name), name_key(t.name))
        )

    def _refuse_taken_name(self, team: Team, department_id: uuid.UUID) -> None:
        key = name_key(team.name)
        for other in self._teams.values():
            if (
                other.id != team.id
                and other.department_id == department_id
                and name_key(other.name) == key
            ):
                raise Conflict(f"the department has a team named '{other.name}'")

    @staticmethod
    def _stored(team: Team, department_id: uuid.UUID, created_at: datetime) -> Team:
        return attrs.evolve(
            team,
            department_id=department_id,
            created_at=utc(created_at),
            updated_at=utc(team.updated_at),
        )


class MemorySessionRepository:
    """Login sessions by id."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._sessions = state.sessions

    def add(self, session: Session) -> None:
        if session.id in self._sessions:
            raise Conflict("a session with this id already exists")
        if session.user_id not in self._state.users:
            raise Conflict("no such user")
        self._sessions[session.id] = attrs.evolve(
            session,
            created_at=utc(session.created_at),
            expires_at=utc(session.expires_at),
            revoked_at=utc_or_none(session.revoked_at),
        )

    def get(self, session_id: uuid.UUID) -> Session | None:
        return self._sessions.get(session_id)

    def get_with_account(self, session_id: uuid.UUID) -> SessionAccount | None:
        session = self._sessions.get(session_id)
        user = self._state.users.get(session.user_id) if session is not None else None
        if session is None or user is None:
            return None
        return SessionAccount(session, user, self._state.staff.get(user.id))

    def revoke(self, session_id: uuid.UUID, at: datetime) -> bool:
        session = self._sessions.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        self._sessions[session_id] = attrs.evolve(session, revoked_at=utc(at))
        return True

    def revoke_all(self, user_id: uuid.UUID, at: datetime, keep: uuid.UUID | None = None) -> int:
        live = [
            s.id
            for s in self._sessions.values()
            if s.user_id == user_id and s.revoked_at is None and s.id != keep
        ]
        for session_id in live:
            self.revoke(session_id, at)
        return len(live)

    def delete_all(self, user_id: uuid.UUID) -> int:
        doomed = [s.id for s in self._sessions.values() if s.user_id == user_id]
        for session_id in doomed:
            del self._sessions[session_id]
        return len(doomed)


class MemoryPasswordResetRepository:
    """Reset tokens by id; hashes unique."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._tokens = state.password_resets

    def add(self, token: PasswordResetToken) -> None:
        if token.id in self._tokens:
            raise Conflict("a reset token with this id already exists")
        if self.get_by_hash(token.token_hash) is not None:
            raise Conflict("a reset token with this hash already exists")
        if token.user_id not in self._state.users:
            raise Conflict("no such user")
        self._tokens[token.id] = attrs.evolve(
            token,
            created_at=utc(token.created_at),
            expires_at=utc(token.expires_at),
            used_at=utc_or_none(token.used_at),
        )

    def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return next((t for t in self._tokens.values() if t.token_hash == token_hash), None)

    def mark_used(self, token_id: uuid.UUID, at: datetime) -> bool:
        token = self._tokens.get(token_id)
        if token is None or token.used_at is not None:
            return False
        self._tokens[token_id] = attrs.evolve(token, used_at=utc(at))
        return True

    def invalidate_all(self, user_id: uuid.UUID, at: datetime) -> int:
        open_ids = [
            t.id for t in self._tokens.values() if t.user_id == user_id and t.used_at is None
        ]
        for token_id in open_ids:
            self.mark_used(token_id, at)
        return len(open_ids)

    def delete_all(self, user_id: uuid.UUID) -> int:
        doomed = [t.id for t in self._tokens.values() if t.user_id == user_id]
        for token_id in doomed:
            del self._tokens[token_id]
        return len(doomed)
