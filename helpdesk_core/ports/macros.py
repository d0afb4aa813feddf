"""Stored macros: named lists of actions staff apply to a ticket in one step."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from helpdesk_core.domain.macros import Macro


class MacroRepository(Protocol):
    """Macros by id. Never deleted: a deactivated macro stays stored."""

    def add(self, macro: Macro) -> None:
        """Store a new macro; Conflict when its id is taken or its owner, department or creator
        does not exist ("no such user", "no such department")."""
        ...

    def get(self, macro_id: uuid.UUID) -> Macro | None:
        """The macro, active or not, or None."""
        ...

    def list(self) -> Sequence[Macro]:
        """Every macro, active or not, by id (the use case keeps those a caller may apply)."""
        ...

    def update(self, macro: Macro) -> None:
        """Store ``macro``'s name, steps, active flag and ``updated_at`` (its version bumped);
        StaleVersion unless the stored version is ``macro.version - 1``. The scope, its
        holder, ``created_at`` and ``created_by`` keep their stored values."""
        ...
