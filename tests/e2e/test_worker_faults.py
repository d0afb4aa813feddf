"""Event workers killed while PostgreSQL flaps: nothing lost, nothing out of order per ticket.

Requirement (issue 7): "The worker killed while PostgreSQL flaps: nothing lost, nothing
delivered out of order per ticket."

On a PostgreSQL cluster this test owns (``tests/e2e/pgcluster.py``: the shared server is never
touched), migrated with ``helpdesk db upgrade``, a customer writes a backlog of messages on
thirty tickets, then two ``helpdesk worker`` processes deliver them to a webhook endpoint in
this process (``eventkit.Receiver``) while a writer thread keeps adding messages. Meanwhile the
test runs fault cycles: PostgreSQL is stopped (``fast`` or ``immediate``) or frozen
(SIGSTOP ... SIGCONT) for one to three seconds, and at a moment of the cycle (before, during or
just after the outage) one worker is SIGKILLed and a replacement started. The schedule comes
from a seeded ``random.Random`` (``SEED``; ``HELPDESK_FAULT_SEED`` picks another one), so a
failing run can be replayed.

After each outage a probe message is written (so there is work) and the workers must finish
something more within ``RECOVERY_LIMIT`` seconds of PostgreSQL's return, and every worker that
saw the database go must log that it is reachable again within the same limit. (A probe is
not awaited itself: deliveries go oldest first, so it queues behind the backlog.)

At the end (PostgreSQL up, workers running) the outbox must drain, and then:

* every message that committed is exactly one outbox event, handled (``done``) and delivered,
  and the endpoint received every event of the outbox and nothing else (nothing lost);
* nothing was given up (no ``failed`` event or delivery);
* per ticket, the first arrival of each event follows the outbox order (``seq``) and the
  order in which the customer wrote; repeats (at least once: a worker killed after sending)
  carry the very same body;
* no worker exited on its own, the survivors stop cleanly on SIGTERM, and no worker log holds a
  traceback or an error line: losing the database is a warning, and the loop backs off.

The database is set to ``synchronous_commit = on``: the cluster runs with it off for speed,
and an immediate stop would then lose the last commits (PostgreSQL's documented trade-off),
which would be a loss made by the test, not by the worker.

A second, deterministic test stops PostgreSQL while one worker holds a claimed batch (of
events, then of deliveries) under production-like leases: the worker must hand the batch back
once the database returns, not leave those tickets stalled until the leases end.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.usecases.tickets import OpenTicket, PostMessage
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
)
from tests.e2e.pgcluster import PostgresCluster, running_cluster
from tests.e2e.servers import helpdesk_executable, server_env
from tests.support.services import postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.serial]

SEED = int(os.environ.get("HELPDESK_FAULT_SEED", "7207"))
TICKETS = 30
BACKLOG_PER_TICKET = 8  # messages per ticket written before the workers start
LIVE_WRITES = 300  # at most this many more while the faults happen
WRITE_PAUSE = 0.03  # seconds between two of the writer's messages
FAULTS = ("fast", "immediate", "freeze")
KILL_MOMENTS = ("before", "during", "after")
RECOVERY_LIMIT = 10.0  # seconds from PostgreSQL's return to a new event delivered
DRAIN_LIMIT = 60.0  # seconds for the workers to finish everything at the end
# Short leases: a killed worker's events (3 s) and deliveries (max(3, 10 x 0.5 x 2) = 10 s)
# are taken up again well within the drain limit.
WORKER_ENV = {"HELPDESK_WORKER_LEASE": "3", "HELPDESK_WEBHOOK_TIMEOUT": "0.5"}
OUTAGE_SEEN = re.compile(r"WARNING .*the database is unavailable")
RECOVERED = "reachable again"
BODY = re.compile(r"^fault-(\d+)$")


# ---------------------------------------------------------------- the schedule


@attrs.frozen
class Cycle:
    """One fault: work for ``work`` s, then ``fault`` for ``outage`` s; a kill at ``kill``."""

    fault: str
    outage: float
    work: float
    kill: str
    victim: int  # index into the workers running when the kill comes


def schedule(rng: random.Random) -> list[Cycle]:
    """Four cycles: every fault kind and every kill moment at least once, in a seeded order."""
    faults = [*FAULTS, rng.choice(FAULTS)]
    moments = [*KILL_MOMENTS, rng.choice(KILL_MOMENTS)]
    rng.shuffle(faults)
    rng.shuffle(moments)
    return [
        Cycle(
            fault=fault,
            outage=round(rng.uniform(1.0, 3.0), 2),
            work=round(rng.uniform(0.5, 2.0), 2),
            kill=kill,
            victim=rng.randrange(2),
        )
        for fault, kill in zip(faults, moments, strict=True)
    ]


# ---------------------------------------------------------------- the customer writing


@attrs.frozen
class Written:
    ticket: uuid.UUID
    body: str


class Writer:
    """Posts the customer's messages, numbered in writing order, and sorts the outcomes:
    ``committed``, ``uncertain`` (the database went away during the call, so the commit may or
    may not have happened) and ``unexpected`` (any other error: a bug)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._number = 0
        self.committed: list[Written] = []
        self.uncertain: list[Written] = []
        self.unexpected: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def post(self, ticket: uuid.UUID) -> Written | None:
        """One message on ``ticket``; what was written if it committed, else None."""
        with self._lock:
            self._number += 1
            written = Written(ticket, f"fault-{self._number:05d}")
        try:
            self._world.services.tickets.post_message(
                self._world.customer, ticket, PostMessage(written.body)
            )
        except DependencyUnavailable:
            with self._lock:
                self.uncertain.append(written)
            return None
        except Exception as exc:  # recorded, and the test fails on it at the end
            with self._lock:
                self.unexpected.append(f"{written.body}: {type(exc).__name__}: {exc}")
            return None
        with self._lock:
            self.committed.append(written)
        return written

    def start(self, tickets: list[uuid.UUID], limit: int) -> None:
        def run() -> None:
            for n in range(limit):
                if self._stop.is_set():
                    return
                if self.post(tickets[n % len(tickets)]) is None:
                    self._stop.wait(0.2)  # the database is away: do not spin
                else:
                    self._stop.wait(WRITE_PAUSE)

        self._thread = threading.Thread(target=run, name="fault-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # A call in flight is bounded by the connect and statement timeouts.
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "the writer thread did not stop"


# ---------------------------------------------------------------- the workers and the faults


class Crew:
    """The running workers: started, killed and replaced by the test, and watched: any
    worker the test did not kill must stay alive."""

    def __init__(self, workers: Workers, env: dict[str, str]) -> None:
        self._workers = workers
        self._env = env
        self.running: list[WorkerProcess] = []
        self.killed: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        worker = self._workers.start(self._env, f"w{len(self._workers.started) + 1}")
        self.running.append(worker)
        return worker

    def kill_and_replace(self, index: int) -> tuple[WorkerProcess, WorkerProcess]:
        victim = self.running.pop(index % len(self.running))
        victim.signal(signal.SIGKILL)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        self.killed.append(victim)
        return victim, self.start()

    def check(self) -> None:
        for worker in self.running:
            if not worker.alive():
                pytest.fail(
                    f"worker {worker.name} exited on its own with {worker.process.returncode}:"
                    f"\n{worker.log()}"
                )

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` while making sure every worker keeps running."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check()
            time.sleep(min(0.05, left))


def take_down(cluster: PostgresCluster, fault: str) -> None:
    if fault == "freeze":
        assert cluster.send_signal(signal.SIGSTOP), "no PostgreSQL process to freeze"
    else:
        cluster.stop(fault)
        assert not cluster.is_running()


def bring_back(cluster: PostgresCluster, fault: str) -> None:
    if fault == "freeze":
        cluster.send_signal(signal.SIGCONT)
    else:
        cluster.start()


def outages_seen(worker: WorkerProcess) -> int:
    return sum(1 for line in worker.log().splitlines() if OUTAGE_SEEN.search(line))


def recoveries(worker: WorkerProcess) -> int:
    return worker.log().count(RECOVERED)


def wait_until(
    condition: Callable[[], bool],
    limit: float,
    crew: Crew,
    what: str,
    detail: Callable[[], str] = str,
) -> float:
    """Poll ``condition`` (workers watched meanwhile); the seconds it took."""
    started = time.monotonic()
    while not condition():
        crew.check()
        if time.monotonic() - started > limit:
            pytest.fail(f"waited {limit:.1f}s for {what}\n{detail()}")
        time.sleep(0.05)
    return time.monotonic() - started


def recovered_since(worker: WorkerProcess, count: int) -> Callable[[], bool]:
    return lambda: recoveries(worker) > count


def finished_count(world: World) -> int:
    """Events handled plus deliveries made (or given up): it only ever grows."""
    query = sa.text(
        "SELECT (SELECT count(*) FROM outbox WHERE state <> 'pending')"
        " + (SELECT count(*) FROM webhook_deliveries WHERE state <> 'pending')"
    )
    with world.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def work_resumes(
    world: World, writer: Writer, ticket: uuid.UUID, back_at: float, crew: Crew
) -> float:
    """Write a message (retrying while the database still refuses), so there is work, then
    wait until the workers finish something more; the seconds since PostgreSQL came back."""
    deadline = back_at + RECOVERY_LIMIT
    while writer.post(ticket) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"the database took no writes within {RECOVERY_LIMIT}s of its return")
        time.sleep(0.1)
    baseline = finished_count(world)
    wait_until(
        lambda: finished_count(world) > baseline,
        max(0.0, deadline - time.monotonic()),
        crew,
        "the workers to finish anything after PostgreSQL came back",
    )
    return time.monotonic() - back_at


# ---------------------------------------------------------------- reading the outcome


def outbox_rows(world: World) -> list[sa.Row[Any]]:
    query = sa.text(
        "SELECT id, seq, ordering_key, type, state, attempts, last_error, payload"
        " FROM outbox ORDER BY seq"
    )
    with world.engine.connect() as connection:
        return list(connection.execute(query))


def failed_anywhere(world: World) -> list[str]:
    query = sa.text(
        "SELECT 'event ' || seq || ' ' || type || ': ' || coalesce(last_error, '')"
        " FROM outbox WHERE state = 'failed'"
        " UNION ALL SELECT 'delivery of event ' || event_seq || ' ' || event_type"
        " FROM webhook_deliveries WHERE state = 'failed'"
    )
    with world.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def migrate(url: str, tmp_path: Path) -> None:
    env = server_env(tmp_path, HELPDESK_DATABASE_URL=url)
    done = subprocess.run(
        [helpdesk_executable(), "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"helpdesk db upgrade failed:\n{done.stdout}{done.stderr}"


def commit_durably(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("ALTER DATABASE postgres SET synchronous_commit = on"))
            connection.commit()
    finally:
        engine.dispose()


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    postgres_url()  # like every PostgreSQL suite: skips (fails in CI) without the variable
    with running_cluster() as owned:
        commit_durably(owned.url)
        yield owned


@pytest.fixture
def world(cluster: PostgresCluster, tmp_path: Path) -> Iterator[World]:
    migrate(cluster.url, tmp_path)
    with open_world(cluster.url, tmp_path) as made:
        yield made


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    with running_workers(tmp_path / "workers") as started:
        yield started


# ---------------------------------------------------------------- the test


def test_workers_killed_while_postgres_flaps_lose_nothing_and_keep_ticket_order(
    cluster: PostgresCluster, world: World, workers: Workers
) -> None:
    rng = random.Random(SEED)
    plan = schedule(rng)
    print(f"seed {SEED}: {plan}")
    assert {cycle.fault for cycle in plan} == set(FAULTS)
    assert {cycle.kill for cycle in plan} == set(KILL_MOMENTS)

    customer, department = world.customer, world.department
    tickets = [
        world.services.tickets.open_ticket(
            customer, OpenTicket(f"Ticket {n}", "Opening", department_id=department)
        ).ticket.id
        for n in range(TICKETS + 1)
    ]
    probe_ticket, tickets = tickets[0], tickets[1:]
    writer = Writer(world)
    for _round in range(BACKLOG_PER_TICKET):
        for ticket in tickets:
            assert writer.post(ticket) is not None, writer.unexpected
    world.receiver.delay = 0.005  # an endpoint that takes a moment, so workers are mid-batch

    crew = Crew(workers, world.worker_env(**WORKER_ENV))
    crew.start()
    crew.start()
    writer.start(tickets, LIVE_WRITES)
    took: list[str] = []
    try:
        for number, cycle in enumerate(plan, 1):
            crew.pause(cycle.work)
            if cycle.kill == "before":
                crew.kill_and_replace(cycle.victim)
            crew.pause(rng.uniform(0.0, 0.5))
            before = {w.name: (outages_seen(w), recoveries(w)) for w in crew.running}
            take_down(cluster, cycle.fault)
            if cycle.kill == "during":
                crew.pause(cycle.outage / 2)
                crew.kill_and_replace(cycle.victim)
                crew.pause(cycle.outage / 2)
            else:
                crew.pause(cycle.outage)
            bring_back(cluster, cycle.fault)
            back_at = time.monotonic()
            if cycle.kill == "after":
                crew.kill_and_replace(cycle.victim)

            seconds = work_resumes(world, writer, probe_ticket, back_at, crew)
            # Every worker that saw the database go says it is back, in time.
            for worker in list(crew.running):
                seen, recovered = before.get(worker.name, (0, 0))
                if outages_seen(worker) > seen:
                    wait_until(
                        recovered_since(worker, recovered),
                        max(0.0, back_at + RECOVERY_LIMIT - time.monotonic()),
                        crew,
                        f"{worker.name} to log that the database is reachable again",
                        worker.log,
                    )
            took.append(f"cycle {number} ({cycle.fault}, kill {cycle.kill}): {seconds:.1f}s")
    finally:
        writer.stop()
    print("recovery: " + "; ".join(took))

    # ------------------------------------------------ drain, with PostgreSQL up
    assert cluster.is_running()

    def drained() -> bool:
        failed = failed_anywhere(world)
        assert not failed, f"given up: {failed}"
        progress = world.progress()
        return progress.finished() and world.event_ids() <= world.receiver.ids()

    drain = wait_until(
        drained,
        DRAIN_LIMIT,
        crew,
        "the outbox to drain",
        lambda: f"{world.progress()}\n" + "\n".join(world.undelivered()),
    )
    print(f"drained in {drain:.1f}s")
    for worker in crew.running:
        worker.signal(signal.SIGTERM)
    for worker in crew.running:
        assert worker.wait(timeout=15) == 0, worker.log()

    # ------------------------------------------------ nothing lost
    assert not writer.unexpected, f"writes failed other than by the outage: {writer.unexpected}"
    outbox = outbox_rows(world)
    assert all(row.state == "done" for row in outbox)
    bodies: dict[str, list[sa.Row[Any]]] = defaultdict(list)
    for row in outbox:
        if row.type == "ticket.message_added":
            bodies[json.loads(row.payload)["message"]["body"]].append(row)
    for written in writer.committed:
        found = bodies.get(written.body, [])
        assert len(found) == 1, f"{written.body} committed, in the outbox {len(found)} times"
        assert found[0].ordering_key == f"ticket:{written.ticket}"
    uncertain_committed = 0
    for written in writer.uncertain:
        found = bodies.get(written.body, [])
        assert len(found) <= 1, f"{written.body} is in the outbox {len(found)} times"
        uncertain_committed += len(found)
    known = {w.body for w in writer.committed} | {w.body for w in writer.uncertain}
    assert set(bodies) <= known, "the outbox holds messages nobody wrote"
    assert len(writer.committed) >= TICKETS * BACKLOG_PER_TICKET + len(plan)

    items = world.receiver.items()
    counts = assert_duplicates_identical(items)
    assert set(counts) == {str(row.id) for row in outbox}, "every event arrived, nothing else"
    deliveries = world.deliveries()
    assert len(deliveries) == len(outbox)
    assert all(row.state == "delivered" for row in deliveries)
    for item in items[:: max(1, len(items) // 50)]:
        assert_verifies(world.secret, item)

    # ------------------------------------------------ in order per ticket
    seq = {str(row.id): row.seq for row in outbox}
    key = {str(row.id): row.ordering_key for row in outbox}
    envelopes = {item.webhook_id: item.envelope for item in items}
    first: dict[str, list[str]] = defaultdict(list)
    arrived: set[str] = set()
    for item in sorted(items, key=lambda i: i.index):
        if item.webhook_id not in arrived:
            arrived.add(item.webhook_id)
            first[key[item.webhook_id]].append(item.webhook_id)
    ticket_keys = [k for k in first if k.startswith("ticket:")]
    assert len(ticket_keys) == TICKETS + 1
    for ordering_key in ticket_keys:
        ids = first[ordering_key]
        assert ids == sorted(ids, key=seq.__getitem__), f"{ordering_key} arrived out of order"
        numbers = [
            int(match.group(1))
            for event_id in ids
            if (data := envelopes[event_id]["data"]).get("message")
            and (match := BODY.match(data["message"]["body"]))
        ]
        assert len(numbers) >= len(plan), f"{ordering_key}: its messages did not arrive"
        assert numbers == sorted(numbers), f"{ordering_key}: not in the order written"

    # ------------------------------------------------ the workers held up
    repeats = sum(n - 1 for n in counts.values())
    print(
        f"{len(outbox)} events, {len(items)} requests ({repeats} repeats), "
        f"{len(writer.committed)} messages committed, {len(writer.uncertain)} uncertain "
        f"({uncertain_committed} of them committed), "
        f"workers killed: {[w.name for w in crew.killed]}"
    )
    assert len(crew.killed) == len(plan)
    for worker in crew.running + crew.killed:
        log = worker.log()
        assert "Traceback" not in log, f"{worker.name} logged a traceback:\n{log}"
        errors = [line for line in log.splitlines() if " ERROR " in line or "CRITICAL" in line]
        assert not errors, f"{worker.name} logged errors: {errors}"


# ---------------------------------------------------------------- handing leases back

# Production-like leases: events 60 s, deliveries max(60, 10 x 5 x 2) = 100 s. A worker that
# waited for them after an outage would stall the keys it held for a minute or more.
LONG_LEASE = {"HELPDESK_WORKER_LEASE": "60", "HELPDESK_WEBHOOK_TIMEOUT": "5"}
HANDBACK_LIMIT = 15.0
HANDED_BACK = re.compile(r"handed back (\d+) events and (\d+) deliveries")


def handed_back(worker: WorkerProcess) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in HANDED_BACK.findall(worker.log())]


def test_a_worker_cut_off_mid_batch_hands_its_leases_back_when_postgres_returns(
    cluster: PostgresCluster, world: World, workers: Workers
) -> None:
    """Deterministic: PostgreSQL stops while the worker holds a claimed batch (of events,
    then of deliveries); once it is back, the worker hands the batch back and finishes it
    well within the lease, instead of leaving those tickets stalled until the lease ends."""
    env = world.worker_env(**LONG_LEASE)

    # 1. Events: the batch is claimed and the fan-out of its first event waits on a lock.
    world.make_events(tickets=10, per_ticket=1, threads=1)
    events = world.event_ids()
    lock = world.engine.connect()
    lock.execute(sa.text("LOCK TABLE webhooks IN ACCESS EXCLUSIVE MODE"))
    first = workers.start(env, "cut-off")
    wait_for(
        lambda: (
            sum(1 for row in world.outbox() if row.locked_by) == len(events)
            and waiting_on_webhooks(world) > 0
        ),
        30,
        "the worker to claim every event and wait in the fan-out",
    )
    cluster.stop("fast")
    with contextlib.suppress(sa.exc.DBAPIError):
        lock.close()  # its server is gone
    wait_for(lambda: outages_seen(first) > 0, 10, "the worker to notice the database is gone")
    cluster.start()
    took = world.wait_until_delivered([first], limit=HANDBACK_LIMIT)
    assert handed_back(first) == [(len(events), 0)], first.log()
    assert first.alive()
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0, first.log()

    # 2. Deliveries: PostgreSQL stops while the third of a batch of ten is in flight.
    world.make_events(tickets=10, per_ticket=1, threads=1)
    sent_before = len(world.receiver.items())
    world.receiver.hold_at = sent_before + 3
    world.receiver.on_hold = lambda: cluster.stop("fast")
    second = workers.start(env, "cut-off-2")
    if not world.receiver.held.wait(30):
        pytest.fail(f"the third delivery never arrived: {world.progress()}")
    world.receiver.release.set()  # answered 200, but the worker cannot record it
    wait_for(lambda: outages_seen(second) > 0, 10, "the worker to notice the database is gone")
    cluster.start()
    took += world.wait_until_delivered([second], limit=HANDBACK_LIMIT)
    assert handed_back(second) == [(0, 8)], second.log()
    counts = assert_duplicates_identical(world.receiver.items())
    held = world.receiver.items()[sent_before + 2]
    assert counts[held.webhook_id] == 2, "the delivery in flight was sent again, once"
    assert set(counts) == world.event_ids()
    second.signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0, second.log()
    for worker in (first, second):
        assert "Traceback" not in worker.log(), worker.log()
    print(f"both batches finished {took:.1f}s after PostgreSQL came back")
