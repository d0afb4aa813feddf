"""What the event-worker end-to-end tests share: a webhook endpoint, worker processes, a world.

* ``Receiver``: a webhook endpoint on 127.0.0.1 (a ``ThreadingHTTPServer`` in the test process)
  that records the headers and body of every POST before answering 200; it can slow down or
  hold its n-th request.
* ``Workers``: ``helpdesk worker`` subprocesses, each in its own session, logging to a file;
  ``close()`` SIGKILLs (by PID) whatever still runs and prints the logs.
* ``World`` (made by ``open_world``): the library over a migrated PostgreSQL database, a
  customer, a department and one webhook for every event type pointing at the receiver, plus
  SQL views of the outbox and the deliveries.

Used by ``test_event_worker.py`` (kills, SIGTERM, two workers) and ``test_worker_faults.py``
(the same while PostgreSQL flaps).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as StandardWebhook

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment
from helpdesk_core.usecases.tickets import OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import TEST_SECRET, make_settings
from tests.e2e.servers import helpdesk_executable, server_env

PASSWORD = "Event-worker-test-pw-5521"
HOLD_LIMIT = 30.0  # seconds a held request waits for the test to let it go
DELIVERY_LIMIT = 120.0  # seconds every delivery may take in the bigger tests


# ---------------------------------------------------------------- the receiving endpoint


@attrs.frozen
class Received:
    """One POST as the endpoint saw it: headers (names lower-cased), raw body, arrival."""

    headers: dict[str, str]
    body: bytes
    index: int  # arrival order, from 0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def envelope(self) -> dict[str, Any]:
        envelope: dict[str, Any] = json.loads(self.body)
        return envelope


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every POST, then answers 200.

    ``delay`` slows each answer; ``hold_at = n`` makes the n-th request (from 1) wait after
    it was recorded until ``release`` is set, while ``held`` tells the test it arrived.
    ``on_hold`` runs the moment the held request arrives (while its sender waits for the
    answer), e.g. to signal the worker that sent it.
    """

    def __init__(self) -> None:
        self.delay = 0.0
        self.hold_at: int | None = None
        self.on_hold: Callable[[], None] | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._items: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._record(headers, body)
                with contextlib.suppress(OSError):  # a killed worker no longer listens
                    self.send_response(200)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/helpdesk"

    def _record(self, headers: dict[str, str], body: bytes) -> None:
        with self._lock:
            self._items.append(Received(headers, body, len(self._items)))
            count = len(self._items)
        if count == self.hold_at:
            if self.on_hold is not None:
                self.on_hold()
            self.held.set()
            self.release.wait(HOLD_LIMIT)
        elif self.delay:
            time.sleep(self.delay)

    def items(self) -> list[Received]:
        with self._lock:
            return list(self._items)

    def ids(self) -> set[str]:
        return {item.webhook_id for item in self.items()}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------- worker processes


@attrs.define
class WorkerProcess:
    """A running ``helpdesk worker --name NAME``; stdout and stderr go to ``log_path``."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def handled(self) -> int:
        """The count in the worker's last words: "worker NAME stopped after N items"."""
        marker = f"worker {self.name} stopped after "
        for line in reversed(self.log().splitlines()):
            if marker in line:
                return int(line.split(marker, 1)[1].split()[0])
        raise AssertionError(f"{self.name} did not log how much it handled:\n{self.log()}")


class Workers:
    """Starts workers for one test; any still running at the end is SIGKILLed (by its PID)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self.started: list[WorkerProcess] = []

    def start(self, env: dict[str, str], name: str, *args: str) -> WorkerProcess:
        log_path = self._folder / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [helpdesk_executable(), "worker", "--name", name, *args],
                cwd=self._folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(name, process, log_path)
        self.started.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.started:
            if worker.alive():
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                worker.process.wait(timeout=10)
            # shown by pytest only when the test failed
            print(f"\n===== helpdesk worker {worker.name} (exit {worker.process.returncode}) =====")
            print(worker.log())


@contextlib.contextmanager
def running_workers(folder: Path) -> Iterator[Workers]:
    """A ``Workers`` logging into ``folder``; every worker still running at the end is killed."""
    folder.mkdir(parents=True, exist_ok=True)
    started = Workers(folder)
    try:
        yield started
    finally:
        started.close()


# ---------------------------------------------------------------- the helpdesk, in process


@attrs.frozen
class Progress:
    events: int
    pending_events: int
    deliveries: int
    delivered: int

    def finished(self) -> bool:
        return (
            self.pending_events == 0 and self.deliveries == self.events == self.delivered
        ) and self.events > 0


@attrs.define
class World:
    """A fresh database, the library over it, a customer, a department, one webhook for
    every event type pointing at ``receiver``, and the webhook's secret."""

    url: str
    tmp_path: Path
    services: Services
    engine: sa.Engine
    receiver: Receiver
    customer: Principal
    department: uuid.UUID
    webhook_id: uuid.UUID
    secret: str

    def worker_env(self, **variables: str) -> dict[str, str]:
        values = {
            "HELPDESK_DATABASE_URL": self.url,
            "HELPDESK_SECRET_KEYS": TEST_SECRET,
            "HELPDESK_WEBHOOK_ALLOWLIST": "127.0.0.1",
            "HELPDESK_WORKER_LEASE": "3",
            "HELPDESK_WORKER_POLL_INTERVAL": "0.05",
            "HELPDESK_RETRY_BASE_SECONDS": "0.2",
            "HELPDESK_RETRY_MAX_SECONDS": "1",
            "HELPDESK_EMBEDDED_WORKER": "false",
            "HELPDESK_LOG_LEVEL": "INFO",
        }
        values.update(variables)
        return server_env(self.tmp_path, **values)

    def make_events(self, tickets: int, per_ticket: int, threads: int = 4) -> None:
        """``tickets`` tickets with ``per_ticket`` events each (opening + messages), the
        tickets' events interleaved. Each ticket is written by one thread, in order."""
        opened = [
            self.services.tickets.open_ticket(
                self.customer, OpenTicket(f"Ticket {n}", "Opening", department_id=self.department)
            ).ticket.id
            for n in range(tickets)
        ]

        def write(share: list[uuid.UUID]) -> None:
            for round_ in range(per_ticket - 1):
                for ticket_id in share:
                    self.services.tickets.post_message(
                        self.customer, ticket_id, PostMessage(f"Message {round_}")
                    )

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, [opened[i::threads] for i in range(threads)]))

    def outbox(self) -> list[sa.Row[Any]]:
        query = sa.text(
            "SELECT id, seq, ordering_key, type, state, attempts, locked_by, locked_until"
            " FROM outbox ORDER BY seq"
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query))

    def deliveries(self) -> list[sa.Row[Any]]:
        query = sa.text(
            "SELECT event_id, event_seq, state, attempts, locked_by, locked_until"
            " FROM webhook_deliveries WHERE webhook_id = :webhook ORDER BY event_seq"
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query, {"webhook": self.webhook_id}))

    def progress(self) -> Progress:
        query = sa.text(
            "SELECT (SELECT count(*) FROM outbox),"
            " (SELECT count(*) FROM outbox WHERE state = 'pending'),"
            " (SELECT count(*) FROM webhook_deliveries WHERE webhook_id = :webhook),"
            " (SELECT count(*) FROM webhook_deliveries"
            "   WHERE webhook_id = :webhook AND state = 'delivered')"
        )
        with self.engine.connect() as connection:
            row = connection.execute(query, {"webhook": self.webhook_id}).one()
        return Progress(*(int(value) for value in row))

    def lease_holders(self) -> set[str]:
        """Names of the workers holding a lease right now (tokens are ``name:hex``)."""
        query = sa.text(
            "SELECT split_part(locked_by, ':', 1) FROM outbox"
            "  WHERE locked_by IS NOT NULL AND locked_until > now()"
            " UNION SELECT split_part(locked_by, ':', 1) FROM webhook_deliveries"
            "  WHERE locked_by IS NOT NULL AND locked_until > now()"
        )
        with self.engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def undelivered(self, limit: int = 20) -> list[str]:
        """Events not (yet) delivered, with their outbox and delivery state: for failures."""
        query = sa.text(
            "SELECT o.seq, o.type, o.ordering_key, o.state, o.attempts, o.locked_by,"
            " o.last_error, d.state AS delivery, d.attempts AS delivery_attempts, d.locked_by"
            " AS delivery_locked_by, d.locked_until AS delivery_locked_until"
            " FROM outbox o LEFT JOIN webhook_deliveries d"
            "  ON d.event_id = o.id AND d.webhook_id = :webhook"
            " WHERE d.state IS DISTINCT FROM 'delivered' ORDER BY o.seq LIMIT :limit"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"webhook": self.webhook_id, "limit": limit})
            return [str(dict(row._mapping)) for row in rows]

    def event_ids(self) -> set[str]:
        return {str(row.id) for row in self.outbox()}

    def wait_until_delivered(
        self,
        running: list[WorkerProcess],
        limit: float = DELIVERY_LIMIT,
        on_poll: Any = None,
    ) -> float:
        """Wait until every event is done and delivered and the receiver has them all; the
        seconds it took. Fails at once if a worker dies, and after ``limit`` seconds."""
        started = time.monotonic()
        while True:
            progress = self.progress()
            if progress.finished() and self.event_ids() <= self.receiver.ids():
                return time.monotonic() - started
            for worker in running:
                if not worker.alive():
                    pytest.fail(f"{worker.name} exited with {worker.process.returncode}")
            if time.monotonic() - started > limit:
                pytest.fail(
                    f"not every event was delivered within {limit}s: {progress}\n"
                    + "\n".join(self.undelivered())
                )
            if on_poll is not None:
                on_poll()
            time.sleep(0.1)


@contextlib.contextmanager
def open_world(url: str, tmp_path: Path) -> Iterator[World]:
    """A ``World`` over the migrated database at ``url``; the receiver runs until the end."""
    receiver = Receiver()
    receiver.start()
    services = bootstrap(make_settings(database_url=url, webhook_allowlist=("127.0.0.1",)))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        # First: an endpoint receives only the events that happen after its creation.
        created = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(receiver.url, ("*",)))
        department = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support")).id
        email = f"customer-{uuid.uuid4().hex[:8]}@example.com"
        customer = services.auth.register(Register(email, PASSWORD, "Cora")).user.id
        yield World(
            url=url,
            tmp_path=tmp_path,
            services=services,
            engine=engine,
            receiver=receiver,
            customer=Principal(customer, Role.CUSTOMER),
            department=department,
            webhook_id=created.webhook.id,
            secret=created.secret,
        )
    finally:
        receiver.stop()
        services.close()
        engine.dispose()


def assert_verifies(secret: str, item: Received) -> dict[str, Any]:
    """The delivery verifies with the standardwebhooks package; its JSON envelope."""
    envelope: dict[str, Any] = StandardWebhook(secret).verify(item.body, item.headers)
    assert envelope["id"] == item.webhook_id, "the envelope's id is the webhook-id header"
    return envelope


def assert_duplicates_identical(items: list[Received]) -> Counter[str]:
    """Every repeat of one webhook-id carries the very same body; how often each arrived."""
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for item in items:
        bodies[item.webhook_id].add(item.body)
        assert item.envelope["id"] == item.webhook_id
    differing = {key: len(found) for key, found in bodies.items() if len(found) > 1}
    assert not differing, f"repeats of one webhook-id with different bodies: {differing}"
    return Counter(item.webhook_id for item in items)


def wait_for(condition: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {limit}s for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def webhooks_locked(world: World) -> Iterator[sa.Connection]:
    """ACCESS EXCLUSIVE on ``webhooks`` until the block ends: the fan-out blocks on it."""
    with world.engine.connect() as connection:
        connection.execute(sa.text("LOCK TABLE webhooks IN ACCESS EXCLUSIVE MODE"))
        try:
            yield connection
        finally:
            connection.rollback()


def waiting_on_webhooks(world: World) -> int:
    query = sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'webhooks' AND NOT l.granted AND l.database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with world.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
