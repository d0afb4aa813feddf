"""Deliveries of events to webhook endpoints, and the log of their attempts (SQLAlchemy Core).

Claimed and finished like the outbox's events (see ``adapters.sql.outbox``): leased to a
token, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a completion changes nothing unless the
delivery is still leased to its token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.refusals import Refusals, primary_key, reference, refused_as_conflict
from adapters.sql.shared import chunks, event_from_row, lease_free, state_is, webhook_from_row
from adapters.sql.tables import (
    UTCDateTime,
    outbox,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)
from helpdesk_core.ports.events import (
    IN_PROCESS_SCHEME,
    AttemptOutcome,
    ClaimedDelivery,
    DeliveryAttempt,
    DeliveryCursor,
    DeliveryState,
    WebhookDelivery,
)


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


_DELIVERY_ADDED = Refusals[WebhookDelivery](
    "delivery",
    (
        primary_key(webhook_deliveries, "a delivery with this id already exists"),
        reference(webhook_deliveries.c.webhook_id, "no such webhook"),
        reference(webhook_deliveries.c.event_id, "no such event"),
    ),
)
_ATTEMPT_ADDED = Refusals[DeliveryAttempt](
    "attempt", (primary_key(webhook_attempts, "an attempt with this id already exists"),)
)


def _deliverable_by(in_process: frozenset[str]) -> sa.ColumnElement[bool]:
    """The endpoints a worker holding the callables of ``in_process`` (urls) can deliver to:
    every HTTP endpoint, and those in-process ones (a check of the joined endpoint row)."""
    http = ~webhooks.c.url.startswith(IN_PROCESS_SCHEME, autoescape=True)
    if not in_process:
        return http
    return sa.or_(http, webhooks.c.url.in_(sorted(in_process)))


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
        with refused_as_conflict(self._connection, _DELIVERY_ADDED, delivery):
            # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT here.
            return self._connection.execute(statement).first() is not None

    def claim(
        self,
        token: str,
        limit: int,
        now: datetime,
        lease_until: datetime,
        in_process: frozenset[str] = frozenset(),
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
                state_is(older.c.state, DeliveryState.PENDING),
                older.c.event_seq < d.c.event_seq,
            )
            .exists()
        )
        query = (
            sa.select(d.c.id)
            .join(webhooks, webhooks.c.id == d.c.webhook_id)
            .where(
                state_is(d.c.state, DeliveryState.PENDING),
                d.c.next_attempt_at <= now,
                lease_free(d, now),
                webhooks.c.is_active.is_(sa.true()),
                _deliverable_by(in_process),
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
            row.id: webhook_from_row(row)
            for row in self._connection.execute(
                sa.select(webhooks).where(webhooks.c.id.in_({row.webhook_id for row in rows}))
            )
        }
        events = {
            row.id: event_from_row(row)
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
                state_is(d.c.state, DeliveryState.PENDING),
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
        with refused_as_conflict(self._connection, _ATTEMPT_ADDED, attempt):
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
                state_is(d.c.state, DeliveryState.PENDING),
            )
            .values(locked_by=None, locked_until=None)
        )
        return self._connection.execute(statement).rowcount == 1

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
            .where(state_is(webhook_deliveries.c.state, DeliveryState.PENDING))
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
