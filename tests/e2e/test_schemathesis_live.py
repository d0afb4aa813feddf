"""Hostile input against a live ``helpdesk serve`` on PostgreSQL and Redis (schemathesis).

The in-process run (tests/http/test_schemathesis.py) fuzzes the app on SQLite; this one fuzzes
the product as deployed: ``helpdesk serve`` with two gunicorn workers, HELPDESK_ENV=production,
a fresh PostgreSQL database, Redis (a prefix of its own), secret keys set, and the cheapest
password hashing production accepts. schemathesis loads the document the server serves at
``/openapi.json`` (``schemathesis.openapi.from_url``) and sends every documented operation
generated requests, valid and invalid, as an anonymous caller, a customer, an agent, a lead and
an administrator, then follows the document's links statefully as each of them. Every answer
must pass the same checks as in process (CHECKS), with ids aimed at the seeded helpdesk the
same way; a last test proves every documented operation was sent as every role.

The helpdesk is seeded (and its role accounts restored and logged in) by the same code as in
process, running here as one more host of the deployment: same database, Redis and keys.
Scenarios share the server's database (no fresh copy each), so a scenario may see what an
earlier one left. Bounded: derandomized Hypothesis, HELPDESK_TEST_FUZZ_EXAMPLES examples.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import schemathesis
from redis import Redis

from tests.e2e.servers import REQUEST_TIMEOUT, Server, running_server, server_env
from tests.http.schemathesis_seed import seed_live
from tests.http.schemathesis_support import (
    BOUNDED,
    CHECKS,
    ROLES,
    WORKFLOWS,
    Aim,
    Stage,
    accept_uri_too_long,
    assert_sent,
    credentials,
    documented_operations,
    parametrized_operations,
    run_linked_workflows,
    served_document,
)
from tests.support.databases import PostgresDatabases
from tests.support.services import redis_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.serial,
    # Meant to keep both fuzzers on one xdist worker (--dist loadgroup); with pytest 9.2 and
    # xdist 3.8 the group is not honoured (xdist sets item._nodeid, which pytest 9 ignores).
    pytest.mark.xdist_group("schemathesis"),
]

# The server admits webhooks to this address (HELPDESK_WEBHOOK_ALLOWLIST) without asking DNS;
# no event worker runs (HELPDESK_EMBEDDED_WORKER=false), so no webhook or mail is ever sent.
HOOK_URL = "https://127.0.0.1/helpdesk-events"
AIM = Aim(text={"url": [HOOK_URL]})
EXERCISED: defaultdict[str, set[str]] = defaultdict(set)  # role -> operations it sent
# The tests are collected from the document the app serves (the server is not up yet at
# collection, and schemathesis 4.32's from_fixture fails on pytest 9); the live fixture loads
# the server's own with from_url and proves the two equal; every request goes to the server.
schema = accept_uri_too_long(AIM.install(schemathesis.openapi.from_dict(served_document())))


@attrs.frozen
class Live:
    server: Server
    stage: Stage


@pytest.fixture(scope="module")
def live(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A seeded helpdesk served by ``helpdesk serve`` (2 workers) on PostgreSQL and Redis."""
    folder = tmp_path_factory.mktemp("schemathesis-live")
    database, redis = postgres_databases.fresh(), redis_url()
    key, prefix = secrets.token_hex(32), f"helpdesk-fuzz-{uuid.uuid4().hex[:12]}:"
    stage = seed_live(database, redis_url=redis, redis_prefix=prefix, secret_keys=(key,))
    env = server_env(
        folder,
        HELPDESK_ENV="production",
        HELPDESK_SECRET_KEYS=key,
        HELPDESK_ARGON2_MEMORY_KIB="19456",  # production refuses less (OWASP's floor)
        HELPDESK_ARGON2_TIME_COST="2",
        HELPDESK_DATABASE_URL=database,
        HELPDESK_REDIS_URL=redis,
        HELPDESK_REDIS_PREFIX=prefix,
        HELPDESK_WEBHOOK_ALLOWLIST="127.0.0.1",
        HELPDESK_EMBEDDED_WORKER="false",
    )
    try:
        with running_server(env, folder / "server", workers=2, threads=2, name="fuzzed") as server:
            ready = server.request("GET", "/health/ready")
            assert ready.status == 200, ready.text()
            checks = ready.json["checks"]
            assert (checks["database"]["status"], checks["redis"]["status"]) == ("ok", "ok")
            AIM.ids.update(stage.ids)
            yield Live(server, stage)
    finally:
        AIM.ids.clear()
        stage.close()
        forget(redis, prefix)


def forget(url: str, prefix: str) -> None:
    """Delete the run's Redis keys (rate-limit counters, cached principals and counts)."""
    client = Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def live_document(live: Live) -> Any:
    """The document the live server serves, loaded by schemathesis from its URL, ids aimed;
    the one the tests were collected from is the same, and now sends to the server too."""
    loaded = schemathesis.openapi.from_url(
        f"{live.server.base_url}/openapi.json", timeout=REQUEST_TIMEOUT
    )
    assert loaded.raw_schema == schema.raw_schema, "the server serves another document"
    return accept_uri_too_long(AIM.install(loaded))


@pytest.fixture
def sent(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the item: it sent its operation as its role at least once."""
    yield
    assert_sent(request, EXERCISED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.usefixtures("sent")
@schema.parametrize()
@BOUNDED
def test_every_operation_as_every_role(
    case: Any, role: str, live: Live, live_document: Any
) -> None:
    """Generated requests, valid and invalid, for one operation as one role, sent to the live
    server: the answer to each passes every check in CHECKS (the failing request is printed
    as a curl command)."""
    EXERCISED[role].add(f"{case.operation.method.upper()} {case.operation.path}")
    case.call_and_validate(
        base_url=live.server.base_url,
        headers=credentials(case, role, live.stage),
        checks=CHECKS,
        timeout=REQUEST_TIMEOUT,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_linked_workflows_as_every_role(
    workflow: str, role: str, live: Live, live_document: Any
) -> None:
    """Follow the document's links (create, read, change, delete, read again) as every role,
    against the live server; every answer passes CHECKS."""
    paths = WORKFLOWS[workflow]
    chosen = live_document if paths is None else live_document.include(path_regex=paths)
    failures = run_linked_workflows(
        chosen, lambda case: credentials(case, role, live.stage), timeout=REQUEST_TIMEOUT
    )
    assert failures == []


def test_the_run_covers_every_documented_operation(live_document: Any) -> None:
    """The parametrized run has an item for every operation the served document describes,
    as every role, and each item proves it sent its operation (``sent``): together, every
    documented operation was sent as every role, however xdist spreads the items."""
    documented = documented_operations(live_document.raw_schema)
    assert len(documented) >= 40
    assert parametrized_operations(schema) == documented
