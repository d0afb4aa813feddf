"""Slow clients and prompt probes against a live ``helpdesk serve`` (issue 20).

``SlowClients`` holds connections that trickle a request a byte at a time (and replaces each
one the server closes); ``probe`` times one request and asks again once if it was slow, so a
single request that lost the CPU on a loaded machine is not mistaken for a server that does not
answer. Used by tests/e2e/test_slow_clients.py and the steps of
features/operations/slow_clients.feature.
"""

from __future__ import annotations

import contextlib
import http.client
import selectors
import socket
import threading
import time
from typing import Any

import pytest

from tests.e2e.servers import Server

API = "/api/v1"
PROBE_LIMIT = 1.0  # seconds a probe may take
PROBE_TIMEOUT = 10.0  # seconds before a probe counts as unanswered


def address(server: Server) -> tuple[str, int]:
    host, _, port = server.base_url.removeprefix("http://").partition(":")
    return host, int(port)


class SlowClients:
    """``count`` connections that each trickle a request, one byte every ``gap`` seconds.

    By turns (``kinds``), a ``header`` client sends ``GET /health/live HTTP/1.1`` and then an
    endless header a byte at a time; a ``body`` client sends a whole ``POST`` head announcing a
    4000-byte body and then the body a byte at a time. A connection the server closes (or
    answers: ``answers`` keeps what it said) is replaced at once, so ``count`` stay open. Runs
    in a thread of its own while the ``with`` block lasts.
    """

    def __init__(
        self,
        address: tuple[str, int],
        count: int,
        gap: float,
        kinds: tuple[str, ...] = ("header", "body"),
    ) -> None:
        self._address = address
        self.count = count
        self._kinds = kinds
        self._gap = gap
        self._selector = selectors.DefaultSelector()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self.opened = 0
        self.closed_by_server = 0
        self.answers: list[bytes] = []
        self.bytes_sent = 0

    def _open(self, number: int, due: float) -> None:
        sock = socket.create_connection(self._address, timeout=5)
        host, port = self._address
        if self._kinds[number % len(self._kinds)] == "header":
            head = f"GET /health/live HTTP/1.1\r\nHost: {host}:{port}\r\n"
            trickle = b"X-Slow: " + b"a" * 100_000
        else:
            head = (
                f"POST {API}/auth/login HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
            )
            trickle = b" " * 4000
        sock.sendall(head.encode())
        sock.setblocking(False)
        state = {"number": number, "trickle": trickle, "sent": 0, "due": due}
        self._selector.register(sock, selectors.EVENT_READ, (sock, state))
        self.opened += 1

    def _replace(self, sock: socket.socket, state: dict[str, Any], now: float) -> None:
        self._selector.unregister(sock)
        sock.close()
        self.closed_by_server += 1
        self._open(state["number"], now + self._gap)

    def _run(self) -> None:
        start = time.monotonic()
        for number in range(self.count):  # staggered, so bytes arrive all the time
            self._open(number, start + self._gap * number / self.count)
        while not self._stopping.is_set():
            now = time.monotonic()
            for key in list(self._selector.get_map().values()):
                sock, state = key.data
                if state["due"] > now:
                    continue
                state["due"] = now + self._gap
                try:
                    sock.send(state["trickle"][state["sent"] : state["sent"] + 1])
                    state["sent"] += 1
                    self.bytes_sent += 1
                except OSError:  # reset by the server
                    self._replace(sock, state, now)
            for key, _ in self._selector.select(timeout=0.05):
                sock, state = key.data
                data = b""
                with contextlib.suppress(OSError):
                    data = sock.recv(4096)
                if data:
                    self.answers.append(data)
                self._replace(sock, state, time.monotonic())

    def open_now(self) -> int:
        return len(self._selector.get_map())

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        for key in list(self._selector.get_map().values()):
            key.data[0].close()
        self._selector.close()


def every_worker_accepts(server: Server, workers: int, limit: float = 30.0) -> None:
    """Wait until each worker has loaded the app and holds one of ``workers`` keep-alive
    connections (the server answers /health/live as soon as one worker does)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        connections = [
            http.client.HTTPConnection(*address(server), timeout=5) for _ in range(workers)
        ]
        for connection in connections:
            connection.request("GET", "/health/live")
            connection.getresponse().read()
        spread = sorted(server.connections_by_worker().values())
        for connection in connections:
            connection.close()
        if spread == [1] * workers:
            return
        time.sleep(0.2)
    pytest.fail(f"the {workers} workers never held one connection each within {limit}s")


def timed(server: Server, path: str, token: str | None) -> tuple[float, str]:
    """How long one request on a new connection took, and its status (or the error)."""
    start = time.monotonic()
    try:
        status = str(server.request("GET", path, token=token, timeout=PROBE_TIMEOUT).status)
    except OSError as error:
        status = type(error).__name__
    return time.monotonic() - start, status


def probe(server: Server, path: str, token: str | None) -> tuple[float, str]:
    """One probe of ``path``. One slower than ``PROBE_LIMIT`` is asked again at once: on a
    machine shared with other work a single request can lose the CPU for a second, while a
    server whose threads are all held answers neither."""
    took, status = timed(server, path, token)
    if took >= PROBE_LIMIT or status != "200":
        took, status = timed(server, path, token)
    return took, status
