"""The followers of tickets (``domain/followers.py``): one row per ticket and staff member."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.followers import FollowerView


class FollowerRepository(Protocol):
    """Who follows which ticket (the assignee follows without a row: the use case adds them)."""

    def add(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID, added_by: uuid.UUID | None, at: datetime
    ) -> bool:
        """Make ``user_id`` follow the ticket, unless they do already (the row is then kept as
        it is); whether they were added. Two transactions adding the same follower at once
        store one row, and the second answers False. Conflict when the ticket or a user does
        not exist (after which the transaction must end)."""
        ...

    def remove(self, ticket_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Stop ``user_id`` following the ticket; whether they did."""
        ...

    def list(self, ticket_id: uuid.UUID) -> Sequence[FollowerView]:
        """The ticket's followers with their display names, by when they began to follow it,
        then by user id."""
        ...

    def of_ticket(self, ticket_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """The user ids of the ticket's followers (what notifying them needs)."""
        ...
