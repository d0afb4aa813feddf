"""In-memory outbox, webhook and delivery repositories over a transaction's working MemoryState.

Same rules and orders as the SQL store's (``adapters.sql.outbox``, ``webhooks``,
``deliveries``): claims lease rows to a token (memory transactions are serialized, as SQLite's
are), an event is claimable only when it is the oldest pending one of its ordering key,
completions change nothing unless the row is leased to their token, payloads are stored as
JSON (so only JSON goes in, and a caller's later change to its dict changes nothing stored),
deleting an endpoint deletes its deliveries and their attempts.
Rows are frozen: the state's tables are copied shallowly per transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from adapters.memory.shared import utc, utc_or_none
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.events import Event
from helpdesk_core.ports.events import (
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

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


@attrs.frozen
class Lease:
    """Who holds a row, and until when (both None: nobody)."""

    locked_by: str | None = None
    locked_until: datetime | None = None

    def free(self, now: datetime) -> bool:
        return self.locked_until is None or self.locked_until <= now


@attrs.frozen
class OutboxRow:
    entry: OutboxEntry
    lease: Lease = Lease()


@attrs.frozen
class DeliveryRow:
    delivery: WebhookDelivery  # without its attempt log (kept in MemoryState.attempts)
    lease: Lease = Lease()


def _json_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(dict(data), ensure_ascii=False))
    return copied


def _stored_event(event: Event) -> Event:
    return attrs.evolve(event, occurred_at=utc(event.occurred_at), data=_json_copy(event.data))


def _copy_event(event: Event) -> Event:
    """What a read returns: a fresh payload dict, as a database row would give."""
    return attrs.evolve(event, data=_json_copy(event.data))


def _copy_entry(entry: OutboxEntry) -> OutboxEntry:
    return attrs.evolve(entry, event=_copy_event(entry.event))


# ---------------------------------------------------------------- outbox


class MemoryOutboxRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.outbox

    def add(self, event: Event) -> None:
        if event.id in self._rows:
            raise Conflict("an event with this id already exists")
        stored = _stored_event(event)  # refuses a payload that is not JSON before any change
        counters = self._state.counters
        counters[OUTBOX_SEQ_COUNTER] = counters.get(OUTBOX_SEQ_COUNTER, 0) + 1
        self._rows[event.id] = OutboxRow(
            OutboxEntry(
                event=stored,
                seq=counters[OUTBOX_SEQ_COUNTER],
                state=OutboxState.PENDING,
                attempts=0,
                available_at=stored.occurred_at,
            )
        )

    def get(self, event_id: uuid.UUID) -> OutboxEntry | None:
        row = self._rows.get(event_id)
        return _copy_entry(row.entry) if row is not None else None

    def claim(
        self, token: str, limit: int, now: datetime, lease_until: datetime
    ) -> list[OutboxEntry]:
        if limit < 1:
            return []
        pending = sorted(
            (row for row in self._rows.values() if row.entry.state is OutboxState.PENDING),
            key=lambda row: row.entry.seq,
        )
        oldest_of_key: dict[str, int] = {}
        for row in pending:
            oldest_of_key.setdefault(row.entry.event.ordering_key, row.entry.seq)
        claimed: list[OutboxEntry] = []
        for row in pending:
            entry = row.entry
            if len(claimed) == limit:
                break
            if (
                entry.available_at <= now
                and row.lease.free(now)
                and oldest_of_key[entry.event.ordering_key] == entry.seq
            ):
                entry = attrs.evolve(entry, attempts=entry.attempts + 1)
                self._rows[entry.event.id] = OutboxRow(entry, Lease(token, utc(lease_until)))
                claimed.append(_copy_entry(entry))
        return claimed

    def _finish(self, event_id: uuid.UUID, token: str, **changes: Any) -> bool:
        row = self._rows.get(event_id)
        if (
            row is None
            or row.lease.locked_by != token
            or row.entry.state is not OutboxState.PENDING
        ):
            return False
        self._rows[event_id] = OutboxRow(attrs.evolve(row.entry, **changes), Lease())
        return True

    def complete(self, event_id: uuid.UUID, token: str, now: datetime) -> bool:
        return self._finish(event_id, token, state=OutboxState.DONE, processed_at=utc(now))

    def retry(self, event_id: uuid.UUID, token: str, error: str, available_at: datetime) -> bool:
        return self._finish(event_id, token, last_error=error, available_at=utc(available_at))

    def fail(self, event_id: uuid.UUID, token: str, error: str, now: datetime) -> bool:
        return self._finish(
            event_id, token, state=OutboxState.FAILED, last_error=error, processed_at=utc(now)
        )

    def stats(self) -> OutboxStats:
        entries = [row.entry for row in self._rows.values()]
        pending = [e for e in entries if e.state is OutboxState.PENDING]
        return OutboxStats(
            pending=len(pending),
            failed=sum(1 for e in entries if e.state is OutboxState.FAILED),
            oldest_pending_at=min((e.event.occurred_at for e in pending), default=None),
        )

    def purge_finished(self, before: datetime, limit: int) -> int:
        if limit < 1:
            return 0
        referred = {row.delivery.event_id for row in self._state.deliveries.values()}
        expired = sorted(
            (
                row.entry
                for row in self._rows.values()
                if row.entry.state is not OutboxState.PENDING
                and row.entry.processed_at is not None
                and row.entry.processed_at < before
                and row.entry.event.id not in referred
            ),
            key=lambda entry: (entry.processed_at, entry.seq),
        )[:limit]
        for entry in expired:
            del self._rows[entry.event.id]
        return len(expired)


# ---------------------------------------------------------------- webhooks


def _stored_webhook(webhook: Webhook, created_at: datetime) -> Webhook:
    return attrs.evolve(
        webhook,
        events=tuple(webhook.events),
        created_at=utc(created_at),
        updated_at=utc(webhook.updated_at),
    )


class MemoryWebhookRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._webhooks = state.webhooks

    def add(self, webhook: Webhook) -> None:
        if webhook.id in self._webhooks:
            raise Conflict("a webhook with this id already exists")
        self._webhooks[webhook.id] = _stored_webhook(webhook, webhook.created_at)

    def get(self, webhook_id: uuid.UUID) -> Webhook | None:
        return self._webhooks.get(webhook_id)

    def update(self, webhook: Webhook) -> None:
        stored = self._webhooks.get(webhook.id)
        if stored is None or stored.version != webhook.version - 1:
            raise stale_version("webhook", webhook.version)
        self._webhooks[webhook.id] = _stored_webhook(webhook, stored.created_at)

    def delete(self, webhook_id: uuid.UUID) -> bool:
        if self._webhooks.pop(webhook_id, None) is None:
            return False
        deliveries = self._state.deliveries
        gone = {i for i, row in deliveries.items() if row.delivery.webhook_id == webhook_id}
        for delivery_id in gone:
            del deliveries[delivery_id]
        attempts = self._state.attempts
        for attempt_id in [i for i, a in attempts.items() if a.delivery_id in gone]:
            del attempts[attempt_id]
        return True

    def list(self) -> list[Webhook]:
        return sorted(self._webhooks.values(), key=lambda w: (w.created_at, w.id))

    def record_result(
        self, webhook_id: uuid.UUID, success: bool, disable_after: int, reason: str, now: datetime
    ) -> Webhook | None:
        stored = self._webhooks.get(webhook_id)
        if stored is None:
            return None
        if success:
            changed = attrs.evolve(stored, consecutive_failures=0)
        else:
            failures = stored.consecutive_failures + 1
            changed = attrs.evolve(stored, consecutive_failures=failures)
            if stored.is_active and disable_after >= 1 and failures >= disable_after:
                changed = attrs.evolve(
                    changed,
                    is_active=False,
                    disabled_reason=reason,
                    updated_at=utc(now),
                    version=stored.version + 1,
                )
        self._webhooks[webhook_id] = changed
        return changed


# ---------------------------------------------------------------- deliveries


def _stored_delivery(delivery: WebhookDelivery) -> WebhookDelivery:
    return attrs.evolve(
        delivery,
        created_at=utc(delivery.created_at),
        next_attempt_at=utc(delivery.next_attempt_at),
        completed_at=utc_or_none(delivery.completed_at),
        attempt_log=(),
    )


def _stored_attempt(attempt: DeliveryAttempt) -> DeliveryAttempt:
    return attrs.evolve(attempt, created_at=utc(attempt.created_at))


class MemoryDeliveryRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.deliveries
        self._attempts = state.attempts

    def enqueue(self, delivery: WebhookDelivery) -> bool:
        if any(
            row.delivery.webhook_id == delivery.webhook_id
            and row.delivery.event_id == delivery.event_id
            for row in self._rows.values()
        ):
            return False
        if delivery.id in self._rows:
            raise Conflict("a delivery with this id already exists")
        if delivery.webhook_id not in self._state.webhooks:
            raise Conflict("no such webhook")
        if delivery.event_id not in self._state.outbox:
            raise Conflict("no such event")
        self._rows[delivery.id] = DeliveryRow(_stored_delivery(delivery))
        return True

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
        pending = sorted(
            (row for row in self._rows.values() if row.delivery.state is DeliveryState.PENDING),
            key=lambda row: (row.delivery.event_seq, row.delivery.id),
        )
        oldest: dict[tuple[uuid.UUID, str], int] = {}
        for row in pending:
            oldest.setdefault(
                (row.delivery.webhook_id, row.delivery.ordering_key), row.delivery.event_seq
            )
        claimed: list[ClaimedDelivery] = []
        for row in pending:
            delivery = row.delivery
            if len(claimed) == limit:
                break
            webhook = self._state.webhooks[delivery.webhook_id]
            if (
                delivery.next_attempt_at <= now
                and row.lease.free(now)
                and webhook.is_active
                and (not webhook.in_process or webhook.url in in_process)
                and oldest[(delivery.webhook_id, delivery.ordering_key)] == delivery.event_seq
            ):
                self._rows[delivery.id] = DeliveryRow(delivery, Lease(token, utc(lease_until)))
                event = self._state.outbox[delivery.event_id].entry.event
                claimed.append(
                    ClaimedDelivery(self._with_log(delivery), webhook, _copy_event(event))
                )
        return claimed

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
        row = self._rows.get(delivery_id)
        if (
            row is None
            or row.lease.locked_by != token
            or row.delivery.state is not DeliveryState.PENDING
        ):
            return False
        if attempt.id in self._attempts:
            raise Conflict("an attempt with this id already exists")
        delivery = attrs.evolve(
            row.delivery,
            state=state,
            attempts=row.delivery.attempts + 1,
            completed_at=None if state is DeliveryState.PENDING else utc(attempt.created_at),
        )
        if next_attempt_at is not None:
            delivery = attrs.evolve(delivery, next_attempt_at=utc(next_attempt_at))
        self._rows[delivery_id] = DeliveryRow(delivery, Lease())
        self._attempts[attempt.id] = _stored_attempt(attempt)
        return True

    def release(self, delivery_id: uuid.UUID, token: str) -> bool:
        row = self._rows.get(delivery_id)
        if (
            row is None
            or row.lease.locked_by != token
            or row.delivery.state is not DeliveryState.PENDING
        ):
            return False
        self._rows[delivery_id] = DeliveryRow(row.delivery, Lease())
        return True

    def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        row = self._rows.get(delivery_id)
        return self._with_log(row.delivery) if row is not None else None

    def list(
        self, webhook_id: uuid.UUID, limit: int, after: DeliveryCursor | None = None
    ) -> list[WebhookDelivery]:
        if limit < 1:
            return []
        found = sorted(
            (row.delivery for row in self._rows.values() if row.delivery.webhook_id == webhook_id),
            key=lambda d: (d.created_at, d.id),
            reverse=True,
        )
        if after is not None:
            position = (utc(after.created_at), after.id)
            found = [d for d in found if (d.created_at, d.id) < position]
        return [self._with_log(d) for d in found[:limit]]

    def count_pending(self) -> int:
        return sum(1 for row in self._rows.values() if row.delivery.state is DeliveryState.PENDING)

    def purge_finished(self, before: datetime, limit: int) -> tuple[int, int]:
        if limit < 1:
            return 0, 0
        expired = sorted(
            (
                row.delivery
                for row in self._rows.values()
                if row.delivery.state is not DeliveryState.PENDING
                and row.delivery.completed_at is not None
                and row.delivery.completed_at < before
            ),
            key=lambda d: (d.completed_at, d.id),
        )[:limit]
        gone = {d.id for d in expired}
        attempts = [i for i, a in self._attempts.items() if a.delivery_id in gone]
        for attempt_id in attempts:
            del self._attempts[attempt_id]
        for delivery_id in gone:
            del self._rows[delivery_id]
        return len(gone), len(attempts)

    def _with_log(self, delivery: WebhookDelivery) -> WebhookDelivery:
        log = sorted(
            (a for a in self._attempts.values() if a.delivery_id == delivery.id),
            key=lambda a: (a.created_at, a.attempt, a.id),
        )
        return attrs.evolve(delivery, attempt_log=tuple(log))
