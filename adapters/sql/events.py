"""SQL repositories of the outbox, webhook endpoints and deliveries (SQLAlchemy Core).

Claims lease rows to a token: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the
caller's transaction, then an UPDATE of the lease, so concurrent workers pass each other's rows
by; on SQLite the transaction began with ``BEGIN IMMEDIATE`` (writers are serialized), so the
same SELECT and UPDATE cannot interleave with another claim. Completions name the token and
change nothing unless the row is still leased to it (fencing).

Event numbers (``seq``): on PostgreSQL the ``outbox_seq`` sequence, drawn after a
transaction-scoped advisory lock on the event's ordering key. A sequence hands out numbers
without waiting, but two transactions may commit in the other order than they drew: a worker
could then finish number 11 of a key before number 10 of that key became visible. The lock
makes one key's writers wait for each other, so per key the numbers follow the commit order
(different keys never wait). On SQLite, writers are serialized and the numbers come from the
``counters`` row ``outbox-seq`` (never reused, unlike MAX(seq) + 1 after a clean-up).

State comparisons use a literal ``'pending'`` (not a bound parameter), so PostgreSQL's planner
can use the partial indexes over pending rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.lean import Lean
from adapters.sql.repositories import SqlCounterRepository
from adapters.sql.shared import chunks, exists, refused_as_conflict
from adapters.sql.tables import (
    UTCDateTime,
    outbox,
    outbox_seq,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.events import Event
from helpdesk_core.ports.events import (
    AttemptOutcome,
    ClaimedDelivery,
    DeliveryAttempt,
    DeliveryCursor,
    DeliveryState,
    OutboxEntry,
    OutboxState,
    OutboxStats,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.uow import OUTBOX_SEQ_COUNTER

# pg_advisory_xact_lock(namespace, hashtext(ordering_key)): the namespace keeps these locks
# apart from any other advisory lock; a hash collision only makes two keys wait for each other.
_ORDERING_LOCK_NAMESPACE = 0x4844_0004


def _is(column: sa.ColumnElement[Any], state: str) -> sa.ColumnElement[bool]:
    """``column = '<state>'`` with a literal, matching the partial indexes' predicate."""
    return column == sa.literal_column(f"'{state}'", sa.String())


def _lease_free(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """Not leased, or the lease ended (a worker that died gives its rows back)."""
    return sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now)


def _payload(data: Any) -> str:
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- outbox


def _event_from_row(row: Any) -> Event:
    return Event(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        ordering_key=row.ordering_key,
        data=json.loads(row.payload),
        actor_id=row.actor_id,
        version=int(row.version),
    )


def _entry_from_row(row: Any) -> OutboxEntry:
    return OutboxEntry(
        event=_event_from_row(row),
        seq=int(row.seq),
        state=OutboxState(row.state),
        attempts=int(row.attempts),
        available_at=row.available_at,
        last_error=row.last_error,
        processed_at=row.processed_at,
    )


# Built once (bound parameters): every change of a ticket records an event.
# On psycopg they run through Lean (adapters/sql/lean.py).
_INSERT_EVENT = Lean(sa.insert(outbox), prepare=True)
_INSERT_EVENT_NUMBERED = Lean(sa.insert(outbox).values(seq=outbox_seq.next_value()), prepare=True)
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


_INSERT_EVENT_LOCKED = Lean(_insert_event_locked(), prepare=True, values_per_call=False)


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
        with refused_as_conflict(
            connection,
            partial(self._why_refused, event),
            {"pk_outbox": "an event with this id already exists"},
        ):
            statement.execute(connection, values)
        if locking:
            self._remember_lock(event.ordering_key)

    def _why_refused(self, event: Event) -> str:
        if exists(self._connection, outbox.c.id, event.id):
            return "an event with this id already exists"
        return "the event breaks a rule of the store"

    def get(self, event_id: uuid.UUID) -> OutboxEntry | None:
        row = self._connection.execute(sa.select(outbox).where(outbox.c.id == event_id)).first()
        return _entry_from_row(row) if row is not None else None

    def claim(
        self, token: str, limit: int, now: datetime, lease_until: datetime
    ) -> list[OutboxEntry]:
        if limit < 1:
            return []
        older = outbox.alias("older")
        older_pending = (
            sa.select(sa.literal(1))
            .where(
                older.c.ordering_key == outbox.c.ordering_key,
                _is(older.c.state, OutboxState.PENDING),
                older.c.seq < outbox.c.seq,
            )
            .exists()
        )
        query = (
            sa.select(outbox.c.id)
            .where(
                _is(outbox.c.state, OutboxState.PENDING),
                outbox.c.available_at <= now,
                _lease_free(outbox, now),
                ~older_pending,
            )
            .order_by(outbox.c.seq)
            .limit(limit)
        )
        if self._postgres():
            query = query.with_for_update(skip_locked=True)
        ids = list(self._connection.execute(query).scalars())
        if not ids:
            return []
        lease = (
            sa.update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(locked_by=token, locked_until=lease_until, attempts=outbox.c.attempts + 1)
            .returning(*outbox.c)
        )
        rows = sorted(self._connection.execute(lease).all(), key=lambda row: row.seq)
        return [_entry_from_row(row) for row in rows]

    def _finish(self, event_id: uuid.UUID, token: str, **values: Any) -> bool:
        statement = (
            sa.update(outbox)
            .where(
                outbox.c.id == event_id,
                outbox.c.locked_by == token,
                _is(outbox.c.state, OutboxState.PENDING),
            )
            .values(locked_by=None, locked_until=None, **values)
        )
        return self._connection.execute(statement).rowcount == 1

    def complete(self, event_id: uuid.UUID, token: str, now: datetime) -> bool:
        return self._finish(event_id, token, state=OutboxState.DONE, processed_at=now)

    def retry(self, event_id: uuid.UUID, token: str, error: str, available_at: datetime) -> bool:
        return self._finish(event_id, token, last_error=error, available_at=available_at)

    def fail(self, event_id: uuid.UUID, token: str, error: str, now: datetime) -> bool:
        return self._finish(
            event_id, token, state=OutboxState.FAILED, last_error=error, processed_at=now
        )

    def stats(self) -> OutboxStats:
        pending = self._connection.execute(
            sa.select(sa.func.count(), sa.func.min(outbox.c.occurred_at)).where(
                _is(outbox.c.state, OutboxState.PENDING)
            )
        ).one()
        failed = self._connection.execute(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(_is(outbox.c.state, OutboxState.FAILED))
        ).scalar_one()
        return OutboxStats(
            pending=int(pending[0]), failed=int(failed), oldest_pending_at=pending[1]
        )

    def purge_finished(self, before: datetime, limit: int) -> int:
        if limit < 1:
            return 0
        d = webhook_deliveries
        referred = sa.select(sa.literal(1)).where(d.c.event_id == outbox.c.id).exists()
        query = (
            sa.select(outbox.c.id)
            .where(
                outbox.c.state.in_([OutboxState.DONE.value, OutboxState.FAILED.value]),
                outbox.c.processed_at < before,
                ~referred,
            )
            .order_by(outbox.c.processed_at, outbox.c.seq)
            .limit(limit)
        )
        if self._postgres():  # two workers purging at once pass each other's rows by
            query = query.with_for_update(skip_locked=True)
        ids = list(self._connection.execute(query).scalars())
        if not ids:
            return 0
        statement = sa.delete(outbox).where(outbox.c.id.in_(ids))
        return int(self._connection.execute(statement).rowcount)


# ---------------------------------------------------------------- webhooks


def _webhook_from_row(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        events=tuple(json.loads(row.events)),
        secret=row.secret,
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
        is_active=bool(row.is_active),
        consecutive_failures=int(row.consecutive_failures),
        disabled_reason=row.disabled_reason,
        version=int(row.version),
    )


def _webhook_values(webhook: Webhook) -> dict[str, Any]:
    return {
        "url": webhook.url,
        "description": webhook.description,
        "events": json.dumps(list(webhook.events)),
        "secret": webhook.secret,
        "is_active": webhook.is_active,
        "consecutive_failures": webhook.consecutive_failures,
        "disabled_reason": webhook.disabled_reason,
        "updated_at": webhook.updated_at,
        "version": webhook.version,
    }


class SqlWebhookRepository:
    """Webhook endpoints; deleting one deletes its deliveries (ON DELETE CASCADE)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, webhook: Webhook) -> None:
        statement = sa.insert(webhooks).values(
            id=webhook.id, created_at=webhook.created_at, **_webhook_values(webhook)
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, webhook)):
            self._connection.execute(statement)

    def _why_refused(self, webhook: Webhook) -> str:
        if exists(self._connection, webhooks.c.id, webhook.id):
            return "a webhook with this id already exists"
        return "the webhook breaks a rule of the store"

    def get(self, webhook_id: uuid.UUID) -> Webhook | None:
        query = sa.select(webhooks).where(webhooks.c.id == webhook_id)
        row = self._connection.execute(query).first()
        return _webhook_from_row(row) if row is not None else None

    def update(self, webhook: Webhook) -> None:
        statement = (
            sa.update(webhooks)
            .where(webhooks.c.id == webhook.id, webhooks.c.version == webhook.version - 1)
            .values(**_webhook_values(webhook))
        )
        if self._connection.execute(statement).rowcount != 1:
            raise stale_version("webhook", webhook.version)

    def delete(self, webhook_id: uuid.UUID) -> bool:
        statement = sa.delete(webhooks).where(webhooks.c.id == webhook_id)
        return self._connection.execute(statement).rowcount == 1

    def list(self) -> list[Webhook]:
        query = sa.select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
        return [_webhook_from_row(row) for row in self._connection.execute(query)]

    def record_result(
        self, webhook_id: uuid.UUID, success: bool, disable_after: int, reason: str, now: datetime
    ) -> Webhook | None:
        """One UPDATE, so concurrent results never lose a count (SET reads the old row).

        Only disabling is a change an administrator sees: it sets the reason, ``updated_at``
        and bumps ``version``; counting failures or a success does neither (an edit made
        meanwhile, naming the version it read, still applies).
        """
        c = webhooks.c
        values: dict[str, Any]
        if success:
            values = {"consecutive_failures": 0}
        else:
            failures = c.consecutive_failures + 1
            values = {"consecutive_failures": failures}
            if disable_after >= 1:
                disable = sa.and_(c.is_active.is_(sa.true()), failures >= disable_after)
                values |= {
                    "is_active": sa.case((disable, sa.false()), else_=c.is_active),
                    "disabled_reason": sa.case(
                        (disable, sa.literal(reason, sa.Text())), else_=c.disabled_reason
                    ),
                    "updated_at": sa.case(
                        (disable, sa.literal(now, UTCDateTime())), else_=c.updated_at
                    ),
                    "version": sa.case((disable, c.version + 1), else_=c.version),
                }
        statement = (
            sa.update(webhooks).where(c.id == webhook_id).values(**values).returning(*webhooks.c)
        )
        row = self._connection.execute(statement).first()
        return _webhook_from_row(row) if row is not None else None


# ---------------------------------------------------------------- deliveries


def _attempt_from_row(row: Any) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=row.id,
        delivery_id=row.delivery_id,
        attempt=int(row.attempt),
        outcome=AttemptOutcome(row.outcome),
        created_at=row.created_at,
        duration_ms=int(row.duration_ms),
        status_code=row.status_code,
        error=row.error,
    )


def _delivery_from_row(row: Any, attempts: Sequence[DeliveryAttempt] = ()) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        event_seq=int(row.event_seq),
        ordering_key=row.ordering_key,
        state=DeliveryState(row.state),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=int(row.attempts),
        completed_at=row.completed_at,
        attempt_log=tuple(attempts),
    )


def _attempts_of(
    connection: sa.Connection, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    """The attempts of many deliveries, oldest first: one query (per 500 deliveries)."""
    found: dict[uuid.UUID, list[DeliveryAttempt]] = {}
    a = webhook_attempts
    for chunk in chunks(delivery_ids):
        query = (
            sa.select(a)
            .where(a.c.delivery_id.in_(chunk))
            .order_by(a.c.delivery_id, a.c.created_at, a.c.attempt, a.c.id)
        )
        for row in connection.execute(query):
            found.setdefault(row.delivery_id, []).append(_attempt_from_row(row))
    return found


class SqlDeliveryRepository:
    """Deliveries of events to endpoints, and the log of their attempts."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def _postgres(self) -> bool:
        return self._connection.dialect.name == "postgresql"

    def enqueue(self, delivery: WebhookDelivery) -> bool:
        dialect = postgresql if self._postgres() else sqlite
        statement = (
            dialect.insert(webhook_deliveries)
            .values(
                id=delivery.id,
                webhook_id=delivery.webhook_id,
                event_id=delivery.event_id,
                event_type=delivery.event_type,
                event_seq=delivery.event_seq,
                ordering_key=delivery.ordering_key,
                state=delivery.state,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                created_at=delivery.created_at,
                completed_at=delivery.completed_at,
            )
            .on_conflict_do_nothing(
                index_elements=[webhook_deliveries.c.webhook_id, webhook_deliveries.c.event_id]
            )
            .returning(webhook_deliveries.c.id)
        )
        with refused_as_conflict(self._connection, partial(self._why_refused, delivery)):
            # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT here.
            return self._connection.execute(statement).first() is not None

    def _why_refused(self, delivery: WebhookDelivery) -> str:
        connection = self._connection
        if exists(connection, webhook_deliveries.c.id, delivery.id):
            return "a delivery with this id already exists"
        if not exists(connection, webhooks.c.id, delivery.webhook_id):
            return "no such webhook"
        if not exists(connection, outbox.c.id, delivery.event_id):
            return "no such event"
        return "the delivery breaks a rule of the store"

    def claim(
        self, token: str, limit: int, now: datetime, lease_until: datetime
    ) -> list[ClaimedDelivery]:
        if limit < 1:
            return []
        d = webhook_deliveries
        older = d.alias("older")
        older_pending = (
            sa.select(sa.literal(1))
            .where(
                older.c.webhook_id == d.c.webhook_id,
                older.c.ordering_key == d.c.ordering_key,
                _is(older.c.state, DeliveryState.PENDING),
                older.c.event_seq < d.c.event_seq,
            )
            .exists()
        )
        query = (
            sa.select(d.c.id)
            .join(webhooks, webhooks.c.id == d.c.webhook_id)
            .where(
                _is(d.c.state, DeliveryState.PENDING),
                d.c.next_attempt_at <= now,
                _lease_free(d, now),
                webhooks.c.is_active.is_(sa.true()),
                ~older_pending,
            )
            .order_by(d.c.event_seq, d.c.id)
            .limit(limit)
        )
        if self._postgres():
            # Lock the deliveries only: results recorded on the endpoint must not wait.
            query = query.with_for_update(skip_locked=True, of=d)
        ids = list(self._connection.execute(query).scalars())
        if not ids:
            return []
        lease = (
            sa.update(d)
            .where(d.c.id.in_(ids))
            .values(locked_by=token, locked_until=lease_until)
            .returning(*d.c)
        )
        rows = sorted(self._connection.execute(lease).all(), key=lambda r: (r.event_seq, r.id))
        hooks = {
            row.id: _webhook_from_row(row)
            for row in self._connection.execute(
                sa.select(webhooks).where(webhooks.c.id.in_({row.webhook_id for row in rows}))
            )
        }
        events = {
            row.id: _event_from_row(row)
            for row in self._connection.execute(
                sa.select(outbox).where(outbox.c.id.in_({row.event_id for row in rows}))
            )
        }
        attempts = _attempts_of(self._connection, [row.id for row in rows])
        return [
            ClaimedDelivery(
                delivery=_delivery_from_row(row, attempts.get(row.id, ())),
                webhook=hooks[row.webhook_id],
                event=events[row.event_id],
            )
            for row in rows
        ]

    def finish(
        self,
        delivery_id: uuid.UUID,
        token: str,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: datetime | None,
    ) -> bool:
        if attempt.delivery_id != delivery_id:
            raise ValueError("the attempt belongs to another delivery")
        d = webhook_deliveries
        values: dict[str, Any] = {
            "state": state,
            "attempts": d.c.attempts + 1,
            "locked_by": None,
            "locked_until": None,
            "completed_at": None if state is DeliveryState.PENDING else attempt.created_at,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        update = (
            sa.update(d)
            .where(
                d.c.id == delivery_id,
                d.c.locked_by == token,
                _is(d.c.state, DeliveryState.PENDING),
            )
            .values(**values)
        )
        insert = sa.insert(webhook_attempts).values(
            id=attempt.id,
            delivery_id=delivery_id,
            attempt=attempt.attempt,
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
            created_at=attempt.created_at,
        )
        # One savepoint: a refused attempt row takes the state change back with it.
        with refused_as_conflict(self._connection, partial(self._why_attempt_refused, attempt)):
            if self._connection.execute(update).rowcount != 1:
                return False
            self._connection.execute(insert)
        return True

    def release(self, delivery_id: uuid.UUID, token: str) -> bool:
        d = webhook_deliveries
        statement = (
            sa.update(d)
            .where(
                d.c.id == delivery_id,
                d.c.locked_by == token,
                _is(d.c.state, DeliveryState.PENDING),
            )
            .values(locked_by=None, locked_until=None)
        )
        return self._connection.execute(statement).rowcount == 1

    def _why_attempt_refused(self, attempt: DeliveryAttempt) -> str:
        if exists(self._connection, webhook_attempts.c.id, attempt.id):
            return "an attempt with this id already exists"
        return "the attempt breaks a rule of the store"

    def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        query = sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        row = self._connection.execute(query).first()
        if row is None:
            return None
        return _delivery_from_row(row, _attempts_of(self._connection, [row.id]).get(row.id, ()))

    def list(
        self, webhook_id: uuid.UUID, limit: int, after: DeliveryCursor | None = None
    ) -> list[WebhookDelivery]:
        if limit < 1:
            return []
        d = webhook_deliveries
        query = (
            sa.select(d)
            .where(d.c.webhook_id == webhook_id)
            .order_by(d.c.created_at.desc(), d.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            position = sa.tuple_(d.c.created_at, d.c.id)
            query = query.where(
                position
                < sa.tuple_(
                    sa.literal(after.created_at, UTCDateTime()), sa.literal(after.id, sa.Uuid())
                )
            )
        rows = self._connection.execute(query).all()
        attempts = _attempts_of(self._connection, [row.id for row in rows])
        return [_delivery_from_row(row, attempts.get(row.id, ())) for row in rows]

    def count_pending(self) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(webhook_deliveries)
            .where(_is(webhook_deliveries.c.state, DeliveryState.PENDING))
        )
        return int(self._connection.execute(query).scalar_one())

    def purge_finished(self, before: datetime, limit: int) -> tuple[int, int]:
        if limit < 1:
            return 0, 0
        d = webhook_deliveries
        query = (
            sa.select(d.c.id)
            .where(
                d.c.state.in_([DeliveryState.DELIVERED.value, DeliveryState.FAILED.value]),
                d.c.completed_at < before,
            )
            .order_by(d.c.completed_at, d.c.id)
            .limit(limit)
        )
        if self._postgres():
            query = query.with_for_update(skip_locked=True)
        ids = list(self._connection.execute(query).scalars())
        if not ids:
            return 0, 0
        # The attempts first (explicitly, to count them), then their deliveries.
        attempts = self._connection.execute(
            sa.delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids))
        ).rowcount
        deliveries = self._connection.execute(sa.delete(d).where(d.c.id.in_(ids))).rowcount
        return int(deliveries), int(attempts)
