"""Two hosts, two workers, one PostgreSQL, one Redis, a mixed load: nothing lost, nothing twice.

Requirement (issue 7): "Multi-host simulation: two gunicorn servers and two workers against one
PostgreSQL and one Redis, under a mixed load (70% reads, 25% ticket and message writes, 5%
logins) for a bounded time: zero 5xx, no lost write (a checker compares what clients were told
with what the database holds), no event lost or handled twice, revocation instant across
servers."

The deployment: a fresh PostgreSQL database, the shared test Redis under a key prefix of this
run's own, two ``helpdesk serve`` processes (two gunicorn workers each, embedded worker off: two
hosts behind a load balancer), two ``helpdesk worker`` processes, and a webhook endpoint in
this process subscribed to every event. The first administrator comes from the CLI, the rest
of the organization from the API. Eight clients (``tests/e2e/loadgen.py``) then send requests
to either server at random for ``HELPDESK_TEST_MULTIHOST_SECONDS`` (default 30).

The checker then reads PostgreSQL directly and compares it with the ledger of what the clients
were told: every acknowledged ticket and message exists with the acknowledged content and
nothing else does; no write answered with a 4xx left a trace; each ticket's events carry its
versions 1..n without a gap, its final row is its last event's state, and the staff status
changes in the outbox are exactly the acknowledged ones. Once the workers have drained the
outbox: every event was claimed once and done, every delivery to the endpoint has exactly one
successful attempt, the endpoint received every event (repeats, if any, identical), verified
by the ``standardwebhooks`` package, and in recording order per ordering key.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
import redis
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as StandardWebhook

from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, Role, StaffRole, TicketStatus
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket, PostMessage
from tests.conftest import make_settings
from tests.e2e.eventkit import Receiver
from tests.e2e.loadgen import (
    API,
    LOGINS,
    READS,
    WRITES,
    Account,
    Ledger,
    LoadClient,
    run_load,
    send,
)
from tests.e2e.servers import (
    Server,
    helpdesk_executable,
    server_env,
    start_server,
    wait_until_live,
)
from tests.support.services import redis_url

pytestmark = [pytest.mark.postgres]

LOAD_SECONDS = float(os.environ.get("HELPDESK_TEST_MULTIHOST_SECONDS", "30"))
CLIENTS = 8
DRAIN_LIMIT = 60.0  # seconds the workers may take to finish after the load stops
PASSWORD = "Multihost-test-pw-7315"


# ---------------------------------------------------------------- the deployment


@attrs.define
class Worker:
    """A running ``helpdesk worker``; its output goes to ``log_path``."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_worker(env: dict[str, str], folder: Path, name: str) -> Worker:
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [helpdesk_executable(), "worker", "--name", name],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(name, process, log_path)


@attrs.define
class Deployment:
    """Everything running for the test, and the direct line to the database."""

    env: dict[str, str]
    servers: list[Server]
    workers: list[Worker]
    receiver: Receiver
    engine: sa.Engine

    def print_logs(self) -> None:
        for server in self.servers:
            server.print_log("the test failed")
        for worker in self.workers:
            print(f"\n===== helpdesk worker {worker.name} =====\n{worker.log()}")

    def rows(self, query: str, **params: Any) -> list[sa.Row[Any]]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(query), params))


@pytest.fixture
def deployment(postgres_db_url: str, tmp_path: Path) -> Iterator[Deployment]:
    redis_server = redis_url()
    prefix = f"hdt-multihost-{uuid.uuid4().hex[:10]}:"
    env = server_env(
        tmp_path,
        HELPDESK_DATABASE_URL=postgres_db_url,
        HELPDESK_REDIS_URL=redis_server,
        HELPDESK_REDIS_PREFIX=prefix,
        HELPDESK_EMBEDDED_WORKER="false",
        HELPDESK_WEBHOOK_ALLOWLIST="127.0.0.1",
        HELPDESK_WEBHOOK_TIMEOUT="5",
        HELPDESK_WORKER_POLL_INTERVAL="0.1",
        HELPDESK_RETRY_BASE_SECONDS="0.2",
        HELPDESK_RETRY_MAX_SECONDS="1",
        HELPDESK_DB_POOL_SIZE="4",
        HELPDESK_DB_MAX_OVERFLOW="4",
    )
    receiver = Receiver()  # the webhook endpoint of tests/e2e/eventkit.py
    receiver.start()
    engine = sa.create_engine(postgres_db_url, poolclass=sa.pool.NullPool)
    servers: list[Server] = []
    workers: list[Worker] = []
    try:
        create_first_admin(env, tmp_path)
        servers = [
            start_server(env, tmp_path / name, workers=2, threads=4, name=name)
            for name in ("host-a", "host-b")
        ]
        for server in servers:
            wait_until_live(server)
        workers = [start_worker(env, tmp_path / "workers", f"w{n}") for n in (1, 2)]
        yield Deployment(env, servers, workers, receiver, engine)
    finally:
        for worker in workers:
            worker.stop()
        for server in servers:
            server.stop()
        receiver.stop()
        engine.dispose()
        client = redis.Redis.from_url(redis_server, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def create_first_admin(env: dict[str, str], folder: Path) -> None:
    """The first administrator, as an operator would: ``helpdesk admin create``."""
    done = subprocess.run(
        [
            helpdesk_executable(),
            "admin",
            "create",
            "--email",
            "root@example.com",
            "--display-name",
            "Root",
            "--password-stdin",
        ],
        input=f"{PASSWORD}\n".encode(),
        env=env,
        cwd=folder,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


# ---------------------------------------------------------------- seeding over the API


@attrs.frozen
class Organization:
    departments: list[str]
    webhook_id: str
    secret: str
    clients: list[LoadClient]


def expect(answer: Any, status: int) -> Any:
    assert answer.status == status, answer.text()
    return answer.json


def seed(deployment: Deployment, ledger: Ledger) -> Organization:
    """The webhook first (an endpoint receives what happens after it exists), then two
    departments, an agent and a customer per client, each logged in, two tickets each."""
    a, b = deployment.servers
    root = expect(
        send(a, "POST", f"{API}/auth/login", {"email": "root@example.com", "password": PASSWORD}),
        200,
    )["access_token"]
    for server in deployment.servers:
        ready = expect(send(server, "GET", "/health/ready"), 200)
        assert ready["checks"]["database"]["status"] == "ok", ready
        assert ready["checks"]["redis"]["status"] == "ok", ready
    webhook = expect(
        send(
            b,
            "POST",
            f"{API}/admin/webhooks",
            {"url": deployment.receiver.url, "events": ["*"], "description": "multihost"},
            token=root,
        ),
        201,
    )
    departments = [
        expect(send(a, "POST", f"{API}/admin/departments", {"name": name}, token=root), 201)["id"]
        for name in ("Billing", "Technical support")
    ]
    clients = []
    for index in range(CLIENTS):
        server = deployment.servers[index % 2]
        department = departments[index % 2]
        agent_email = f"agent{index}@example.com"
        agent = expect(
            send(
                server,
                "POST",
                f"{API}/admin/staff",
                {
                    "email": agent_email,
                    "display_name": f"Agent {index}",
                    "password": PASSWORD,
                    "role": "agent",
                    "department_id": department,
                },
                token=root,
            ),
            201,
        )
        customer_email = f"customer{index}@example.com"
        expect(
            send(
                server,
                "POST",
                f"{API}/auth/register",
                {"email": customer_email, "password": PASSWORD, "display_name": f"Cust {index}"},
            ),
            202,  # the same answer for a taken address: the account is read at login
        )
        customer = expect(
            send(
                server,
                "POST",
                f"{API}/auth/login",
                {"email": customer_email, "password": PASSWORD},
            ),
            200,
        )["user"]
        client = LoadClient(
            index,
            deployment.servers,
            Account(customer_email, PASSWORD, customer["id"]),
            Account(agent_email, PASSWORD, agent["id"], department),
            departments,
            ledger,
            seed=7315 + index,
        )
        client.login(client.customer)
        client.login(client.agent)
        for _ in range(10):  # a refused (on purpose) opening does not count
            if len(ledger.own_tickets(client.customer.user_id)) >= 2:
                break
            client.open_ticket()
        clients.append(client)
    assert not ledger.unexpected, ledger.unexpected
    assert not ledger.server_errors, ledger.server_errors
    return Organization(departments, webhook["id"], webhook["secret"], clients)


# ---------------------------------------------------------------- the checker


def check_ledger(ledger: Ledger) -> None:
    """What the clients saw: no 5xx, no surprise, no stale read, enough of every kind."""
    assert not ledger.crashes, "the load generator crashed:\n" + "\n".join(ledger.crashes)
    assert not ledger.transport_errors, ledger.transport_errors
    assert not ledger.server_errors, "5xx answers:\n" + "\n".join(map(str, ledger.server_errors))
    assert not ledger.unexpected, "unexpected answers:\n" + "\n".join(map(str, ledger.unexpected))
    assert not ledger.stale_reads, "stale reads:\n" + "\n".join(map(str, ledger.stale_reads))
    ops = ledger.operations
    total = sum(ops.values())
    share = {
        kind: sum(ops[name] for name in names) / total
        for kind, names in (("reads", READS), ("writes", WRITES), ("logins", LOGINS))
    }
    assert 0.6 < share["reads"] < 0.8, share
    assert 0.17 < share["writes"] < 0.33, share
    assert 0.02 < share["logins"] < 0.09, share
    assert ledger.requests >= 300, ledger.summary()
    assert len(ledger.changes) >= 5, ledger.summary()
    # Each client ends with a revocation check and one refusal of each kind (LoadClient.finish).
    assert ledger.revocations >= CLIENTS, ledger.summary()
    assert {r.kind for r in ledger.refusals} >= {"ticket", "change"}, ledger.summary()


def check_database(deployment: Deployment, ledger: Ledger) -> None:
    """Every acknowledged write is stored as acknowledged; nothing else, nothing refused."""
    tickets = {
        str(row.id): row
        for row in deployment.rows(
            "SELECT id, requester_id, subject, description, priority, status, version,"
            " department_id FROM tickets"
        )
    }
    assert set(tickets) == set(ledger.tickets), (
        f"lost: {sorted(set(ledger.tickets) - set(tickets))}; "
        f"never acknowledged: {sorted(set(tickets) - set(ledger.tickets))}"
    )
    for ack in ledger.tickets.values():
        row = tickets[ack.id]
        stored = (str(row.requester_id), row.subject, row.description, str(row.department_id))
        assert stored == (ack.requester_id, ack.subject, ack.description, ack.department_id)

    messages = {
        str(row.id): row
        for row in deployment.rows(
            "SELECT id, ticket_id, author_id, body, visibility FROM ticket_messages"
        )
    }
    assert set(messages) == set(ledger.messages), (
        f"lost: {sorted(set(ledger.messages) - set(messages))}; "
        f"never acknowledged: {sorted(set(messages) - set(ledger.messages))}"
    )
    for said in ledger.messages.values():
        row = messages[said.id]
        stored = (str(row.ticket_id), str(row.author_id), row.body, row.visibility)
        assert stored == (said.ticket_id, said.author_id, said.body, said.visibility)

    refused_texts = [r.marker for r in ledger.refusals if r.kind in {"ticket", "message"}]
    leftovers = deployment.rows(
        "SELECT subject AS text FROM tickets WHERE subject = ANY(:texts)"
        " UNION ALL SELECT body FROM ticket_messages WHERE body = ANY(:texts)",
        texts=refused_texts,
    )
    assert not leftovers, f"refused writes were stored: {[row.text for row in leftovers]}"

    # Each ticket's events carry its versions 1..n in order; the row is the last event's state.
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    status_changes: set[tuple[str, int, str, str, str]] = set()
    priority_changes: set[tuple[str, int, str, str, str]] = set()
    for row in deployment.rows(
        "SELECT type, ordering_key, actor_id, payload FROM outbox"
        " WHERE ordering_key LIKE 'ticket:%' ORDER BY seq"
    ):
        data = json.loads(row.payload)
        ticket = data["ticket"]
        events[ticket["id"]].append(ticket)
        key = (ticket["id"], ticket["version"], data.get("from"), data.get("to"), str(row.actor_id))
        if row.type == "ticket.status_changed" and data["cause"] == "change":
            status_changes.add(key)
        if row.type == "ticket.priority_changed":
            priority_changes.add(key)
    for ticket_id, row in tickets.items():
        versions = [event["version"] for event in events[ticket_id]]
        assert versions == sorted(versions), f"{ticket_id}: versions out of order {versions}"
        assert set(versions) == set(range(1, row.version + 1)), (
            f"{ticket_id}: versions {sorted(set(versions))} for a row at {row.version}"
        )
        last = events[ticket_id][-1]
        assert (row.status, row.priority) == (last["status"], last["priority"]), ticket_id
    at_version = {(t, e["version"]): e for t, found in events.items() for e in found}
    for state in ledger.states:
        event = at_version.get((state.ticket_id, state.version))
        assert event is not None, f"no event for acknowledged {state}"
        assert (event["status"], event["priority"]) == (state.status, state.priority), state

    # Staff status and priority changes: exactly the acknowledged ones, none of the refused.
    acked_status = {
        (c.ticket_id, c.version, c.from_status, c.status, c.actor_id)
        for c in ledger.changes
        if c.status != c.from_status
    }
    acked_priority = {
        (c.ticket_id, c.version, c.from_priority, c.priority, c.actor_id)
        for c in ledger.changes
        if c.priority != c.from_priority
    }
    # Customers never change status directly in this load (close/reopen are not used), so
    # every "change"-caused status event is a staff PATCH.
    assert status_changes == acked_status, (
        f"unacknowledged: {sorted(status_changes - acked_status)[:5]}; "
        f"lost: {sorted(acked_status - status_changes)[:5]}"
    )
    assert priority_changes == acked_priority, (
        f"unacknowledged: {sorted(priority_changes - acked_priority)[:5]}; "
        f"lost: {sorted(acked_priority - priority_changes)[:5]}"
    )


@attrs.frozen
class Drained:
    expected: dict[str, sa.Row[Any]]  # event id -> (seq, ordering_key, type)
    seconds: float


def wait_until_drained(deployment: Deployment, webhook_id: str) -> Drained:
    """Wait until every event is done, delivered to the endpoint and received; fail if a
    worker dies or ``DRAIN_LIMIT`` passes."""
    started = time.monotonic()
    while True:
        expected = {
            str(row.id): row
            for row in deployment.rows(
                "SELECT o.id, o.seq, o.ordering_key, o.type FROM outbox o, webhooks w"
                " WHERE w.id = :webhook AND o.occurred_at >= w.created_at",
                webhook=webhook_id,
            )
        }
        (progress,) = deployment.rows(
            "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending') AS pending,"
            " (SELECT count(*) FROM webhook_deliveries"
            "   WHERE webhook_id = :webhook AND state = 'delivered') AS delivered",
            webhook=webhook_id,
        )
        if (
            progress.pending == 0
            and progress.delivered == len(expected)
            and set(expected) <= deployment.receiver.ids()
        ):
            return Drained(expected, time.monotonic() - started)
        for worker in deployment.workers:
            if worker.process.poll() is not None:
                pytest.fail(f"worker {worker.name} exited with {worker.process.returncode}")
        if time.monotonic() - started > DRAIN_LIMIT:
            pytest.fail(
                f"not drained within {DRAIN_LIMIT}s: {progress.pending} events pending, "
                f"{progress.delivered} of {len(expected)} delivered, "
                f"{len(set(expected) - deployment.receiver.ids())} not received"
            )
        time.sleep(0.2)


def check_events(deployment: Deployment, organization: Organization, drained: Drained) -> None:
    """Each event handled once, delivered once, received (repeats identical), in order."""
    outbox = deployment.rows("SELECT id, state, attempts, last_error FROM outbox")
    not_once = [row for row in outbox if (row.state, row.attempts) != ("done", 1)]
    assert not not_once, f"events not handled exactly once: {not_once[:5]}"

    deliveries = deployment.rows(
        "SELECT d.event_id, d.state,"
        " count(a.id) FILTER (WHERE a.outcome = 'success') AS successes"
        " FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id"
        " WHERE d.webhook_id = :webhook GROUP BY d.event_id, d.state",
        webhook=organization.webhook_id,
    )
    assert {str(row.event_id) for row in deliveries} == set(drained.expected)
    wrong = [row for row in deliveries if (row.state, row.successes) != ("delivered", 1)]
    assert not wrong, f"deliveries without exactly one successful attempt: {wrong[:5]}"

    items = deployment.receiver.items()
    bodies: dict[str, set[bytes]] = defaultdict(set)
    verifier = StandardWebhook(organization.secret)
    for item in items:
        envelope = verifier.verify(item.body, item.headers)
        assert envelope["id"] == item.headers["webhook-id"]
        bodies[envelope["id"]].add(item.body)
    differing = [key for key, found in bodies.items() if len(found) > 1]
    assert not differing, f"repeats of one event with different bodies: {differing}"
    assert set(bodies) == set(drained.expected), "received exactly the events recorded"
    repeats = Counter(item.headers["webhook-id"] for item in items) - Counter(set(bodies))
    print(f"{len(bodies)} events received, {sum(repeats.values())} repeats")

    # Per ordering key, first arrivals follow the recording order (seq).
    first: dict[str, int] = {}
    for item in items:
        first.setdefault(item.headers["webhook-id"], item.index)
    arrivals: dict[str, list[str]] = defaultdict(list)
    for event_id in sorted(first, key=first.__getitem__):
        arrivals[drained.expected[event_id].ordering_key].append(event_id)
    for key, ids in arrivals.items():
        seqs = [drained.expected[event_id].seq for event_id in ids]
        assert seqs == sorted(seqs), f"{key}: delivered out of order {seqs}"
    ticket_keys = [key for key in arrivals if key.startswith("ticket:")]
    assert len(ticket_keys) >= CLIENTS * 2, "every ticket's events were delivered"


def metric_values(server: Server) -> dict[str, float]:
    """``/metrics`` as {series: value}."""
    answer = send(server, "GET", "/metrics")
    assert answer.status == 200, answer.text()
    values: dict[str, float] = {}
    for line in answer.raw.decode().splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values


def check_metrics(deployment: Deployment, ledger: Ledger) -> None:
    """Each server counted its answers: no 5xx series, and together at least the load's."""
    counted = 0.0
    for server in deployment.servers:
        values = metric_values(server)
        answers = {k: v for k, v in values.items() if k.startswith("helpdesk_http_requests_total")}
        errors = {k: v for k, v in answers.items() if re.search(r'status="5\d\d"', k) and v}
        assert not errors, f"{server.name} counted 5xx answers: {errors}"
        counted += sum(answers.values())
        assert values["helpdesk_outbox_pending_events"] == 0.0
        assert values["helpdesk_webhook_deliveries_pending"] == 0.0
    assert counted >= ledger.requests


# ---------------------------------------------------------------- the test


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.redis
def test_two_hosts_and_two_workers_under_mixed_load_lose_nothing(
    deployment: Deployment,
) -> None:
    ledger = Ledger()
    try:
        organization = seed(deployment, ledger)
        took = run_load(organization.clients, LOAD_SECONDS)
        print(f"load ran {took:.1f}s: {ledger.summary()}")
        check_ledger(ledger)
        check_database(deployment, ledger)
        drained = wait_until_drained(deployment, organization.webhook_id)
        print(f"{len(drained.expected)} events drained {drained.seconds:.1f}s after the load")
        check_events(deployment, organization, drained)
        check_metrics(deployment, ledger)
        for worker in deployment.workers:
            assert worker.stop() == 0, worker.log()
        for name, log in [(s.name, s.log()) for s in deployment.servers] + [
            (w.name, w.log()) for w in deployment.workers
        ]:
            assert "Traceback" not in log, f"{name} logged a traceback:\n{log}"
    except BaseException:
        deployment.print_logs()
        raise


RACERS = 12


def test_writes_racing_on_one_ticket_without_a_version_are_never_refused(
    postgres_db_url: str,
) -> None:
    """Found by the load above: a reply sent to one host while another host changed the same
    ticket was answered 412 "the ticket was changed meanwhile", though it named no version
    (both transactions read version n; the second UPDATE ... WHERE version = n found nothing).
    A write without If-Match (a reply, a close or reopen, an assignment) now runs again on a
    fresh read; only a write that named a version is refused by a race."""
    services = bootstrap(make_settings(database_url=postgres_db_url))
    try:
        department = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support")).id
        user = services.auth.register(Register("racer@example.com", PASSWORD, "Racer")).user
        customer = Principal(user.id, Role.CUSTOMER)
        staff = services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff("agent@example.com", "Agent", PASSWORD, StaffRole.AGENT, department),
        )
        agent = Principal(staff.user.id, Role.AGENT, department_id=department)
        ticket = services.tickets.open_ticket(
            customer, OpenTicket("Racing", "Many hands at once", department_id=department)
        ).ticket
        start = threading.Barrier(RACERS + 2, timeout=30)

        def reply(n: int) -> str:
            # Staff may reply to a closed ticket, so every reply must succeed.
            visibility = MessageVisibility.PUBLIC if n % 2 else MessageVisibility.INTERNAL
            start.wait()
            return services.tickets.post_message(
                agent, ticket.id, PostMessage(f"reply {n}", visibility)
            ).message.body

        def close_and_reopen() -> None:
            start.wait()
            services.tickets.close(customer, ticket.id)
            services.tickets.reopen(customer, ticket.id)

        with ThreadPoolExecutor(RACERS + 2) as pool:
            replies = [pool.submit(reply, n) for n in range(RACERS)]
            lifecycle = [pool.submit(close_and_reopen)]
            start.wait()
            bodies = [future.result(timeout=60) for future in replies]
            lifecycle[0].result(timeout=60)
        assert sorted(bodies) == sorted(f"reply {n}" for n in range(RACERS))
        final = services.tickets.get_ticket(agent, ticket.id)
        assert len(final.messages) == RACERS
        # Every write moved the version on by one: the replies, the close and the reopen.
        assert final.ticket.version == 1 + RACERS + 2
        assert final.ticket.status is TicketStatus.OPEN
    finally:
        services.close()
