"""A private ``redis-server`` that a test owns: started, stopped and started again on one port.

Fault tests must stop Redis, and the shared server on 127.0.0.1:6379 must never be touched.
``RedisProcess`` runs ``redis-server`` as a child process (not daemonized) on a free port of its
own, bound to 127.0.0.1, with its files in a folder of the test's:

    with running_redis(tmp_path / "redis", persist=True) as server:
        url = server.url            # redis://127.0.0.1:PORT/0
        server.stop()               # SIGTERM, wait (SIGKILL after the timeout)
        server.start()              # same port; with persist=True, same data (AOF)

``persist=False`` keeps nothing (``--save "" --appendonly no``): a restart is an empty Redis.
``persist=True`` writes an append-only file, fsynced on every write, so a restart comes back
with every key it had: the case where a cache entry from before an outage could be served.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.e2e.pgcluster import free_port, port_open
from tests.support.services import skip_or_fail

SHARED_PORT = 6379  # the shared server's port: this helper never serves on it


class RedisProcessError(RuntimeError):
    """redis-server did not start or stop in time; the message carries its log."""


class RedisProcess:
    """One private redis-server; ``start()`` and ``stop()`` as often as needed."""

    def __init__(self, binary: str, folder: Path, *, persist: bool = False) -> None:
        self.binary = binary
        self.folder = folder
        self.persist = persist
        self.port = free_port()
        if self.port == SHARED_PORT:
            raise ValueError(f"port {SHARED_PORT} belongs to the shared server")
        self.log_file = folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A client of this server (decoded strings, short timeouts, no retries)."""
        return redis.Redis.from_url(
            self.url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )

    def server_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 10.0) -> None:
        """Start on ``self.port`` and wait until it answers PING."""
        if self.is_running():
            raise RedisProcessError("already running")
        if port_open(self.port):
            raise RedisProcessError(f"port {self.port} is already taken; cannot start there")
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self.persist
            else ["--appendonly", "no", "--save", ""]
        )
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            str(self.folder),
            "--logfile",
            str(self.log_file),
            *persistence,
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RedisProcessError(
                    f"redis-server exited with {self.process.returncode}\n{self.server_log()}"
                )
            with contextlib.suppress(redis.RedisError), self.client(timeout=0.5) as client:
                # A loading server answers LOADING errors; wait until it answers PONG.
                if client.ping():
                    return
            if time.monotonic() > deadline:
                self.kill()
                raise RedisProcessError(f"redis-server did not answer in {timeout}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis shuts down cleanly) and wait; SIGKILL if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running_redis(folder: Path, *, persist: bool = False) -> Iterator[RedisProcess]:
    """A started private redis-server; stopped on exit, even on failure.

    Skips the calling test (fails under HELPDESK_TEST_REQUIRE_SERVICES=1) when ``redis-server``
    is not installed.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (needed to run a Redis the test can stop)")
    server = RedisProcess(binary, folder, persist=persist)
    try:
        server.start()
        yield server
    finally:
        server.stop()
