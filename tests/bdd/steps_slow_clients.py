"""Steps for features/operations/slow_clients.feature: a real ``helpdesk serve`` (gunicorn).

The slow clients and the probes are those of tests/e2e/test_slow_clients.py
(``tests/e2e/slowkit.py``); the server runs on the in-memory store, with a short deadline so
the scenario takes seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from tests.e2e.servers import Server, server_env, start_server, wait_until_live
from tests.e2e.slowkit import PROBE_LIMIT, SlowClients, address, probe

BYTE_GAP = 0.5  # seconds between two bytes of one slow client


@given(
    parsers.parse(
        "helpdesk serve runs with {workers:d} worker of {threads:d} threads"
        " and a read deadline of {deadline:d} seconds"
    ),
    target_fixture="served",
)
def served(
    request: pytest.FixtureRequest, tmp_path: Path, workers: int, threads: int, deadline: int
) -> Server:
    env = server_env(
        tmp_path,
        HELPDESK_DATABASE_URL="memory://",
        HELPDESK_REQUEST_READ_TIMEOUT=str(deadline),
    )
    server = start_server(env, tmp_path / "server", workers=workers, threads=threads)
    request.addfinalizer(server.stop)
    wait_until_live(server)
    return server


@when(
    parsers.parse("{count:d} clients each send a request a byte at a time"), target_fixture="slow"
)
def slow_clients(request: pytest.FixtureRequest, served: Server, count: int) -> SlowClients:
    clients = SlowClients(address(served), count, BYTE_GAP, kinds=("header",))
    clients.__enter__()
    request.addfinalizer(lambda: clients.__exit__(None, None, None))
    return clients


@then(
    parsers.parse(
        "a health check is answered within a second, again and again, for {seconds:d} seconds"
    )
)
def answered_promptly(served: Server, slow: SlowClients, seconds: int) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        took, status = probe(served, "/health/live", None)
        assert status == "200"
        assert took < PROBE_LIMIT
        time.sleep(0.2)


@then(parsers.parse('every one of those clients is answered "{status_line}"'))
def all_timed_out(slow: SlowClients, status_line: str) -> None:
    deadline = time.monotonic() + 10
    while len(slow.answers) < slow.count and time.monotonic() < deadline:
        time.sleep(0.1)
    first = slow.answers[: slow.count]
    assert len(first) == slow.count
    assert all(answer.startswith(f"HTTP/1.1 {status_line}\r\n".encode()) for answer in first)
