"""Macros (SQLAlchemy Core): one row each in ``macros``, the steps a JSON list.

The conventions are those of ``adapters.sql`` (its package docstring). Macros are saved by
their editors and read when a list is shown or one is applied: few rows, so the statements run
through ``Connection.execute``. The steps are written as the API shows them
(``[{"action", "value"}, ...]``) and read back through the domain's ``parse_steps``, the one
place that knows what each action's value is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql.refusals import Refusals, primary_key, reference, refused_as_conflict
from adapters.sql.tables import macros
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.macros import Macro, MacroScope, Step, parse_steps

_C = macros.c
_ADDED = Refusals[Macro](
    "macro",
    (
        primary_key(macros, "a macro with this id already exists"),
        reference(_C.owner_id, "no such user"),
        reference(_C.department_id, "no such department"),
        reference(_C.created_by, "no such user"),
    ),
)


def _steps_json(steps: Sequence[Step]) -> list[dict[str, Any]]:
    return [step.as_json() for step in steps]


def _from_row(row: Any) -> Macro:
    return Macro(
        id=row.id,
        name=row.name,
        scope=MacroScope(row.scope),
        steps=parse_steps(row.steps),
        owner_id=row.owner_id,
        department_id=row.department_id,
        created_by=row.created_by,
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


class SqlMacroRepository:
    """Macros; the table's CHECKs hold a scope to exactly its holder."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, macro: Macro) -> None:
        statement = sa.insert(macros).values(
            id=macro.id,
            name=macro.name,
            scope=macro.scope.value,
            owner_id=macro.owner_id,
            department_id=macro.department_id,
            steps=_steps_json(macro.steps),
            created_by=macro.created_by,
            is_active=macro.is_active,
            created_at=macro.created_at,
            updated_at=macro.updated_at,
            version=macro.version,
        )
        with refused_as_conflict(self._connection, _ADDED, macro):
            self._connection.execute(statement)

    def get(self, macro_id: uuid.UUID) -> Macro | None:
        row = self._connection.execute(sa.select(macros).where(_C.id == macro_id)).first()
        return _from_row(row) if row is not None else None

    def list(self) -> Sequence[Macro]:
        rows = self._connection.execute(sa.select(macros).order_by(_C.id))
        return [_from_row(row) for row in rows]

    def update(self, macro: Macro) -> None:
        statement = (
            sa.update(macros)
            .where(_C.id == macro.id, _C.version == macro.version - 1)
            .values(
                name=macro.name,
                steps=_steps_json(macro.steps),
                is_active=macro.is_active,
                updated_at=macro.updated_at,
                version=macro.version,
            )
        )
        if self._connection.execute(statement).rowcount != 1:
            raise stale_version("macro", macro.version)
