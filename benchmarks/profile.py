"""Profile one benchmarked route in process: ``python -m benchmarks.profile detail``.

The app is built as ``helpdesk serve`` builds it (production settings, PostgreSQL, Redis), over
a database seeded by ``benchmarks.seed`` (``--seed-info`` names its JSON), and called through
Falcon's WSGI test client, so no socket or gunicorn cost blurs the figures. It prints the CPU
time per request of this process (what the layers cost: PostgreSQL works in its own process)
and, with ``--pyinstrument``, where that time goes.

docs/performance.md says how the profile was used.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from falcon import testing

ROUTES = ("detail", "staff_list", "search", "create", "reply", "assign")
BASELINE_ROUTES = ("detail", "staff_list", "search", "create")


def _app(database_url: str, redis_url: str, secret_key: str) -> Any:
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import load_settings
    from entrypoints.http.app import create_app

    environ = {
        "HELPDESK_ENV": "production",
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_REDIS_URL": redis_url,
        "HELPDESK_REDIS_PREFIX": f"profile-{secrets.token_hex(4)}:",
        "HELPDESK_SECRET_KEYS": secret_key,
        "HELPDESK_EMBEDDED_WORKER": "false",
        "HELPDESK_LOG_LEVEL": "WARNING",
    }
    settings = load_settings(environ, env_file=None)
    return create_app(bootstrap(settings))


def _baseline_app(database_url: str, secret_key: str) -> Any:
    """The raw baseline (benchmarks/baseline_app.py) over the same database and keys."""
    from sqlalchemy.engine import make_url

    from benchmarks.baseline_app import Baseline, Connections, create_app

    url = make_url(database_url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    return create_app(Baseline(Connections(conninfo, 1, 5), [secret_key], 3600))


def _calls(
    login: testing.TestClient, client: testing.TestClient, info: dict[str, Any]
) -> dict[str, Callable[[int], Any]]:
    """Each route's request, sent to ``client``; the tokens come from ``login`` (the product)."""
    password = info["password"]
    lead = info["leads"][0]
    department = lead["department_id"]
    token = login.simulate_post(
        "/api/v1/auth/login", json={"email": lead["email"], "password": password}
    ).json["access_token"]
    customer = info["customers"][0]
    customer_token = login.simulate_post(
        "/api/v1/auth/login", json={"email": customer["email"], "password": password}
    ).json["access_token"]
    staff = {"Authorization": f"Bearer {token}"}
    details = info["detail_ticket_ids_by_department"][department]
    open_ids = info["open_ticket_ids_by_department"][department]
    words = info["search_words"]

    def check(result: Any) -> Any:
        if result.status_code >= 300:
            raise SystemExit(f"{result.status}: {result.text}")
        return result

    return {
        "detail": lambda i: check(
            client.simulate_get(f"/api/v1/staff/tickets/{details[i % len(details)]}", headers=staff)
        ),
        "staff_list": lambda i: check(
            client.simulate_get(
                "/api/v1/staff/tickets",
                params={
                    "status": "new",
                    "department_id": department,
                    "unassigned": "true",
                    "limit": "20",
                },
                headers=staff,
            )
        ),
        "search": lambda i: check(
            client.simulate_get(
                "/api/v1/staff/tickets",
                params={"q": words[i % len(words)], "limit": "20"},
                headers=staff,
            )
        ),
        "create": lambda i: check(
            client.simulate_post(
                "/api/v1/tickets",
                json={
                    "subject": f"Profiled ticket {i}",
                    "description": "The printer prints nothing but question marks.",
                    "department_id": department,
                },
                headers={"Authorization": f"Bearer {customer_token}"},
            )
        ),
        "assign": lambda i: check(
            client.simulate_post(
                f"/api/v1/staff/tickets/{open_ids[i % len(open_ids)]}/assign",
                json={"mode": "auto"},
                headers=staff,
            )
        ),
        "reply": lambda i: check(
            client.simulate_post(
                f"/api/v1/staff/tickets/{open_ids[i % len(open_ids)]}/messages",
                json={"body": f"Reply {i}: please try again."},
                headers=staff,
            )
        ),
    }


def _print_statements(request: Callable[[], Any]) -> None:
    import sqlalchemy as sa

    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split())[:110])

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    print(f"{len(sent)} statements:", *sent, sep="\n  ", file=sys.stderr)


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse: a bad one is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("route", choices=ROUTES)
    parser.add_argument("--seed-info", type=Path, required=True, help="benchmarks.seed --output")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--requests", type=_positive, default=2000)
    parser.add_argument(
        "--rounds",
        type=_positive,
        default=5,
        help="split the requests into rounds and also print the lowest CPU per request of a"
        " round (steadier than the mean on a shared machine) [5]",
    )
    parser.add_argument("--pyinstrument", action="store_true", help="print a call profile")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print the SQL statements of one request (BEGIN/COMMIT and pings not included)",
    )
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="print the functions that spend the most CPU (cProfile on process time)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="send the requests to the raw baseline instead (not for reply or assign)",
    )
    args = parser.parse_args(argv)
    if args.baseline and args.route not in BASELINE_ROUTES:
        parser.error(f"the baseline serves {', '.join(BASELINE_ROUTES)} only")
    info = json.loads(args.seed_info.read_text())
    key = secrets.token_urlsafe(32)
    product = testing.TestClient(_app(info["database_url"], args.redis_url, key))
    client = (
        testing.TestClient(_baseline_app(info["database_url"], key)) if args.baseline else product
    )
    call = _calls(product, client, info)[args.route]
    for i in range(50):  # warm caches, pools and statement caches
        call(i)
    if args.statements:
        _print_statements(lambda: call(50))
    profiler: Any = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    elif args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
    rounds: list[float] = []  # CPU per request of each round: the lowest is the steadiest
    size = max(1, args.requests // args.rounds)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(args.requests):
        if i % size == 0:
            started = time.process_time()
        call(i)
        if i % size == size - 1:
            rounds.append((time.process_time() - started) / size)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if args.cprofile:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(r"/(adapters|entrypoints|helpdesk_core)/", 40)
    elif profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    lowest = f"; lowest round {min(rounds) * 1e3:.3f} ms CPU" if len(rounds) > 1 else ""
    print(
        f"{args.route}{' (baseline)' if args.baseline else ''}: {args.requests} requests, "
        f"{cpu / args.requests * 1e3:.3f} ms CPU and "
        f"{wall / args.requests * 1e3:.3f} ms wall each{lowest} (pid {os.getpid()})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
