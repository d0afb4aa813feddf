"""The benchmark: ``scripts/bench.sh [--tickets N] [--scale] [--duration S] [--concurrency LIST]``.

One run: a fresh database, migrated and seeded (``benchmarks.seed``); the product
(``helpdesk serve``, production settings) and the raw baseline (``benchmarks.baseline_app``)
under gunicorn with the same settings on free loopback ports; the needed users logged in
through the API; then, for each operation and concurrency, wrk with a Lua script of
``benchmarks/wrk``. It prints a table (operation, concurrency, requests/s, p50, p99, errors and,
for create/list/search/detail, the product/baseline ratio), the gunicorn workers' RSS before
and after the runs, each bar of issue 6 the runs measured with its figure and verdict, and saves
everything as JSON under ``benchmarks/results/`` (git-ignored).

``--scale`` measures instead the staff list and the text search at 10k, 100k and 1M tickets, a
fresh database each, and prints each figure's ratio to the 10k one and the verdict on the 2x
bar.

``scripts/bench.sh`` starts PostgreSQL and Redis when needed and installs wrk when missing;
docs/performance.md says what is measured and shows a run's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psycopg
from sqlalchemy.engine import make_url

from benchmarks.seed import SeedInfo, drop_database, fresh_database, seed
from entrypoints.config import Settings as ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
WRK_DIR = ROOT / "benchmarks" / "wrk"
RESULTS_DIR = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DATABASE = "helpdesk_bench"
SCALE_DATABASE = "helpdesk_bench_scale"
SCALE_SIZES = (10_000, 100_000, 1_000_000)
PAGE = 20  # rows per list page, as the issue asks
CUSTOMERS_LOGGED_IN = 20  # customers with a token (the seed lists their tickets)
WRK_TIMEOUT_S = 30  # a login queued behind 63 others takes seconds: not an error


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- operations


@attrs.frozen
class Operation:
    """One benchmarked route: its name, its wrk script, whether the baseline serves it."""

    name: str
    title: str
    script: str
    baseline: bool = False
    writes: bool = False  # changes tickets: statistics may be stale after it
    policy: bool = False  # a service-level policy governs every new ticket while it runs


OPERATIONS = (
    Operation("login", "login", "login.lua"),
    # Before create: the lists that follow show create's tickets first, as before policies
    # existed, and the two creations run back to back.
    Operation(
        "create_sla", "create ticket, a policy in force", "create.lua", writes=True, policy=True
    ),
    Operation("create", "customer create ticket", "create.lua", baseline=True, writes=True),
    Operation("customer_list", "customer list own tickets", "get.lua"),
    Operation("staff_list", "staff list (status+dept+unassigned)", "get.lua", baseline=True),
    Operation("staff_list_sla", "staff list (sla=breached, sla_due)", "get.lua"),
    Operation("search", "staff text search", "get.lua", baseline=True),
    Operation("detail", "ticket detail with messages", "get.lua", baseline=True),
    Operation("reply", "staff reply", "reply.lua", writes=True),
    Operation("patch", "PATCH status with If-Match", "patch.lua", writes=True),
    Operation("assign", "auto-assignment", "assign.lua", writes=True),
)
BY_NAME = {op.name: op for op in OPERATIONS}


@attrs.define
class Context:
    """What the operations' items are made from: the seed, the tokens, the ticket pools."""

    info: SeedInfo
    customer_tokens: dict[str, str]  # email -> bearer token
    lead_tokens: dict[str, str]  # department id -> the lead's bearer token
    pools: dict[str, dict[str, list[str]]]  # reply/patch/assign -> department -> ticket ids
    database_url: str  # libpq form, for the runner's own queries


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def items_for(op: Operation, ctx: Context) -> list[dict[str, Any]]:
    """The items the operation's wrk script cycles through (or owns)."""
    info = ctx.info
    leads = list(ctx.lead_tokens.items())
    if op.name == "login":
        return [
            {"body": json.dumps({"email": c["email"], "password": info.password})}
            for c in info.customers[:200]
        ]
    if op.name in {"create", "create_sla"}:
        departments = [d["id"] for d in info.departments]
        items: list[dict[str, Any]] = []
        for i, token in enumerate(ctx.customer_tokens.values()):
            for j, department in enumerate(departments):
                n = i * len(departments) + j
                ticket = {
                    "subject": f"Benchmark ticket {n}: the printer keeps crashing",
                    "description": f"Since the update the printer stops after page {n}. "
                    "We tried restarting it and another cable. Please help.",
                    "department_id": department,
                }
                items.append({"token": token, "body": json.dumps(ticket)})
        return items
    if op.name == "customer_list":
        return [
            {"token": token, "path": f"/api/v1/tickets?limit={PAGE}"}
            for token in ctx.customer_tokens.values()
        ]
    if op.name == "staff_list":
        return [
            {
                "token": token,
                "path": f"/api/v1/staff/tickets?status=new&department_id={department}"
                f"&unassigned=true&limit={PAGE}",
            }
            for department, token in leads
        ]
    if op.name == "staff_list_sla":
        return [
            {
                "token": token,
                "path": f"/api/v1/staff/tickets?sla=breached&sort=sla_due&limit={PAGE}",
            }
            for _, token in leads
        ]
    if op.name == "search":
        return [
            {"token": token, "path": f"/api/v1/staff/tickets?q={_quote(word)}&limit={PAGE}"}
            for word in info.search_words
            for _, token in leads
        ]
    if op.name == "detail":
        return [
            {"token": token, "path": f"/api/v1/staff/tickets/{ticket_id}"}
            for department, token in leads
            for ticket_id in info.detail_ticket_ids_by_department.get(department, [])
        ]
    if op.name == "reply":
        reply = json.dumps({"body": "Thanks for the details. Please try restarting it."})
        return [
            {"token": token, "id": ticket_id, "body": reply}
            for department, token in leads
            for ticket_id in ctx.pools["reply"].get(department, [])
        ]
    if op.name == "assign":
        return [
            {"token": token, "id": ticket_id}
            for department, token in leads
            for ticket_id in ctx.pools["assign"].get(department, [])
        ]
    if op.name == "patch":  # the current version and status of each ticket, read now
        ids = [t for department, _ in leads for t in ctx.pools["patch"].get(department, [])]
        with psycopg.connect(ctx.database_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT id, department_id, version, status FROM tickets WHERE id = ANY(%s)",
                ([uuid.UUID(i) for i in ids],),
            ).fetchall()
        return [
            {
                "token": ctx.lead_tokens[str(department)],
                "id": str(ticket_id),
                "version": version,
                "status": "open" if status == "pending" else "pending",
            }
            for ticket_id, department, version, status in sorted(rows, key=lambda r: str(r[0]))
            if status in {"new", "open", "pending"}
        ]
    raise ValueError(op.name)


def split_pools(open_ids: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
    """The seed's new, unassigned tickets of each department (``open_ids``) in three disjoint
    pools: replies, PATCHes and assignments never touch a ticket another of them changes."""
    pools: dict[str, dict[str, list[str]]] = {"reply": {}, "patch": {}, "assign": {}}
    for department, ids in open_ids.items():
        for k, name in enumerate(("reply", "patch", "assign")):
            pools[name][department] = list(ids[k::3])
    return pools


# ---------------------------------------------------------------- Lua data files


def lua(value: Any) -> str:
    """``value`` (dicts with identifier keys, lists, str, int, float, bool) as Lua source."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        out = []
        for byte in value.encode():
            char = chr(byte)
            if char in '"\\':
                out.append("\\" + char)
            elif 32 <= byte < 127:
                out.append(char)
            else:
                out.append(f"\\{byte:03d}")
        return '"' + "".join(out) + '"'
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"not a Lua identifier: {key!r}")
            parts.append(f"{key}={lua(item)}")
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "{\n" + ",\n".join(lua(item) for item in value) + "\n}"
    raise TypeError(type(value).__name__)


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A gunicorn server this run started: its master, its workers, their memory."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        log: Path,
        database_url: str | None = None,
    ) -> None:
        self.name = name
        self.database_url = database_url  # libpq form, to see whether our statements still run
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                status, _, _ = http("GET", self.url + "/health/live", timeout=2)
                if status == 200 and len(self.workers()) >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s")

    def workers(self) -> list[int]:
        if self.process is None:
            return []
        master = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _ppid(int(entry.name)) == master:
                found.append(int(entry.name))
        return sorted(found)

    def database_busy(self) -> bool:
        if self.database_url is None:
            return False
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            ).fetchone()
        return bool(row and row[0])

    def cpu_ticks(self) -> int:
        """CPU time (clock ticks) the master and its workers have used so far."""
        total = 0
        pids = [self.process.pid] if self.process is not None else []
        for pid in pids + self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    def settle(self, quiet: float = 0.6, timeout: float = 180.0) -> float:
        """Wait until the server has been idle for ``quiet`` seconds: requests wrk abandoned
        at the end of a run are still being served (a queue of logins takes seconds), and the
        next run, or the versions read for PATCH, must not overlap them. Seconds waited."""
        began = time.monotonic()
        last, quiet_since = self.cpu_ticks(), time.monotonic()
        while time.monotonic() - began < timeout:
            time.sleep(0.2)
            ticks = self.cpu_ticks()
            # More than ~20 ms of CPU in 200 ms, or a statement of ours still in the database
            # (a request waiting on PostgreSQL uses no CPU here): still working.
            if ticks - last > 2 or self.database_busy():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                break
            last = ticks
        return round(time.monotonic() - began, 1)

    def memory(self) -> dict[str, int]:
        """KiB of resident memory: each worker's, and their sum."""
        workers = {str(pid): rss_kib(pid) for pid in self.workers()}
        return {"workers_kib": sum(workers.values()), **{f"pid_{k}": v for k, v in workers.items()}}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of the workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the session this run started
            self.process.wait(timeout=10)


def http(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 30
) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or text, headers) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, raw, headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, parsed, headers


def login(server: Server, email: str, password: str) -> str:
    status, body, _ = http(
        "POST", server.url + "/api/v1/auth/login", {"email": email, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"login of {email} answered {status}: {body}")
    return str(body["access_token"])


# ---------------------------------------------------------------- wrk


@attrs.define
class Run:
    """One wrk run against one server."""

    operation: str
    server: str
    concurrency: int
    threads: int
    duration_s: int
    warmup: bool
    requests: int = 0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    non2xx: int = 0
    statuses: dict[str, int] = attrs.Factory(dict)
    socket_errors: dict[str, int] = attrs.Factory(dict)
    first_errors: list[str] = attrs.Factory(list)
    starved: int = 0
    settle_s: float = 0.0  # how long the server stayed busy after wrk stopped
    loadavg: float = 0.0  # the machine's 1-minute load average as the run began
    items: int = 0
    rss_before: dict[str, int] = attrs.Factory(dict)
    rss_after: dict[str, int] = attrs.Factory(dict)


def run_wrk(
    op: Operation,
    server: Server,
    items: list[dict[str, Any]],
    concurrency: int,
    duration: int,
    work_dir: Path,
    warmup: bool = False,
) -> Run:
    threads = min(2, concurrency)
    run = Run(op.name, server.name, concurrency, threads, duration, warmup, items=len(items))
    if not items:
        raise RuntimeError(f"{op.name}: nothing to send (the seed gave no items)")
    if op.script in {"reply.lua", "patch.lua", "assign.lua"} and len(items) < concurrency:
        raise RuntimeError(f"{op.name}: {len(items)} tickets for {concurrency} connections")
    data = work_dir / f"{op.name}-{server.name}-c{concurrency}{'-warmup' if warmup else ''}.lua"
    data.write_text("return " + lua({"items": items}) + "\n")
    env = {
        **os.environ,
        "BENCH_DATA": str(data),
        "BENCH_THREADS": str(threads),
        "BENCH_WRK_DIR": str(WRK_DIR),
    }
    argv = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        f"{WRK_TIMEOUT_S}s",
        "-s",
        str(WRK_DIR / op.script),
        server.url,
    ]
    run.rss_before = server.memory()
    run.loadavg = round(os.getloadavg()[0], 2)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 120)
    run.rss_after = server.memory()
    run.settle_s = server.settle()
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = result["duration_us"] / 1e6
    latency = result["latency_us"]
    sockets = {k: int(v) for k, v in result["socket_errors"].items()}
    run.requests = int(result["requests"])
    run.requests_per_s = round(run.requests / seconds, 1) if seconds else 0.0
    run.p50_ms = round(latency["p50"] / 1000, 2)
    run.p90_ms = round(latency["p90"] / 1000, 2)
    run.p99_ms = round(latency["p99"] / 1000, 2)
    run.max_ms = round(latency["max"] / 1000, 2)
    run.non2xx = int(result["non2xx"])
    run.statuses = {k: int(v) for k, v in result["statuses"].items()}
    run.socket_errors = sockets
    run.first_errors = (
        list(result["first_errors"].values())
        if isinstance(result["first_errors"], dict)
        else list(result["first_errors"])
    )
    run.starved = int(result["starved"])
    # "status" is wrk's count of answers >= 400, already in non2xx.
    run.errors = run.non2xx + sum(v for k, v in sockets.items() if k != "status")
    return run


# ---------------------------------------------------------------- the environment


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def source_state() -> dict[str, Any]:
    """The commit measured, and the files changed since (a run of a dirty tree says so)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip("\n")

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "changed_files": changed}


def versions(database_url: str, redis_url: str) -> dict[str, str]:
    from importlib.metadata import version

    found = {
        name: version(name)
        for name in ("falcon", "gunicorn", "SQLAlchemy", "psycopg", "psycopg-pool", "redis")
    }
    with psycopg.connect(database_url, autocommit=True) as connection:
        for setting in ("server_version", "shared_buffers", "max_connections", "work_mem"):
            row = connection.execute(f"SHOW {setting}").fetchone()
            found[f"postgresql {setting}"] = str(row[0]) if row else "?"
    try:
        import redis

        found["redis server"] = str(redis.Redis.from_url(redis_url).info("server")["redis_version"])
    except Exception as error:  # only a label in the results
        found["redis server"] = f"unknown ({error})"
    found["wrk"] = subprocess.run(
        [shutil.which("wrk") or "wrk", "--version"], capture_output=True, text=True
    ).stdout.split("\n")[0]
    return found


def libpq(url: str) -> str:
    """A SQLAlchemy URL in the form psycopg and libpq take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@attrs.frozen
class Settings:
    workers: int
    threads: int
    duration: int
    warmup: int
    concurrency: tuple[int, ...]
    admin_url: str
    redis_url: str


def service_env(
    database_url: str, settings: Settings, secret: str, metrics: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_ENV": "production",
            "HELPDESK_DATABASE_URL": database_url,
            "HELPDESK_REDIS_URL": settings.redis_url,
            "HELPDESK_REDIS_PREFIX": f"helpdesk-bench-{secrets.token_hex(4)}:",
            "HELPDESK_SECRET_KEYS": secret,
            "HELPDESK_EMBEDDED_WORKER": "false",
            "HELPDESK_LOG_LEVEL": "WARNING",
            "HELPDESK_WORKERS": str(settings.workers),
            "HELPDESK_THREADS": str(settings.threads),
            "HELPDESK_AUTO_MIGRATE": "false",
            "HELPDESK_METRICS_DIR": str(metrics),
        }
    )
    return env


def product_server(env: dict[str, str], settings: Settings, work_dir: Path) -> Server:
    port = free_port()
    argv = [str(BIN / "helpdesk"), "--env-file", "/dev/null", "serve"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(settings.workers)]
    argv += ["--threads", str(settings.threads), "--no-migrate"]
    return Server(
        "product", argv, env, port, work_dir / "product.log", libpq(env["HELPDESK_DATABASE_URL"])
    )


def baseline_server(database_url: str, secret: str, settings: Settings, work_dir: Path) -> Server:
    """The baseline under the gunicorn settings ``helpdesk serve`` uses (entrypoints/cli/serve.py:
    worker class and its hooks, timeout, graceful timeout, keep-alive)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "BASELINE_DATABASE_URL": libpq(database_url),
            "BASELINE_SECRET_KEYS": secret,
            "BASELINE_POOL_MIN": "5",  # HELPDESK_DB_POOL_SIZE
            "BASELINE_POOL_MAX": "15",  # + HELPDESK_DB_MAX_OVERFLOW
        }
    )
    argv = [str(BIN / "gunicorn"), "benchmarks.baseline_app:wsgi()"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(settings.workers)]
    argv += ["--threads", str(settings.threads)]
    if settings.threads > 1:  # helpdesk serve's worker class and its hooks
        argv += ["--config", "python:benchmarks.baseline_gunicorn"]
        argv += ["--worker-class", "entrypoints.serving.fair_accept.FairThreadWorker"]
    else:
        argv += ["--worker-class", "sync"]
    argv += ["--timeout", "30", "--graceful-timeout", "20", "--keep-alive", "5"]
    argv += ["--log-level", "warning", "--chdir", str(ROOT)]
    return Server(
        "baseline", argv, env, port, work_dir / "baseline.log", env["BASELINE_DATABASE_URL"]
    )


def hash_password(env: dict[str, str], password: str) -> str:
    """The password hashed as the product, with these settings, hashes it."""
    from entrypoints.bootstrap import password_hasher
    from entrypoints.config import load_settings

    return password_hasher(load_settings(environ=env, env_file=None)).hash(password)


def seeded(
    settings: Settings, name: str, tickets: int, env: dict[str, str]
) -> tuple[str, SeedInfo, float]:
    began = time.perf_counter()
    say(f"== database {name}: create, migrate, seed {tickets:,} tickets")
    url = fresh_database(settings.admin_url, name)
    from benchmarks.seed import DEFAULT_PASSWORD

    info = seed(
        url,
        tickets,
        password_hash=hash_password(env, DEFAULT_PASSWORD),
        password=DEFAULT_PASSWORD,
        progress=lambda line: say(f"   {line}"),
        sla=True,  # open tickets with service-level state: what staff_list_sla lists
    )
    return url, info, time.perf_counter() - began


def log_in(server: Server, info: SeedInfo) -> tuple[dict[str, str], dict[str, str]]:
    """Tokens of the first customers and of each department's lead, through the API."""
    customers = [c["email"] for c in info.customers[:CUSTOMERS_LOGGED_IN]]
    leads = [(str(lead["department_id"]), str(lead["email"])) for lead in info.leads]
    with ThreadPoolExecutor(max_workers=4) as pool:
        customer_tokens = dict(
            zip(
                customers,
                pool.map(lambda e: login(server, e, info.password), customers),
                strict=True,
            )
        )
        lead_tokens = dict(
            zip(
                [d for d, _ in leads],
                pool.map(lambda pair: login(server, pair[1], info.password), leads),
                strict=True,
            )
        )
    return customer_tokens, lead_tokens


# ---------------------------------------------------------------- the two modes


def compare_answers(ctx: Context, product: Server, baseline: Server) -> dict[str, str]:
    """Whether the baseline answers the product's body for one request of each read."""
    found = {}
    for name in ("staff_list", "search", "detail"):
        item = items_for(BY_NAME[name], ctx)[0]
        a = http("GET", product.url + item["path"], token=item["token"])
        b = http("GET", baseline.url + item["path"], token=item["token"])
        found[name] = "same" if a[:2] == b[:2] else f"DIFFERENT: {a[:2]} != {b[:2]}"
    return found


def measure(
    ops: Sequence[Operation],
    ctx: Context,
    servers: dict[str, Server],
    settings: Settings,
    work_dir: Path,
    record: Callable[[Run], None],
) -> None:
    for op in ops:
        targets = [servers["product"]]
        if op.baseline and "baseline" in servers:
            targets.append(servers["baseline"])
        if op.policy:
            policy_in_force(ctx.database_url, True)
        try:
            _measure_one(op, ctx, targets, settings, work_dir, record)
        finally:
            if op.policy:
                policy_in_force(ctx.database_url, False)
        if op.writes and analyze_if_autovacuum_is_off(ctx.database_url):
            say("   ANALYZE after the writes (the server's autovacuum is off)")


def _measure_one(
    op: Operation,
    ctx: Context,
    targets: Sequence[Server],
    settings: Settings,
    work_dir: Path,
    record: Callable[[Run], None],
) -> None:
    items = items_for(op, ctx)
    if settings.warmup > 0:
        for server in targets:
            warm = min(16, max(settings.concurrency))
            record(run_wrk(op, server, items_for(op, ctx), warm, settings.warmup, work_dir, True))
    for concurrency in settings.concurrency:
        for server in targets:
            if op.name == "patch":
                items = items_for(op, ctx)  # versions moved on since the last run
            record(run_wrk(op, server, items, concurrency, settings.duration, work_dir))


# The policy ``create_sla`` runs under: every department and priority, on a Monday-Friday
# 09:00-17:00 calendar in Berlin, each metric a target, a warning lead time.
_POLICY_ID = uuid.UUID("5a5a5a5a-0000-4000-8000-00000000c0de")
_CALENDAR_ID = uuid.UUID("5a5a5a5a-0000-4000-8000-00000000ca1e")
_TARGETS = {
    priority: {"first_response": minutes, "next_response": minutes * 2, "resolution": minutes * 8}
    for priority, minutes in (("low", 480), ("normal", 240), ("high", 60), ("urgent", 30))
}


def policy_in_force(database_url: str, active: bool) -> None:
    """Put the benchmark's policy (and its calendar) in force, or switch it off."""
    now = datetime.now(UTC)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO sla_calendars (id, name, name_key, timezone, is_active, created_at,"
            " updated_at, version) VALUES (%s, 'Benchmark hours', 'benchmark hours',"
            " 'Europe/Berlin', true, %s, %s, 1) ON CONFLICT (id) DO NOTHING",
            (_CALENDAR_ID, now, now),
        )
        connection.execute(
            "INSERT INTO sla_calendar_intervals (calendar_id, position, weekday, start_minute,"
            " end_minute) SELECT %s, n, (ARRAY['mon','tue','wed','thu','fri'])[n + 1], 540, 1020"
            " FROM generate_series(0, 4) AS n ON CONFLICT DO NOTHING",
            (_CALENDAR_ID,),
        )
        connection.execute(
            "INSERT INTO sla_policies (id, name, name_key, position, department_ids, priorities,"
            " calendar_id, targets, pause_statuses, warn_before, on_reopen, is_active,"
            " created_at, updated_at, version) VALUES (%s, 'Benchmark policy in force',"
            " 'benchmark policy in force', 0, '[]', '[]', %s, %s, '[\"pending\"]', 15,"
            " 'continue', %s, %s, %s, 1) ON CONFLICT (id) DO UPDATE SET is_active ="
            " excluded.is_active",
            (_POLICY_ID, _CALENDAR_ID, json.dumps(_TARGETS), active, now, now),
        )


def analyze_if_autovacuum_is_off(database_url: str) -> bool:
    """Do what autovacuum does after a burst of writes, when the server's autovacuum is off
    (as on the machines these figures come from: docs/performance.md): ANALYZE. Without it the
    reads that follow the writes are planned on the seed's statistics, thousands of tickets
    ago, which no production server with autovacuum keeps for long. Whether it ran."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute("SHOW autovacuum").fetchone()
        if row is not None and row[0] == "on":
            return False
        connection.execute("ANALYZE")
    return True


def print_table(runs: Sequence[Run]) -> str:
    measured = [r for r in runs if not r.warmup]
    baseline = {(r.operation, r.concurrency): r for r in measured if r.server == "baseline"}
    head = (
        f"{'operation':<37} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        f" {'baseline req/s':>14} {'ratio':>6}"
    )
    lines = [head, "-" * len(head)]
    for run in measured:
        if run.server != "product":
            continue
        base = baseline.get((run.operation, run.concurrency))
        ratio = f"{run.requests_per_s / base.requests_per_s:.2f}" if base else "-"
        base_rps = f"{base.requests_per_s:.1f}" if base else "-"
        lines.append(
            f"{BY_NAME[run.operation].title:<37} {run.concurrency:>4} {run.requests_per_s:>8.1f}"
            f" {run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {run.errors:>6} {base_rps:>14} {ratio:>6}"
        )
    return "\n".join(lines)


# The bars of issue 6 (docs/performance.md): the ratios and the p99 are read at 16 clients, the
# concurrency the p99 bar names; memory is flat when the workers' RSS after the last run is
# within 10% of their RSS before the first.
BAR_CONCURRENCY = 16
RATIO_BARS = {"create": 0.5, "staff_list": 0.6, "detail": 0.6}
POLICY_BAR = 0.9  # issue 23: creating under a policy within 10% of creating without one
P99_BAR_MS = 50.0
MEMORY_GROWTH_BAR = 0.10
SCALE_BAR = 2.0


def _verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def bars_summary(runs: Sequence[Run]) -> str:
    """Each bar of a default run that its runs measured: the figure and whether it holds."""
    measured = [r for r in runs if not r.warmup and r.concurrency == BAR_CONCURRENCY]
    product = {r.operation: r for r in measured if r.server == "product"}
    baseline = {r.operation: r for r in measured if r.server == "baseline"}
    lines = [f"Bars (issue 6), at {BAR_CONCURRENCY} clients:"]
    for name, bar in RATIO_BARS.items():
        if name in product and name in baseline and baseline[name].requests_per_s:
            ratio = product[name].requests_per_s / baseline[name].requests_per_s
            lines.append(
                f"  {BY_NAME[name].title} >= {bar}x the baseline: {ratio:.2f}"
                f" {_verdict(ratio >= bar)}"
            )
    if "create" in product and "create_sla" in product and product["create"].requests_per_s:
        ratio = product["create_sla"].requests_per_s / product["create"].requests_per_s
        lines.append(
            f"  {BY_NAME['create_sla'].title} within 10% of {BY_NAME['create'].title}:"
            f" {ratio:.2f} {_verdict(ratio >= POLICY_BAR)}"
        )
    for name, run in product.items():
        if name != "login":  # its cost is the password hash, by design
            lines.append(
                f"  {BY_NAME[name].title} p99 < {P99_BAR_MS:g} ms: {run.p99_ms:.1f} ms"
                f" {_verdict(run.p99_ms < P99_BAR_MS)}"
            )
    if len(lines) == 1:
        lines.append(f"  none measured (no run at {BAR_CONCURRENCY} clients)")
    bad = sum(r.errors + r.starved for r in runs)
    lines.append(f"  no error responses in any run: {bad} {_verdict(bad == 0)}")
    mine = [r for r in runs if r.server == "product"]
    first = mine[0].rss_before.get("workers_kib", 0) if mine else 0
    if first:
        growth = mine[-1].rss_after.get("workers_kib", 0) / first - 1
        lines.append(
            f"  the product's memory flat (within {MEMORY_GROWTH_BAR:.0%}): {growth:+.1%}"
            f" {_verdict(growth <= MEMORY_GROWTH_BAR)}"
        )
    return "\n".join(lines)


def scale_bars_summary(runs: Sequence[Run], operations: Sequence[Operation]) -> str:
    """Issue 6's scale bar: at the largest size, within 2x of the smallest (rate and p99)."""
    measured = {r.operation: r for r in runs if not r.warmup}
    lines = [
        f"Bars (issue 6): {SCALE_SIZES[-1]:,} tickets within {SCALE_BAR:g}x of {SCALE_SIZES[0]:,}:"
    ]
    for op in operations:
        small = measured.get(f"{op.name}@{SCALE_SIZES[0]}")
        large = measured.get(f"{op.name}@{SCALE_SIZES[-1]}")
        if small is None or large is None or not large.requests_per_s or not small.p99_ms:
            continue
        slower = small.requests_per_s / large.requests_per_s
        p99 = large.p99_ms / small.p99_ms
        lines.append(
            f"  {op.title}: rate {1 / slower:.2f}x, p99 {p99:.2f}x"
            f" {_verdict(slower <= SCALE_BAR and p99 <= SCALE_BAR)}"
        )
    return "\n".join(lines)


def memory_summary(runs: Sequence[Run]) -> str:
    lines = []
    for server in ("product", "baseline"):
        mine = [r for r in runs if r.server == server]
        if not mine:
            continue
        first = mine[0].rss_before.get("workers_kib", 0) / 1024
        last = mine[-1].rss_after.get("workers_kib", 0) / 1024
        peak = max(r.rss_after.get("workers_kib", 0) for r in mine) / 1024
        lines.append(
            f"RSS of the {server}'s gunicorn workers: {first:.1f} MiB before the first run,"
            f" {last:.1f} MiB after the last (highest after a run: {peak:.1f} MiB)"
        )
    return "\n".join(lines)


def errors_summary(runs: Sequence[Run]) -> str:
    bad = [r for r in runs if r.errors or r.starved]
    if not bad:
        return "No error responses, no socket errors, no timeouts."
    lines = ["ERRORS:"]
    for r in bad:
        lines.append(
            f"  {r.operation} {r.server} c={r.concurrency}{' (warm-up)' if r.warmup else ''}:"
            f" {r.errors} errors {r.statuses} sockets {r.socket_errors} starved {r.starved}"
        )
        lines.extend(f"    {e}" for e in r.first_errors[:3])
    return "\n".join(lines)


def default_run(args: argparse.Namespace, settings: Settings, work_dir: Path) -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)
    env_probe = service_env("postgresql+psycopg://x@127.0.0.1/x", settings, secret, work_dir)
    url, info, seed_seconds = seeded(settings, DATABASE, args.tickets, env_probe)
    env = service_env(url, settings, secret, work_dir / "metrics")
    product = product_server(env, settings, work_dir)
    baseline = baseline_server(url, secret, settings, work_dir)
    runs: list[Run] = []
    result: dict[str, Any] = {
        "mode": "default",
        "tickets": args.tickets,
        "messages": info.messages,
        "seed_seconds": round(seed_seconds, 1),
        "seed_stages": info.seconds,
        "versions": versions(libpq(url), settings.redis_url),
    }
    try:
        say(f"== servers (each {settings.workers} workers x {settings.threads} threads, gthread)")
        product.start()
        baseline.start()
        say(f"   product {product.url} (pid {product.process.pid if product.process else '?'})")
        say(f"   baseline {baseline.url}")
        customer_tokens, lead_tokens = log_in(product, info)
        ctx = Context(
            info,
            customer_tokens,
            lead_tokens,
            split_pools(info.open_ticket_ids_by_department),
            libpq(url),
        )
        result["baseline_answers"] = compare_answers(ctx, product, baseline)
        say(f"   the baseline's answers: {result['baseline_answers']}")
        ops = [BY_NAME[n] for n in args.only.split(",")] if args.only else list(OPERATIONS)

        def record(run: Run) -> None:
            runs.append(run)
            say(
                f"   {run.operation:<14} {run.server:<8} c={run.concurrency:<3}"
                f"{' warm-up' if run.warmup else ''} {run.requests_per_s:>8.1f} req/s"
                f"  p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms  errors {run.errors}"
            )

        say("== load")
        measure(ops, ctx, {"product": product, "baseline": baseline}, settings, work_dir, record)
    finally:
        product.stop()
        baseline.stop()
        if not args.keep_db:
            drop_database(settings.admin_url, DATABASE)
    result["runs"] = [attrs.asdict(r) for r in runs]
    result["table"] = print_table(runs)
    result["memory"] = memory_summary(runs)
    result["errors"] = errors_summary(runs)
    result["bars"] = bars_summary(runs)
    print(result["table"])
    print()
    print(result["memory"])
    print(result["errors"])
    print()
    print(result["bars"])
    return result


def scale_run(args: argparse.Namespace, settings: Settings, work_dir: Path) -> dict[str, Any]:
    concurrency = args.scale_concurrency
    ops = [BY_NAME["staff_list"], BY_NAME["search"]]
    runs: list[Run] = []
    sizes: dict[str, Any] = {}
    for size in SCALE_SIZES:
        secret = secrets.token_urlsafe(48)
        probe = service_env("postgresql+psycopg://x@127.0.0.1/x", settings, secret, work_dir)
        url, info, seed_seconds = seeded(settings, SCALE_DATABASE, size, probe)
        sizes[str(size)] = {"seed_seconds": round(seed_seconds, 1), "stages": info.seconds}
        env = service_env(url, settings, secret, work_dir / f"metrics-{size}")
        product = product_server(env, settings, work_dir)
        try:
            product.start()
            customer_tokens, lead_tokens = log_in(product, info)
            ctx = Context(
                info,
                customer_tokens,
                lead_tokens,
                split_pools(info.open_ticket_ids_by_department),
                libpq(url),
            )
            one = attrs.evolve(settings, concurrency=(concurrency,))

            def record(run: Run, size: int = size) -> None:
                run.operation = f"{run.operation}@{size}"
                runs.append(run)
                say(
                    f"   {run.operation:<22} c={run.concurrency:<3}"
                    f"{' warm-up' if run.warmup else ''} {run.requests_per_s:>8.1f} req/s"
                    f"  p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms  errors {run.errors}"
                )

            measure(ops, ctx, {"product": product}, one, work_dir, record)
        finally:
            product.stop()
            if not args.keep_db:
                drop_database(settings.admin_url, SCALE_DATABASE)
    head = (
        f"{'operation':<37} {'tickets':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'errors':>6} {'req/s vs 10k':>12} {'p99 vs 10k':>10}"
    )
    lines = [head, "-" * len(head)]
    measured = {r.operation: r for r in runs if not r.warmup}
    for op in ops:
        first = measured[f"{op.name}@{SCALE_SIZES[0]}"]
        for size in SCALE_SIZES:
            r = measured[f"{op.name}@{size}"]
            lines.append(
                f"{op.title:<37} {size:>9,} {r.requests_per_s:>8.1f} {r.p50_ms:>8.2f}"
                f" {r.p99_ms:>8.2f} {r.errors:>6}"
                f" {r.requests_per_s / first.requests_per_s:>12.2f}"
                f" {r.p99_ms / first.p99_ms if first.p99_ms else 0:>10.2f}"
            )
    table = "\n".join(lines)
    bars = scale_bars_summary(runs, ops)
    print(table)
    print(errors_summary(runs))
    print()
    print(bars)
    return {
        "mode": "scale",
        "concurrency": concurrency,
        "sizes": sizes,
        "runs": [attrs.asdict(r) for r in runs],
        "table": table,
        "errors": errors_summary(runs),
        "bars": bars,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        description="Seed a fresh database, load the product and the raw baseline with wrk,"
        " print requests/s, p50, p99, errors and product/baseline ratios (docs/performance.md).",
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets to seed [10000]")
    parser.add_argument(
        "--scale", action="store_true", help="list and search at 10k, 100k and 1M tickets"
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run [8]")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per operation [2]")
    parser.add_argument(
        "--concurrency", default="1,16,64", help="comma-separated connections [1,16,64]"
    )
    parser.add_argument(
        "--scale-concurrency", type=int, default=16, help="connections for --scale [16]"
    )
    served = attrs.fields(ServiceSettings)  # helpdesk serve's defaults, for both servers
    parser.add_argument(
        "--workers",
        type=int,
        default=served.workers.default,
        help=f"gunicorn workers [{served.workers.default}, as helpdesk serve]",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=served.threads.default,
        help=f"threads per worker [{served.threads.default}, as helpdesk serve]",
    )
    parser.add_argument("--only", help="comma-separated operations (default: all)")
    parser.add_argument(
        "--admin-url", default=DEFAULT_ADMIN_URL, help="a role that may create databases"
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="the service's Redis")
    parser.add_argument("--keep-db", action="store_true", help="keep the seeded database")
    args = parser.parse_args(argv)
    if args.only and any(n not in BY_NAME for n in args.only.split(",")):
        parser.error(f"--only takes some of {', '.join(BY_NAME)}")
    settings = Settings(
        workers=args.workers,
        threads=args.threads,
        duration=args.duration,
        warmup=args.warmup,
        concurrency=tuple(int(c) for c in args.concurrency.split(",") if c.strip()),
        admin_url=args.admin_url,
        redis_url=args.redis_url,
    )
    if shutil.which("wrk") is None:
        say("wrk is not installed (scripts/bench.sh installs it: apt-get install -y wrk)")
        return 2
    started = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f"run-{stamp}-", dir=RESULTS_DIR))
    result: dict[str, Any] = {
        "started": stamp,
        "command": "scripts/bench.sh " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "source": source_state(),
        "settings": {
            **attrs.asdict(settings, filter=lambda a, _: a.name not in {"admin_url"}),
            "worker_class": "gthread" if settings.threads > 1 else "sync",
            "db_pool": "5 + 10 overflow per worker (product); psycopg_pool 5..15 (baseline)",
            "wrk_threads": "min(2, connections)",
            "wrk_timeout_s": WRK_TIMEOUT_S,
        },
    }
    source = result["source"]
    changed = f" + {len(source['changed_files'])} changed files" if source["changed_files"] else ""
    say(f"== measuring commit {source['commit']}{changed}; load average {os.getloadavg()[0]:.1f}")
    try:
        mode = scale_run if args.scale else default_run
        result.update(mode(args, settings, work_dir))
    finally:
        result["total_seconds"] = round(time.perf_counter() - started, 1)
        result["machine"]["loadavg_at_end"] = list(os.getloadavg())
        path = RESULTS_DIR / f"{'scale' if args.scale else 'bench'}-{stamp}.json"
        path.write_text(json.dumps(result, indent=1, default=str))
        for log in ("product.log", "baseline.log"):
            if (work_dir / log).exists():
                shutil.copy(work_dir / log, RESULTS_DIR / f"{path.stem}-{log}")
        shutil.rmtree(work_dir, ignore_errors=True)  # Lua data files hold bearer tokens
        say(f"\nraw results: {path.relative_to(ROOT)} ({result['total_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
