"""The followers of tickets in memory: ``state.followers`` by (ticket id, user id), with the
rules and order of the SQL repository (``adapters/sql/followers.py``): one row per ticket and
user, the ticket and users it names must exist, listed by when they began to follow, then by
user id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.memory.shared import utc
from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.followers import Follower, FollowerView

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState

FollowerKey = tuple[uuid.UUID, uuid.UUID]  # (ticket id, user id)


class MemoryFollowerRepository:
    """Followers by (ticket, user); checks run before anything changes."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._followers = state.followers

    def add(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID, added_by: uuid.UUID | None, at: datetime
    ) -> bool:
        if (ticket_id, user_id) in self._followers:
            return False
        if ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        if user_id not in self._state.users or (
            added_by is not None and added_by not in self._state.users
        ):
            raise Conflict("no such user")
        self._followers[(ticket_id, user_id)] = Follower(ticket_id, user_id, utc(at), added_by)
        return True

    def remove(self, ticket_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return self._followers.pop((ticket_id, user_id), None) is not None

    def list(self, ticket_id: uuid.UUID) -> Sequence[FollowerView]:
        users = self._state.users
        found = sorted(
            (f for f in self._followers.values() if f.ticket_id == ticket_id),
            key=lambda f: (f.created_at, f.user_id),
        )
        return [
            FollowerView(f, users[f.user_id].display_name if f.user_id in users else None)
            for f in found
        ]

    def of_ticket(self, ticket_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return frozenset(user for ticket, user in self._followers if ticket == ticket_id)
