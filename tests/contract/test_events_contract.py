"""The contract of the outbox, webhook and delivery repositories, on memory, SQLite, PostgreSQL.

Claims lease rows to a token in ``seq`` (event) order; one ordering key's events (and, per
endpoint, its deliveries) are handed out one after another; an expired lease makes a row
claimable again; a completion naming another token changes nothing; an in-process endpoint's
deliveries go only to a worker that names its url.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
import pytest
import sqlalchemy as sa

from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWork
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.events import Event
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryCursor,
    DeliveryState,
    OutboxEntry,
    OutboxState,
    OutboxStats,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.uow import Transaction, UnitOfWork

R = TypeVar("R")
T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
NOW = T0 + timedelta(minutes=1)
LEASE = NOW + timedelta(minutes=5)


# ---------------------------------------------------------------- builders and steps


def make_event(key: str = "ticket:1", **changes: Any) -> Event:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "type": "ticket.created",
        "occurred_at": T0,
        "ordering_key": key,
        "data": {"n": 1},
    }
    values.update(changes)
    return Event(**values)


def make_webhook(**changes: Any) -> Webhook:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "url": "https://hooks.example.com/helpdesk",
        "events": ("ticket.created", "ticket.closed"),
        "secret": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Webhook(**values)


def make_delivery(webhook: Webhook, entry: OutboxEntry, **changes: Any) -> WebhookDelivery:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "webhook_id": webhook.id,
        "event_id": entry.event.id,
        "event_type": entry.event.type,
        "event_seq": entry.seq,
        "ordering_key": entry.event.ordering_key,
        "state": DeliveryState.PENDING,
        "created_at": T0,
        "next_attempt_at": T0,
    }
    values.update(changes)
    return WebhookDelivery(**values)


def make_attempt(delivery: WebhookDelivery, attempt: int = 1, **changes: Any) -> DeliveryAttempt:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "delivery_id": delivery.id,
        "attempt": attempt,
        "outcome": AttemptOutcome.HTTP_ERROR,
        "created_at": NOW + timedelta(seconds=attempt),
        "duration_ms": 120,
        "status_code": 503,
        "error": "503 Service Unavailable",
    }
    values.update(changes)
    return DeliveryAttempt(**values)


def run(uow: UnitOfWork, work: Callable[[Transaction], R]) -> R:
    """``work`` in its own committed transaction; its result."""
    with uow.begin() as tx:
        result = work(tx)
        tx.commit()
    return result


def add_webhooks(uow: UnitOfWork, *hooks: Webhook) -> None:
    def add(tx: Transaction) -> None:
        for hook in hooks:
            tx.webhooks.add(hook)

    run(uow, add)


def record(uow: UnitOfWork, *events: Event) -> list[OutboxEntry]:
    """Record ``events`` in one transaction; their entries as stored."""

    def add(tx: Transaction) -> None:
        for event in events:
            tx.outbox.add(event)

    run(uow, add)
    return [entry(uow, event.id) for event in events]


def entry(uow: UnitOfWork, event_id: uuid.UUID) -> OutboxEntry:
    with uow.begin(read_only=True) as tx:
        found = tx.outbox.get(event_id)
    assert found is not None
    return found


def claim(
    uow: UnitOfWork,
    token: str = "w1",
    limit: int = 10,
    now: datetime = NOW,
    lease: datetime = LEASE,
) -> list[OutboxEntry]:
    return run(uow, lambda tx: tx.outbox.claim(token, limit, now, lease))


def ids(entries: list[OutboxEntry]) -> list[uuid.UUID]:
    return [e.event.id for e in entries]


def claim_deliveries(
    uow: UnitOfWork,
    token: str = "w1",
    limit: int = 10,
    now: datetime = NOW,
    lease: datetime = LEASE,
    in_process: frozenset[str] = frozenset(),
) -> list[Any]:
    return run(uow, lambda tx: tx.deliveries.claim(token, limit, now, lease, in_process))


def delivery(uow: UnitOfWork, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    with uow.begin(read_only=True) as tx:
        return tx.deliveries.get(delivery_id)


def assert_utc(*values: datetime | None) -> None:
    for value in values:
        assert value is not None
        assert value.utcoffset() == timedelta(0), value


# ---------------------------------------------------------------- outbox: recording


def test_an_event_round_trips_with_its_payload(uow: UnitOfWork) -> None:
    data = {
        "ticket": {"id": str(uuid.uuid4()), "number": 42, "subject": "Drucker brennt 🔥"},
        "tags": ["a", "b"],
        "closed_at": None,
        "urgent": True,
        "ratio": 0.25,
    }
    actor = uuid.uuid4()
    event = make_event(
        "ticket:42",
        type="ticket.status_changed",
        occurred_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
        data=data,
        actor_id=actor,
        version=3,
    )
    (stored,) = record(uow, event)

    assert stored.event == event
    assert stored.event.data == data
    assert isinstance(stored.event.data, dict)
    assert stored.event.actor_id == actor
    assert stored.event.version == 3
    assert stored.event.occurred_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    assert stored.state is OutboxState.PENDING
    assert stored.attempts == 0
    assert stored.seq >= 1
    assert stored.available_at == event.occurred_at  # available at once
    assert stored.last_error is None
    assert stored.processed_at is None
    assert_utc(stored.event.occurred_at, stored.available_at)
    assert stored.event.envelope()["data"] == data


def test_the_stored_payload_is_a_copy(uow: UnitOfWork) -> None:
    data: dict[str, Any] = {"list": [1]}
    event = make_event(data=data)
    record(uow, event)
    data["list"].append(2)
    assert entry(uow, event.id).event.data == {"list": [1]}


def test_unknown_events_are_none(uow: UnitOfWork) -> None:
    with uow.begin(read_only=True) as tx:
        assert tx.outbox.get(uuid.uuid4()) is None


def test_an_event_exists_only_if_its_transaction_committed(uow: UnitOfWork) -> None:
    event = make_event()
    with uow.begin() as tx:
        tx.outbox.add(event)
        tx.rollback()
    with uow.begin() as tx:
        tx.outbox.add(make_event())  # never committed
    with uow.begin(read_only=True) as tx:
        assert tx.outbox.get(event.id) is None
        assert tx.outbox.stats().pending == 0


def test_an_event_id_is_recorded_once(uow: UnitOfWork) -> None:
    event = make_event()
    record(uow, event)
    with uow.begin() as tx, pytest.raises(Conflict, match="already exists"):
        tx.outbox.add(event)


def test_seq_follows_the_recording_order(uow: UnitOfWork) -> None:
    first = record(uow, make_event("a"), make_event("b"))
    later = record(uow, make_event("a"))
    seqs = [e.seq for e in first + later]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


# ---------------------------------------------------------------- outbox: claims


def test_claims_go_in_seq_order_and_count_attempts(uow: UnitOfWork) -> None:
    events = [make_event(f"ticket:{n}") for n in range(5)]
    record(uow, *events[:2])
    record(uow, *events[2:])

    first = claim(uow, "w1", limit=3)
    second = claim(uow, "w2", limit=3)

    assert ids(first) == [e.id for e in events[:3]]
    assert ids(second) == [e.id for e in events[3:]]
    assert [e.seq for e in first + second] == sorted(e.seq for e in first + second)
    assert all(e.attempts == 1 and e.state is OutboxState.PENDING for e in first + second)
    assert entry(uow, events[0].id).attempts == 1
    assert claim(uow, "w3") == []


def test_a_claim_with_no_room_claims_nothing(uow: UnitOfWork) -> None:
    record(uow, make_event())
    assert claim(uow, limit=0) == []
    assert entry(uow, ids(claim(uow, limit=1))[0]).attempts == 1


def test_events_are_not_claimed_before_they_occur(uow: UnitOfWork) -> None:
    later = make_event(occurred_at=NOW + timedelta(seconds=30))
    record(uow, later)
    assert claim(uow, now=NOW) == []
    assert ids(claim(uow, now=NOW + timedelta(seconds=30))) == [later.id]


@pytest.mark.parametrize("finish", ["complete", "fail"])
def test_one_key_is_handled_in_order(uow: UnitOfWork, finish: str) -> None:
    a1, b1, a2, a3 = (make_event(k) for k in ("ticket:a", "ticket:b", "ticket:a", "ticket:a"))
    record(uow, a1, b1, a2, a3)

    assert ids(claim(uow, "w1")) == [a1.id, b1.id]
    assert claim(uow, "w2") == []  # a2 waits for a1, though a1 is leased to w1

    def end(tx: Transaction) -> bool:
        if finish == "complete":
            return tx.outbox.complete(a1.id, "w1", NOW)
        return tx.outbox.fail(a1.id, "w1", "gave up", NOW)

    assert run(uow, end)
    assert ids(claim(uow, "w2")) == [a2.id]  # a3 still waits, for a2
    assert claim(uow, "w3") == []


def test_a_retried_event_keeps_its_key_waiting(uow: UnitOfWork) -> None:
    a1, a2 = make_event("ticket:a"), make_event("ticket:a")
    record(uow, a1, a2)
    claim(uow, "w1")
    later = NOW + timedelta(minutes=10)

    assert run(uow, lambda tx: tx.outbox.retry(a1.id, "w1", "mail server down", later))

    retried = entry(uow, a1.id)
    assert retried.state is OutboxState.PENDING
    assert retried.available_at == later
    assert retried.last_error == "mail server down"
    assert retried.attempts == 1
    assert_utc(retried.available_at)
    assert claim(uow, "w2", now=later - timedelta(seconds=1)) == []  # neither a1 nor a2
    again = claim(uow, "w2", now=later, lease=later + timedelta(minutes=5))
    assert ids(again) == [a1.id]
    assert again[0].attempts == 2


def test_an_expired_lease_makes_the_event_claimable_again(uow: UnitOfWork) -> None:
    event = make_event()
    record(uow, event)
    lease_end = NOW + timedelta(seconds=30)
    claim(uow, "dead-worker", now=NOW, lease=lease_end)

    assert claim(uow, "w2", now=lease_end - timedelta(seconds=1)) == []
    taken = claim(uow, "w2", now=lease_end + timedelta(seconds=1))

    assert ids(taken) == [event.id]
    assert taken[0].attempts == 2  # the dead worker's claim counts
    # The worker whose lease was taken over changes nothing; the new holder completes.
    assert not run(uow, lambda tx: tx.outbox.complete(event.id, "dead-worker", NOW))
    assert entry(uow, event.id).state is OutboxState.PENDING
    assert run(uow, lambda tx: tx.outbox.complete(event.id, "w2", NOW))
    assert entry(uow, event.id).state is OutboxState.DONE


def test_completions_are_fenced_by_the_token(uow: UnitOfWork) -> None:
    event, unclaimed = make_event("ticket:a"), make_event("ticket:b")
    record(uow, event)
    claim(uow, "w1")
    record(uow, unclaimed)
    before = entry(uow, event.id)
    later = NOW + timedelta(hours=1)

    def wrong(tx: Transaction) -> list[bool]:
        return [
            tx.outbox.complete(event.id, "w2", NOW),
            tx.outbox.retry(event.id, "w2", "x", later),
            tx.outbox.fail(event.id, "w2", "x", NOW),
            tx.outbox.complete(unclaimed.id, "w1", NOW),
            tx.outbox.complete(uuid.uuid4(), "w1", NOW),
        ]

    assert run(uow, wrong) == [False] * 5
    assert entry(uow, event.id) == before
    assert entry(uow, event.id).event.data == before.event.data
    assert entry(uow, unclaimed.id).state is OutboxState.PENDING

    done_at = NOW + timedelta(seconds=3)
    assert run(uow, lambda tx: tx.outbox.complete(event.id, "w1", done_at))
    done = entry(uow, event.id)
    assert done.state is OutboxState.DONE
    assert done.processed_at == done_at
    assert_utc(done.processed_at)
    # Finished: the token no longer holds it (no second completion, no late failure).
    assert not run(uow, lambda tx: tx.outbox.complete(event.id, "w1", NOW))
    assert not run(uow, lambda tx: tx.outbox.fail(event.id, "w1", "late", NOW))
    assert entry(uow, event.id) == done
    assert ids(claim(uow, "w3", now=later)) == [unclaimed.id]


def test_failing_an_event_records_why(uow: UnitOfWork) -> None:
    event = make_event()
    record(uow, event)
    claim(uow, "w1")
    assert run(uow, lambda tx: tx.outbox.fail(event.id, "w1", "no subscriber took it", NOW))
    failed = entry(uow, event.id)
    assert failed.state is OutboxState.FAILED
    assert failed.last_error == "no subscriber took it"
    assert failed.processed_at == NOW
    assert claim(uow, "w2", now=NOW + timedelta(days=1), lease=NOW + timedelta(days=2)) == []


def test_stats_count_pending_and_failed_and_the_oldest_wait(uow: UnitOfWork) -> None:
    with uow.begin(read_only=True) as tx:
        assert tx.outbox.stats() == OutboxStats(pending=0, failed=0, oldest_pending_at=None)
    done, failed = make_event("k:1", occurred_at=T0), make_event("k:2", occurred_at=T0)
    waiting = [
        make_event("k:3", occurred_at=T0 + timedelta(seconds=20)),
        make_event("k:4", occurred_at=datetime(2024, 5, 1, 14, 0, 5, tzinfo=PLUS_TWO)),
        make_event("k:5", occurred_at=T0 + timedelta(seconds=40)),
    ]
    record(uow, done, failed, *waiting)
    claim(uow, "w1", limit=2)

    def finish(tx: Transaction) -> None:
        assert tx.outbox.complete(done.id, "w1", NOW)
        assert tx.outbox.fail(failed.id, "w1", "broken", NOW)

    run(uow, finish)
    with uow.begin(read_only=True) as tx:
        stats = tx.outbox.stats()
    assert stats == OutboxStats(
        pending=3, failed=1, oldest_pending_at=datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
    )
    assert_utc(stats.oldest_pending_at)


# ---------------------------------------------------------------- webhooks


def test_a_webhook_round_trips_and_updates(uow: UnitOfWork) -> None:
    hook = make_webhook(
        description="CRM sync",
        events=("*",),
        created_at=datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO),
        updated_at=datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO),
    )
    add_webhooks(uow, hook)
    with uow.begin(read_only=True) as tx:
        loaded = tx.webhooks.get(hook.id)
        assert tx.webhooks.get(uuid.uuid4()) is None
    assert loaded == hook
    assert loaded is not None
    assert loaded.secret == hook.secret
    assert loaded.events == ("*",)
    assert_utc(loaded.created_at, loaded.updated_at)

    changed = attrs.evolve(
        hook,
        url="https://other.example.com/h",
        events=("ticket.closed",),
        description="",
        is_active=False,
        disabled_reason="paused by an admin",
        updated_at=T0 + timedelta(hours=1),
        version=2,
    )
    run(uow, lambda tx: tx.webhooks.update(changed))
    with uow.begin(read_only=True) as tx:
        assert tx.webhooks.get(hook.id) == changed
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.webhooks.update(attrs.evolve(changed, description="stale", version=2))
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.webhooks.update(make_webhook(version=2))  # none stored
    with uow.begin() as tx, pytest.raises(Conflict, match="already exists"):
        tx.webhooks.add(hook)


def test_webhooks_are_listed_oldest_first_and_deleted(uow: UnitOfWork) -> None:
    hooks = [make_webhook(created_at=T0 + timedelta(minutes=n)) for n in (2, 0, 1)]
    add_webhooks(uow, *hooks)
    with uow.begin(read_only=True) as tx:
        assert tx.webhooks.list() == [hooks[1], hooks[2], hooks[0]]

    assert run(uow, lambda tx: tx.webhooks.delete(hooks[1].id))
    assert not run(uow, lambda tx: tx.webhooks.delete(hooks[1].id))
    with uow.begin(read_only=True) as tx:
        assert tx.webhooks.get(hooks[1].id) is None
        assert tx.webhooks.list() == [hooks[2], hooks[0]]


def test_deleting_a_webhook_deletes_its_deliveries(uow: UnitOfWork) -> None:
    gone, kept = make_webhook(), make_webhook()
    add_webhooks(uow, gone, kept)
    (stored,) = record(uow, make_event())
    doomed, other = make_delivery(gone, stored), make_delivery(kept, stored)
    run(uow, lambda tx: [tx.deliveries.enqueue(doomed), tx.deliveries.enqueue(other)])
    claim_deliveries(uow, "w1")
    attempt = make_attempt(doomed)
    assert run(
        uow,
        lambda tx: tx.deliveries.finish(doomed.id, "w1", attempt, DeliveryState.PENDING, NOW),
    )

    assert run(uow, lambda tx: tx.webhooks.delete(gone.id))

    assert delivery(uow, doomed.id) is None
    assert delivery(uow, other.id) is not None
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.list(gone.id, 10) == []
        assert tx.deliveries.count_pending() == 1
        assert tx.outbox.get(stored.event.id) is not None  # the event stays


def test_failures_disable_a_webhook_and_a_success_resets_the_run(uow: UnitOfWork) -> None:
    hook = make_webhook()
    add_webhooks(uow, hook)
    later = T0 + timedelta(hours=2)

    def result(success: bool) -> Webhook:
        found = run(
            uow, lambda tx: tx.webhooks.record_result(hook.id, success, 3, "3 failures", later)
        )
        assert found is not None
        return found

    assert result(False).consecutive_failures == 1
    assert result(False).consecutive_failures == 2
    reset = result(True)
    assert reset.consecutive_failures == 0
    assert reset.is_active
    assert reset.version == hook.version  # counting is no edit
    assert reset.updated_at == hook.updated_at
    result(False)
    result(False)
    disabled = result(False)
    assert disabled.consecutive_failures == 3
    assert not disabled.is_active
    assert disabled.disabled_reason == "3 failures"
    assert disabled.updated_at == later
    assert disabled.version == hook.version + 1
    with uow.begin(read_only=True) as tx:
        assert tx.webhooks.get(hook.id) == disabled
    once_more = result(False)  # a delivery that was already under way
    assert once_more == attrs.evolve(disabled, consecutive_failures=4)
    assert run(uow, lambda tx: tx.webhooks.record_result(uuid.uuid4(), True, 3, "x", later)) is None


# ---------------------------------------------------------------- deliveries


@pytest.fixture
def hook(uow: UnitOfWork) -> Webhook:
    webhook = make_webhook()
    add_webhooks(uow, webhook)
    return webhook


def enqueue(uow: UnitOfWork, *deliveries: WebhookDelivery) -> list[bool]:
    return run(uow, lambda tx: [tx.deliveries.enqueue(d) for d in deliveries])


def test_a_delivery_is_enqueued_once_per_webhook_and_event(uow: UnitOfWork, hook: Webhook) -> None:
    (stored,) = record(uow, make_event())
    first = make_delivery(hook, stored)
    again = make_delivery(hook, stored)

    assert enqueue(uow, first) == [True]
    assert enqueue(uow, again) == [False]

    assert delivery(uow, again.id) is None
    loaded = delivery(uow, first.id)
    assert loaded == first
    assert loaded is not None
    assert loaded.attempt_log == ()
    assert_utc(loaded.created_at, loaded.next_attempt_at)
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.get(uuid.uuid4()) is None
        assert tx.deliveries.count_pending() == 1
    with uow.begin() as tx, pytest.raises(Conflict, match="no such webhook"):
        tx.deliveries.enqueue(make_delivery(make_webhook(), stored))
    event = make_event()
    unrecorded = OutboxEntry(event, 999, OutboxState.PENDING, 0, T0)
    with uow.begin() as tx, pytest.raises(Conflict, match="no such event"):
        tx.deliveries.enqueue(make_delivery(hook, unrecorded))


def test_deliveries_are_claimed_in_event_order_per_webhook_and_key(
    uow: UnitOfWork, hook: Webhook
) -> None:
    other = make_webhook()
    add_webhooks(uow, other)
    a1, b1, a2 = record(
        uow,
        make_event("ticket:a", data={"step": 1}),
        make_event("ticket:b"),
        make_event("ticket:a", type="ticket.closed", data={"step": 2}),
    )
    d_a1, d_b1, d_a2 = (make_delivery(hook, e) for e in (a1, b1, a2))
    o_a2 = make_delivery(other, a2)  # the other endpoint never got a1
    enqueue(uow, d_a2, o_a2, d_b1, d_a1)  # enqueue order does not matter

    claimed = claim_deliveries(uow, "w1")

    assert [c.delivery.id for c in claimed] == [d_a1.id, d_b1.id, o_a2.id]
    first = claimed[0]
    assert first.webhook == hook
    assert first.webhook.secret == hook.secret
    assert first.event == a1.event
    assert first.event.data == {"step": 1}
    assert first.delivery == d_a1
    assert claimed[2].webhook == other
    assert claim_deliveries(uow, "w2") == []  # d_a2 waits for d_a1

    done = make_attempt(d_a1, outcome=AttemptOutcome.SUCCESS, status_code=204, error=None)
    assert run(
        uow, lambda tx: tx.deliveries.finish(d_a1.id, "w1", done, DeliveryState.DELIVERED, None)
    )
    (next_one,) = claim_deliveries(uow, "w2")
    assert next_one.delivery.id == d_a2.id
    assert next_one.event.data == {"step": 2}
    assert next_one.event.type == "ticket.closed"


def test_a_failed_delivery_lets_the_next_of_its_key_go(uow: UnitOfWork, hook: Webhook) -> None:
    a1, a2 = record(uow, make_event("ticket:a"), make_event("ticket:a"))
    d1, d2 = make_delivery(hook, a1), make_delivery(hook, a2)
    enqueue(uow, d1, d2)
    claim_deliveries(uow, "w1")
    assert run(
        uow,
        lambda tx: tx.deliveries.finish(d1.id, "w1", make_attempt(d1), DeliveryState.FAILED, None),
    )
    assert [c.delivery.id for c in claim_deliveries(uow, "w1")] == [d2.id]


def test_deliveries_of_inactive_webhooks_wait(uow: UnitOfWork, hook: Webhook) -> None:
    (stored,) = record(uow, make_event())
    d = make_delivery(hook, stored)
    enqueue(uow, d)
    paused = attrs.evolve(hook, is_active=False, version=2)
    run(uow, lambda tx: tx.webhooks.update(paused))

    assert claim_deliveries(uow) == []
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.count_pending() == 1

    run(uow, lambda tx: tx.webhooks.update(attrs.evolve(paused, is_active=True, version=3)))
    assert [c.delivery.id for c in claim_deliveries(uow)] == [d.id]


def test_finishing_records_the_attempt_and_the_state(uow: UnitOfWork, hook: Webhook) -> None:
    (stored,) = record(uow, make_event())
    d = make_delivery(hook, stored)
    enqueue(uow, d)
    claim_deliveries(uow, "w1")
    retry_at = NOW + timedelta(minutes=2)
    first = make_attempt(d, 1, outcome=AttemptOutcome.TIMEOUT, status_code=None, error="timed out")

    wrong = run(
        uow, lambda tx: tx.deliveries.finish(d.id, "w2", first, DeliveryState.PENDING, retry_at)
    )
    assert wrong is False
    assert delivery(uow, d.id) == d  # nothing stored

    assert run(
        uow, lambda tx: tx.deliveries.finish(d.id, "w1", first, DeliveryState.PENDING, retry_at)
    )
    waiting = delivery(uow, d.id)
    assert waiting is not None
    assert waiting.state is DeliveryState.PENDING
    assert waiting.attempts == 1
    assert waiting.next_attempt_at == retry_at
    assert waiting.completed_at is None
    assert waiting.attempt_log == (first,)
    # The lease is released: fenced out, and claimable again when due.
    assert not run(
        uow,
        lambda tx: tx.deliveries.finish(d.id, "w1", make_attempt(d, 2), DeliveryState.FAILED, None),
    )
    assert claim_deliveries(uow, "w2", now=retry_at - timedelta(seconds=1)) == []
    lease = retry_at + timedelta(minutes=1)
    (again,) = claim_deliveries(uow, "w2", now=retry_at, lease=lease)
    assert again.delivery.attempts == 1
    assert again.delivery.attempt_log == (first,)

    second = make_attempt(
        d, 2, outcome=AttemptOutcome.SUCCESS, status_code=200, error=None, duration_ms=0
    )
    assert run(
        uow, lambda tx: tx.deliveries.finish(d.id, "w2", second, DeliveryState.DELIVERED, None)
    )
    delivered = delivery(uow, d.id)
    assert delivered is not None
    assert delivered.state is DeliveryState.DELIVERED
    assert delivered.attempts == 2
    assert delivered.next_attempt_at == retry_at
    assert delivered.completed_at == second.created_at
    assert delivered.attempt_log == (first, second)
    assert_utc(delivered.completed_at, *(a.created_at for a in delivered.attempt_log))
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.count_pending() == 0
    with uow.begin() as tx, pytest.raises(ValueError, match="another delivery"):
        tx.deliveries.finish(
            d.id, "w2", make_attempt(make_delivery(hook, stored)), DeliveryState.FAILED, None
        )


def test_a_released_delivery_is_claimable_at_once_without_an_attempt(
    uow: UnitOfWork, hook: Webhook
) -> None:
    (stored,) = record(uow, make_event())
    d = make_delivery(hook, stored)
    enqueue(uow, d)
    claim_deliveries(uow, "w1")
    assert claim_deliveries(uow, "w2") == []  # leased to w1
    assert not run(uow, lambda tx: tx.deliveries.release(d.id, "w2"))  # fenced
    assert run(uow, lambda tx: tx.deliveries.release(d.id, "w1"))
    assert not run(uow, lambda tx: tx.deliveries.release(d.id, "w1"))  # no lease left
    (again,) = claim_deliveries(uow, "w2")
    assert again.delivery.id == d.id
    assert again.delivery.attempts == 0
    assert again.delivery.attempt_log == ()


def test_an_expired_delivery_lease_is_taken_over(uow: UnitOfWork, hook: Webhook) -> None:
    (stored,) = record(uow, make_event())
    d = make_delivery(hook, stored)
    enqueue(uow, d)
    lease_end = NOW + timedelta(seconds=30)
    claim_deliveries(uow, "dead-worker", lease=lease_end)

    assert claim_deliveries(uow, "w2", now=lease_end - timedelta(seconds=1)) == []
    (taken,) = claim_deliveries(uow, "w2", now=lease_end + timedelta(seconds=1))
    assert taken.delivery.id == d.id
    late = make_attempt(d)
    assert not run(
        uow, lambda tx: tx.deliveries.finish(d.id, "dead-worker", late, DeliveryState.FAILED, None)
    )
    assert run(uow, lambda tx: tx.deliveries.finish(d.id, "w2", late, DeliveryState.FAILED, None))


def test_deliveries_are_listed_newest_first_with_their_attempts(
    uow: UnitOfWork, hook: Webhook
) -> None:
    other = make_webhook()
    add_webhooks(uow, other)
    entries = record(uow, *(make_event(f"ticket:{n}") for n in range(5)))
    created = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)]
    mine = [make_delivery(hook, e, created_at=c) for e, c in zip(entries, created, strict=False)]
    enqueue(uow, *mine, make_delivery(other, entries[4]))
    claim_deliveries(uow, "w1")
    attempts = {d.id: [make_attempt(d, 1, created_at=NOW + timedelta(seconds=1))] for d in mine[:2]}

    def retry_first_two(tx: Transaction) -> None:
        for d in mine[:2]:
            (a,) = attempts[d.id]
            assert tx.deliveries.finish(d.id, "w1", a, DeliveryState.PENDING, NOW)

    run(uow, retry_first_two)
    claim_deliveries(uow, "w1", now=NOW + timedelta(seconds=1))
    second = make_attempt(mine[0], 2, created_at=NOW + timedelta(seconds=9))
    assert run(
        uow,
        lambda tx: tx.deliveries.finish(mine[0].id, "w1", second, DeliveryState.DELIVERED, None),
    )

    newest_first = sorted(mine, key=lambda d: (d.created_at, d.id), reverse=True)
    with uow.begin(read_only=True) as tx:
        page = tx.deliveries.list(hook.id, 3)
        last = page[-1]
        rest = tx.deliveries.list(hook.id, 3, DeliveryCursor(last.created_at, last.id))
        assert tx.deliveries.list(hook.id, 0) == []
        assert tx.deliveries.list(uuid.uuid4(), 3) == []

    assert [d.id for d in page + rest] == [d.id for d in newest_first]
    listed = {d.id: d for d in page + rest}
    assert listed[mine[0].id].attempt_log == (attempts[mine[0].id][0], second)
    assert listed[mine[1].id].attempt_log == tuple(attempts[mine[1].id])
    assert listed[mine[2].id].attempt_log == ()
    assert listed[mine[0].id].state is DeliveryState.DELIVERED


def test_count_pending_counts_every_endpoint(uow: UnitOfWork, hook: Webhook) -> None:
    other = make_webhook()
    add_webhooks(uow, other)
    a, b = record(uow, make_event("k:a"), make_event("k:b"))
    d1, d2, d3 = make_delivery(hook, a), make_delivery(hook, b), make_delivery(other, a)
    enqueue(uow, d1, d2, d3)
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.count_pending() == 3
    claim_deliveries(uow, "w1")
    done = make_attempt(d1, outcome=AttemptOutcome.SUCCESS, status_code=200, error=None)
    assert run(
        uow, lambda tx: tx.deliveries.finish(d1.id, "w1", done, DeliveryState.DELIVERED, None)
    )
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.count_pending() == 2  # a leased delivery is still pending


# ---------------------------------------------------------------- concurrency


def test_one_key_records_in_commit_order(uow: UnitOfWork) -> None:
    """A second writer of the same key gets a later number, and commits after the first."""
    first, second = make_event("ticket:a"), make_event("ticket:a")
    finished = threading.Event()

    def writer() -> None:
        record(uow, second)
        finished.set()

    with uow.begin() as tx:
        tx.outbox.add(first)
        thread = threading.Thread(target=writer)
        thread.start()
        assert not finished.wait(0.3), "the second writer did not wait for the first"
        tx.commit()
    thread.join(timeout=10)
    assert finished.is_set()
    assert entry(uow, first.id).seq < entry(uow, second.id).seq


@pytest.mark.postgres
def test_postgres_writers_of_different_keys_do_not_wait(postgres_db_url: str) -> None:
    """The per-key lock is per key (SQLite and memory serialize every writer anyway)."""
    engine = create_engine(postgres_db_url)
    uow = SqlUnitOfWork(engine)
    finished = threading.Event()

    def writer() -> None:
        record(uow, make_event("ticket:b"))
        finished.set()

    try:
        with uow.begin() as tx:
            tx.outbox.add(make_event("ticket:a"))
            thread = threading.Thread(target=writer)
            thread.start()
            assert finished.wait(10), "a writer of another key waited"
            tx.commit()
        thread.join(timeout=10)
    finally:
        engine.dispose()


def _ordering_locks(engine: Any) -> list[str]:
    """Records the ordering-lock statements ``engine`` sends (a live list)."""
    sent: list[str] = []

    def record_lock(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record_lock)
    return sent


def _waits_for(uow: UnitOfWork, event: Event, tx_commit: Callable[[], None]) -> bool:
    """Whether recording ``event`` in another transaction waits until ``tx_commit`` ran."""
    finished = threading.Event()
    thread = threading.Thread(target=lambda: (record(uow, event), finished.set()))
    thread.start()
    waited = not finished.wait(0.3)
    tx_commit()
    thread.join(timeout=10)
    return waited and finished.is_set()


@pytest.mark.postgres
def test_postgres_one_key_is_locked_once_per_transaction(postgres_db_url: str) -> None:
    """A reply that also opens the ticket records two events of one key: the lock is taken
    once, by the statement that records its first event, and the key stays locked until the
    commit (another writer of it waits)."""
    engine = create_engine(postgres_db_url)
    uow = SqlUnitOfWork(engine)
    locks = _ordering_locks(engine)
    try:
        with uow.begin() as tx:
            tx.outbox.add(make_event("ticket:once"))
            tx.outbox.add(make_event("ticket:once"))
            tx.outbox.add(make_event("ticket:other"))
            assert len(locks) == 2
            # Each lock travels with its key's first event: one round trip, not two.
            assert all("INSERT INTO outbox " in lock for lock in locks), locks
            assert _waits_for(uow, make_event("ticket:once"), tx.commit)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_a_lock_taken_in_a_rolled_back_savepoint_is_taken_again(
    postgres_db_url: str,
) -> None:
    """PostgreSQL releases a lock taken inside a savepoint when the savepoint rolls back."""
    engine = create_engine(postgres_db_url)
    uow = SqlUnitOfWork(engine)
    locks = _ordering_locks(engine)
    try:
        with uow.begin() as tx:
            connection = tx._connection  # type: ignore[attr-defined]  # the SQL adapter's
            savepoint = connection.begin_nested()
            tx.outbox.add(make_event("ticket:savepoint"))
            savepoint.rollback()
            tx.outbox.add(make_event("ticket:savepoint"))
            assert len(locks) == 2
            assert _waits_for(uow, make_event("ticket:savepoint"), tx.commit)
    finally:
        engine.dispose()


def test_concurrent_claims_never_share_an_event_or_a_key(backend_url: str, uow: UnitOfWork) -> None:
    """Two workers, each in its own transactions, over 200 events of 20 keys."""
    keys = [f"ticket:{n}" for n in range(20)]
    shuffled = random.Random(5).choices(keys, k=200)  # a batch meets many keys twice
    events = [make_event(key, data={"n": n}) for n, key in enumerate(shuffled)]
    for start in range(0, 200, 50):
        record(uow, *events[start : start + 50])
    seq = {e.id: entry(uow, e.id).seq for e in events}

    guard = threading.Lock()
    held: dict[str, str] = {}  # key -> token: claimed and not yet completed
    claimed: list[uuid.UUID] = []
    claimers: list[str] = []
    handled: dict[str, list[int]] = {k: [] for k in keys}
    problems: list[str] = []
    start_together = threading.Barrier(2)
    deadline = time.monotonic() + 60
    now, lease = T0 + timedelta(days=1), T0 + timedelta(days=2)

    def worker(token: str) -> None:
        start_together.wait()
        while time.monotonic() < deadline:
            with guard:
                if len(claimed) == len(events) and not held:
                    return
            batch = claim(uow, token, limit=12, now=now, lease=lease)
            if not batch:
                time.sleep(0.001)
                continue
            with guard:
                for e in batch:
                    key = e.event.ordering_key
                    if key in held:
                        problems.append(f"{token} got {key} while {held[key]} holds it")
                    held[key] = token
                    claimed.append(e.event.id)
                    claimers.append(token)
            time.sleep(0.002)  # work
            # Released before the completion commits: the other worker can claim the key's
            # next event only after that commit, so it never finds the key held by mistake.
            with guard:
                for e in batch:
                    del held[e.event.ordering_key]
                    handled[e.event.ordering_key].append(e.seq)

            def complete(tx: Transaction, batch: list[OutboxEntry] = batch) -> None:
                for e in batch:
                    assert tx.outbox.complete(e.event.id, token, now)

            run(uow, complete)

    def guarded(token: str) -> None:
        try:
            worker(token)
        except Exception as exc:  # reported below: a dead worker must fail the test
            with guard:
                problems.append(f"{token} raised {exc!r}")

    threads = [threading.Thread(target=guarded, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert problems == []
    assert len(claimed) == len(set(claimed)) == len(events)
    if backend_url.startswith("postgresql"):  # SQLite's and memory's writers take turns
        assert set(claimers) == {"w0", "w1"}, "the workers did not run side by side"
    for key in keys:
        assert handled[key] == sorted(seq[e.id] for e in events if e.ordering_key == key)
    with uow.begin(read_only=True) as tx:
        assert tx.outbox.stats() == OutboxStats(pending=0, failed=0, oldest_pending_at=None)


# ---------------------------------------------------------------- migration 0004


@pytest.mark.postgres
def test_postgres_migration_0004_makes_and_drops_the_outbox_sequence(postgres_db_url: str) -> None:
    from adapters.sql import migrate

    def sequence_exists() -> bool:
        engine = create_engine(postgres_db_url)
        try:
            with engine.connect() as connection:
                found = connection.exec_driver_sql("SELECT to_regclass('outbox_seq')").scalar()
            return found is not None
        finally:
            engine.dispose()

    assert sequence_exists()
    migrate.downgrade(postgres_db_url, "0003_auth_tokens")
    assert not sequence_exists()
    migrate.upgrade(postgres_db_url)
    assert sequence_exists()
    assert migrate.check(postgres_db_url) == []
