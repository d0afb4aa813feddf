"""Revocation reaches every process at once, end to end over PostgreSQL and Redis.

Requirement: "A test runs two gunicorn workers (or two app processes) on PostgreSQL and Redis:
log in, log out through one, and the token is refused by the other on the next request."

Deterministic form: two separate ``helpdesk serve`` processes (one worker each, different
ports, the same database, Redis and signing key: two hosts behind a load balancer) so each
request goes to the process the test chooses. Each server validates the token first (so any
per-process cache would be warm), then the session is ended on one and the very next request
on the other must be 401. A second case ends sessions by a password change. A third runs one
gunicorn with two sync workers and, after the logout, sends many requests each on a new
connection: whichever worker answers, every one must be 401.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import HeldRequest, Server, running_server, server_env
from tests.support.databases import PostgresDatabases
from tests.support.services import redis_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

API = "/api/v1"
PASSWORD = "Revocation-test-pw-4821"
NEW_PASSWORD = "Revocation-new-pw-9376"
REPEATS = 20  # requests after a logout to the two-worker server


def new_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="module")
def shared_env(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One fresh PostgreSQL database, Redis and one signing key for every server here."""
    return server_env(
        tmp_path_factory.mktemp("revocation-env"),
        HELPDESK_DATABASE_URL=postgres_databases.fresh(),
        HELPDESK_REDIS_URL=redis_url(),
        # Redis outlives the test run: a high limit keeps earlier runs' failed logins from
        # the same address (127.0.0.1) from rate-limiting this one.
        HELPDESK_LOGIN_RATE_LIMIT="1000",
    )


@pytest.fixture(scope="module")
def two_servers(
    shared_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Servers A and B: separate ``helpdesk serve`` processes, one worker each."""
    folder = tmp_path_factory.mktemp("revocation-servers")
    with (
        running_server(shared_env, folder / "a", workers=1, threads=2, name="A") as a,
        running_server(shared_env, folder / "b", workers=1, threads=2, name="B") as b,
    ):
        for server in (a, b):
            assert_uses_postgres_and_redis(server)
        yield a, b


def assert_uses_postgres_and_redis(server: Server) -> None:
    """/health/ready reports the database and Redis both up: the setup is what it claims."""
    answer = server.request("GET", "/health/ready")
    assert answer.status == 200, answer.text()
    checks = answer.json["checks"]
    assert checks["database"]["status"] == "ok", checks
    assert checks["redis"]["status"] == "ok", checks


def register(server: Server, email: str, password: str = PASSWORD) -> None:
    answer = server.request(
        "POST",
        f"{API}/auth/register",
        {"email": email, "password": password, "display_name": "Revocation Tester"},
    )
    assert answer.status == 202, answer.text()


def login(server: Server, email: str, password: str = PASSWORD) -> str:
    answer = server.request("POST", f"{API}/auth/login", {"email": email, "password": password})
    assert answer.status == 200, answer.text()
    token: str = answer.json["access_token"]
    return token


def me_status(server: Server, token: str) -> int:
    return server.request("GET", f"{API}/me", token=token).status


def assert_refused(server: Server, token: str) -> None:
    answer = server.request("GET", f"{API}/me", token=token)
    assert answer.status == 401, f"{server.name} accepted a revoked token: {answer.text()}"
    assert answer.json["status"] == 401, answer.text()
    assert answer.header("WWW-Authenticate"), answer.text()


def test_logout_on_one_server_is_refused_by_the_other_at_once(
    two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    email = new_email("logout")
    register(a, email)
    token = login(a, email)

    # Both processes accept the token (and have looked its session up once).
    for server in (a, b, a, b):
        answer = server.request("GET", f"{API}/me", token=token)
        assert answer.status == 200, f"{server.name}: {answer.text()}"
        assert answer.json["email"] == email

    logout = b.request("POST", f"{API}/auth/logout", token=token)
    assert logout.status == 204, logout.text()

    # The very next request on the other server is refused, then on B too.
    assert_refused(a, token)
    assert_refused(b, token)
    # Logging out again with the dead token is refused as well.
    assert a.request("POST", f"{API}/auth/logout", token=token).status == 401


def test_a_fresh_login_on_one_server_is_accepted_by_the_other(
    two_servers: tuple[Server, Server],
) -> None:
    """A session made on B a moment ago is valid on A (shared store, shared key)."""
    a, b = two_servers
    email = new_email("fresh")
    register(b, email)
    token = login(b, email)
    assert me_status(a, token) == 200


def test_password_change_on_one_server_ends_older_sessions_on_the_other(
    two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    email = new_email("change")
    register(a, email)
    older = login(b, email)  # another device's session, made through B
    current = login(a, email)  # the session that changes the password
    for server in (a, b):
        assert me_status(server, older) == 200, server.name
        assert me_status(server, current) == 200, server.name

    change = a.request(
        "POST",
        f"{API}/auth/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        token=current,
    )
    assert change.status == 204, change.text()

    # The older session is refused on B at once (and on A); the changing session lives on.
    assert_refused(b, older)
    assert_refused(a, older)
    assert me_status(b, current) == 200
    assert me_status(a, current) == 200

    # The old password no longer logs in anywhere; the new one does, on either server.
    for server in (b, a):
        stale = server.request("POST", f"{API}/auth/login", {"email": email, "password": PASSWORD})
        assert stale.status == 401, f"{server.name}: {stale.text()}"
    assert me_status(a, login(b, email, NEW_PASSWORD)) == 200


def test_logout_is_refused_by_every_worker_of_one_gunicorn(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    """One gunicorn, two sync workers: after a logout on one, neither accepts the token.

    Deterministic part: a held request (headers not finished) occupies one worker, so the
    requests sent meanwhile are answered by the other; finishing it gets the held worker's
    answer. That way each worker validates the token before the logout, and the worker that
    did not handle the logout is asked afterwards. Then many requests, each on a new
    connection: whichever worker answers, every one must be 401.
    """
    with running_server(shared_env, tmp_path / "pair", workers=2, threads=1, name="W2") as server:
        workers = server.worker_pids()
        assert len(workers) == 2, workers
        assert_uses_postgres_and_redis(server)
        email = new_email("workers")
        register(server, email)
        token = login(server, email)

        # Before: each worker in turn is held while the other answers; both accept the token.
        with HeldRequest(server, "GET", f"{API}/me", token=token) as held:
            assert held.pid in workers
            assert [me_status(server, token) for _ in range(3)] == [200] * 3
            warm = held.finish()
        assert warm.status == 200, warm.text()

        # Logout answered by one worker while the other is held; then each is asked.
        with HeldRequest(server, "GET", f"{API}/me", token=token) as held:
            logout = server.request("POST", f"{API}/auth/logout", token=token)
            assert logout.status == 204, logout.text()
            assert_refused(server, token)  # the worker that logged out
            after_held = held.finish()  # the other worker, which accepted the token before
        assert after_held.status == 401, f"worker {held.pid} accepted: {after_held.text()}"

        # Whichever worker answers a new connection, the token stays refused.
        after = [me_status(server, token) for _ in range(REPEATS)]
        assert after == [401] * REPEATS
        assert server.worker_pids() == workers, "a worker died or was replaced"
        assert "Traceback" not in server.log(), server.log()
