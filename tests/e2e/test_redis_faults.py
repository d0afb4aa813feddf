"""Redis goes away and comes back, under a real ``helpdesk serve``.

Requirement (issue 7): with Redis stopped, reads and writes go on (caches bypassed, counters and
rate limits fall back to SQL), no revoked token is accepted, login throttling keeps
throttling; when Redis returns, caches refill without serving anything stale.

The Redis here is a private ``redis-server`` on a port of its own (``tests/e2e/redisproc.py``),
started with an append-only file: stopped with SIGTERM and started again on the same port, it
comes back with every key it held, including the organization snapshot and the queue counts
cached before the outage. That is the hard case for staleness: the entries are there, and the
service must not serve them after what changed during the outage. The database is a fresh one
on the shared PostgreSQL.

``helpdesk serve`` runs two sync workers, so "on every worker" is deterministic: a held request
(``HeldRequest``) occupies one worker while the other answers, then the held one answers too.
Every call during the outage is timed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from tests.conftest import make_settings
from tests.e2e.pgcluster import port_open
from tests.e2e.redisproc import RedisProcess, running_redis
from tests.e2e.servers import Answer, HeldRequest, Server, running_server, server_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.serial]

API = "/api/v1"
PASSWORD = "Redis-fault-test-pw-6604"
PREFIX = "hd-redisfault:"
LOGIN_LIMIT = 5  # HELPDESK_LOGIN_RATE_LIMIT (the default)
CALL_LIMIT = 1.5  # seconds any call may take while Redis is down (a refused connect is instant)
RETURN_LIMIT = 10.0  # seconds after Redis is back by which every worker reports it ok
REFILL_LIMIT = 5.0  # seconds after Redis is back by which the caches hold current entries


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    with running_redis(tmp_path / "redis", persist=True) as server:
        yield server


@pytest.fixture
def org(postgres_db_url: str) -> dict[str, Any]:
    """An administrator, the Billing department and two of its agents, made in the database."""
    services = bootstrap(make_settings(database_url=postgres_db_url))
    try:
        billing = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
        people: dict[str, Any] = {"billing": str(billing.id)}
        for key, role, department in (
            ("admin", StaffRole.ADMIN, None),
            ("agent", StaffRole.AGENT, billing.id),
            ("agent2", StaffRole.AGENT, billing.id),
        ):
            email = f"{key}-{uuid.uuid4().hex[:8]}@example.com"
            profile = services.org.create_staff(
                SYSTEM_OPERATOR,
                CreateStaff(email, key.title(), PASSWORD, role, department_id=department),
            )
            people[key] = {"email": email, "id": str(profile.user.id)}
    finally:
        services.close()
    return people


@pytest.fixture
def server(postgres_db_url: str, redis_server: RedisProcess, tmp_path: Path) -> Iterator[Server]:
    env = server_env(
        tmp_path,
        HELPDESK_DATABASE_URL=postgres_db_url,
        HELPDESK_REDIS_URL=redis_server.url,
        HELPDESK_REDIS_PREFIX=PREFIX,
        HELPDESK_METRICS_DIR=str(tmp_path / "metrics"),
    )
    with running_server(env, tmp_path / "serve", workers=2, threads=1) as running:
        yield running


# ---------------------------------------------------------------- helpers


class Timed:
    """Calls with their durations, for the outage's latency bound."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.durations: list[tuple[str, float, int]] = []

    def __call__(
        self, method: str, path: str, body: Any = None, token: str | None = None, **kw: Any
    ) -> Answer:
        started = time.monotonic()
        answer = self.server.request(method, path, body, token=token, **kw)
        self.durations.append((f"{method} {path}", time.monotonic() - started, answer.status))
        return answer


def on_every_worker(server: Server, path: str, token: str | None = None) -> dict[int, Answer]:
    """GET ``path`` once on each of the two workers: {worker pid: answer}."""
    workers = server.worker_pids()
    assert len(workers) == 2, workers
    with HeldRequest(server, "GET", path, token=token) as held:
        other = server.request("GET", path, token=token)
        held_answer = held.finish()
    (other_pid,) = workers - {held.pid}
    return {held.pid: held_answer, other_pid: other}


def statuses(answers: dict[int, Answer]) -> list[int]:
    return [a.status for a in answers.values()]


def login(server: Server, email: str) -> str:
    answer = server.request("POST", f"{API}/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status == 200, answer.text()
    token: str = answer.json["access_token"]
    return token


def department_names(answer: Answer) -> set[str]:
    assert answer.status == 200, answer.text()
    return {d["name"] for d in answer.json["items"]}


def redis_keys(redis_server: RedisProcess, pattern: str) -> set[str]:
    with redis_server.client() as client:
        return set(client.scan_iter(match=f"{PREFIX}{pattern}", count=500))


def counts_path(department_id: str) -> str:
    return f"{API}/staff/queue-counts?department_id={department_id}"


def queue_counts_in_db(url: str, department_id: str) -> dict[str, int]:
    """Tickets of the department by status, read from the database itself."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT status, count(*) FROM tickets WHERE department_id = :d GROUP BY status"
                ),
                {"d": uuid.UUID(department_id)},
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        engine.dispose()


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


# ---------------------------------------------------------------- the scenario


def test_redis_outage_and_return(
    server: Server, redis_server: RedisProcess, org: dict[str, Any], postgres_db_url: str
) -> None:
    billing = org["billing"]
    call = Timed(server)

    # ---------------------------------------------------------- before: Redis up
    ready = server.request("GET", "/health/ready")
    assert ready.status == 200, ready.text()
    assert ready.json["checks"]["redis"]["status"] == "ok", ready.text()
    customer = f"customer-{uuid.uuid4().hex[:8]}@example.com"
    answer = server.request(
        "POST",
        f"{API}/auth/register",
        {"email": customer, "password": PASSWORD, "display_name": "Redis Customer"},
    )
    assert answer.status == 202, answer.text()
    # Every session this test needs, made now: the throttling below blocks 127.0.0.1's logins.
    revoked_before, revoked_during, kept = (login(server, customer) for _ in range(3))
    admin = login(server, org["admin"]["email"])
    agent = login(server, org["agent"]["email"])
    agent2 = login(server, org["agent2"]["email"])

    opened = server.request(
        "POST",
        f"{API}/tickets",
        {"subject": "Invoice wrong", "description": "Before the outage.", "department_id": billing},
        token=kept,
    )
    assert opened.status == 201, opened.text()
    first_ticket = opened.json["id"]
    assigned = server.request(
        "POST", f"{API}/staff/tickets/{first_ticket}/assign", {"mode": "auto"}, token=admin
    )
    assert assigned.status == 200, assigned.text()

    # Warm every cache on both workers: the org snapshot and Billing's queue counts.
    before_departments = on_every_worker(server, f"{API}/departments")
    assert all(department_names(a) == {"Billing"} for a in before_departments.values())
    before_counts = on_every_worker(server, counts_path(billing), agent)
    assert statuses(before_counts) == [200, 200]
    counts_before = next(iter(before_counts.values())).json["by_status"]
    assert nonzero(counts_before) == queue_counts_in_db(postgres_db_url, billing)
    org_keys_before = redis_keys(redis_server, "org:*")
    counts_keys_before = redis_keys(redis_server, "counts:*")
    assert org_keys_before, "the org snapshot was not cached in Redis"
    assert counts_keys_before, "the queue counts were not cached in Redis"
    assert redis_keys(redis_server, "round-robin:*"), "round robin did not use Redis"

    logout = server.request("POST", f"{API}/auth/logout", token=revoked_before)
    assert logout.status == 204, logout.text()
    assert statuses(on_every_worker(server, f"{API}/me", revoked_before)) == [401, 401]

    # ---------------------------------------------------------- Redis stops
    redis_server.stop()
    assert not port_open(redis_server.port), "redis-server still listens"
    stopped_at = time.monotonic()

    for answer in on_every_worker(server, "/health/ready").values():
        assert answer.status == 200, answer.text()  # Redis is optional: degraded, not down
        assert answer.json["status"] == "degraded", answer.text()
        assert answer.json["checks"]["redis"]["status"] == "down", answer.text()
        assert answer.json["checks"]["database"]["status"] == "ok", answer.text()

    # Writes and reads go on.
    opened = call(
        "POST",
        f"{API}/tickets",
        {
            "subject": "Refund missing",
            "description": "During the outage.",
            "department_id": billing,
        },
        token=kept,
    )
    assert opened.status == 201, opened.text()
    outage_ticket = opened.json["id"]
    reply = call("POST", f"{API}/tickets/{first_ticket}/messages", {"body": "Any news?"}, kept)
    assert reply.status == 201, reply.text()
    listed = call("GET", f"{API}/tickets", token=kept)
    assert listed.status == 200, listed.text()
    assert {t["id"] for t in listed.json["items"]} == {first_ticket, outage_ticket}
    shown = call("GET", f"{API}/tickets/{first_ticket}", token=kept)
    assert shown.status == 200, shown.text()
    assert shown.json["messages"][-1]["body"] == "Any news?", shown.text()

    # Round robin falls back to the database.
    assigned = call(
        "POST", f"{API}/staff/tickets/{outage_ticket}/assign", {"mode": "auto"}, token=admin
    )
    assert assigned.status == 200, assigned.text()
    assert assigned.json["assignee"]["id"] in {org["agent"]["id"], org["agent2"]["id"]}

    # The organization changes: a rename and a new department (bumping its generation).
    renamed = call(
        "PATCH", f"{API}/admin/departments/{billing}", {"name": "Billing & Refunds"}, admin
    )
    assert renamed.status == 200, renamed.text()
    created = call("POST", f"{API}/admin/departments", {"name": "Outage desk"}, admin)
    assert created.status == 201, created.text()
    expected_departments = {"Billing & Refunds", "Outage desk"}
    for answer in on_every_worker(server, f"{API}/departments").values():
        assert department_names(answer) == expected_departments, answer.text()
    counts_during = {
        pid: a.json["by_status"]
        for pid, a in on_every_worker(server, counts_path(billing), agent).items()
    }
    for by_status in counts_during.values():
        assert nonzero(by_status) == queue_counts_in_db(postgres_db_url, billing), by_status
    assert nonzero(next(iter(counts_during.values()))) != nonzero(counts_before)

    # Revocations during the outage, and the one from before, hold on every worker.
    deactivated = call(
        "PATCH", f"{API}/admin/staff/{org['agent2']['id']}", {"active": False}, admin
    )
    assert deactivated.status == 200, deactivated.text()
    logout = call("POST", f"{API}/auth/logout", token=revoked_during)
    assert logout.status == 204, logout.text()
    for token in (revoked_before, revoked_during, agent2):
        assert statuses(on_every_worker(server, f"{API}/me", token)) == [401, 401]
    assert statuses(on_every_worker(server, f"{API}/me", kept)) == [200, 200]

    # Login throttling still throttles: LOGIN_LIMIT failures, then 429 even for the password.
    wrong = {"email": customer, "password": "not-the-password-1234"}
    for _ in range(LOGIN_LIMIT):
        failed = call("POST", f"{API}/auth/login", wrong)
        assert failed.status == 401, failed.text()
    throttled = call("POST", f"{API}/auth/login", wrong)
    assert throttled.status == 429, throttled.text()
    assert int(throttled.header("Retry-After") or 0) >= 1, throttled.text()
    right = call("POST", f"{API}/auth/login", {"email": customer, "password": PASSWORD})
    assert right.status == 429, right.text()

    slow = [d for d in call.durations if d[1] > CALL_LIMIT]
    assert not slow, f"calls slower than {CALL_LIMIT}s without Redis: {slow}"
    assert all(status < 500 for _, _, status in call.durations), call.durations
    slowest = max(d[1] for d in call.durations)
    print(
        f"\noutage: {len(call.durations)} timed calls, all answered, slowest {slowest:.3f}s; "
        f"outage lasted {time.monotonic() - stopped_at:.1f}s"
    )

    # ---------------------------------------------------------- Redis returns, with its old keys
    redis_server.start()
    returned_at = time.monotonic()
    assert org_keys_before <= redis_keys(redis_server, "org:*"), "the AOF lost the old keys"
    assert counts_keys_before <= redis_keys(redis_server, "counts:*")
    with redis_server.client() as client:
        stale_snapshot = client.get(next(iter(org_keys_before)))
    assert stale_snapshot is not None
    assert '"Billing"' in stale_snapshot  # the old name is right there

    while True:
        answers = on_every_worker(server, "/health/ready")
        if all(a.json["checks"]["redis"]["status"] == "ok" for a in answers.values()):
            break
        assert time.monotonic() - returned_at < RETURN_LIMIT, [a.text() for a in answers.values()]
        time.sleep(0.2)
    print(f"redis ok on every worker {time.monotonic() - returned_at:.2f}s after its return")

    # Nothing stale: each worker answers what the database holds now.
    for answer in on_every_worker(server, f"{API}/departments").values():
        assert department_names(answer) == expected_departments, answer.text()
    for answer in on_every_worker(server, counts_path(billing), agent).values():
        assert answer.status == 200, answer.text()
        assert nonzero(answer.json["by_status"]) == queue_counts_in_db(postgres_db_url, billing)
    shown = server.request("GET", f"{API}/tickets/{outage_ticket}", token=kept)
    assert shown.status == 200, shown.text()
    assert shown.json["assignee"]["id"] == assigned.json["assignee"]["id"], shown.text()

    # The caches refill as they are read: entries for the current generations, beside the old
    # ones. A worker that already holds the current snapshot in the process writes it back to
    # Redis on a later read (at most once a second), so keep reading for a little while.
    assert redis_keys(redis_server, "counts:*") - counts_keys_before, "counts not cached again"
    while not redis_keys(redis_server, "org:*") - org_keys_before:
        assert time.monotonic() - returned_at < REFILL_LIMIT, "the org snapshot was not cached"
        for answer in on_every_worker(server, f"{API}/departments").values():
            assert department_names(answer) == expected_departments, answer.text()
        time.sleep(0.2)
    print(f"org snapshot back in Redis {time.monotonic() - returned_at:.2f}s after its return")

    # A change after the return is seen at once, and cached again.
    opened = server.request(
        "POST",
        f"{API}/tickets",
        {"subject": "After the return", "description": "Redis is back.", "department_id": billing},
        token=kept,
    )
    assert opened.status == 201, opened.text()
    for answer in on_every_worker(server, counts_path(billing), agent).values():
        assert nonzero(answer.json["by_status"]) == queue_counts_in_db(postgres_db_url, billing)

    # Revoked stays revoked, and the throttled account stays throttled.
    for token in (revoked_before, revoked_during, agent2):
        assert statuses(on_every_worker(server, f"{API}/me", token)) == [401, 401]
    assert statuses(on_every_worker(server, f"{API}/me", kept)) == [200, 200]
    right = server.request("POST", f"{API}/auth/login", {"email": customer, "password": PASSWORD})
    assert right.status == 429, f"throttling forgot the outage's failures: {right.text()}"

    log = server.log()
    assert "Traceback" not in log, log[-3000:]
