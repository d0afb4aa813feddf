"""A bounded mixed load over several ``helpdesk serve`` processes, and the ledger it keeps.

    ledger = Ledger()
    clients = [LoadClient(i, servers, customer, agent, departments, ledger, seed=i) ...]
    run_load(clients, seconds=30)

Each client is a thread that, until the deadline, picks an operation by weight (70% reads,
25% ticket and message writes, 5% logins and logouts) and sends every request to a server
chosen at random. The ledger records what the clients were told: every acknowledged write
(ticket, message, status change, with what was written), every write answered with a 4xx
(with the unique marker it carried, so the checker can prove it left nothing behind), every
5xx, every answer outside the operation's expected statuses, reads that missed an
acknowledged write, and the revocation checks (log out on one server, use the token on the
other at once: it must be 401). A few writes are refused on purpose (a stale ``If-Match``, an
unknown priority), some by the rules (a customer's reply to a closed ticket), and after the
deadline every client refuses one of each kind on purpose and checks one revocation
(``LoadClient.finish``), so those paths always run.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from helpdesk_core.domain.entities import TRANSITIONS
from helpdesk_core.domain.values import TicketStatus
from tests.e2e.servers import Answer, Server, request

API = "/api/v1"
REQUEST_TIMEOUT = 20.0  # seconds for one request under load
PRIORITIES = ("low", "normal", "high", "urgent")


def send(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    """One request on a new connection (``Connection: close``) with extra ``headers``."""
    return request(
        server.base_url, method, path, body, token=token, extra_headers=headers, timeout=timeout
    )


# ---------------------------------------------------------------- what the clients were told


@attrs.define
class Account:
    """A person the load acts as; ``token`` is their current access token."""

    email: str
    password: str
    user_id: str
    department_id: str | None = None
    token: str = ""


@attrs.frozen
class TicketAck:
    """A ticket creation answered 201: what was written."""

    id: str
    requester_id: str
    subject: str
    description: str
    priority: str
    department_id: str


@attrs.frozen
class MessageAck:
    """A reply or note answered 201."""

    id: str
    ticket_id: str
    author_id: str
    body: str
    visibility: str


@attrs.frozen
class StateAck:
    """A ticket state some write was answered with: (ticket, version) had this status."""

    ticket_id: str
    version: int
    status: str
    priority: str


@attrs.frozen
class ChangeAck:
    """A staff PATCH answered 200: ``actor`` moved the ticket to ``version``."""

    ticket_id: str
    actor_id: str
    version: int
    from_status: str
    status: str
    from_priority: str
    priority: str


@attrs.frozen
class Refusal:
    """A write answered with a 4xx: nothing of it may exist. ``marker`` is the unique text it
    carried (subject or body), or ``ticket:version->status`` for a refused PATCH."""

    kind: str
    status: int
    marker: str


@attrs.frozen
class Problem:
    """An answer the checker reports: a 5xx, an unexpected status, a stale read."""

    what: str
    server: str
    method: str
    path: str
    status: int
    detail: str


class Ledger:
    """Everything the clients were told, shared by every client thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tickets: dict[str, TicketAck] = {}
        self.states: list[StateAck] = []
        self.messages: dict[str, MessageAck] = {}
        self.changes: list[ChangeAck] = []
        self.refusals: list[Refusal] = []
        self.server_errors: list[Problem] = []
        self.unexpected: list[Problem] = []
        self.stale_reads: list[Problem] = []
        self.transport_errors: list[str] = []
        self.crashes: list[str] = []
        self.revocations = 0
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.operations: Counter[str] = Counter()
        self.idempotent_replays = 0
        self._by_requester: dict[str, list[str]] = defaultdict(list)
        self._by_department: dict[str, list[str]] = defaultdict(list)
        self._versions: dict[str, int] = {}
        self._public_messages: dict[str, set[str]] = defaultdict(set)

    def answered(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1

    def add_problem(self, target: list[Problem], problem: Problem) -> None:
        with self._lock:
            target.append(problem)

    def note(self, target: list[str], text: str) -> None:
        with self._lock:
            target.append(text)

    def count(self, operation: str) -> None:
        with self._lock:
            self.operations[operation] += 1

    def ticket_created(self, ack: TicketAck, state: StateAck) -> None:
        with self._lock:
            self.tickets[ack.id] = ack
            self._by_requester[ack.requester_id].append(ack.id)
            self._by_department[ack.department_id].append(ack.id)
            self._state(state)

    def message_posted(self, ack: MessageAck) -> None:
        with self._lock:
            self.messages[ack.id] = ack
            if ack.visibility == "public":
                self._public_messages[ack.ticket_id].add(ack.id)

    def ticket_changed(self, ack: ChangeAck) -> None:
        with self._lock:
            self.changes.append(ack)
            self._state(StateAck(ack.ticket_id, ack.version, ack.status, ack.priority))

    def _state(self, state: StateAck) -> None:
        self.states.append(state)
        self._versions[state.ticket_id] = max(self._versions.get(state.ticket_id, 0), state.version)

    def refused(self, refusal: Refusal) -> None:
        with self._lock:
            self.refusals.append(refusal)

    def revoked(self) -> None:
        with self._lock:
            self.revocations += 1

    def replayed(self) -> None:
        with self._lock:
            self.idempotent_replays += 1

    def own_tickets(self, requester_id: str) -> list[str]:
        with self._lock:
            return list(self._by_requester[requester_id])

    def department_tickets(self, department_id: str) -> list[str]:
        with self._lock:
            return list(self._by_department[department_id])

    def known(self, ticket_id: str) -> tuple[int, set[str]]:
        """The highest version acknowledged so far, and the public messages acknowledged."""
        with self._lock:
            return self._versions.get(ticket_id, 0), set(self._public_messages[ticket_id])

    def summary(self) -> str:
        with self._lock:
            operations = ", ".join(f"{k} {v}" for k, v in sorted(self.operations.items()))
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
            return (
                f"{self.requests} requests ({statuses}); operations: {operations}; "
                f"{len(self.tickets)} tickets, {len(self.messages)} messages, "
                f"{len(self.changes)} status changes acknowledged; {len(self.refusals)} "
                f"writes refused; {self.revocations} revocations checked; "
                f"{self.idempotent_replays} idempotent replays"
            )


# ---------------------------------------------------------------- one client


class Unexpected(Exception):
    """An answer outside what the operation allows: already recorded, end the operation."""


READS = {
    "customer_list": 12,
    "customer_detail": 14,
    "me": 10,
    "staff_list": 12,
    "staff_detail": 12,
    "list_departments": 5,
    "history": 5,
}
WRITES = {"open_ticket": 7, "customer_reply": 6, "staff_reply": 6, "change_status": 6}
LOGINS = {"login": 3.5, "logout": 1.5}
WEIGHTS: dict[str, float] = {**READS, **WRITES, **LOGINS}


class LoadClient:
    """One simulated person at a keyboard: a customer and an agent of one department."""

    def __init__(
        self,
        index: int,
        servers: Sequence[Server],
        customer: Account,
        agent: Account,
        departments: Sequence[str],
        ledger: Ledger,
        seed: int,
    ) -> None:
        self.index = index
        self.servers = list(servers)
        self.customer = customer
        self.agent = agent
        self.departments = list(departments)
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.last_server = self.servers[0]
        self._operations: dict[str, Callable[[], None]] = {
            name: getattr(self, name) for name in WEIGHTS
        }

    # ------------------------------------------------------------ plumbing

    def server(self) -> Server:
        return self.rng.choice(self.servers)

    def other(self, server: Server) -> Server:
        return self.rng.choice([s for s in self.servers if s is not server])

    def call(
        self,
        method: str,
        path: str,
        expect: set[int],
        body: Any = None,
        *,
        token: str | None = None,
        server: Server | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send, record, and return the answer; raise Unexpected outside ``expect``."""
        target = server or self.server()
        self.last_server = target
        try:
            answer = send(target, method, path, body, token=token, headers=headers)
        except OSError as error:
            self.ledger.note(
                self.ledger.transport_errors, f"{target.name} {method} {path}: {error!r}"
            )
            raise Unexpected from None
        self.ledger.answered(answer.status)
        if answer.status not in expect:
            problem = Problem(
                "5xx" if answer.status >= 500 else f"expected {sorted(expect)}",
                target.name,
                method,
                path,
                answer.status,
                answer.raw[:300].decode("utf-8", errors="replace"),
            )
            self.ledger.add_problem(
                self.ledger.server_errors if answer.status >= 500 else self.ledger.unexpected,
                problem,
            )
            raise Unexpected
        return answer

    def stale(self, path: str, detail: str) -> None:
        """The last answer contradicts what the clients were told before it was asked for."""
        self.ledger.add_problem(
            self.ledger.stale_reads,
            Problem("stale read", self.last_server.name, "GET", path, 200, detail),
        )

    def run(self, deadline: float) -> None:
        """Operations until ``deadline`` (monotonic); a crash is recorded, never raised."""
        names = list(WEIGHTS)
        weights = [WEIGHTS[name] for name in names]
        while time.monotonic() < deadline:
            name = self.rng.choices(names, weights)[0]
            self.ledger.count(name)
            try:
                self._operations[name]()
            except Unexpected:
                continue
            except Exception:  # a bug of the load itself must fail the test, with its trace
                self.ledger.note(self.ledger.crashes, traceback.format_exc())
                return

    # ------------------------------------------------------------ reads (70%)

    def customer_list(self) -> None:
        answer = self.call("GET", f"{API}/tickets?limit=10", {200}, token=self.customer.token)
        foreign = [
            item["id"]
            for item in answer.json["items"]
            if item["requester"]["id"] != self.customer.user_id
        ]
        if foreign:
            self.stale("/tickets", f"another customer's tickets: {foreign}")

    def customer_detail(self) -> None:
        own = self.ledger.own_tickets(self.customer.user_id)
        if not own:
            return
        ticket_id = self.rng.choice(own)
        version, public = self.ledger.known(ticket_id)
        server = self.server()
        path = f"{API}/tickets/{ticket_id}"
        answer = self.call("GET", path, {200}, token=self.customer.token, server=server)
        body = answer.json
        seen = {m["id"] for m in body["messages"]}
        if body["version"] < version or not public <= seen:
            self.stale(
                path,
                f"version {body['version']} < acknowledged {version}"
                if body["version"] < version
                else f"acknowledged messages missing: {sorted(public - seen)}",
            )
        if any(m["visibility"] != "public" for m in body["messages"]):
            self.stale(path, "a customer was shown an internal note")

    def me(self) -> None:
        account = self.rng.choice([self.customer, self.agent])
        answer = self.call("GET", f"{API}/me", {200}, token=account.token)
        if answer.json["email"] != account.email:
            self.stale("/me", f"{answer.json['email']} for {account.email}")

    def staff_list(self) -> None:
        query = self.rng.choice(["", "&status=new,open", "&status=pending", "&sort=-updated"])
        answer = self.call(
            "GET", f"{API}/staff/tickets?limit=20{query}", {200}, token=self.agent.token
        )
        outside = [
            item["id"]
            for item in answer.json["items"]
            if (item["department"] or {}).get("id") != self.agent.department_id
        ]
        if outside:
            self.stale("/staff/tickets", f"tickets out of scope: {outside}")

    def _department_ticket(self) -> str | None:
        tickets = self.ledger.department_tickets(str(self.agent.department_id))
        return self.rng.choice(tickets) if tickets else None

    def staff_detail(self) -> None:
        ticket_id = self._department_ticket()
        if ticket_id is None:
            return
        version, _ = self.ledger.known(ticket_id)
        server = self.server()
        path = f"{API}/staff/tickets/{ticket_id}"
        answer = self.call("GET", path, {200}, token=self.agent.token, server=server)
        if answer.json["version"] < version:
            self.stale(path, f"version {answer.json['version']} < acknowledged {version}")

    def list_departments(self) -> None:
        answer = self.call("GET", f"{API}/departments", {200}, token=self.customer.token)
        if not set(self.departments) <= {d["id"] for d in answer.json["items"]}:
            self.stale("/departments", "a department is missing")

    def history(self) -> None:
        ticket_id = self._department_ticket()
        if ticket_id is not None:
            path = f"{API}/staff/tickets/{ticket_id}/history"
            self.call("GET", path, {200}, token=self.agent.token)

    # ------------------------------------------------------------ writes (25%)

    def open_ticket(self, refuse: bool | None = None) -> None:
        marker = f"mh{uuid.uuid4().hex}"
        refuse = self.rng.random() < 0.05 if refuse is None else refuse
        body = {
            "subject": f"Load ticket {marker}",
            "description": f"Opened by load client {self.index}: {marker}",
            "priority": "whenever" if refuse else self.rng.choice(PRIORITIES),
            "department_id": self.rng.choice(self.departments),
        }
        if refuse:
            answer = self.call("POST", f"{API}/tickets", {422}, body, token=self.customer.token)
            self.ledger.refused(Refusal("ticket", answer.status, body["subject"]))
            return
        key = uuid.uuid4().hex if self.rng.random() < 0.1 else None
        headers = {"Idempotency-Key": key} if key else None
        server = self.server()
        answer = self.call(
            "POST",
            f"{API}/tickets",
            {201},
            body,
            token=self.customer.token,
            server=server,
            headers=headers,
        )
        created = answer.json
        self.ledger.ticket_created(
            TicketAck(
                created["id"],
                self.customer.user_id,
                body["subject"],
                body["description"],
                body["priority"],
                body["department_id"],
            ),
            StateAck(created["id"], created["version"], created["status"], created["priority"]),
        )
        if key:  # the same request again, through the other host: the same ticket
            again = self.call(
                "POST",
                f"{API}/tickets",
                {201},
                body,
                token=self.customer.token,
                server=self.other(server),
                headers=headers,
            )
            if again.json["id"] != created["id"]:
                self.stale("/tickets", f"replay made {again.json['id']}, not {created['id']}")
            self.ledger.replayed()

    def customer_reply(self) -> None:
        own = self.ledger.own_tickets(self.customer.user_id)
        if not own:
            return
        ticket_id = self.rng.choice(own)
        text = f"Customer reply mh{uuid.uuid4().hex}"
        answer = self.call(
            "POST",
            f"{API}/tickets/{ticket_id}/messages",
            {201, 409},  # 409: the ticket is closed
            {"body": text},
            token=self.customer.token,
        )
        if answer.status == 409:
            self.ledger.refused(Refusal("message", 409, text))
            return
        self.ledger.message_posted(
            MessageAck(answer.json["id"], ticket_id, self.customer.user_id, text, "public")
        )

    def staff_reply(self) -> None:
        ticket_id = self._department_ticket()
        if ticket_id is None:
            return
        visibility = "internal" if self.rng.random() < 0.3 else "public"
        text = f"Agent {visibility} mh{uuid.uuid4().hex}"
        answer = self.call(
            "POST",
            f"{API}/staff/tickets/{ticket_id}/messages",
            {201},
            {"body": text, "visibility": visibility},
            token=self.agent.token,
        )
        self.ledger.message_posted(
            MessageAck(answer.json["id"], ticket_id, self.agent.user_id, text, visibility)
        )

    def change_status(self, stale: bool | None = None) -> None:
        ticket_id = self._department_ticket()
        if ticket_id is None:
            return
        path = f"{API}/staff/tickets/{ticket_id}"
        seen = self.call("GET", path, {200}, token=self.agent.token).json
        current = TicketStatus(seen["status"])
        target = self.rng.choice(sorted(TRANSITIONS[current]))
        patch: dict[str, str] = {"status": target.value}
        if self.rng.random() < 0.3:
            patch["priority"] = self.rng.choice([p for p in PRIORITIES if p != seen["priority"]])
        version = seen["version"]
        if stale if stale is not None else self.rng.random() < 0.1:
            # An ETag that is not the current one: refused, nothing changes.
            answer = self.call(
                "PATCH",
                path,
                {412},
                patch,
                token=self.agent.token,
                headers={"If-Match": f'"{version - 1}"'},
            )
            self.ledger.refused(Refusal("change", 412, f"{ticket_id}:{version}->{target.value}"))
            return
        answer = self.call(
            "PATCH",
            path,
            {200, 412},  # 412: someone changed it since our read
            patch,
            token=self.agent.token,
            headers={"If-Match": f'"{version}"'},
        )
        if answer.status == 412:
            self.ledger.refused(Refusal("change", 412, f"{ticket_id}:{version}->{target.value}"))
            return
        changed = answer.json
        if (changed["version"], changed["status"]) != (version + 1, target.value):
            self.stale(path, f"PATCH answered {changed} for {patch} at {version}")
        self.ledger.ticket_changed(
            ChangeAck(
                ticket_id,
                self.agent.user_id,
                changed["version"],
                seen["status"],
                changed["status"],
                seen["priority"],
                changed["priority"],
            )
        )

    # ------------------------------------------------------------ logins (5%)

    def login(self, account: Account | None = None, server: Server | None = None) -> None:
        account = account or self.rng.choice([self.customer, self.agent])
        answer = self.call(
            "POST",
            f"{API}/auth/login",
            {200},
            {"email": account.email, "password": account.password},
            server=server,
        )
        account.token = answer.json["access_token"]

    def logout(self) -> None:
        """Log out through one host; the very next use of the token, on the other, is 401."""
        account = self.rng.choice([self.customer, self.agent])
        first = self.server()
        self.call("POST", f"{API}/auth/logout", {204}, token=account.token, server=first)
        revoked, account.token = account.token, ""
        try:
            self.call("GET", f"{API}/me", {401}, token=revoked, server=self.other(first))
            self.ledger.revoked()
        finally:
            self.login(account)

    def finish(self) -> None:
        """One of each refusal and a revocation check, whatever the load's luck was."""
        for operation in (
            lambda: self.open_ticket(refuse=True),
            lambda: self.change_status(stale=True),
            self.logout,
        ):
            try:
                operation()
            except Unexpected:
                continue


def run_load(clients: Sequence[LoadClient], seconds: float) -> float:
    """Run every client in its own thread for ``seconds``; the seconds it really took."""
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=client.run, args=(deadline,), name=f"load-{client.index}")
        for client in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:  # an operation is at most a few requests, each bounded
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 4 * REQUEST_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise AssertionError(f"load threads still running after the deadline: {stuck}")
    took = time.monotonic() - started
    for client in clients:
        client.finish()
    return took
