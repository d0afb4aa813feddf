"""``MacroActing``: the macro operations of ``Acting``, in a module of their own so that
``_acting.py`` stays short; ``Acting`` inherits them, with the same rules and errors."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from helpdesk._errors import domain_errors_only
from helpdesk_core.domain.macros import Macro
from helpdesk_core.domain.principal import Principal
from helpdesk_core.usecases.macros import CreateMacro, UpdateMacro

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services


class MacroActing:
    """Saving and managing macros, as the acting user (``Acting`` holds ``_s`` and
    ``_actor``)."""

    _s: Services
    _actor: Principal

    def list_macros(self) -> list[Macro]:
        """The active macros the actor may apply, by name in any case (``GET
        /staff/macros``)."""
        with domain_errors_only():
            return list(self._s.macros.list(self._actor))

    def create_macro(self, command: CreateMacro) -> Macro:
        """Save a macro (``POST /staff/macros``); ValidationFailed naming the action's place
        (``actions.1.value``), PermissionDenied when the actor may not save its scope."""
        with domain_errors_only():
            return self._s.macros.create(self._actor, command)

    def get_macro(self, macro_id: uuid.UUID) -> Macro:
        """One macro the actor may apply (``GET /staff/macros/{id}``); NotFound otherwise."""
        with domain_errors_only():
            return self._s.macros.get(self._actor, macro_id)

    def update_macro(self, macro_id: uuid.UUID, version: int, command: UpdateMacro) -> Macro:
        """Change the ``version`` of the macro the actor saw (``PATCH /staff/macros/{id}``
        with If-Match); StaleVersion if it changed since."""
        with domain_errors_only():
            return self._s.macros.update(self._actor, macro_id, version, command)

    def deactivate_macro(self, macro_id: uuid.UUID, version: int | None = None) -> Macro:
        """Deactivate it: no longer listed, read or applied; nothing is deleted (``DELETE
        /staff/macros/{id}``)."""
        with domain_errors_only():
            return self._s.macros.deactivate(self._actor, macro_id, version)
