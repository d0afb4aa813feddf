"""Retention in the contract of the outbox and delivery repositories (memory, SQLite,
PostgreSQL): finished rows older than the cut-off go, a bounded batch at a time, oldest first;
nothing pending goes, nor an event a remaining delivery refers to, nor a retried delivery's
attempts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from adapters.memory.uow import MemoryUnitOfWork
from adapters.sql.engine import EngineOptions, create_engine
from adapters.sql.uow import SqlUnitOfWork
from helpdesk_core.domain.events import Event
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    OutboxEntry,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_events_contract import (
    LEASE,
    NOW,
    add_webhooks,
    claim_deliveries,
    delivery,
    enqueue,
    entry,
    make_attempt,
    make_delivery,
    make_event,
    make_webhook,
    record,
    run,
)

OLD = NOW + timedelta(minutes=2)  # finished before the cut-off
CUT = NOW + timedelta(minutes=10)
RECENT = NOW + timedelta(minutes=20)  # finished after it


@pytest.fixture
def uow(backend_url: str) -> Iterator[UnitOfWork]:
    if backend_url == "memory://":
        yield MemoryUnitOfWork()
        return
    engine = create_engine(backend_url, EngineOptions(pool_size=4, max_overflow=4))
    try:
        yield SqlUnitOfWork(engine)
    finally:
        engine.dispose()


def recorded(uow: UnitOfWork, count: int = 1) -> list[OutboxEntry]:
    """``count`` events of keys of their own (so none waits for another)."""
    return record(uow, *(make_event(key=f"ticket:{uuid.uuid4()}") for _ in range(count)))


def finish_events(uow: UnitOfWork, events: list[Event], at: datetime, failed: bool = False) -> None:
    token = f"w-{uuid.uuid4().hex[:8]}"
    wanted = {e.id for e in events}

    def work(tx: object) -> None:
        claimed = tx.outbox.claim(token, 1000, NOW, LEASE)  # type: ignore[attr-defined]
        for item in claimed:
            if item.event.id not in wanted:
                tx.outbox.retry(item.event.id, token, "not now", NOW)  # type: ignore[attr-defined]
            elif failed:
                tx.outbox.fail(item.event.id, token, "gave up", at)  # type: ignore[attr-defined]
            else:
                tx.outbox.complete(item.event.id, token, at)  # type: ignore[attr-defined]

    run(uow, work)


def attempt_deliveries(
    uow: UnitOfWork, deliveries: list[WebhookDelivery], state: DeliveryState, at: datetime
) -> None:
    """One attempt of each delivery, ending at ``at`` in ``state`` (pending: retried later)."""
    token = f"d-{uuid.uuid4().hex[:8]}"
    now = RECENT + timedelta(hours=1)  # every retry is due by then
    claimed = {
        c.delivery.id: c.delivery
        for c in claim_deliveries(uow, token, 1000, now, now + timedelta(hours=1))
    }

    def work(tx: object) -> None:
        for d in deliveries:
            number = claimed[d.id].attempts + 1
            outcome = (
                AttemptOutcome.SUCCESS
                if state is DeliveryState.DELIVERED
                else AttemptOutcome.TIMEOUT
            )
            attempt = make_attempt(d, number, outcome=outcome, created_at=at)
            retry_at = at + timedelta(minutes=1) if state is DeliveryState.PENDING else None
            assert tx.deliveries.finish(d.id, token, attempt, state, retry_at)  # type: ignore[attr-defined]
        for other in set(claimed) - {d.id for d in deliveries}:
            tx.deliveries.release(other, token)  # type: ignore[attr-defined]

    run(uow, work)


def exists(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    with uow.begin(read_only=True) as tx:
        return tx.outbox.get(event_id) is not None


def test_only_finished_rows_older_than_the_cut_off_go(uow: UnitOfWork) -> None:
    hook: Webhook = make_webhook()
    add_webhooks(uow, hook)
    done_old, failed_old, done_recent, pending, retried, sent_old, sent_recent = (
        e.event for e in recorded(uow, 7)
    )
    # Deliveries: one retried (pending, an attempt made), one sent long ago, one sent lately.
    d_retried, d_old, d_recent = (
        make_delivery(hook, entry(uow, e.id)) for e in (retried, sent_old, sent_recent)
    )
    enqueue(uow, d_retried, d_old, d_recent)
    attempt_deliveries(uow, [d_old], DeliveryState.PENDING, OLD - timedelta(minutes=1))
    attempt_deliveries(uow, [d_retried], DeliveryState.PENDING, OLD)
    attempt_deliveries(uow, [d_old], DeliveryState.DELIVERED, OLD)
    attempt_deliveries(uow, [d_recent], DeliveryState.DELIVERED, RECENT)
    finish_events(uow, [done_old, retried, sent_old, sent_recent], OLD)
    finish_events(uow, [failed_old], OLD, failed=True)
    finish_events(uow, [done_recent], RECENT)

    assert run(uow, lambda tx: tx.deliveries.purge_finished(CUT, 100)) == (1, 2)
    assert delivery(uow, d_old.id) is None
    kept = delivery(uow, d_retried.id)
    assert kept is not None
    assert kept.state is DeliveryState.PENDING
    assert len(kept.attempt_log) == 1  # a retried delivery keeps its attempts
    assert delivery(uow, d_recent.id) is not None

    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 100)) == 3
    gone = {done_old.id, failed_old.id, sent_old.id}
    for event in (done_old, failed_old, done_recent, pending, retried, sent_old, sent_recent):
        assert exists(uow, event.id) is (event.id not in gone), event
    # Nothing more to do: a second pass deletes nothing.
    assert run(uow, lambda tx: tx.deliveries.purge_finished(CUT, 100)) == (0, 0)
    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 100)) == 0
    # The retried delivery is still claimable, with its event.
    (again,) = claim_deliveries(uow, "w9", now=OLD + timedelta(minutes=5))
    assert again.delivery.id == d_retried.id
    assert again.event.id == retried.id


def test_a_pass_deletes_at_most_its_limit_oldest_first(uow: UnitOfWork) -> None:
    hook = make_webhook()
    add_webhooks(uow, hook)
    events = [e.event for e in recorded(uow, 5)]
    deliveries = [make_delivery(hook, entry(uow, e.id)) for e in events]
    enqueue(uow, *deliveries)
    for minutes, d in enumerate(deliveries):
        attempt_deliveries(uow, [d], DeliveryState.FAILED, OLD + timedelta(seconds=minutes))
    finish_events(uow, events, OLD)

    assert run(uow, lambda tx: tx.deliveries.purge_finished(CUT, 0)) == (0, 0)
    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 0)) == 0
    assert run(uow, lambda tx: tx.deliveries.purge_finished(CUT, 2)) == (2, 2)
    assert [delivery(uow, d.id) is None for d in deliveries] == [True, True, False, False, False]
    # Events whose deliveries remain stay; of the others, the oldest go first.
    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 1)) == 1
    assert [exists(uow, e.id) for e in events] == [False, True, True, True, True]
    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 10)) == 1
    assert run(uow, lambda tx: tx.deliveries.purge_finished(CUT, 10)) == (3, 3)
    assert run(uow, lambda tx: tx.outbox.purge_finished(CUT, 10)) == 3
    assert not any(exists(uow, e.id) for e in events)
