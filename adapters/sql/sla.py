"""Service-level policies and clocks (SQLAlchemy Core).

The conventions are those of ``adapters.sql`` (its package docstring). Policies are few and
read whole: their lists and targets are JSON columns, checked by the domain. Clocks are a row
per ticket, metric and cycle; a ticket's write reads them locked (``FOR UPDATE``) and the
scheduler reads the due ones locked with ``SKIP LOCKED``, so the two never both change one and
any number of schedulers share the work without waiting on each other (PostgreSQL; SQLite
serializes writers anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.calendars import SqlCalendarRepository
from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.refusals import Refusal, Refusals, primary_key, refused_as_conflict
from adapters.sql.sla_tables import CLOCK_COLUMNS, CLOCK_STATE
from adapters.sql.tables import sla_calendars, sla_clocks, sla_policies, tickets
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.errors import NotFound, stale_version
from helpdesk_core.domain.sla import Metric, OnReopen, SlaClock, SlaPolicy, Targets, latest
from helpdesk_core.domain.values import TicketPriority, TicketStatus, name_key

# ---------------------------------------------------------------- policies

_NAME_HOLDER = sa.select(sla_policies.c.id, sla_policies.c.name).where(
    sla_policies.c.name_key == sa.bindparam("name_key")
)


def _says(name: str) -> str:
    return f"a policy named '{name}' already exists"


def _name_taken() -> Refusal[SlaPolicy]:
    (constraint,) = (
        c
        for c in sla_policies.constraints
        if isinstance(c, sa.UniqueConstraint) and "name_key" in c.columns
    )

    def probe(connection: sa.Connection, policy: SlaPolicy) -> bool | str:
        holder = connection.execute(_NAME_HOLDER, {"name_key": name_key(policy.name)}).first()
        return False if holder is None or holder.id == policy.id else _says(holder.name)

    return Refusal(str(constraint.name), lambda policy: _says(policy.name), probe)


def _no_calendar() -> Refusal[SlaPolicy]:
    (key,) = sla_policies.c.calendar_id.foreign_keys
    query = sa.select(sa.literal(1)).where(sla_calendars.c.id == sa.bindparam("id"))

    def probe(connection: sa.Connection, policy: SlaPolicy) -> bool:
        return (
            policy.calendar_id is not None
            and connection.execute(query, {"id": policy.calendar_id}).first() is None
        )

    return Refusal(str(key.constraint.name), "no such calendar", probe)  # type: ignore[union-attr]


_NAME = _name_taken()
_CALENDAR = _no_calendar()
_POLICY_ADDED = Refusals[SlaPolicy](
    "policy", (_NAME, _CALENDAR, primary_key(sla_policies, "a policy with this id already exists"))
)
_POLICY_UPDATED = Refusals[SlaPolicy]("policy", (_NAME, _CALENDAR))


def _policy_values(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "name_key": name_key(policy.name),
        "position": policy.position,
        "department_ids": [str(d) for d in policy.department_ids],
        "priorities": [p.value for p in policy.priorities],
        "calendar_id": policy.calendar_id,
        "targets": {
            priority.value: {
                metric.value: value
                for metric in Metric
                if (value := targets.of(metric)) is not None
            }
            for priority, targets in policy.targets.items()
        },
        "pause_statuses": [s.value for s in policy.pause_statuses],
        "warn_before": policy.warn_before,
        "on_reopen": policy.on_reopen,
        "is_active": policy.is_active,
        "updated_at": policy.updated_at,
        "version": policy.version,
    }


def _policy_from_row(row: Any) -> SlaPolicy:
    return SlaPolicy(
        id=row.id,
        name=row.name,
        position=row.position,
        department_ids=tuple(uuid.UUID(d) for d in row.department_ids),
        priorities=tuple(TicketPriority(p) for p in row.priorities),
        calendar_id=row.calendar_id,
        targets={TicketPriority(priority): Targets(**per) for priority, per in row.targets.items()},
        pause_statuses=tuple(TicketStatus(s) for s in row.pause_statuses),
        warn_before=row.warn_before,
        on_reopen=OnReopen(row.on_reopen),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


# Every policy, or the active ones (what opening a ticket reads): few rows, ordered in Python
# by the key every store lists them by (position, name key in code-point order, id).
_POLICIES = {
    None: CompiledStatement(sa.select(sla_policies), prepare=True),
    True: CompiledStatement(sa.select(sla_policies).where(sla_policies.c.is_active), prepare=True),
    False: CompiledStatement(
        sa.select(sla_policies).where(sa.not_(sla_policies.c.is_active)), prepare=True
    ),
}


_POLICY = CompiledStatement(
    sa.select(sla_policies).where(sla_policies.c.id == sa.bindparam("policy_id")), prepare=True
)


# The active policies and the version of each one's calendar: one row per policy, ids and
# versions only (opening a ticket asks, and decoding the JSON columns would cost each opening
# more than the query). The policies and calendars are built once per version in a process
# (_BUILT), read whole only when a version is new to it, and the ordered answer is kept per
# set of versions (_ORDERED).
_IN_FORCE = CompiledStatement(
    sa.select(
        sla_policies.c.id,
        sla_policies.c.version,
        sla_policies.c.calendar_id,
        sla_calendars.c.version.label("calendar_version"),
    )
    .select_from(
        sla_policies.outerjoin(sla_calendars, sla_calendars.c.id == sla_policies.c.calendar_id)
    )
    .where(sla_policies.c.is_active),
    prepare=True,
)
_BUILT: dict[tuple[Any, ...], tuple[SlaPolicy, Calendar | None]] = {}
_ORDERED: dict[frozenset[tuple[Any, ...]], Sequence[tuple[SlaPolicy, Calendar | None]]] = {}
_BUILT_MAX = 256


def policy_order(policy: SlaPolicy) -> tuple[Any, ...]:
    return (policy.position, name_key(policy.name), policy.id)


class SqlSlaPolicyRepository:
    """Service-level policies; ``name_key`` (case- and space-insensitive) is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, policy: SlaPolicy) -> None:
        statement = sa.insert(sla_policies).values(
            id=policy.id, created_at=policy.created_at, **_policy_values(policy)
        )
        with refused_as_conflict(self._connection, _POLICY_ADDED, policy):
            self._connection.execute(statement)

    def get(self, policy_id: uuid.UUID) -> SlaPolicy | None:
        row = _POLICY.first(self._connection, {"policy_id": policy_id})
        return None if row is None else _policy_from_row(row)

    def list(self, active: bool | None = None) -> Sequence[SlaPolicy]:
        rows = _POLICIES[active].all(self._connection)
        return sorted((_policy_from_row(row) for row in rows), key=policy_order)

    def in_force(self) -> Sequence[tuple[SlaPolicy, Calendar | None]]:
        # Every change of a policy or a calendar bumps its version: the same versions are the
        # same objects (a calendar's arithmetic included).
        keys = frozenset(
            (row.id, row.version, row.calendar_id, row.calendar_version)
            for row in _IN_FORCE.all(self._connection)
        )
        ordered = _ORDERED.get(keys)
        if ordered is not None:
            return ordered
        found = [pair for pair in map(self._built, keys) if pair is not None]
        if len(found) != len(keys):  # one changed since the first read: read them whole
            return self._in_force_now()
        ordered = tuple(sorted(found, key=lambda pair: policy_order(pair[0])))
        if len(_ORDERED) >= _BUILT_MAX:
            _ORDERED.clear()
        _ORDERED[keys] = ordered
        return ordered

    def _built(self, key: tuple[Any, ...]) -> tuple[SlaPolicy, Calendar | None] | None:
        """The policy and calendar of these versions, read when new to the process; None
        when the stored ones moved on since the versions were read."""
        pair = _BUILT.get(key)
        if pair is not None:
            return pair
        policy_id, version, calendar_id, calendar_version = key
        policy = self.get(policy_id)
        if policy is None or policy.version != version or policy.calendar_id != calendar_id:
            return None
        calendar = None
        if calendar_id is not None:
            calendar = SqlCalendarRepository(self._connection).get(calendar_id)
            if calendar is None or calendar.version != calendar_version:
                return None
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[key] = pair = (policy, calendar)
        return pair

    def _in_force_now(self) -> Sequence[tuple[SlaPolicy, Calendar | None]]:
        """The policies in force read whole, each with its calendar (a write moved one on
        between two reads of this transaction)."""
        calendars = SqlCalendarRepository(self._connection)
        return tuple(
            (policy, None if policy.calendar_id is None else calendars.get(policy.calendar_id))
            for policy in self.list(active=True)
        )

    def update(self, policy: SlaPolicy) -> None:
        statement = (
            sa.update(sla_policies)
            .where(sla_policies.c.id == policy.id, sla_policies.c.version == policy.version - 1)
            .values(**_policy_values(policy))
        )
        with refused_as_conflict(self._connection, _POLICY_UPDATED, policy):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("policy", policy.version)


# ---------------------------------------------------------------- clocks


def _clock_values(clock: SlaClock) -> dict[str, Any]:
    values = {name: getattr(clock, name) for name in CLOCK_STATE}
    values.update(
        ticket_id=clock.ticket_id,
        metric=clock.metric,
        cycle=clock.cycle,
        started_at=clock.started_at,
    )
    return values


def _clock_from_row(row: Any) -> SlaClock:
    return SlaClock(
        ticket_id=row.ticket_id,
        metric=Metric(row.metric),
        cycle=row.cycle,
        policy_id=row.policy_id,
        started_at=row.started_at,
        budget=row.budget,
        spent=row.spent,
        since=row.since,
        due_at=row.due_at,
        warn_at=row.warn_at,
        alarm_at=row.alarm_at,
        warned_at=row.warned_at,
        breached_at=row.breached_at,
        met_at=row.met_at,
        cancelled_at=row.cancelled_at,
    )


def _clock_refusals() -> Refusals[Sequence[SlaClock]]:
    ticket = sa.select(sa.literal(1)).where(tickets.c.id == sa.bindparam("id"))
    key = sa.select(sa.literal(1)).where(
        sla_clocks.c.ticket_id == sa.bindparam("ticket_id"),
        sla_clocks.c.metric == sa.bindparam("metric"),
        sla_clocks.c.cycle == sa.bindparam("cycle"),
    )

    def constraint(column: sa.Column[Any]) -> str:
        (foreign_key,) = column.foreign_keys
        return str(foreign_key.constraint.name)  # type: ignore[union-attr]

    def taken(connection: sa.Connection, clocks: Sequence[SlaClock]) -> bool:
        keys = [(c.ticket_id, c.metric, c.cycle) for c in clocks]
        return len(set(keys)) != len(keys) or any(
            connection.execute(key, {"ticket_id": t, "metric": m.value, "cycle": n}).first()
            for t, m, n in keys
        )

    def absent(query: Any, attribute: str) -> Any:
        def probe(connection: sa.Connection, clocks: Sequence[SlaClock]) -> bool:
            return any(
                connection.execute(query, {"id": getattr(c, attribute)}).first() is None
                for c in clocks
            )

        return probe

    return Refusals(
        "clock",
        (
            Refusal(str(sla_clocks.primary_key.name), "this ticket already has that clock", taken),
            Refusal(
                constraint(sla_clocks.c.ticket_id), "no such ticket", absent(ticket, "ticket_id")
            ),
        ),
    )


_CLOCKS_ADDED = _clock_refusals()
_CLOCKS_UPDATED = Refusals[Sequence[SlaClock]]("clock", ())
_CLOCK_KEY = (
    sla_clocks.c.ticket_id == sa.bindparam("ticket_id_"),
    sla_clocks.c.metric == sa.bindparam("metric_"),
    sla_clocks.c.cycle == sa.bindparam("cycle_"),
)
_METRIC_ORDER = sa.case({m.value: i for i, m in enumerate(Metric)}, value=sla_clocks.c.metric)


_ORDER = (_METRIC_ORDER, sla_clocks.c.cycle)
_OF_TICKET_SELECT = (
    sa.select(sla_clocks)
    .where(sla_clocks.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(*_ORDER)
)
# A ticket's clocks (read by every write of a ticket a policy governs), locked or not.
_OF_TICKET = {
    False: CompiledStatement(_OF_TICKET_SELECT, prepare=True),
    True: CompiledStatement(_OF_TICKET_SELECT.with_for_update(), prepare=True),
}


def _latest_select(dialect: str) -> sa.Select[Any]:
    return (
        sa.select(sla_clocks)
        .where(any_of(sla_clocks.c.ticket_id, "ticket_ids", dialect))
        .order_by(sla_clocks.c.ticket_id, *_ORDER)
    )


# The clocks of a page of tickets: one array on PostgreSQL, whatever the page's length.
_LATEST = CompiledStatement(
    _latest_select("sqlite"), postgresql=_latest_select("postgresql"), prepare=True
)
_UPDATE_CLOCK = CompiledStatement(
    sa.update(sla_clocks)
    .where(*_CLOCK_KEY)
    .values(
        {name: sa.bindparam(f"new_{name}", type_=sla_clocks.c[name].type) for name in CLOCK_STATE}
    ),
    prepare=True,
    values_per_call=False,
)


def _insert_clocks(count: int) -> sa.Insert:
    """An INSERT of ``count`` clocks in one statement, the values of the i-th bound as
    ``<column>_<i>``."""
    rows = [
        {name: sa.bindparam(f"{name}_{i}", type_=sla_clocks.c[name].type) for name in CLOCK_COLUMNS}
        for i in range(count)
    ]
    return sa.insert(sla_clocks).values(rows)


# A new ticket's clocks (one per metric it starts with): one statement for one to three.
_INSERT_CLOCKS = {
    count: CompiledStatement(_insert_clocks(count), prepare=True, values_per_call=False)
    for count in (1, 2, 3)
}


def _bound_clocks(clocks: Sequence[SlaClock]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, clock in enumerate(clocks):
        values.update((f"{name}_{i}", value) for name, value in _clock_values(clock).items())
    return values


class SqlSlaClockRepository:
    """The clocks of tickets."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, clocks: Sequence[SlaClock]) -> None:
        if not clocks:
            return
        with refused_as_conflict(self._connection, _CLOCKS_ADDED, clocks):
            statement = _INSERT_CLOCKS.get(len(clocks))
            if statement is not None:
                statement.execute(self._connection, _bound_clocks(clocks))
            else:
                rows = [_clock_values(clock) for clock in clocks]
                self._connection.execute(sa.insert(sla_clocks), rows)

    def update(self, clock: SlaClock) -> None:
        bound = {f"new_{name}": getattr(clock, name) for name in CLOCK_STATE}
        bound.update(ticket_id_=clock.ticket_id, metric_=clock.metric.value, cycle_=clock.cycle)
        with refused_as_conflict(self._connection, _CLOCKS_UPDATED, [clock]):
            matched = _UPDATE_CLOCK.execute(self._connection, bound)
        if matched != 1:
            raise NotFound("no such clock")

    def of_ticket(self, ticket_id: uuid.UUID, for_update: bool = False) -> Sequence[SlaClock]:
        rows = _OF_TICKET[for_update].all(self._connection, {"ticket_id": ticket_id})
        return [_clock_from_row(row) for row in rows]

    def latest(self, ticket_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Sequence[SlaClock]]:
        if not ticket_ids:
            return {}
        rows = _LATEST.all(self._connection, {"ticket_ids": list(dict.fromkeys(ticket_ids))})
        by_ticket: dict[uuid.UUID, list[SlaClock]] = {}
        for row in rows:
            by_ticket.setdefault(row.ticket_id, []).append(_clock_from_row(row))
        order = list(Metric)
        return {
            ticket_id: sorted(latest(clocks).values(), key=lambda c: order.index(c.metric))
            for ticket_id, clocks in by_ticket.items()
        }

    def due(self, now: datetime, limit: int) -> Sequence[SlaClock]:
        query = (
            sa.select(sla_clocks)
            .where(sla_clocks.c.alarm_at.is_not(None), sla_clocks.c.alarm_at <= now)
            .order_by(
                sla_clocks.c.alarm_at, sla_clocks.c.ticket_id, _METRIC_ORDER, sla_clocks.c.cycle
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_clock_from_row(row) for row in self._connection.execute(query)]

    def open_tickets(
        self, policy_ids: Sequence[uuid.UUID] | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[uuid.UUID]:
        query = (
            sa.select(sla_clocks.c.ticket_id)
            .where(sla_clocks.c.met_at.is_(None), sla_clocks.c.cancelled_at.is_(None))
            .group_by(sla_clocks.c.ticket_id)
            .order_by(sla_clocks.c.ticket_id)
            .limit(limit)
        )
        if policy_ids is not None:
            query = query.where(sla_clocks.c.policy_id.in_(list(policy_ids)))
        if after is not None:
            query = query.where(sla_clocks.c.ticket_id > after)
        return list(self._connection.execute(query).scalars())
