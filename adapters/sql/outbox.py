"""The outbox (SQLAlchemy Core): events recorded with their change, leased to workers.

Claims lease rows to a token: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the
caller's transaction, then an UPDATE of the lease, so concurrent workers pass each other's rows
by; on SQLite the transaction began with ``BEGIN IMMEDIATE`` (writers are serialized), so the
same SELECT and UPDATE cannot interleave with another claim. Completions name the token and
change nothing unless the row is still leased to it (fencing). Deliveries
(``adapters.sql.deliveries``) are claimed and completed the same way.

Event numbers (``seq``): on PostgreSQL the ``outbox_seq`` sequence, drawn after a
transaction-scoped advisory lock on the event's ordering key. A sequence hands out numbers
without waiting, but two transactions may commit in the other order than they drew: a worker
could then finish number 11 of a key before number 10 of that key became visible. The lock
makes one key's writers wait for each other, so per key the numbers follow the commit order
(different keys never wait). On SQLite, writers are serialized and the numbers come from the
``counters`` row ``outbox-seq`` (never reused, unlike MAX(seq) + 1 after a clean-up).

State comparisons use a literal ``'pending'`` (not a bound parameter, ``shared.state_is``), so
PostgreSQL's planner can use the partial indexes over pending rows.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.columns import UTCDateTime
from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.counters import SqlCounterRepository
from adapters.sql.refusals import Refusals, primary_key, refused_as_conflict
from adapters.sql.shared import event_from_row, lease_free, state_is
from adapters.sql.tables import outbox, outbox_seq, webhook_deliveries
from helpdesk_core.domain.events import Event
from helpdesk_core.ports.events import OutboxEntry, OutboxState, OutboxStats
from helpdesk_core.ports.uow import OUTBOX_SEQ_COUNTER

# pg_advisory_xact_lock(namespace, hashtext(ordering_key)): the namespace keeps these locks
# apart from any other advisory lock; a hash collision only makes two keys wait for each other.
_ORDERING_LOCK_NAMESPACE = 0x4844_0004


def _payload(data: Any) -> str:
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))


def _entry_from_row(row: Any) -> OutboxEntry:
    return OutboxEntry(
        event=event_from_row(row),
        seq=int(row.seq),
        state=OutboxState(row.state),
        attempts=int(row.attempts),
        available_at=row.available_at,
        last_error=row.last_error,
        processed_at=row.processed_at,
    )


# Built once (bound parameters) and run as compiled statements (adapters/sql/compiled.py):
# every change of a ticket records an event, and the worker claims and finishes them.
_INSERT_EVENT = CompiledStatement(sa.insert(outbox), prepare=True)
_INSERT_EVENT_NUMBERED = CompiledStatement(
    sa.insert(outbox).values(seq=outbox_seq.next_value()), prepare=True
)
_EVENT_COLUMNS = (
    "id",
    "type",
    "version",
    "ordering_key",
    "occurred_at",
    "actor_id",
    "payload",
    "state",
    "attempts",
    "available_at",
)


def _insert_event_locked() -> sa.Insert:
    """The first event of a key in a transaction: its ordering lock and its row in one
    statement (one round trip fewer for every change of a ticket). The row comes from the
    CTE that takes the lock, so ``nextval`` runs only once the lock is held: the order the
    module docstring relies on. The CTE calls a volatile function: never inlined."""
    key = sa.bindparam("ordering_key", type_=outbox.c.ordering_key.type)
    lock = (
        sa.select(sa.func.pg_advisory_xact_lock(_ORDERING_LOCK_NAMESPACE, sa.func.hashtext(key)))
        .cte("ordering_lock")
        .prefix_with("MATERIALIZED")
    )
    values = [
        key if name == "ordering_key" else sa.bindparam(name, type_=outbox.c[name].type)
        for name in _EVENT_COLUMNS
    ]
    return sa.insert(outbox).from_select(
        [*_EVENT_COLUMNS, "seq"], sa.select(*values, outbox_seq.next_value()).select_from(lock)
    )


_INSERT_EVENT_LOCKED = CompiledStatement(
    _insert_event_locked(), prepare=True, values_per_call=False
)
# Without a savepoint: on PostgreSQL a refusal ends the transaction, whose change fails with it.
_EVENT_ADDED = Refusals[Event](
    "event", (primary_key(outbox, "an event with this id already exists"),), savepoint=False
)

_EVENT = CompiledStatement(
    sa.select(outbox).where(outbox.c.id == sa.bindparam("event_id")), prepare=True
)
_NOW = sa.bindparam("now", type_=UTCDateTime())
_LIMIT = sa.bindparam("limit", type_=sa.Integer())


def _claimable(dialect: str) -> sa.Select[Any]:
    """The ids of the events a claim may lease: pending, due, not leased, and no older pending
    event of their key; on PostgreSQL, passing by the rows another claim holds."""
    older = outbox.alias("older")
    older_pending = (
        sa.select(sa.literal(1))
        .where(
            older.c.ordering_key == outbox.c.ordering_key,
            state_is(older.c.state, OutboxState.PENDING),
            older.c.seq < outbox.c.seq,
        )
        .exists()
    )
    query = (
        sa.select(outbox.c.id)
        .where(
            state_is(outbox.c.state, OutboxState.PENDING),
            outbox.c.available_at <= _NOW,
            lease_free(outbox, _NOW),
            ~older_pending,
        )
        .order_by(outbox.c.seq)
        .limit(_LIMIT)
    )
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def _lease(dialect: str) -> sa.Update:
    return (
        sa.update(outbox)
        .where(any_of(outbox.c.id, "ids", dialect))
        .values(
            locked_by=sa.bindparam("token", type_=outbox.c.locked_by.type),
            locked_until=sa.bindparam("lease_until", type_=UTCDateTime()),
            attempts=outbox.c.attempts + 1,
        )
        .returning(*outbox.c)
    )


_CLAIMABLE = CompiledStatement(_claimable("sqlite"), postgresql=_claimable("postgresql"))
_LEASE = CompiledStatement(_lease("sqlite"), postgresql=_lease("postgresql"), values_per_call=False)
# A completion: what it sets comes with each call's values, besides the lease it ends.
_FINISH = CompiledStatement(
    sa.update(outbox)
    .where(
        outbox.c.id == sa.bindparam("event_id"),
        outbox.c.locked_by == sa.bindparam("token"),
        state_is(outbox.c.state, OutboxState.PENDING),
    )
    .values(locked_by=None, locked_until=None),
    prepare=True,
)
_PENDING_STATS = CompiledStatement(
    sa.select(sa.func.count(), sa.func.min(outbox.c.occurred_at)).where(
        state_is(outbox.c.state, OutboxState.PENDING)
    )
)
_FAILED_COUNT = CompiledStatement(
    sa.select(sa.func.count())
    .select_from(outbox)
    .where(state_is(outbox.c.state, OutboxState.FAILED))
)


def _purgeable(dialect: str) -> sa.Select[Any]:
    """The ids of finished events, finished before ``before``, that no delivery refers to;
    on PostgreSQL two workers purging at once pass each other's rows by."""
    d = webhook_deliveries
    referred = sa.select(sa.literal(1)).where(d.c.event_id == outbox.c.id).exists()
    query = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.state.in_([OutboxState.DONE.value, OutboxState.FAILED.value]),
            outbox.c.processed_at < sa.bindparam("before", type_=UTCDateTime()),
            ~referred,
        )
        .order_by(outbox.c.processed_at, outbox.c.seq)
        .limit(_LIMIT)
    )
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def _delete_events(dialect: str) -> sa.Delete:
    return sa.delete(outbox).where(any_of(outbox.c.id, "ids", dialect))


_PURGEABLE = CompiledStatement(_purgeable("sqlite"), postgresql=_purgeable("postgresql"))
_DELETE_EVENTS = CompiledStatement(
    _delete_events("sqlite"), postgresql=_delete_events("postgresql")
)


class SqlOutboxRepository:
    """The outbox: events recorded with their change, leased to workers by claims."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        # Ordering keys this transaction holds the advisory lock of (one repository per
        # transaction: SqlTransaction makes it at first use). Taken in a savepoint, a lock
        # would go with the savepoint's rollback: such a lock is taken, not remembered.
        self._locked_keys: set[str] = set()

    def _postgres(self) -> bool:
        return self._connection.dialect.name == "postgresql"

    def _remember_lock(self, key: str) -> None:
        """``key``'s ordering lock is held until the transaction ends (taken once per
        transaction: a reply that also opens the ticket records two events of one key)."""
        if not self._connection.in_nested_transaction():
            self._locked_keys.add(key)

    def add(self, event: Event) -> None:
        connection = self._connection
        values: dict[str, Any] = {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "ordering_key": event.ordering_key,
            "occurred_at": event.occurred_at,
            "actor_id": event.actor_id,
            "payload": _payload(event.data),
            "state": OutboxState.PENDING,
            "attempts": 0,
            "available_at": event.occurred_at,
        }
        locking = False
        if self._postgres():
            # One key's events commit in the order of their numbers (see the module docstring);
            # the sequence numbers the event, after the lock where this statement takes it.
            locking = event.ordering_key not in self._locked_keys
            statement = _INSERT_EVENT_LOCKED if locking else _INSERT_EVENT_NUMBERED
        else:
            values["seq"] = SqlCounterRepository(connection).next_value(OUTBOX_SEQ_COUNTER)
            statement = _INSERT_EVENT
        with refused_as_conflict(connection, _EVENT_ADDED, event):
            statement.execute(connection, values)
        if locking:
            self._remember_lock(event.ordering_key)

    def get(self, event_id: uuid.UUID) -> OutboxEntry | None:
        row = _EVENT.first(self._connection, {"event_id": event_id})
        return _entry_from_row(row) if row is not None else None

    def claim(
        self, token: str, limit: int, now: datetime, lease_until: datetime
    ) -> list[OutboxEntry]:
        if limit < 1:
            return []
        claimable = _CLAIMABLE.all(self._connection, {"now": now, "limit": limit})
        if not claimable:
            return []
        leased = _LEASE.all(
            self._connection,
            {"ids": [row.id for row in claimable], "token": token, "lease_until": lease_until},
        )
        return [_entry_from_row(row) for row in sorted(leased, key=lambda row: row.seq)]

    def _finish(self, event_id: uuid.UUID, token: str, **values: Any) -> bool:
        params = {"event_id": event_id, "token": token, **values}
        return _FINISH.execute(self._connection, params) == 1

    def complete(self, event_id: uuid.UUID, token: str, now: datetime) -> bool:
        return self._finish(event_id, token, state=OutboxState.DONE, processed_at=now)

    def retry(self, event_id: uuid.UUID, token: str, error: str, available_at: datetime) -> bool:
        return self._finish(event_id, token, last_error=error, available_at=available_at)

    def fail(self, event_id: uuid.UUID, token: str, error: str, now: datetime) -> bool:
        return self._finish(
            event_id, token, state=OutboxState.FAILED, last_error=error, processed_at=now
        )

    def stats(self) -> OutboxStats:
        pending = _PENDING_STATS.all(self._connection)[0]  # an aggregate: one row
        failed = _FAILED_COUNT.scalar(self._connection)
        return OutboxStats(
            pending=int(pending[0]), failed=int(failed), oldest_pending_at=pending[1]
        )

    def purge_finished(self, before: datetime, limit: int) -> int:
        if limit < 1:
            return 0
        rows = _PURGEABLE.all(self._connection, {"before": before, "limit": limit})
        if not rows:
            return 0
        return _DELETE_EVENTS.execute(self._connection, {"ids": [row.id for row in rows]})
