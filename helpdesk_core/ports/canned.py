"""Stored canned responses, and the part of them a caller may reach."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

import attrs

from helpdesk_core.domain.canned import CannedResponse, CannedScope


@attrs.frozen
class CannedReach:
    """The responses a list may answer: the personal ones of ``owner_id`` (none when None),
    those of ``team_ids`` and of ``department_ids`` (None: of every team or department; empty:
    of none), everyone's; only of ``scope`` when given, only active or inactive ones when
    ``active`` is not None."""

    owner_id: uuid.UUID | None = None
    team_ids: frozenset[uuid.UUID] | None = frozenset()
    department_ids: frozenset[uuid.UUID] | None = frozenset()
    scope: CannedScope | None = None
    active: bool | None = True


class CannedResponseRepository(Protocol):
    """Canned responses by id."""

    def add(self, response: CannedResponse) -> None:
        """Store a new response; Conflict when its id is taken or its owner, team or
        department does not exist ("no such user", "no such team", "no such department")."""
        ...

    def get(self, response_id: uuid.UUID) -> CannedResponse | None:
        """The response, or None."""
        ...

    def list(self, reach: CannedReach) -> Sequence[CannedResponse]:
        """The responses inside ``reach``, by title (code-point order) then id."""
        ...

    def update(self, response: CannedResponse) -> None:
        """Store ``response``'s title, shortcut, body, active and times (its version bumped);
        StaleVersion unless the stored version is ``response.version - 1``. The scope, its
        holder, ``created_at``, ``created_by`` and ``usage_count`` keep their stored values."""
        ...

    def count_use(self, response_id: uuid.UUID) -> int | None:
        """Add one to the response's usage count in the store itself (``usage_count + 1``, so
        concurrent renderings each count) and answer the new count; None for an unknown id.
        Neither its version nor ``updated_at`` changes."""
        ...
