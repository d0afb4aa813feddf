"""Keep-alive connections spread evenly over the gunicorn workers (serving/fair_accept.py).

Requirement (docs/architecture.md, "a fairer accept"): a burst of new keep-alive connections
to ``helpdesk serve`` with two gthread workers ends with each worker holding about half of
them. With gunicorn's plain gthread worker, whichever worker wakes first takes a connection:
bursts of 32 were seen split 2/30, 4/28 and 3/29 (this test failed 6 of 6 runs so).
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest

from tests.e2e.servers import Server, running_server, server_env

BURST = 32
BURSTS = 3


def _open(server: Server, count: int) -> list[http.client.HTTPConnection]:
    """``count`` keep-alive connections, all connected before any request is sent (a burst),
    each then answered once (so a worker has accepted it)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    connections = [http.client.HTTPConnection(host, int(port), timeout=15) for _ in range(count)]
    for connection in connections:
        connection.connect()
    for connection in connections:
        connection.request("GET", "/health/live")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
    return connections


def _held(server: Server, total: int, limit: float = 10.0) -> list[int]:
    """The connections each worker holds, once they add up to ``total``."""
    deadline = time.monotonic() + limit
    while True:
        held = server.connections_by_worker()
        if sum(held.values()) == total or time.monotonic() > deadline:
            return sorted(held.values())
        time.sleep(0.05)


def _both_workers_accept(server: Server, limit: float = 30.0) -> None:
    """Wait until each worker has loaded the app and takes connections."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        connections = _open(server, 2)
        spread = _held(server, 2)
        for connection in connections:
            connection.close()
        _held(server, 0)
        if spread == [1, 1]:
            return
        time.sleep(0.2)
    pytest.fail(f"the two workers never held one connection each within {limit}s")


def test_a_burst_of_keep_alive_connections_is_split_evenly(tmp_path: Path) -> None:
    env = server_env(tmp_path, HELPDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'hd.db'}")
    with running_server(env, tmp_path / "server", workers=2, threads=4) as server:
        _both_workers_accept(server)
        spreads = []
        for _ in range(BURSTS):
            connections = _open(server, BURST)
            spreads.append(_held(server, BURST))
            for connection in connections:
                connection.close()
            assert _held(server, 0) == [0, 0]
    for fewer, more in spreads:
        assert fewer + more == BURST
        assert more - fewer <= 2, f"bursts of {BURST} split as {spreads}"
