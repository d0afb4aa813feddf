"""In-memory service-level policies and clocks over a transaction's working MemoryState.

The rules, messages and orders of the SQL repositories (``adapters/sql/sla.py``). Memory
transactions that write are serialized, so ``due`` has nothing to skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from adapters.memory.shared import utc, utc_or_none
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.errors import Conflict, NotFound, stale_version
from helpdesk_core.domain.sla import Metric, SlaClock, SlaPolicy, latest
from helpdesk_core.domain.values import name_key

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState

ClockKey = tuple[uuid.UUID, Metric, int]
_METRIC_ORDER = {metric: index for index, metric in enumerate(Metric)}


class MemorySlaPolicyRepository:
    """Policies by id; name keys unique."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._policies = state.sla_policies

    def add(self, policy: SlaPolicy) -> None:
        self._refuse_taken_name(policy)
        self._refuse_unknown_calendar(policy)
        if policy.id in self._policies:
            raise Conflict("a policy with this id already exists")
        self._policies[policy.id] = self._stored(policy, policy.created_at)

    def get(self, policy_id: uuid.UUID) -> SlaPolicy | None:
        return self._policies.get(policy_id)

    def list(self, active: bool | None = None) -> Sequence[SlaPolicy]:
        found = [p for p in self._policies.values() if active is None or p.is_active == active]
        return sorted(found, key=lambda p: (p.position, name_key(p.name), p.id))

    def update(self, policy: SlaPolicy) -> None:
        stored = self._policies.get(policy.id)
        if stored is None or stored.version != policy.version - 1:
            raise stale_version("policy", policy.version)
        self._refuse_taken_name(policy)
        self._refuse_unknown_calendar(policy)
        self._policies[policy.id] = self._stored(policy, stored.created_at)

    def in_force(self) -> Sequence[tuple[SlaPolicy, Calendar | None]]:
        calendars = self._state.calendars
        return [
            (policy, calendars.get(policy.calendar_id) if policy.calendar_id else None)
            for policy in self.list(active=True)
        ]

    def _refuse_unknown_calendar(self, policy: SlaPolicy) -> None:
        if policy.calendar_id is not None and policy.calendar_id not in self._state.calendars:
            raise Conflict("no such calendar")

    def _refuse_taken_name(self, policy: SlaPolicy) -> None:
        key = name_key(policy.name)
        for other in self._policies.values():
            if other.id != policy.id and name_key(other.name) == key:
                raise Conflict(f"a policy named '{other.name}' already exists")

    @staticmethod
    def _stored(policy: SlaPolicy, created_at: datetime) -> SlaPolicy:
        return attrs.evolve(policy, created_at=utc(created_at), updated_at=utc(policy.updated_at))


_TIMES = (
    "started_at",
    "since",
    "due_at",
    "warn_at",
    "alarm_at",
    "warned_at",
    "breached_at",
    "met_at",
    "cancelled_at",
)


def _stored_clock(clock: SlaClock) -> SlaClock:
    """The clock with its times in UTC, as the SQL stores read them back."""
    times: dict[str, Any] = {name: utc_or_none(getattr(clock, name)) for name in _TIMES}
    return attrs.evolve(clock, **times)


def _key(clock: SlaClock) -> ClockKey:
    return (clock.ticket_id, clock.metric, clock.cycle)


def _order(clock: SlaClock) -> tuple[int, int]:
    return (_METRIC_ORDER[clock.metric], clock.cycle)


class MemorySlaClockRepository:
    """Clocks by (ticket, metric, cycle)."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._clocks = state.sla_clocks

    def add(self, clocks: Sequence[SlaClock]) -> None:
        keys = [_key(clock) for clock in clocks]
        if len(set(keys)) != len(keys) or any(key in self._clocks for key in keys):
            raise Conflict("this ticket already has that clock")
        for clock in clocks:
            if clock.ticket_id not in self._state.tickets:
                raise Conflict("no such ticket")
        for clock in clocks:
            self._clocks[_key(clock)] = _stored_clock(clock)

    def update(self, clock: SlaClock) -> None:
        if _key(clock) not in self._clocks:
            raise NotFound("no such clock")
        self._clocks[_key(clock)] = _stored_clock(clock)

    def of_ticket(self, ticket_id: uuid.UUID, for_update: bool = False) -> Sequence[SlaClock]:
        return sorted((c for c in self._clocks.values() if c.ticket_id == ticket_id), key=_order)

    def latest(self, ticket_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Sequence[SlaClock]]:
        wanted = set(ticket_ids)
        by_ticket: dict[uuid.UUID, list[SlaClock]] = {}
        for clock in self._clocks.values():
            if clock.ticket_id in wanted:
                by_ticket.setdefault(clock.ticket_id, []).append(clock)
        return {
            ticket_id: sorted(latest(clocks).values(), key=_order)
            for ticket_id, clocks in by_ticket.items()
        }

    def due(self, now: datetime, limit: int) -> Sequence[SlaClock]:
        found = [c for c in self._clocks.values() if c.alarm_at is not None and c.alarm_at <= now]
        found.sort(key=lambda c: (c.alarm_at, c.ticket_id, _order(c)))
        return found[:limit]

    def open_tickets(
        self, policy_ids: Sequence[uuid.UUID] | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[uuid.UUID]:
        wanted = None if policy_ids is None else set(policy_ids)
        found = {
            c.ticket_id
            for c in self._clocks.values()
            if c.is_open
            and (wanted is None or c.policy_id in wanted)
            and (after is None or c.ticket_id > after)
        }
        return sorted(found)[:limit]
