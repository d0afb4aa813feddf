"""In-memory canned responses over a transaction's working MemoryState.

The rules, messages and order of the SQL repository (``adapters/sql/canned.py``): the
foreign keys checked, listed by title in code-point order then id, optimistic locking on
update with the scope, its holder, the creation and the usage count kept as stored. Every
check runs before anything changes, so a refused write leaves the transaction as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc
from helpdesk_core.domain.canned import CannedResponse, CannedScope
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.ports.canned import CannedReach

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryCannedResponseRepository:
    """Canned responses by id."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._responses = state.canned_responses

    def add(self, response: CannedResponse) -> None:
        if response.id in self._responses:
            raise Conflict("a canned response with this id already exists")
        self._check_references(response)
        self._responses[response.id] = attrs.evolve(
            response, created_at=utc(response.created_at), updated_at=utc(response.updated_at)
        )

    def get(self, response_id: uuid.UUID) -> CannedResponse | None:
        return self._responses.get(response_id)

    def list(self, reach: CannedReach) -> Sequence[CannedResponse]:
        found = [r for r in self._responses.values() if _within(r, reach)]
        return sorted(found, key=lambda r: (r.title, r.id))

    def update(self, response: CannedResponse) -> None:
        stored = self._responses.get(response.id)
        if stored is None or stored.version != response.version - 1:
            raise stale_version("canned response", response.version)
        self._responses[response.id] = attrs.evolve(
            stored,
            title=response.title,
            shortcut=response.shortcut,
            body=response.body,
            is_active=response.is_active,
            updated_at=utc(response.updated_at),
            version=response.version,
        )

    def count_use(self, response_id: uuid.UUID) -> int | None:
        stored = self._responses.get(response_id)
        if stored is None:
            return None
        self._responses[response_id] = attrs.evolve(stored, usage_count=stored.usage_count + 1)
        return stored.usage_count + 1

    def _check_references(self, response: CannedResponse) -> None:
        for refers, table, message in (
            (response.owner_id, self._state.users, "no such user"),
            (response.team_id, self._state.teams, "no such team"),
            (response.department_id, self._state.departments, "no such department"),
            (response.created_by, self._state.users, "no such user"),
        ):
            if refers is not None and refers not in table:
                raise Conflict(message)


def _within(response: CannedResponse, reach: CannedReach) -> bool:
    if reach.scope is not None and response.scope is not reach.scope:
        return False
    if reach.active is not None and response.is_active != reach.active:
        return False
    match response.scope:
        case CannedScope.PERSONAL:
            return reach.owner_id is not None and response.owner_id == reach.owner_id
        case CannedScope.TEAM:
            return reach.team_ids is None or response.team_id in reach.team_ids
        case CannedScope.DEPARTMENT:
            return reach.department_ids is None or response.department_id in reach.department_ids
    return True
