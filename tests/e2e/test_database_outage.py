"""A database outage, end to end: a real ``helpdesk serve`` over a PostgreSQL the test owns.

Requirement: with PostgreSQL stopped, /health/ready answers 503 naming the database within the
configured timeout and /health/live still answers 200; when PostgreSQL comes back, ready is 200
again without a restart of the server.

The PostgreSQL here is a private cluster on a port of its own (``tests/e2e/pgcluster.py``); the
shared server on 127.0.0.1:5432 is never stopped. Like every PostgreSQL suite this runs only when
HELPDESK_TEST_DATABASE_URL is set, and it skips when no PostgreSQL binaries are installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.e2e.pgcluster import PostgresCluster, free_port, running_cluster
from tests.support.services import postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.serial]

HEALTH_TIMEOUT = 2.0  # HELPDESK_HEALTH_TIMEOUT given to the server
ANSWER_SLACK = 1.0  # a ready answer may take the health timeout plus this
STARTUP_LIMIT = 20.0  # seconds for the server to answer /health/live
OUTAGE_LIMIT = 10.0  # seconds after PostgreSQL stops by which ready must be 503
RECOVERY_LIMIT = 20.0  # seconds after PostgreSQL is back by which ready must be 200
WORKERS = 2

# No proxy for 127.0.0.1, whatever http_proxy says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@attrs.frozen
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float
    sent_at: float  # time.monotonic() when the request was sent


def get(url: str, timeout: float = HEALTH_TIMEOUT + 10) -> Answer:
    """GET ``url``; any HTTP status is an answer (an unreachable server raises URLError)."""
    sent_at = time.monotonic()
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    seconds = time.monotonic() - sent_at
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"unparsed": raw.decode(errors="replace")}
    return Answer(status, body, seconds, sent_at)


def helpdesk_executable() -> str:
    script = Path(sys.executable).with_name("helpdesk")
    if not script.is_file():
        pytest.fail(f"the console script {script} is missing: is the project installed?")
    return str(script)


def worker_pids(master: int) -> set[int]:
    """PIDs of the master's child processes (gunicorn workers), read from /proc."""
    children: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                children.add(int(stat.parent.name))
    return children


@attrs.define
class Server:
    """A running ``helpdesk serve`` and the file its stdout/stderr go to."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def print_log(self, why: str) -> None:
        print(f"\n===== helpdesk serve output ({why}): {self.log_path} =====\n{self.log()}")

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


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster for this module, stopped and deleted afterwards."""
    postgres_url()  # skips (or fails in CI) without HELPDESK_TEST_DATABASE_URL
    with running_cluster() as owned:
        yield owned


@pytest.fixture
def server(cluster: PostgresCluster, tmp_path: Path) -> Iterator[Server]:
    """``helpdesk serve`` (2 workers x 2 threads) over the private cluster, on a free port."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_DATABASE_URL": cluster.url,
            "HELPDESK_HEALTH_TIMEOUT": str(HEALTH_TIMEOUT),
            "HELPDESK_SECRET_KEYS": secrets.token_hex(32),  # 64 characters
            "HELPDESK_ENV": "development",
            "HELPDESK_METRICS_DIR": str(tmp_path / "metrics"),
            "HELPDESK_LOG_LEVEL": "WARNING",
        }
    )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                helpdesk_executable(),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--threads",
                "2",
            ],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_live(running)
        yield running
    finally:
        running.stop()


def _wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.print_log("exited during start-up")
            pytest.fail(f"helpdesk serve exited with {server.process.returncode} at start-up")
        try:
            if get(server.url("/health/live"), timeout=2).status == 200:
                return
        except (urllib.error.URLError, OSError) as error:
            last_error = repr(error)
        time.sleep(0.1)
    server.print_log("never answered /health/live")
    pytest.fail(f"helpdesk serve did not answer /health/live within {STARTUP_LIMIT}s: {last_error}")


def _assert_down_answer(answer: Answer) -> None:
    """A 503 naming the database, in time."""
    limit = HEALTH_TIMEOUT + ANSWER_SLACK
    assert answer.status == 503, answer
    assert answer.seconds <= limit, f"ready took {answer.seconds:.2f}s (limit {limit}s)"
    assert answer.body["status"] == "down", answer.body
    database = answer.body["checks"]["database"]
    assert database["status"] == "down", answer.body
    assert database["required"] is True, answer.body
    assert database.get("error"), answer.body


def _assert_live(server: Server) -> None:
    answer = get(server.url("/health/live"), timeout=5)
    assert answer.status == 200, answer
    assert answer.body == {"status": "ok"}, answer
    assert answer.seconds < 1.0, f"live took {answer.seconds:.2f}s"


def test_ready_reports_a_stopped_database_and_recovers_without_restart(
    server: Server, cluster: PostgresCluster
) -> None:
    try:
        _outage_and_recovery(server, cluster)
    except BaseException:
        server.print_log("test failed")
        print(f"\n===== PostgreSQL log: {cluster.log_file} =====\n{cluster.server_log()}")
        raise


def _outage_and_recovery(server: Server, cluster: PostgresCluster) -> None:
    master = server.process.pid
    workers = worker_pids(master)
    assert len(workers) == WORKERS, f"expected {WORKERS} workers, found {sorted(workers)}"

    # Before: ready is 200 (several requests, which usually reach both workers).
    for _ in range(2 * WORKERS):
        before = get(server.url("/health/ready"))
        assert before.status == 200, before
        assert before.body["status"] == "ok", before.body
        assert before.body["checks"]["database"]["status"] == "ok", before.body

    # Outage: PostgreSQL stops; ready turns 503 quickly, live stays 200.
    stop_started = time.monotonic()
    cluster.stop("fast")
    stopped_at = time.monotonic()
    print(f"pg_ctl stop -m fast took {stopped_at - stop_started:.2f}s")
    assert not cluster.is_running()

    # pg_ctl -w returned, so the server is gone: the very first answer must be a timely 503
    # (never a 200 from a stale pooled connection, never a 500).
    answers = [get(server.url("/health/ready"))]
    _assert_down_answer(answers[0])
    first_down = answers[0].sent_at + answers[0].seconds - stopped_at
    assert first_down <= OUTAGE_LIMIT, f"ready was 503 only {first_down:.2f}s after the stop"

    # Every worker says so, each in time, and live answers throughout.
    for _ in range(3 * WORKERS):
        answer = get(server.url("/health/ready"))
        answers.append(answer)
        _assert_down_answer(answer)
        _assert_live(server)
    slowest = max(a.seconds for a in answers)
    print(
        f"outage: {len(answers)} ready answers, all 503; first {first_down:.2f}s after the "
        f"stop; slowest {slowest:.3f}s; error {answers[-1].body['checks']['database']['error']!r}"
    )

    # Recovery: PostgreSQL back on the same port; ready is 200 again, same server processes.
    cluster.start()
    restarted_at = time.monotonic()
    statuses: list[int] = []
    consecutive_ok = 0
    while consecutive_ok < 3 * WORKERS:
        assert time.monotonic() - restarted_at < RECOVERY_LIMIT, (
            f"ready not steadily 200 within {RECOVERY_LIMIT}s of PostgreSQL's return: {statuses}"
        )
        answer = get(server.url("/health/ready"))
        statuses.append(answer.status)
        assert answer.status in {200, 503}, answer
        assert answer.seconds <= HEALTH_TIMEOUT + ANSWER_SLACK, answer
        if answer.status == 200:
            assert answer.body["status"] == "ok", answer.body
            assert answer.body["checks"]["database"]["status"] == "ok", answer.body
            consecutive_ok += 1
        else:
            consecutive_ok = 0
            time.sleep(0.1)
    print(
        f"recovery: steadily 200 {time.monotonic() - restarted_at:.2f}s after PostgreSQL "
        f"restarted ({len(statuses)} requests: {statuses})"
    )
    _assert_live(server)

    # No restart: the same master still runs with the same workers.
    assert server.process.poll() is None, "the server exited"
    assert server.process.pid == master
    assert worker_pids(master) == workers, "gunicorn replaced a worker during the outage"
    assert "Traceback" not in server.log(), "the server logged a traceback"

    # A clean shutdown: SIGTERM to the master exits 0.
    assert server.stop() == 0
