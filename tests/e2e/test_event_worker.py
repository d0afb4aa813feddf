"""Real ``helpdesk worker`` processes deliver every event to a real HTTP endpoint.

Requirements (issue 5):

* "A delivery received by a test HTTP server verifies with the ``standardwebhooks`` package's
  verifier."
* "A test kills the worker (SIGKILL) mid-batch, starts it again, and every event is delivered;
  none is lost; duplicates carry the same ``webhook-id`` so receivers can drop them."
* "Two workers on PostgreSQL over 1,000 events: each event handled once (barring a kill), in
  order per ticket."
* Graceful stop: SIGTERM makes a busy worker exit 0 promptly and hand back what it had
  claimed but not started, so another worker finishes everything without waiting for a lease.

Each test gets a fresh PostgreSQL database migrated to head. Events are recorded in this
process through the library (``bootstrap(settings)``: a customer opens tickets and writes
messages; the webhook is created with ``services.webhooks.create``), then delivered by
``helpdesk worker`` subprocesses to a ``ThreadingHTTPServer`` in this process that records the
headers and body of every POST before answering. What the database says (``outbox``,
``webhook_deliveries``) is read with SQLAlchemy. These pieces live in ``tests/e2e/eventkit.py``,
shared with ``test_worker_faults.py``.

Determinism: the SIGKILL and SIGTERM tests do not rely on timing to catch a worker "mid
batch". The receiver can *hold* its n-th request (the worker is then blocked inside a delivery
attempt), and the event test holds an ACCESS EXCLUSIVE lock on ``webhooks`` (the worker is
then blocked inside the fan-out of the first event of its batch, with the rest claimed).
"""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from helpdesk_core.domain.events import PAYLOAD_VERSION
from tests.e2e.eventkit import (
    WorkerProcess,
    Workers,
    World,
    assert_duplicates_identical,
    assert_verifies,
    open_world,
    running_workers,
    wait_for,
    waiting_on_webhooks,
    webhooks_locked,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.serial]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    with running_workers(tmp_path / "workers") as started:
        yield started


@pytest.fixture
def world(postgres_db_url: str, tmp_path: Path) -> Iterator[World]:
    with open_world(postgres_db_url, tmp_path) as made:
        yield made


# ---------------------------------------------------------------- the tests


def test_a_delivery_verifies_with_the_standardwebhooks_package(
    world: World, workers: Workers
) -> None:
    world.make_events(tickets=2, per_ticket=3, threads=1)
    worker = workers.start(world.worker_env(), "verify", "--until-idle")
    assert worker.wait(timeout=60) == 0, worker.log()
    world.wait_until_delivered([], limit=10)

    items = world.receiver.items()
    expected = world.event_ids()
    assert {item.webhook_id for item in items} == expected
    by_id = {str(row.id): row for row in world.outbox()}
    for item in items:
        envelope = assert_verifies(world.secret, item)
        assert envelope["type"] == by_id[item.webhook_id].type
        assert item.headers["content-type"] == "application/json"
        assert abs(int(item.headers["webhook-timestamp"]) - time.time()) < 120

    # The verifier really checks: another secret, or one changed byte, is refused.
    sample = items[-1]
    with pytest.raises(WebhookVerificationError):
        StandardWebhook("whsec_" + "QUFB" * 11).verify(sample.body, sample.headers)
    version = f'"version":{PAYLOAD_VERSION}'.encode()
    tampered = sample.body.replace(version, f'"version":{PAYLOAD_VERSION + 1}'.encode())
    assert tampered != sample.body
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(world.secret).verify(tampered, sample.headers)


def test_a_worker_killed_mid_batch_loses_nothing(world: World, workers: Workers) -> None:
    world.make_events(tickets=30, per_ticket=10)  # 300 ticket events (+ the set-up's)
    total = len(world.event_ids())
    assert total >= 300
    # A delivery attempt's lease is max(worker lease, 20 x webhook timeout): 6 s here.
    env = world.worker_env(HELPDESK_WEBHOOK_TIMEOUT="0.3")
    world.receiver.delay = 0.02
    # The worker is killed while its 100th request is in flight: the endpoint got it, the
    # worker never learns so. SIGKILL is sent from the endpoint's handler, at once.
    world.receiver.hold_at = 100
    started: list[WorkerProcess] = []
    world.receiver.on_hold = lambda: started[0].signal(signal.SIGKILL)

    first = workers.start(env, "doomed")
    started.append(first)
    if not world.receiver.held.wait(60):
        pytest.fail(f"the first worker never sent 100 deliveries: {world.progress()}")
    assert first.wait(timeout=10) == -signal.SIGKILL
    world.receiver.release.set()
    held = world.receiver.items()[99]

    before = world.receiver.items()
    assert 0 < len(before) < total, "killed after some, not all, deliveries"
    leased = [
        row
        for row in world.deliveries()
        if row.state == "pending" and (row.locked_by or "").startswith("doomed:")
    ]
    assert str(held.webhook_id) in {str(row.event_id) for row in leased}, (
        "the delivery in flight is still leased to the dead worker: it was mid-batch"
    )

    second = workers.start(env, "survivor")
    world.wait_until_delivered([second])

    items = world.receiver.items()
    counts = assert_duplicates_identical(items)
    assert set(counts) == world.event_ids(), "every event arrived, and nothing else"
    assert counts[held.webhook_id] >= 2, "the delivery cut off by the kill was sent again"
    for item in items:
        assert_verifies(world.secret, item)
    assert all(row.state == "done" for row in world.outbox())
    deliveries = world.deliveries()
    assert len(deliveries) == total
    assert all(row.state == "delivered" for row in deliveries)

    second.signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0


def test_two_workers_handle_a_thousand_events_once_each_in_order_per_ticket(
    world: World, workers: Workers
) -> None:
    world.make_events(tickets=40, per_ticket=25)  # 1,000 ticket events, interleaved
    outbox = world.outbox()
    ticket_events = [row for row in outbox if row.ordering_key.startswith("ticket:")]
    assert len(ticket_events) == 1000
    # Nobody dies here: the lease only has to outlast a batch on a busy machine.
    env = world.worker_env(HELPDESK_WORKER_LEASE="10", HELPDESK_WEBHOOK_TIMEOUT="5")

    one = workers.start(env, "one")
    two = workers.start(env, "two")
    holders: set[str] = set()
    world.wait_until_delivered([one, two], on_poll=lambda: holders.update(world.lease_holders()))
    for worker in (one, two):
        worker.signal(signal.SIGTERM)
    for worker in (one, two):
        assert worker.wait(timeout=15) == 0, worker.log()

    items = world.receiver.items()
    counts = assert_duplicates_identical(items)
    assert set(counts) == {str(row.id) for row in outbox}
    repeated = {key: n for key, n in counts.items() if n != 1}
    assert not repeated, f"events delivered more than once: {repeated}"

    # Per ticket, the endpoint saw the events in recording (seq) order.
    seq = {str(row.id): row.seq for row in outbox}
    key = {str(row.id): row.ordering_key for row in outbox}
    arrived: dict[str, list[str]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.index):
        data = item.envelope["data"]
        if "ticket" in data:
            ticket_id = data["ticket"]["id"]
            assert key[item.webhook_id] == f"ticket:{ticket_id}"
            arrived[ticket_id].append(item.webhook_id)
    assert len(arrived) == 40
    for ticket_id, ids in arrived.items():
        assert len(ids) == 25
        assert ids == sorted(ids, key=seq.__getitem__), f"ticket {ticket_id} out of order"

    # Each event was claimed once and each delivery attempted once.
    assert {row.attempts for row in world.outbox()} == {1}
    deliveries = world.deliveries()
    assert {(row.state, row.attempts) for row in deliveries} == {("delivered", 1)}
    with world.engine.connect() as connection:
        attempts = connection.execute(sa.text("SELECT count(*) FROM webhook_attempts")).scalar()
    assert attempts == len(outbox)

    # Both did part of the work: each was seen holding leases, and each says so.
    assert {"one", "two"} <= holders, f"lease holders seen: {holders}"
    assert one.handled() > 0
    assert two.handled() > 0


# A long lease: a new worker that finishes well within it did not wait for one to end.
LONG_LEASE = {"HELPDESK_WORKER_LEASE": "60", "HELPDESK_WEBHOOK_TIMEOUT": "5"}
WITHIN = 20.0  # seconds the next worker may take: a third of the lease


def test_sigterm_while_handling_events_hands_the_unstarted_ones_back(
    world: World, workers: Workers
) -> None:
    world.make_events(tickets=30, per_ticket=1, threads=1)
    events = world.event_ids()
    env = world.worker_env(**LONG_LEASE)

    with webhooks_locked(world):
        busy = workers.start(env, "busy")
        # Claimed its whole batch, and stuck in the fan-out of the first event.
        wait_for(
            lambda: (
                sum(1 for row in world.outbox() if row.locked_by) == len(events)
                and waiting_on_webhooks(world) > 0
            ),
            30,
            "the worker to claim the batch and block in the fan-out",
        )
        busy.signal(signal.SIGTERM)
        time.sleep(0.3)
        assert busy.alive(), "it finishes the event in hand first"
        stopped_at = time.monotonic()
    assert busy.wait(timeout=10) == 0, busy.log()
    assert time.monotonic() - stopped_at < 5

    outbox = world.outbox()
    done = [row for row in outbox if row.state == "done"]
    assert len(done) == 1, "the event in hand was finished, no other was started"
    still_leased = [row for row in outbox if row.state == "pending" and row.locked_by]
    assert not still_leased, f"{len(still_leased)} unstarted events kept their lease"
    held_deliveries = [row for row in world.deliveries() if row.locked_by]
    assert not held_deliveries, (
        f"the stopping worker left {len(held_deliveries)} deliveries leased "
        f"until {held_deliveries[0].locked_until}"
    )

    successor = workers.start(env, "successor")
    took = world.wait_until_delivered([successor], limit=WITHIN)
    assert world.receiver.ids() == events
    successor.signal(signal.SIGTERM)
    assert successor.wait(timeout=15) == 0
    print(f"successor finished in {took:.1f}s")


def test_sigterm_while_delivering_hands_the_unstarted_deliveries_back(
    world: World, workers: Workers
) -> None:
    world.make_events(tickets=30, per_ticket=1, threads=1)
    events = world.event_ids()
    env = world.worker_env(**LONG_LEASE)
    # SIGTERM arrives while the first delivery of a batch of ten is in flight.
    world.receiver.hold_at = 1
    started: list[WorkerProcess] = []
    world.receiver.on_hold = lambda: started[0].signal(signal.SIGTERM)

    busy = workers.start(env, "busy")
    started.append(busy)
    if not world.receiver.held.wait(30):
        pytest.fail(f"no delivery arrived: {world.progress()}")
    time.sleep(0.3)
    assert busy.alive(), "it finishes the delivery in hand first"
    stopped_at = time.monotonic()
    world.receiver.release.set()
    assert busy.wait(timeout=10) == 0, busy.log()
    assert time.monotonic() - stopped_at < 5
    assert len(world.receiver.items()) == 1, "no delivery was started after SIGTERM"

    held_deliveries = [row for row in world.deliveries() if row.locked_by]
    assert not held_deliveries, (
        f"the stopping worker left {len(held_deliveries)} deliveries leased "
        f"until {held_deliveries[0].locked_until}"
    )
    successor = workers.start(env, "successor")
    world.wait_until_delivered([successor], limit=WITHIN)
    assert world.receiver.ids() == events
    successor.signal(signal.SIGTERM)
    assert successor.wait(timeout=15) == 0
