"""SQL repositories: each takes the transaction's Connection and maps rows explicitly.

A write that can break a constraint runs inside a SAVEPOINT. On PostgreSQL a failed statement
aborts the whole transaction; the savepoint confines the failure to that one statement, so the
caller's transaction stays usable after the Conflict. Once the savepoint is rolled back, a few
reads name the rule that was broken: driver messages differ by dialect (SQLite names no
foreign key), the store's own state does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache, partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.customers import list_customers
from adapters.sql.lean import Lean, any_of
from adapters.sql.shared import chunks, exists, refused_as_conflict
from adapters.sql.tables import (
    counters,
    departments,
    password_reset_tokens,
    sessions,
    staff_members,
    teams,
    users,
)
from helpdesk_core.domain.entities import (
    Department,
    PasswordResetToken,
    Session,
    StaffMember,
    Team,
    User,
)
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.values import StaffRole, name_key
from helpdesk_core.ports.repositories import CustomerFilter, StaffFilter


class SqlCounterRepository:
    """Counters as rows, incremented by one atomic upsert (row lock on PostgreSQL)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def next_value(self, name: str) -> int:
        statement = _COUNTER_NEXT[self._connection.dialect.name == "postgresql"]
        return int(statement.scalar(self._connection, {"name": name}))

    def current_value(self, name: str) -> int:
        value = _COUNTER_VALUE.scalar(self._connection, {"name": name})
        return int(value or 0)


# Statements every request runs, built once: SQLAlchemy then skips building the statement and
# reuses its memoized cache key; only the values change (bound parameters).
# On psycopg the hot ones run through Lean (adapters/sql/lean.py): compiled once per engine.
_COUNTER_VALUE = Lean(
    sa.select(counters.c.value).where(counters.c.name == sa.bindparam("name")), prepare=True
)
_COUNTER_NEXT = {  # by "is PostgreSQL": the upsert is spelled by each dialect
    is_postgres: Lean(
        dialect.insert(counters)
        .values(name=sa.bindparam("name"), value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
        )
        .returning(counters.c.value),
        prepare=True,
    )
    for is_postgres, dialect in ((True, postgresql), (False, sqlite))
}
_DEPARTMENT = Lean(
    sa.select(departments).where(departments.c.id == sa.bindparam("id")), prepare=True
)
_USER = Lean(sa.select(users).where(users.c.id == sa.bindparam("id")), prepare=True)


def _by_ids(columns: Sequence[Any], dialect: str) -> sa.Select[Any]:
    return sa.select(*columns).where(any_of(users.c.id, "ids", dialect))


_DISPLAY_NAMES = Lean(
    _by_ids([users.c.id, users.c.display_name], "sqlite"),
    postgresql=_by_ids([users.c.id, users.c.display_name], "postgresql"),
    prepare=True,
)
_USERS = Lean(_by_ids([users], "sqlite"), postgresql=_by_ids([users], "postgresql"), prepare=True)


# ---------------------------------------------------------------- shared helpers


def _code_point_order(connection: sa.Connection, column: sa.Column[Any]) -> Any:
    # PostgreSQL sorts text by the database's locale; "C" is code-point order, as in SQLite
    # (BINARY) and Python, so every backend lists the same names in the same order.
    return column.collate("C") if connection.dialect.name == "postgresql" else column


def _email_key(email: str) -> str:
    """How emails are stored and looked up: trimmed and lower-cased."""
    return email.strip().lower()


# ---------------------------------------------------------------- users


def _user_from_row(row: sa.Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        password_hash=row.password_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_active=bool(row.is_active),
        version=row.version,
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "email": _email_key(user.email),
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "is_active": user.is_active,
        "updated_at": user.updated_at,
        "version": user.version,
    }


class SqlUserRepository:
    """Users; the email column holds the lower-cased address and is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, user: User) -> None:
        statement = sa.insert(users).values(
            id=user.id, created_at=user.created_at, **_user_values(user)
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, user, new=True)):
            self._connection.execute(statement)

    def get(self, user_id: uuid.UUID) -> User | None:
        row = _USER.first(self._connection, {"id": user_id})
        return _user_from_row(row) if row is not None else None

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
        found: dict[uuid.UUID, User] = {}
        for chunk in chunks(user_ids):
            for row in _USERS.all(self._connection, {"ids": list(chunk)}):
                user = _user_from_row(row)
                found[user.id] = user
        return found

    def display_names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        found: dict[uuid.UUID, str] = {}
        for chunk in chunks(user_ids):
            rows = _DISPLAY_NAMES.all(self._connection, {"ids": list(chunk)})
            found.update((row[0], row[1]) for row in rows)
        return found

    def get_by_email(self, email: str) -> User | None:
        query = sa.select(users).where(users.c.email == _email_key(email))
        row = self._connection.execute(query).first()
        return _user_from_row(row) if row is not None else None

    def update(self, user: User) -> None:
        statement = (
            sa.update(users)
            .where(users.c.id == user.id, users.c.version == user.version - 1)
            .values(**_user_values(user))
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, user, new=False)):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("user", user.version)

    def list_customers(
        self,
        where: CustomerFilter,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[User]:
        rows = list_customers(self._connection, where, after, limit)
        return [_user_from_row(row) for row in rows]

    def _why_refused(self, user: User, *, new: bool) -> str:
        holder = self._connection.execute(
            sa.select(users.c.id).where(users.c.email == _email_key(user.email))
        ).scalar_one_or_none()
        if holder is not None and holder != user.id:
            return "the email is already registered"
        if new and exists(self._connection, users.c.id, user.id):
            return "a user with this id already exists"
        return "the user breaks a rule of the store"


# ---------------------------------------------------------------- staff


def _staff_from_row(row: sa.Row[Any]) -> StaffMember:
    return StaffMember(
        user_id=row.user_id,
        role=StaffRole(row.role),
        department_id=row.department_id,
        team_id=row.team_id,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _staff_values(staff: StaffMember) -> dict[str, Any]:
    return {
        "role": staff.role,
        "department_id": staff.department_id,
        "team_id": staff.team_id,
        "is_active": staff.is_active,
        "updated_at": staff.updated_at,
        "version": staff.version,
    }


# The staff list of each filter shape (which of department, team, role, active are set), built
# once: auto-assignment lists a department's or team's active agents at every assignment.
_STAFF_FILTER_COLUMNS = (
    staff_members.c.department_id,
    staff_members.c.team_id,
    staff_members.c.role,
    staff_members.c.is_active,
)


@cache
def _staff_list(shape: tuple[bool, ...]) -> Lean:
    conditions = [
        column == sa.bindparam(column.key)
        for column, used in zip(_STAFF_FILTER_COLUMNS, shape, strict=True)
        if used
    ]
    query = (
        sa.select(staff_members)
        .where(*conditions)
        .order_by(staff_members.c.created_at, staff_members.c.user_id)
    )
    return Lean(query, prepare=True)  # a small table, read by an index or whole: no value skews


def _staff_conditions(where: StaffFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.department_id is not None:
        conditions.append(staff_members.c.department_id == where.department_id)
    if where.team_id is not None:
        conditions.append(staff_members.c.team_id == where.team_id)
    if where.role is not None:
        conditions.append(staff_members.c.role == where.role)
    if where.active is not None:
        conditions.append(staff_members.c.is_active == where.active)
    return conditions


class SqlStaffRepository:
    """Staff profiles; the database refuses a team of another department (composite key)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, staff: StaffMember) -> None:
        statement = sa.insert(staff_members).values(
            user_id=staff.user_id, created_at=staff.created_at, **_staff_values(staff)
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, staff, new=True)):
            self._connection.execute(statement)

    def get(self, user_id: uuid.UUID) -> StaffMember | None:
        query = sa.select(staff_members).where(staff_members.c.user_id == user_id)
        row = self._connection.execute(query).first()
        return _staff_from_row(row) if row is not None else None

    def update(self, staff: StaffMember) -> None:
        statement = (
            sa.update(staff_members)
            .where(
                staff_members.c.user_id == staff.user_id,
                staff_members.c.version == staff.version - 1,
            )
            .values(**_staff_values(staff))
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, staff, new=False)):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("staff member", staff.version)

    def list(self, where: StaffFilter) -> Sequence[StaffMember]:
        values = (where.department_id, where.team_id, where.role, where.active)
        statement = _staff_list(tuple(value is not None for value in values))
        params = {
            column.key: value
            for column, value in zip(_STAFF_FILTER_COLUMNS, values, strict=True)
            if value is not None
        }
        return [_staff_from_row(row) for row in statement.all(self._connection, params)]

    def count(self, where: StaffFilter) -> int:
        query = (
            sa.select(sa.func.count()).select_from(staff_members).where(*_staff_conditions(where))
        )
        return int(self._connection.execute(query).scalar_one())

    def _why_refused(self, staff: StaffMember, *, new: bool) -> str:
        connection = self._connection
        if new and exists(connection, staff_members.c.user_id, staff.user_id):
            return "the user already has a staff profile"
        if not exists(connection, users.c.id, staff.user_id):
            return "no such user"
        if staff.department_id is not None and not exists(
            connection, departments.c.id, staff.department_id
        ):
            return "no such department"
        if staff.team_id is not None:
            team_department = connection.execute(
                sa.select(teams.c.department_id).where(teams.c.id == staff.team_id)
            ).scalar_one_or_none()
            if team_department is None:
                return "no such team"
            if team_department != staff.department_id:
                return "the team belongs to another department"
        return "the staff profile breaks a rule of the store"


# ---------------------------------------------------------------- departments


def _department_from_row(row: sa.Row[Any]) -> Department:
    return Department(
        id=row.id,
        name=row.name,
        auto_assign=bool(row.auto_assign),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _department_values(department: Department) -> dict[str, Any]:
    return {
        "name": department.name,
        "name_key": name_key(department.name),
        "auto_assign": department.auto_assign,
        "is_active": department.is_active,
        "updated_at": department.updated_at,
        "version": department.version,
    }


class SqlDepartmentRepository:
    """Departments; ``name_key`` (case- and space-insensitive) is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, department: Department) -> None:
        statement = sa.insert(departments).values(
            id=department.id, created_at=department.created_at, **_department_values(department)
        )
        explain = partial(self._why_refused, department, new=True)
        with refused_as_conflict(self._connection, explain):
            self._connection.execute(statement)

    def get(self, department_id: uuid.UUID) -> Department | None:
        row = _DEPARTMENT.first(self._connection, {"id": department_id})
        return _department_from_row(row) if row is not None else None

    def update(self, department: Department) -> None:
        statement = (
            sa.update(departments)
            .where(
                departments.c.id == department.id,
                departments.c.version == department.version - 1,
            )
            .values(**_department_values(department))
        )
        explain = partial(self._why_refused, department, new=False)
        with refused_as_conflict(self._connection, explain):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("department", department.version)

    def list(self, active: bool | None = None) -> Sequence[Department]:
        query = sa.select(departments).order_by(
            _code_point_order(self._connection, departments.c.name_key)
        )
        if active is not None:
            query = query.where(departments.c.is_active == active)
        return [_department_from_row(row) for row in self._connection.execute(query)]

    def _why_refused(self, department: Department, *, new: bool) -> str:
        holder = self._connection.execute(
            sa.select(departments.c.id, departments.c.name).where(
                departments.c.name_key == name_key(department.name)
            )
        ).first()
        if holder is not None and holder.id != department.id:
            return f"a department named '{holder.name}' already exists"
        if new and exists(self._connection, departments.c.id, department.id):
            return "a department with this id already exists"
        return "the department breaks a rule of the store"


# ---------------------------------------------------------------- teams


def _team_from_row(row: sa.Row[Any]) -> Team:
    return Team(
        id=row.id,
        department_id=row.department_id,
        name=row.name,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _team_values(team: Team) -> dict[str, Any]:
    # No department_id: a team never moves (staff and tickets name it with its department).
    return {
        "name": team.name,
        "name_key": name_key(team.name),
        "is_active": team.is_active,
        "updated_at": team.updated_at,
        "version": team.version,
    }


class SqlTeamRepository:
    """Teams; ``(department_id, name_key)`` is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, team: Team) -> None:
        statement = sa.insert(teams).values(
            id=team.id,
            department_id=team.department_id,
            created_at=team.created_at,
            **_team_values(team),
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, team, new=True)):
            self._connection.execute(statement)

    def get(self, team_id: uuid.UUID) -> Team | None:
        row = self._connection.execute(sa.select(teams).where(teams.c.id == team_id)).first()
        return _team_from_row(row) if row is not None else None

    def update(self, team: Team) -> None:
        """Store a change of name, active or timestamps; the department stays as stored."""
        statement = (
            sa.update(teams)
            .where(teams.c.id == team.id, teams.c.version == team.version - 1)
            .values(**_team_values(team))
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, team, new=False)):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("team", team.version)

    def list(
        self, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> Sequence[Team]:
        query = (
            sa.select(teams)
            .join(departments, departments.c.id == teams.c.department_id)
            .order_by(
                _code_point_order(self._connection, departments.c.name_key),
                _code_point_order(self._connection, teams.c.name_key),
            )
        )
        if department_id is not None:
            query = query.where(teams.c.department_id == department_id)
        if active is not None:
            query = query.where(teams.c.is_active == active)
        return [_team_from_row(row) for row in self._connection.execute(query)]

    def _why_refused(self, team: Team, *, new: bool) -> str:
        connection = self._connection
        # An update keeps the stored department: judge the name against that one.
        department_id = team.department_id
        if not new:
            stored = connection.execute(
                sa.select(teams.c.department_id).where(teams.c.id == team.id)
            ).scalar_one_or_none()
            department_id = stored if stored is not None else department_id
        if new and not exists(connection, departments.c.id, department_id):
            return "no such department"
        holder = connection.execute(
            sa.select(teams.c.id, teams.c.name).where(
                teams.c.department_id == department_id, teams.c.name_key == name_key(team.name)
            )
        ).first()
        if holder is not None and holder.id != team.id:
            return f"the department has a team named '{holder.name}'"
        if new and exists(connection, teams.c.id, team.id):
            return "a team with this id already exists"
        return "the team breaks a rule of the store"


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
_SESSION_ACCOUNT = Lean(
    sa.select(
        *(c.label(f"s_{c.name}") for c in sessions.c),
        *(c.label(f"u_{c.name}") for c in users.c),
        *(c.label(f"m_{c.name}") for c in staff_members.c),
        sa.func.coalesce(
            sa.select(counters.c.value)
            .where(counters.c.name == sa.bindparam("counter", type_=sa.String()))
            .scalar_subquery(),
            0,
        ).label("counter_value"),
    )
    .select_from(
        sessions.join(users, users.c.id == sessions.c.user_id).outerjoin(
            staff_members, staff_members.c.user_id == users.c.id
        )
    )
    .where(sessions.c.id == sa.bindparam("session_id")),
    prepare=True,
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
        statement = sa.insert(sessions).values(
            id=session.id,
            user_id=session.user_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
            revoked_at=session.revoked_at,
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, session)):
            self._connection.execute(statement)

    def get(self, session_id: uuid.UUID) -> Session | None:
        query = sa.select(sessions).where(sessions.c.id == session_id)
        row = self._connection.execute(query).first()
        return _session_from_row(row) if row is not None else None

    def get_with_account(
        self, session_id: uuid.UUID, counter: str
    ) -> tuple[Session, User, StaffMember | None, int] | None:
        row = _SESSION_ACCOUNT.first(
            self._connection, {"session_id": session_id, "counter": counter}
        )
        if row is None:
            return None
        parts = {prefix: _Prefixed(row, prefix) for prefix in ("s_", "u_", "m_")}
        staff = _staff_from_row(parts["m_"]) if row.m_user_id is not None else None  # type: ignore[arg-type]
        return (
            _session_from_row(parts["s_"]),  # type: ignore[arg-type]
            _user_from_row(parts["u_"]),  # type: ignore[arg-type]
            staff,
            int(row.counter_value),
        )

    def revoke(self, session_id: uuid.UUID, at: datetime) -> bool:
        statement = (
            sa.update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return self._connection.execute(statement).rowcount == 1

    def revoke_all(self, user_id: uuid.UUID, at: datetime, keep: uuid.UUID | None = None) -> int:
        statement = (
            sa.update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        if keep is not None:
            statement = statement.where(sessions.c.id != keep)
        return int(self._connection.execute(statement).rowcount)

    def delete_all(self, user_id: uuid.UUID) -> int:
        statement = sa.delete(sessions).where(sessions.c.user_id == user_id)
        return int(self._connection.execute(statement).rowcount)

    def _why_refused(self, session: Session) -> str:
        if exists(self._connection, sessions.c.id, session.id):
            return "a session with this id already exists"
        if not exists(self._connection, users.c.id, session.user_id):
            return "no such user"
        return "the session breaks a rule of the store"


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


_RESET_REFUSALS = {
    "pk_password_reset_tokens": "a reset token with this id already exists",
    "uq_password_reset_tokens_token_hash": "a reset token with this hash already exists",
    "fk_password_reset_tokens_user_id_users": "no such user",
}


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
        # No savepoint on PostgreSQL (two round trips): a reset's transaction only records it
        # and its event, so a refusal may end it (see ``_refused_as_conflict``).
        with refused_as_conflict(
            self._connection, partial(self._why_refused, token), _RESET_REFUSALS
        ):
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

    def _why_refused(self, token: PasswordResetToken) -> str:
        connection = self._connection
        if exists(connection, password_reset_tokens.c.id, token.id):
            return "a reset token with this id already exists"
        if exists(connection, password_reset_tokens.c.token_hash, token.token_hash):
            return "a reset token with this hash already exists"
        if not exists(connection, users.c.id, token.user_id):
            return "no such user"
        return "the reset token breaks a rule of the store"
