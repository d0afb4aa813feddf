"""The customer list of the in-memory store, with the SQL repository's filter and order."""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable, Sequence
from datetime import UTC, datetime

from helpdesk_core.domain.entities import User
from helpdesk_core.ports.repositories import CustomerFilter


def customers_page(
    users: Iterable[User],
    staff: Container[uuid.UUID],
    where: CustomerFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[User]:
    """Up to ``limit`` users without a staff profile matching ``where``, by ``(created_at,
    id)``, after ``after``: ids order as the databases order them (by their 128-bit value)."""
    needle = (where.email_contains or "").lower()
    position = (after[0].astimezone(UTC), after[1]) if after is not None else None
    chosen = sorted(
        (
            u
            for u in users
            if u.id not in staff
            and (where.active is None or u.is_active == where.active)
            and needle in u.email
            and (position is None or (u.created_at, u.id) > position)
        ),
        key=lambda u: (u.created_at, u.id),
    )
    return chosen[: max(0, limit)]
