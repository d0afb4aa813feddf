"""Stored service levels: the policies, and each ticket's clocks."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.sla import SlaClock, SlaPolicy


class SlaPolicyRepository(Protocol):
    """Service-level policies; names unique regardless of case and spacing."""

    def add(self, policy: SlaPolicy) -> None:
        """Store a new policy; Conflict when the name is taken."""
        ...

    def get(self, policy_id: uuid.UUID) -> SlaPolicy | None:
        """The policy, or None."""
        ...

    def list(self, active: bool | None = None) -> Sequence[SlaPolicy]:
        """Policies in the order they match: by position, then name key, then id; ``active``
        filters when not None."""
        ...

    def update(self, policy: SlaPolicy) -> None:
        """Store ``policy`` (whose version was bumped); StaleVersion unless the stored version
        is ``policy.version - 1``, Conflict on a taken name."""
        ...

    def in_force(self) -> Sequence[tuple[SlaPolicy, Calendar | None]]:
        """The active policies in the order they match, each with the calendar it counts on
        (None: around the clock), read in one statement where the store allows: opening a
        ticket asks."""
        ...


class SlaClockRepository(Protocol):
    """The clocks of tickets, one per ticket, metric and cycle."""

    def add(self, clocks: Sequence[SlaClock]) -> None:
        """Store new clocks (in one statement where the store allows); Conflict when one
        exists already for its ticket, metric and cycle, or its ticket does not (the policy is
        not checked: policies are never deleted, and every opening would lock its row)."""
        ...

    def update(self, clock: SlaClock) -> None:
        """Store the new state of a stored clock (found by ticket, metric and cycle)."""
        ...

    def of_ticket(self, ticket_id: uuid.UUID, for_update: bool = False) -> Sequence[SlaClock]:
        """Every clock of the ticket, by metric then cycle; ``for_update`` locks them until
        the transaction ends (PostgreSQL), so a ticket's write and the scheduler never both
        change one."""
        ...

    def latest(self, ticket_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Sequence[SlaClock]]:
        """The latest cycle of each metric of each ticket that has clocks."""
        ...

    def due(self, now: datetime, limit: int) -> Sequence[SlaClock]:
        """Up to ``limit`` clocks whose alarm time has come (``alarm_at <= now``), earliest
        first, locked until the transaction ends; on PostgreSQL clocks another transaction
        holds are skipped (SKIP LOCKED), so any number of schedulers share the work."""
        ...

    def open_tickets(
        self, policy_ids: Sequence[uuid.UUID] | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[uuid.UUID]:
        """Up to ``limit`` ids, in id order after ``after``, of the tickets with an open clock
        (neither met nor cancelled) under one of ``policy_ids`` (None: any policy)."""
        ...
