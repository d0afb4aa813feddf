"""``helpdesk demo``: the command, its checks before filling, its progress and its summary."""

from __future__ import annotations

import json
import random
import secrets
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import click

from entrypoints.cli.admin.services import open_services
from entrypoints.cli.demo.clock import DemoClock, SeededIds
from entrypoints.cli.demo.data import CUSTOMERS
from entrypoints.cli.demo.organization import Organization, sample_emails, sample_staff_count
from entrypoints.cli.demo.stories import Stories
from entrypoints.cli.main import CliState, cli_errors, fail
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.usecases.auth import check_password

DEFAULT_PASSWORD = "demo-password-2024"  # noqa: S105 - the documented demo password
DEFAULT_TICKETS = 300


@click.command()
@click.option(
    "--tickets",
    "ticket_count",
    type=click.IntRange(0, 100_000),
    default=DEFAULT_TICKETS,
    show_default=True,
    help="How many tickets to open.",
)
@click.option("--seed", type=int, help="Seed of the random choices: the same seed, the same data.")
@click.option(
    "--password",
    default=DEFAULT_PASSWORD,
    show_default=True,
    help="The password of every sample account.",
)
@click.option(
    "--base-url",
    "base_url_text",
    metavar="URL",
    help="Where the API is served (its root, without /api/v1), for the login example printed "
    "at the end. Default: http://HELPDESK_BIND, where `helpdesk serve` listens.",
)
@click.pass_obj
@cli_errors
def demo(
    state: CliState,
    ticket_count: int,
    seed: int | None,
    password: str,
    base_url_text: str | None,
) -> None:
    """Fill an EMPTY database with a realistic sample: departments, teams, staff of every
    role, customers, and tickets in every status with conversations, internal notes,
    attachments, assignments and history.

    Everything goes through the use cases, as the API would; needs a migrated database
    (`helpdesk db upgrade`) with no department yet. Shows its progress, and prints how to
    log in at the end (at --base-url).
    """
    from entrypoints.bootstrap import auth_policy, uses_memory

    settings = state.settings
    base_url = _base_url(base_url_text, settings.bind)
    policy = auth_policy(settings)
    for email in sample_emails():
        try:
            check_password(password, policy, "--password", email)
        except ValidationFailed as exc:
            fail(f"{exc.detail} (it must suit every sample account, e.g. {email})", 2)
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    now = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(now)
    ids = SeededIds(random.Random(f"ids:{seed}"), clock)  # noqa: S311
    overrides = {Clock: clock, IdGenerator: ids}
    started = time.monotonic()
    with open_services(state, overrides) as services:
        existing = services.org.list_departments(SYSTEM_OPERATOR)
        page = services.tickets.list_tickets(SYSTEM_OPERATOR, TicketQuery(limit=1))
        if existing or page.items:
            what = f"{len(existing)} department(s)" if existing else "tickets"
            fail(f"the database already holds data ({what}): demo fills only an empty database")
        staff = services.org.list_staff(SYSTEM_OPERATOR, StaffFilter())
        taken = sorted({p.user.email for p in staff} & set(sample_emails()))
        if taken:
            fail(f"{taken[0]} already has an account: demo fills only an empty database")
        if uses_memory(settings):
            click.echo("note: memory:// keeps nothing once the command ends", err=True)
        org = Organization(services, clock, password, now)
        accounts = sample_staff_count()
        label = f"creating the organization, {accounts} staff and {len(CUSTOMERS)} customers"
        with _progress(label, accounts + len(CUSTOMERS)) as step:
            org.create(step)
        click.echo(
            f"created {len(org.people) - len(org.customers)} staff and "
            f"{len(org.customers)} customers"
        )
        stories = Stories(services, org, rng, clock, now)
        with _progress(f"opening {ticket_count} tickets", ticket_count) as step:
            stories.play(ticket_count, step)
        click.echo(f"opened {sum(stories.counts.values())} tickets")
        org.farewell()
    elapsed = time.monotonic() - started
    _summary(org, stories.counts, seed, password, ticket_count, elapsed, base_url)


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar of ``total`` steps and its step function; on a terminal it shows the count and
    the time left, elsewhere (a pipe, a log) click prints only the label, once."""
    with click.progressbar(length=total, label=label, show_pos=True) as bar:
        yield lambda: bar.update(1)


def _base_url(given: str | None, bind: str) -> str:
    """Where clients reach the API: ``--base-url`` (an http(s) URL, or exit 2), else
    HELPDESK_BIND as a URL, a wildcard address as the loopback one (this host)."""
    if given is None:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    text = given.strip().rstrip("/")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = urlsplit("")
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or any(ch.isspace() for ch in text)
    ):
        fail(f"--base-url: {given!r} is not an http(s) URL such as http://127.0.0.1:8000", 2)
    return text


def _summary(
    org: Organization,
    counts: dict[str, int],
    seed: int,
    password: str,
    count: int,
    elapsed: float,
    base_url: str,
) -> None:
    echo = click.echo
    staff = sum(1 + len(d.agents) for d in org.departments) + 1
    statuses = ", ".join(f"{s.value} {counts.get(s.value, 0)}" for s in TicketStatus)
    echo(
        f"done in {elapsed:.1f} s (seed {seed}): {len(org.departments)} departments, "
        f"{2 * len(org.departments)} teams, {staff} staff (1 deactivated), "
        f"{len(org.customers)} customers, {count} tickets ({statuses})"
    )
    first = org.departments[0]
    agent = first.agents[0]
    assert org.admin is not None
    echo("")
    echo(f"Every sample account has the password {password}. For example:")
    rows: Sequence[tuple[str, str, str]] = (
        ("admin", org.admin.email, ""),
        ("lead", first.lead.email, f"({first.plan.name})"),
        ("agent", agent.email, f"({first.plan.name}, team {agent.team})"),
        ("customer", org.customers[0].email, ""),
    )
    for role, email, where in rows:
        echo(f"  {role:<9} {email} {where}".rstrip())
    echo("")
    echo("Serve it (with the same HELPDESK_DATABASE_URL) and log in:")
    echo("  scripts/run_dev.sh")
    echo(
        f"  curl -s -X POST {shlex.quote(base_url + '/api/v1/auth/login')} "
        "-H 'Content-Type: application/json' \\"
    )
    body = json.dumps({"email": first.lead.email, "password": password}, separators=(",", ":"))
    echo(f"    -d {shlex.quote(body)}")
    echo("Or browse from here: helpdesk tickets list, helpdesk tickets show 1")


COMMANDS: Sequence[click.Command] = (demo,)
