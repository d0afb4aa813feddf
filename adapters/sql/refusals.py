"""Refusals as Conflict: each constraint a write can break, declared once with its message.

A write that breaks a constraint fails with an ``IntegrityError``; the repositories answer
``Conflict`` naming the broken rule. One ``Refusal`` per constraint says both how a refusal is
recognized and what it says:

- by the constraint's name, which PostgreSQL reports. A write declared without a savepoint
  (``Refusals(..., savepoint=False)``) runs as it is on PostgreSQL: a savepoint costs two round
  trips there, and PostgreSQL keeps the transaction from doing anything but end (it is
  aborted), so nothing half-done can be committed. For writes whose transaction holds nothing
  else worth keeping (a ticket, a message, a history row, an event, a reset token);
- by a probe of the store, run once the savepoint rolled back: SQLite reports no constraint
  name, and a write declared with a savepoint (the default) takes one on PostgreSQL too, so
  that the caller's transaction stays usable after the Conflict.

Where the store tells more than a constraint's name, a probe may answer the message itself:
the composite key ``(team_id, department_id) -> teams`` cannot tell "no such team" from "the
team belongs to another department", but ``team_misplaced`` can (so PostgreSQL's message for a
write without a savepoint is the coarser "no such team, or the team belongs to another
department"); a unique name's probe names the name as it is stored.

Probes run only after a refusal, off every hot path: through ``Connection.execute``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

import attrs
import sqlalchemy as sa

from adapters.sql.tables import teams
from helpdesk_core.domain.errors import Conflict

S = TypeVar("S")  # what a write stores: a ticket, a message, a user, ...

Probe = Callable[[sa.Connection, S], bool | str]


@attrs.frozen
class Refusal(Generic[S]):
    """One constraint a write can break: its name as PostgreSQL reports it (tables.py's naming
    convention), the Conflict's message (or a function of what was written), and the probe
    that finds it broken where no name is read: True for ``message``, or a finer message."""

    constraint: str
    message: str | Callable[[S], str]
    broken: Probe[S]

    def says(self, subject: S) -> str:
        return self.message if isinstance(self.message, str) else self.message(subject)


@attrs.frozen
class Refusals(Generic[S]):
    """What one write can be refused for, each constraint once, in the order the probes try
    them (the first broken one names the Conflict). ``what`` names the written thing when no
    rule explains a refusal; ``savepoint``: see the module docstring."""

    what: str
    rules: tuple[Refusal[S], ...]
    savepoint: bool = True

    def by_name(self, constraint: str, subject: S) -> str:
        """The message of the constraint PostgreSQL names."""
        for rule in self.rules:
            if rule.constraint == constraint:
                return rule.says(subject)
        return f"the change breaks a rule of the store ({constraint or 'unnamed'})"

    def probed(self, connection: sa.Connection, subject: S) -> str:
        """The message of the first rule whose probe finds it broken."""
        for rule in self.rules:
            found = rule.broken(connection, subject)
            if found:
                return found if isinstance(found, str) else rule.says(subject)
        return f"the {self.what} breaks a rule of the store"


@contextmanager
def refused_as_conflict(
    connection: sa.Connection, refusals: Refusals[S], subject: S
) -> Iterator[None]:
    """Run the block, writing ``subject``; a broken constraint becomes ``Conflict`` with the
    message ``refusals`` gives it (module docstring)."""
    if not refusals.savepoint and connection.dialect.name == "postgresql":
        try:
            yield
        except sa.exc.IntegrityError as exc:
            name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
            raise Conflict(refusals.by_name(name, subject)) from exc
        return
    try:
        with connection.begin_nested():
            yield
    except sa.exc.IntegrityError as exc:
        raise Conflict(refusals.probed(connection, subject)) from exc


# ---------------------------------------------------------------- declarations and probes
#
# The subject's attributes are named as the columns they are stored in (``ticket.number``,
# ``message.author_id``): a key or a reference reads the subject's value by the column's name
# unless told otherwise (``value``), and the constraint's name comes from the schema.


def _row_where(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(sa.literal(1)).where(*conditions).limit(1)


def primary_key(
    table: sa.Table, message: str, *, value: Callable[[Any], object] | None = None
) -> Refusal[Any]:
    """``table``'s primary key is taken: a row holds the subject's values of its columns (or
    ``value(subject)``, for a one-column key the subject names otherwise)."""
    columns = list(table.primary_key.columns)
    if value is not None:
        (column,) = columns
        values = {column.key: value}
    else:
        values = {column.key: attrgetter(column.key) for column in columns}
    query = _row_where(*(column == sa.bindparam(column.key) for column in columns))

    def probe(connection: sa.Connection, subject: Any) -> bool:
        bound = {name: get(subject) for name, get in values.items()}
        return connection.execute(query, bound).first() is not None

    return Refusal(str(table.primary_key.name), message, probe)


def unique(
    column: sa.Column[Any],
    message: str | Callable[[S], str],
    *,
    value: Callable[[S], object] | None = None,
    other_than: Callable[[S], object] | None = None,
) -> Refusal[S]:
    """The unique constraint over ``column`` alone is broken (``taken``)."""
    (name,) = (
        constraint.name
        for constraint in column.table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
        and [c.key for c in constraint.columns] == [column.key]
    )
    found = taken(column, value or attrgetter(column.key), other_than=other_than)
    return Refusal(str(name), message, found)


def reference(column: sa.Column[Any], message: str) -> Refusal[Any]:
    """The foreign key of ``column`` alone refers to no row (``missing``)."""
    (foreign_key,) = (
        key
        for key in column.foreign_keys
        if len(key.constraint.columns) == 1  # type: ignore[union-attr]
    )
    name = str(foreign_key.constraint.name)  # type: ignore[union-attr]
    return Refusal(name, message, missing(foreign_key.column, attrgetter(column.key)))


def taken(
    column: sa.Column[Any],
    value: Callable[[S], object],
    *,
    other_than: Callable[[S], object] | None = None,
) -> Probe[S]:
    """Some row holds ``value(subject)`` in ``column``; with ``other_than``, a row whose
    primary key is not ``other_than(subject)`` (an update keeps its own values)."""
    query = _row_where(column == sa.bindparam("value"))
    if other_than is not None:
        (key,) = column.table.primary_key.columns
        query = query.where(key != sa.bindparam("own"))

    def probe(connection: sa.Connection, subject: S) -> bool:
        values = {"value": value(subject)}
        if other_than is not None:
            values["own"] = other_than(subject)
        return connection.execute(query, values).first() is not None

    return probe


def missing(column: sa.Column[Any], value: Callable[[S], object]) -> Probe[S]:
    """``value(subject)`` refers to a row by ``column`` and no row holds it (None refers to
    nothing, and is never missing)."""
    query = _row_where(column == sa.bindparam("value"))

    def probe(connection: sa.Connection, subject: S) -> bool:
        refers = value(subject)
        return refers is not None and connection.execute(query, {"value": refers}).first() is None

    return probe


class Placed(Protocol):
    """What names a team with its department (a staff profile, a ticket)."""

    @property
    def department_id(self) -> uuid.UUID | None: ...

    @property
    def team_id(self) -> uuid.UUID | None: ...


_TEAM_DEPARTMENT = sa.select(teams.c.department_id).where(teams.c.id == sa.bindparam("team_id"))


def team_misplaced(connection: sa.Connection, subject: Placed) -> bool | str:
    """The probe of a composite key ``(team_id, department_id) -> teams``: which of "no such
    team" and "the team belongs to another department" broke it."""
    if subject.team_id is None:
        return False
    stored = connection.execute(_TEAM_DEPARTMENT, {"team_id": subject.team_id}).first()
    if stored is None:
        return "no such team"
    if stored.department_id != subject.department_id:
        return "the team belongs to another department"
    return False
