"""In-memory macros over a transaction's working MemoryState.

The rules, messages and order of the SQL repository (``adapters/sql/macros.py``): the foreign
keys checked, listed by id, optimistic locking on update with the scope, its holder and the
creation kept as stored. Every check runs before anything changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.macros import Macro

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryMacroRepository:
    """Macros by id."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._macros = state.macros

    def add(self, macro: Macro) -> None:
        if macro.id in self._macros:
            raise Conflict("a macro with this id already exists")
        for refers, table, message in (
            (macro.owner_id, self._state.users, "no such user"),
            (macro.department_id, self._state.departments, "no such department"),
            (macro.created_by, self._state.users, "no such user"),
        ):
            if refers is not None and refers not in table:
                raise Conflict(message)
        self._macros[macro.id] = attrs.evolve(
            macro, created_at=utc(macro.created_at), updated_at=utc(macro.updated_at)
        )

    def get(self, macro_id: uuid.UUID) -> Macro | None:
        return self._macros.get(macro_id)

    def list(self) -> Sequence[Macro]:
        return sorted(self._macros.values(), key=lambda macro: macro.id)

    def update(self, macro: Macro) -> None:
        stored = self._macros.get(macro.id)
        if stored is None or stored.version != macro.version - 1:
            raise stale_version("macro", macro.version)
        self._macros[macro.id] = attrs.evolve(
            stored,
            name=macro.name,
            steps=macro.steps,
            is_active=macro.is_active,
            updated_at=utc(macro.updated_at),
            version=macro.version,
        )
