"""The organization (SQLAlchemy Core): departments, their teams, and staff profiles.

The conventions are those of ``adapters.sql`` (its package docstring). Departments and staff
profiles are read on most requests (a ticket's routing, auto-assignment): their repositories
run compiled statements (adapters/sql/compiled.py). Teams, read and written by administrators,
run through ``Connection.execute``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa

from adapters.sql.compiled import CompiledStatement
from adapters.sql.refusals import (
    Refusal,
    Refusals,
    primary_key,
    reference,
    refused_as_conflict,
    team_misplaced,
)
from adapters.sql.shared import staff_from_row, update_at_version
from adapters.sql.tables import departments, staff_members, teams
from helpdesk_core.domain.entities import Department, StaffMember, Team
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.repositories import StaffFilter


def _code_point_order(dialect: str, column: sa.Column[Any]) -> Any:
    # PostgreSQL sorts text by the database's locale; "C" is code-point order, as in SQLite
    # (BINARY) and Python, so every backend lists the same names in the same order.
    return column.collate("C") if dialect == "postgresql" else column


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


_DEPARTMENT = CompiledStatement(
    sa.select(departments).where(departments.c.id == sa.bindparam("id")), prepare=True
)
_INSERT_DEPARTMENT = CompiledStatement(sa.insert(departments), prepare=True)
_UPDATE_DEPARTMENT = CompiledStatement(
    update_at_version(departments, departments.c.id), prepare=True
)


def _departments(active: bool, dialect: str) -> sa.Select[Any]:
    query = sa.select(departments).order_by(_code_point_order(dialect, departments.c.name_key))
    return query.where(departments.c.is_active == sa.bindparam("active")) if active else query


_DEPARTMENTS = {  # by "filtered by active"; a small table
    active: CompiledStatement(
        _departments(active, "sqlite"), postgresql=_departments(active, "postgresql"), prepare=True
    )
    for active in (True, False)
}


def _name_taken(
    table: sa.Table,
    says: Callable[[str], str],
    *,
    within: Callable[[sa.Connection, Any], object] | None = None,
) -> Refusal[Any]:
    """The unique name (``name_key``: names compare without case and spaces) is another row's;
    the probe's message names it as stored. ``within``: the department whose teams' names are
    compared (the key is ``(department_id, name_key)``)."""
    (constraint,) = (
        c
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint) and "name_key" in c.columns
    )

    def probe(connection: sa.Connection, subject: Any) -> bool | str:
        query = sa.select(table.c.id, table.c.name).where(
            table.c.name_key == name_key(subject.name)
        )
        if within is not None:
            query = query.where(table.c.department_id == within(connection, subject))
        holder = connection.execute(query).first()
        return False if holder is None or holder.id == subject.id else says(holder.name)

    return Refusal(str(constraint.name), lambda subject: says(subject.name), probe)


_DEPARTMENT_NAME = _name_taken(
    departments, lambda name: f"a department named '{name}' already exists"
)
_DEPARTMENT_ADDED = Refusals[Department](
    "department",
    (_DEPARTMENT_NAME, primary_key(departments, "a department with this id already exists")),
)
_DEPARTMENT_UPDATED = Refusals[Department]("department", (_DEPARTMENT_NAME,))


class SqlDepartmentRepository:
    """Departments; ``name_key`` (case- and space-insensitive) is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, department: Department) -> None:
        values = {
            "id": department.id,
            "created_at": department.created_at,
            **_department_values(department),
        }
        with refused_as_conflict(self._connection, _DEPARTMENT_ADDED, department):
            _INSERT_DEPARTMENT.execute(self._connection, values)

    def get(self, department_id: uuid.UUID) -> Department | None:
        row = _DEPARTMENT.first(self._connection, {"id": department_id})
        return _department_from_row(row) if row is not None else None

    def update(self, department: Department) -> None:
        values = {
            **_department_values(department),
            "key_": department.id,
            "read_version": department.version - 1,
        }
        with refused_as_conflict(self._connection, _DEPARTMENT_UPDATED, department):
            matched = _UPDATE_DEPARTMENT.execute(self._connection, values)
        if matched != 1:
            raise stale_version("department", department.version)

    def list(self, active: bool | None = None) -> Sequence[Department]:
        statement = _DEPARTMENTS[active is not None]
        rows = statement.all(self._connection, {} if active is None else {"active": active})
        return [_department_from_row(row) for row in rows]


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


def _stored_department(connection: sa.Connection, team: Team) -> object:
    """An update keeps the stored department: a new name is judged against that one."""
    stored = connection.execute(
        sa.select(teams.c.department_id).where(teams.c.id == team.id)
    ).scalar_one_or_none()
    return stored if stored is not None else team.department_id


def _team_name(within: Callable[[sa.Connection, Team], object]) -> Refusal[Any]:
    return _name_taken(
        teams, lambda name: f"the department has a team named '{name}'", within=within
    )


_TEAM_ADDED = Refusals[Team](
    "team",
    (
        reference(teams.c.department_id, "no such department"),
        _team_name(lambda _, team: team.department_id),
        primary_key(teams, "a team with this id already exists"),
    ),
)
_TEAM_UPDATED = Refusals[Team]("team", (_team_name(_stored_department),))


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
        with refused_as_conflict(self._connection, _TEAM_ADDED, team):
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
        with refused_as_conflict(self._connection, _TEAM_UPDATED, team):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("team", team.version)

    def list(
        self, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> Sequence[Team]:
        dialect = self._connection.dialect.name
        query = (
            sa.select(teams)
            .join(departments, departments.c.id == teams.c.department_id)
            .order_by(
                _code_point_order(dialect, departments.c.name_key),
                _code_point_order(dialect, teams.c.name_key),
            )
        )
        if department_id is not None:
            query = query.where(teams.c.department_id == department_id)
        if active is not None:
            query = query.where(teams.c.is_active == active)
        return [_team_from_row(row) for row in self._connection.execute(query)]


# ---------------------------------------------------------------- staff


def _staff_values(staff: StaffMember) -> dict[str, Any]:
    return {
        "role": staff.role,
        "department_id": staff.department_id,
        "team_id": staff.team_id,
        "is_active": staff.is_active,
        "updated_at": staff.updated_at,
        "version": staff.version,
        "signature": staff.signature,
    }


# The staff list and count of each filter shape (which of department, team, role, active are
# set), built once: auto-assignment lists a department's or team's active agents at every
# assignment. A small table, read by an index or whole: no value skews the plan.
_STAFF_FILTER_COLUMNS = (
    staff_members.c.department_id,
    staff_members.c.team_id,
    staff_members.c.role,
    staff_members.c.is_active,
)


def _staff_filter(shape: tuple[bool, ...]) -> list[sa.ColumnElement[bool]]:
    return [
        column == sa.bindparam(column.key)
        for column, used in zip(_STAFF_FILTER_COLUMNS, shape, strict=True)
        if used
    ]


def _staff_params(where: StaffFilter) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """The filter's shape and the values it binds."""
    values = (where.department_id, where.team_id, where.role, where.active)
    params = {
        column.key: value
        for column, value in zip(_STAFF_FILTER_COLUMNS, values, strict=True)
        if value is not None
    }
    return tuple(value is not None for value in values), params


@cache
def _staff_list(shape: tuple[bool, ...]) -> CompiledStatement:
    query = (
        sa.select(staff_members)
        .where(*_staff_filter(shape))
        .order_by(staff_members.c.created_at, staff_members.c.user_id)
    )
    return CompiledStatement(query, prepare=True)


@cache
def _staff_count(shape: tuple[bool, ...]) -> CompiledStatement:
    query = sa.select(sa.func.count()).select_from(staff_members).where(*_staff_filter(shape))
    return CompiledStatement(query, prepare=True)


_STAFF = CompiledStatement(
    sa.select(staff_members).where(staff_members.c.user_id == sa.bindparam("user_id")),
    prepare=True,
)
_INSERT_STAFF = CompiledStatement(sa.insert(staff_members), prepare=True)
_UPDATE_STAFF = CompiledStatement(
    update_at_version(staff_members, staff_members.c.user_id), prepare=True
)
# The composite key cannot tell an unknown team from one of another department: the probe can,
# and staff profiles are written in a savepoint on every database (adapters.sql.refusals).
_STAFF_PLACED: tuple[Refusal[StaffMember], ...] = (
    reference(staff_members.c.user_id, "no such user"),
    reference(staff_members.c.department_id, "no such department"),
    Refusal(
        "fk_staff_members_team_in_department",
        "no such team, or the team belongs to another department",
        team_misplaced,
    ),
)
_STAFF_ADDED = Refusals[StaffMember](
    "staff profile",
    (primary_key(staff_members, "the user already has a staff profile"), *_STAFF_PLACED),
)
_STAFF_UPDATED = Refusals[StaffMember]("staff profile", _STAFF_PLACED)


class SqlStaffRepository:
    """Staff profiles; the database refuses a team of another department (composite key)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, staff: StaffMember) -> None:
        values = {"user_id": staff.user_id, "created_at": staff.created_at, **_staff_values(staff)}
        with refused_as_conflict(self._connection, _STAFF_ADDED, staff):
            _INSERT_STAFF.execute(self._connection, values)

    def get(self, user_id: uuid.UUID) -> StaffMember | None:
        row = _STAFF.first(self._connection, {"user_id": user_id})
        return staff_from_row(row) if row is not None else None

    def update(self, staff: StaffMember) -> None:
        values = {**_staff_values(staff), "key_": staff.user_id, "read_version": staff.version - 1}
        with refused_as_conflict(self._connection, _STAFF_UPDATED, staff):
            matched = _UPDATE_STAFF.execute(self._connection, values)
        if matched != 1:
            raise stale_version("staff member", staff.version)

    def list(self, where: StaffFilter) -> Sequence[StaffMember]:
        shape, params = _staff_params(where)
        return [staff_from_row(row) for row in _staff_list(shape).all(self._connection, params)]

    def count(self, where: StaffFilter) -> int:
        shape, params = _staff_params(where)
        return int(_staff_count(shape).scalar(self._connection, params))
