"""Real ``helpdesk serve`` processes for end-to-end tests, and a plain HTTP client for them.

    env = server_env(tmp_path, HELPDESK_DATABASE_URL=url)
    with running_server(env, tmp_path / "a", workers=1, threads=2) as server:
        answer = server.request("POST", "/api/v1/auth/login", {"email": ..., "password": ...})

Each server listens on a free port of its own, runs in its own session (so a stuck master and
its workers can be killed as a group) and writes stdout and stderr to ``server.log_path``.
The environment starts from this process's, stripped of every inherited ``HELPDESK_*``
variable, with cheap password hashing. Every request opens a new connection and sends
``Connection: close``: no keep-alive pins a client to one gunicorn worker. To choose the
worker deterministically, ``HeldRequest`` occupies one sync worker (``--threads 1``) with an
unfinished request, so the others answer everything sent meanwhile.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.e2e.pgcluster import free_port

STARTUP_LIMIT = 30.0  # seconds for a server to answer /health/live
REQUEST_TIMEOUT = 15.0


def helpdesk_executable() -> str:
    """The ``helpdesk`` console script beside this interpreter."""
    script = Path(sys.executable).with_name("helpdesk")
    if not script.is_file():
        pytest.fail(f"the console script {script} is missing: is the project installed?")
    return str(script)


def server_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """This process's environment without ``HELPDESK_*``, plus cheap hashing and ``variables``.

    A fresh 64-character secret key is set unless ``variables`` names one; the metrics folder
    and the development secret file live under ``tmp_path``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_ENV": "development",
            "HELPDESK_SECRET_KEYS": secrets.token_hex(32),
            "HELPDESK_SECRET_FILE": str(tmp_path / "helpdesk_secret"),
            "HELPDESK_ARGON2_MEMORY_KIB": "1024",
            "HELPDESK_ARGON2_TIME_COST": "1",
            "HELPDESK_ARGON2_PARALLELISM": "1",
            "HELPDESK_LOG_LEVEL": "WARNING",
            # Every server here is 127.0.0.1 to itself, and Redis outlives a run: limits per
            # client address would count every earlier run's registrations and resets. The
            # tests of those limits (tests/http/test_account_safety_http.py) set their own.
            "HELPDESK_REGISTER_ADDRESS_RATE_LIMIT": "100000",
            "HELPDESK_FORGOT_PASSWORD_ADDRESS_RATE_LIMIT": "100000",
        }
    )
    env.update(variables)
    return env


@attrs.frozen
class Answer:
    """One HTTP response: status, headers (in order, repeats kept) and the raw body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def text(self) -> str:
        """Status line, headers and body as one string (to search for leaks)."""
        lines = [str(self.status), *(f"{k}: {v}" for k, v in self.headers)]
        return "\n".join([*lines, "", self.raw.decode("utf-8", errors="replace")])


def request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    raw_body: bytes | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    """One request on a new connection with ``Connection: close``; any status is an answer."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    headers = {"Connection": "close", "Accept": "application/json", **(extra_headers or {})}
    data: bytes | None = raw_body
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, tuple(response.getheaders()), response.read())
    finally:
        connection.close()


@attrs.define
class Server:
    """A running ``helpdesk serve`` and the file its stdout/stderr go to."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def request(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        return request(self.base_url, method, path, body, **options)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def print_log(self, why: str) -> None:
        print(f"\n===== {self.name}: helpdesk serve output ({why}): {self.log_path} =====")
        print(self.log())

    def worker_pids(self) -> set[int]:
        """PIDs of the master's child processes (gunicorn workers), read from /proc."""
        children: set[int] = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    children.add(int(stat.parent.name))
        return children

    def connections_by_worker(self) -> dict[int, int]:
        """How many established connections each worker holds (the kernel's socket table and
        the workers' file descriptors, read from /proc)."""
        port = int(self.base_url.rsplit(":", 1)[1])
        inodes = {f"socket:[{inode}]" for inode in _established_inodes(port)}
        held: dict[int, int] = {}
        for pid in self.worker_pids():
            held[pid] = 0
            for fd in Path(f"/proc/{pid}/fd").glob("*"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        held[pid] += 1
        return held

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the master and wait; SIGKILL its process group if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # start_new_session=True: the group is this master and its workers only.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


class HeldRequest:
    """A request whose headers are sent but for the final blank line: it occupies a worker.

    A sync gunicorn worker (``--threads 1``) that accepts this connection blocks reading the
    headers, so while it is held every other request goes to another worker. ``pid`` is the
    worker holding it, found through /proc (the kernel's socket table and the workers' file
    descriptors); ``finish()`` completes the request and returns that worker's answer.
    Hold it for a few seconds at most: a blocked worker is killed after the worker timeout.
    """

    def __init__(self, server: Server, method: str, path: str, *, token: str | None = None) -> None:
        host, _, port = server.base_url.removeprefix("http://").partition(":")
        self._server = server
        self._port = int(port)
        self._sock = socket.create_connection((host, self._port), timeout=REQUEST_TIMEOUT)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            lines.append("Content-Length: 0")
        self._sock.sendall(("\r\n".join(lines) + "\r\n").encode())
        self.pid = self._accepting_worker()

    def _accepting_worker(self, limit: float = 5.0) -> int:
        client_port = self._sock.getsockname()[1]
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            inode = _server_side_inode(self._port, client_port)
            if inode:  # 0 until a worker accept()s the connection
                target = f"socket:[{inode}]"
                for pid in self._server.worker_pids():
                    for fd in Path(f"/proc/{pid}/fd").glob("*"):
                        with contextlib.suppress(OSError):
                            if os.readlink(fd) == target:
                                return pid
            time.sleep(0.02)
        self.close()
        pytest.fail(f"no worker of {self._server.name} accepted the held connection in {limit}s")

    def finish(self) -> Answer:
        """Send the blank line ending the headers and read the whole answer."""
        self._sock.sendall(b"\r\n")
        response = http.client.HTTPResponse(self._sock)
        try:
            response.begin()
            return Answer(response.status, tuple(response.getheaders()), response.read())
        finally:
            response.close()
            self.close()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> HeldRequest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _server_side_inode(server_port: int, client_port: int) -> int:
    """The socket inode of the server's end of 127.0.0.1:client_port -> server_port, or 0."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0
    for row in table:
        fields = row.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.rsplit(":", 1)[1], 16) == server_port and (
            int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            return int(inode)
    return 0


def _established_inodes(server_port: int) -> list[int]:
    """The socket inodes of the server's ends of established connections to ``server_port``."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return []
    return [
        int(fields[9])
        for fields in (row.split() for row in table)
        if int(fields[1].rsplit(":", 1)[1], 16) == server_port and fields[3] == "01"
    ]


def start_server(
    env: Mapping[str, str],
    folder: Path,
    *,
    workers: int = 1,
    threads: int = 2,
    name: str = "server",
) -> Server:
    """Start ``helpdesk serve`` on a free port with ``env``, in ``folder``; not yet waited on."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = folder / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                helpdesk_executable(),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            cwd=folder,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, process, f"http://127.0.0.1:{port}", log_path)


def wait_until_live(server: Server, limit: float = STARTUP_LIMIT) -> None:
    """Poll /health/live until it answers 200; fail (with the log) if the server dies first."""
    deadline = time.monotonic() + limit
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.print_log("exited during start-up")
            pytest.fail(f"{server.name} exited with {server.process.returncode} at start-up")
        try:
            if server.request("GET", "/health/live", timeout=2).status == 200:
                return
        except OSError as error:
            last_error = repr(error)
        time.sleep(0.05)
    server.print_log("never answered /health/live")
    pytest.fail(f"{server.name} did not answer /health/live within {limit}s: {last_error}")


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str],
    folder: Path,
    *,
    workers: int = 1,
    threads: int = 2,
    name: str = "server",
) -> Iterator[Server]:
    """A live ``helpdesk serve``; stopped on exit. Its log is printed when the body fails."""
    server = start_server(env, folder, workers=workers, threads=threads, name=name)
    try:
        wait_until_live(server)
        try:
            yield server
        except BaseException:
            server.print_log("the test failed")
            raise
    finally:
        server.stop()
