"""Canned responses (SQLAlchemy Core): one row each in ``canned_responses``.

The conventions are those of ``adapters.sql`` (its package docstring). Responses are written by
their editors and listed when an agent writes a reply: few rows, so the statements run through
``Connection.execute``. Counting a use is one UPDATE adding one in the store itself, so two
renderings at once both count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql.refusals import Refusals, primary_key, reference, refused_as_conflict
from adapters.sql.tables import canned_responses
from helpdesk_core.domain.canned import CannedResponse, CannedScope
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.ports.canned import CannedReach

_C = canned_responses.c
_ADDED = Refusals[CannedResponse](
    "canned response",
    (
        primary_key(canned_responses, "a canned response with this id already exists"),
        reference(_C.owner_id, "no such user"),
        reference(_C.team_id, "no such team"),
        reference(_C.department_id, "no such department"),
        reference(_C.created_by, "no such user"),
    ),
)


def _from_row(row: Any) -> CannedResponse:
    return CannedResponse(
        id=row.id,
        title=row.title,
        shortcut=row.shortcut,
        body=row.body,
        scope=CannedScope(row.scope),
        owner_id=row.owner_id,
        team_id=row.team_id,
        department_id=row.department_id,
        usage_count=row.usage_count,
        created_by=row.created_by,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _code_point_order(dialect: str, column: sa.Column[Any]) -> Any:
    # PostgreSQL sorts text by the database's locale; "C" is code-point order, as in SQLite
    # (BINARY) and Python, so every store lists the same titles in the same order.
    return column.collate("C") if dialect == "postgresql" else column


def _holder_in(column: sa.Column[Any], ids: frozenset[uuid.UUID] | None) -> Any:
    """The rows whose ``column`` is one of ``ids`` (None: any)."""
    if ids is None:
        return sa.true()
    return column.in_(sorted(ids)) if ids else sa.false()


class SqlCannedResponseRepository:
    """Canned responses; the table's CHECKs hold a scope to exactly its holder."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, response: CannedResponse) -> None:
        statement = sa.insert(canned_responses).values(
            id=response.id,
            title=response.title,
            shortcut=response.shortcut,
            body=response.body,
            scope=response.scope.value,
            owner_id=response.owner_id,
            team_id=response.team_id,
            department_id=response.department_id,
            usage_count=response.usage_count,
            created_by=response.created_by,
            is_active=response.is_active,
            created_at=response.created_at,
            updated_at=response.updated_at,
            version=response.version,
        )
        with refused_as_conflict(self._connection, _ADDED, response):
            self._connection.execute(statement)

    def get(self, response_id: uuid.UUID) -> CannedResponse | None:
        row = self._connection.execute(
            sa.select(canned_responses).where(_C.id == response_id)
        ).first()
        return _from_row(row) if row is not None else None

    def list(self, reach: CannedReach) -> Sequence[CannedResponse]:
        personal = _C.owner_id == reach.owner_id if reach.owner_id is not None else sa.false()
        where = [
            sa.or_(
                sa.and_(_C.scope == CannedScope.PERSONAL.value, personal),
                sa.and_(_C.scope == CannedScope.TEAM.value, _holder_in(_C.team_id, reach.team_ids)),
                sa.and_(
                    _C.scope == CannedScope.DEPARTMENT.value,
                    _holder_in(_C.department_id, reach.department_ids),
                ),
                _C.scope == CannedScope.EVERYONE.value,
            )
        ]
        if reach.scope is not None:
            where.append(_C.scope == reach.scope.value)
        if reach.active is not None:
            where.append(_C.is_active == reach.active)
        dialect = self._connection.dialect.name
        query = (
            sa.select(canned_responses)
            .where(*where)
            .order_by(_code_point_order(dialect, _C.title), _C.id)
        )
        return [_from_row(row) for row in self._connection.execute(query)]

    def update(self, response: CannedResponse) -> None:
        statement = (
            sa.update(canned_responses)
            .where(_C.id == response.id, _C.version == response.version - 1)
            .values(
                title=response.title,
                shortcut=response.shortcut,
                body=response.body,
                is_active=response.is_active,
                updated_at=response.updated_at,
                version=response.version,
            )
        )
        if self._connection.execute(statement).rowcount != 1:
            raise stale_version("canned response", response.version)

    def count_use(self, response_id: uuid.UUID) -> int | None:
        statement = (
            sa.update(canned_responses)
            .where(_C.id == response_id)
            .values(usage_count=_C.usage_count + 1)
            .returning(_C.usage_count)
        )
        count = self._connection.execute(statement).scalar()
        return None if count is None else int(count)
