"""``helpdesk demo``: fill an empty database with a realistic sample, through the use cases.

Nothing here writes SQL: departments, teams and staff are created by the operator
(``SYSTEM_OPERATOR``), customers register, customers open and answer tickets, and staff assign,
reply, write internal notes, change status and priority, close and reopen, each acting as
themselves, so every rule applies and the history writes itself.

Two ports are replaced for the run, at the composition root: a clock the demo moves, so the
tickets spread over the last weeks (and each ticket's events over hours or days after it was
opened) instead of all sharing one minute; and time-ordered ids whose random bits come from the
seed, so the same ``--seed`` gives the same data (round-robin assignment orders agents by id).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import shlex
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs
import click

from entrypoints.cli.admin import open_services
from entrypoints.cli.demo_sample import (
    ADMIN_NAME,
    ASKS,
    CUSTOMER_ANSWERS,
    CUSTOMER_DOMAINS,
    CUSTOMER_FOLLOW_UPS,
    CUSTOMER_RELAPSES,
    CUSTOMERS,
    DEPARTING_AGENT,
    DEPARTMENTS,
    FIRST_REPLIES,
    NOTES,
    PRIORITY_WEIGHTS,
    RESOLUTIONS,
    STATUS_AGE,
    STATUS_WEIGHTS,
    WORDS,
    DepartmentPlan,
)
from entrypoints.cli.main import CliState, cli_errors, fail
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import (
    MessageVisibility,
    Role,
    StaffRole,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.usecases.auth import Register, check_password
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam, UpdateStaff
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTicket,
    OpenTicket,
    PostMessage,
)

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

DEFAULT_PASSWORD = "demo-password-2024"  # noqa: S105 - the documented demo password
DEFAULT_TICKETS = 300
STAFF_DOMAIN = "support.example.com"
TIMELINE_DAYS = 75


# ---------------------------------------------------------------- replaced ports


class DemoClock:
    """A clock the demo sets: the time each action of the sample happens at."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


class SeededIds:
    """Version-7 UUIDs (as ``adapters.system.clock.UuidGenerator`` makes) whose time is the
    demo clock's and whose random bits come from the seed: the same seed, the same ids, and
    ids made later within one moment sort later (a use case's rows keep their order)."""

    def __init__(self, rng: random.Random, clock: DemoClock) -> None:
        self._rng = rng
        self._clock = clock
        self._last_ms = -1
        self._sequence = 0

    def new_id(self) -> uuid.UUID:
        ms = int(self._clock.now().timestamp() * 1000)
        if ms == self._last_ms:
            self._sequence += 1
            if self._sequence > 0xFFF:  # never within one use case; keep the order anyway
                ms, self._sequence = ms + 1, 0
        else:
            self._sequence = self._rng.getrandbits(10)
        self._last_ms = ms
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version 7
        value |= self._sequence << 64
        value |= 0b10 << 62  # RFC 4122 variant
        value |= self._rng.getrandbits(62)
        return uuid.UUID(int=value)


# ---------------------------------------------------------------- the run


@attrs.define
class Person:
    principal: Principal
    name: str
    email: str
    department: str | None = None
    team: str | None = None

    @property
    def first(self) -> str:
        return self.name.split()[0]


def _email(name: str, domain: str) -> str:
    local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
    return f"{local}@{domain}"


def _staff_principal(
    user_id: uuid.UUID,
    role: StaffRole,
    department_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> Principal:
    return Principal(user_id, Role(role.value), department_id, team_id)


@attrs.define
class DemoDepartment:
    plan: DepartmentPlan
    id: uuid.UUID
    team_ids: tuple[uuid.UUID, ...]
    lead: Person
    agents: list[Person]
    team_agents: dict[uuid.UUID, list[Person]]


@attrs.define
class Demo:
    services: Services
    rng: random.Random
    clock: DemoClock
    password: str
    now: datetime
    admin: Person | None = None
    departments: list[DemoDepartment] = attrs.Factory(list)
    customers: list[Person] = attrs.Factory(list)
    people: dict[uuid.UUID, Person] = attrs.Factory(dict)
    departing: Person | None = None
    counts: dict[str, int] = attrs.Factory(dict)
    on_account: Callable[[], None] = lambda: None

    # ------------------------------------------------------------ organization

    def organization(self, step: Callable[[], None] = lambda: None) -> None:
        """Departments, teams, staff and customers; ``step()`` after each account (the slow
        part: each hashes a password)."""
        self.on_account = step
        org = self.services.org
        self.clock.current = self.now - timedelta(days=TIMELINE_DAYS + 10)
        admin = org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                email=_email(ADMIN_NAME, STAFF_DOMAIN),
                display_name=ADMIN_NAME,
                password=self.password,
                role=StaffRole.ADMIN,
            ),
        )
        self.admin = self._person(
            admin.user.id,
            admin.user.display_name,
            admin.user.email,
            _staff_principal(admin.user.id, StaffRole.ADMIN, None, None),
        )
        for plan in DEPARTMENTS:
            department = org.create_department(
                SYSTEM_OPERATOR, CreateDepartment(name=plan.name, auto_assign=plan.auto_assign)
            )
            team_ids = tuple(
                org.create_team(
                    SYSTEM_OPERATOR, CreateTeam(name=name, department_id=department.id)
                ).id
                for name in plan.teams
            )
            lead = self._staff(plan.lead, StaffRole.LEAD, department.id, None, plan.name, None)
            agents = [
                self._staff(
                    name,
                    StaffRole.AGENT,
                    department.id,
                    team_ids[team],
                    plan.name,
                    plan.teams[team],
                )
                for name, team in plan.agents
            ]
            if DEPARTING_AGENT[1] == plan.name:
                name, _, team = DEPARTING_AGENT
                self.departing = self._staff(
                    name,
                    StaffRole.AGENT,
                    department.id,
                    team_ids[team],
                    plan.name,
                    plan.teams[team],
                )
                agents.append(self.departing)
            team_agents = {
                team_id: [a for a in agents if a.principal.team_id == team_id]
                for team_id in team_ids
            }
            self.departments.append(
                DemoDepartment(plan, department.id, team_ids, lead, agents, team_agents)
            )
        for i, name in enumerate(CUSTOMERS):
            email = _email(name, CUSTOMER_DOMAINS[i % len(CUSTOMER_DOMAINS)])
            account = self.services.auth.register(
                Register(email=email, password=self.password, display_name=name)
            )
            self._person(
                account.user.id,
                name,
                email,
                Principal(account.user.id, Role.CUSTOMER),
                customer=True,
            )

    def _staff(
        self,
        name: str,
        role: StaffRole,
        department_id: uuid.UUID,
        team_id: uuid.UUID | None,
        department: str,
        team: str | None,
    ) -> Person:
        profile = self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                email=_email(name, STAFF_DOMAIN),
                display_name=name,
                password=self.password,
                role=role,
                department_id=department_id,
                team_id=team_id,
            ),
        )
        person = self._person(
            profile.user.id,
            name,
            profile.user.email,
            _staff_principal(profile.user.id, role, department_id, team_id),
        )
        person.department, person.team = department, team
        return person

    def _person(
        self,
        user_id: uuid.UUID,
        name: str,
        email: str,
        principal: Principal,
        customer: bool = False,
    ) -> Person:
        person = Person(principal, name, email)
        self.people[user_id] = person
        if customer:
            self.customers.append(person)
        self.on_account()
        return person

    def farewell(self) -> None:
        """The departing agent leaves half-way through the timeline."""
        if self.departing is None:
            return
        self.clock.current = self.now - timedelta(days=TIMELINE_DAYS / 2)
        self.services.org.update_staff(
            SYSTEM_OPERATOR, self.departing.principal.user_id, UpdateStaff(active=False)
        )

    # ------------------------------------------------------------ tickets

    def tickets(self, count: int, step: Callable[[], None] = lambda: None) -> None:
        """``count`` tickets with their stories; ``step()`` after each."""
        start = self.now - timedelta(days=TIMELINE_DAYS)
        span = (self.now - timedelta(minutes=30) - start).total_seconds()
        moments = sorted(start + timedelta(seconds=self.rng.uniform(0, span)) for _ in range(count))
        statuses = list(STATUS_WEIGHTS)[:count]  # every status at least once
        statuses += self.rng.choices(
            list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count - len(statuses)
        )
        # Older tickets tend to be finished, recent ones new: sort by a noisy age rank.
        statuses.sort(key=lambda s: STATUS_AGE[s] + self.rng.uniform(-1.6, 1.6))
        for moment, status in zip(moments, statuses, strict=True):
            self.ticket(moment, status)
            self.counts[status.value] = self.counts.get(status.value, 0) + 1
            step()

    def ticket(self, created: datetime, target: TicketStatus) -> None:
        rng, svc = self.rng, self.services.tickets
        department = rng.choice(self.departments)
        routed = rng.random() > 0.08  # some customers do not pick a department
        customer = rng.choice(self.customers)
        words = {**self._words(created, department), "first": customer.first}
        template = rng.choice(department.plan.templates)
        words["fix"] = template.fix.format_map(words)
        self.clock.current = created
        detail = svc.open_ticket(
            customer.principal,
            OpenTicket(
                subject=template.subject.format_map(words),
                description=f"{template.description.format_map(words)}\n\n{customer.first}",
                priority=rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0],
                department_id=department.id if routed else None,
                attachments=self._attachments(department, words, 0.15),
            ),
        )
        ticket = detail.ticket
        ticket_id = ticket.id
        lead = department.lead

        if target is TicketStatus.NEW:
            if routed and rng.random() < 0.3:
                self._later()
                svc.post_message(lead.principal, ticket_id, self._note(words))
            if routed and not department.plan.auto_assign and rng.random() < 0.3:
                self._later()
                svc.assign(
                    lead.principal,
                    ticket_id,
                    Assign("team", team_id=rng.choice(department.team_ids)),
                )
            return

        if not routed:  # the administrator routes it first
            assert self.admin is not None
            self._later()
            ticket = svc.change(
                self.admin.principal,
                ticket_id,
                ticket.version,
                ChangeTicket(department_id=department.id, change_department=True),
            )
        may_depart = target in {TicketStatus.RESOLVED, TicketStatus.CLOSED} and (
            created < self.now - timedelta(days=TIMELINE_DAYS / 2 + 5)
        )
        agent = self._assign(department, ticket, may_depart)

        if rng.random() < 0.35:
            self._later()
            svc.post_message(agent.principal, ticket_id, self._note(words))
        self._later()
        svc.post_message(
            agent.principal, ticket_id, PostMessage(rng.choice(FIRST_REPLIES).format_map(words))
        )
        if rng.random() < 0.2:
            self._later()
            new_priority = rng.choice(list(TicketPriority))
            self._change(agent, ticket_id, ChangeTicket(priority=new_priority))
        if rng.random() < 0.4:
            self._later()
            svc.post_message(
                customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_FOLLOW_UPS))
            )

        if target is TicketStatus.OPEN:
            if rng.random() < 0.25:  # resolved too early: the customer's reply reopens it
                self._resolve(agent, ticket_id, department, words)
                self._later()
                svc.post_message(
                    customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_RELAPSES))
                )
            return
        if target is TicketStatus.PENDING or rng.random() < 0.4:
            self._later()
            svc.post_message(
                agent.principal, ticket_id, PostMessage(rng.choice(ASKS).format_map(words))
            )
            self._later()
            self._change(agent, ticket_id, ChangeTicket(status=TicketStatus.PENDING))
            if target is TicketStatus.PENDING:
                return
            self._later()  # the customer's answer reopens it
            svc.post_message(
                customer.principal,
                ticket_id,
                PostMessage(
                    rng.choice(CUSTOMER_ANSWERS),
                    attachments=self._attachments(department, words, 0.5),
                ),
            )
        self._resolve(agent, ticket_id, department, words)
        if target is TicketStatus.RESOLVED:
            return

        roll = rng.random()
        if roll < 0.45:
            self._later()
            svc.close(customer.principal, ticket_id)
        elif roll < 0.8:
            self._later()
            svc.close(agent.principal, ticket_id)
        else:  # closed, reopened by the customer, fixed for good
            self._later()
            svc.close(customer.principal, ticket_id)
            self._later()
            svc.reopen(customer.principal, ticket_id)
            self._later()
            svc.post_message(
                customer.principal, ticket_id, PostMessage(rng.choice(CUSTOMER_RELAPSES))
            )
            self._later()
            svc.post_message(agent.principal, ticket_id, self._note(words))
            self._resolve(agent, ticket_id, department, words)
            self._later()
            svc.close(agent.principal, ticket_id)

    def _assign(self, department: DemoDepartment, ticket: Ticket, may_depart: bool) -> Person:
        """Whoever works the ticket, assigned the way a real team would."""
        rng, svc, lead = self.rng, self.services.tickets, department.lead
        active = [a for a in department.agents if a is not self.departing]
        if ticket.assignee_id is not None:  # auto-assigned when it was opened
            return self.people[ticket.assignee_id]
        self._later()
        roll = rng.random()
        if may_depart and self.departing in department.agents and roll < 0.25:
            assert self.departing is not None
            chosen = self.departing
            svc.assign(
                lead.principal, ticket.id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        elif roll < 0.35:
            chosen = rng.choice(active)
            svc.assign(chosen.principal, ticket.id, Assign("self"))
        elif roll < 0.6:
            chosen = rng.choice(active)
            boss = self.admin if rng.random() < 0.2 and self.admin is not None else lead
            svc.assign(
                boss.principal, ticket.id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        elif roll < 0.85:
            team_id = rng.choice(department.team_ids)
            svc.assign(lead.principal, ticket.id, Assign("team", team_id=team_id))
            members = [a for a in department.team_agents[team_id] if a is not self.departing]
            self._later()
            if members and rng.random() < 0.7:
                chosen = rng.choice(members)
                svc.assign(chosen.principal, ticket.id, Assign("self"))
            else:
                chosen = self._auto(lead, ticket.id, department, may_depart)
        else:
            chosen = self._auto(lead, ticket.id, department, may_depart)
        return chosen

    def _auto(
        self, lead: Person, ticket_id: uuid.UUID, department: DemoDepartment, may_depart: bool
    ) -> Person:
        svc = self.services.tickets
        updated = svc.assign(lead.principal, ticket_id, Assign("auto"))
        assert updated.assignee_id is not None
        chosen = self.people[updated.assignee_id]
        if chosen is self.departing and not may_depart:  # they are leaving: hand it on
            chosen = self.rng.choice([a for a in department.agents if a is not self.departing])
            self._later()
            svc.assign(
                lead.principal, ticket_id, Assign("agent", agent_id=chosen.principal.user_id)
            )
        return chosen

    def _resolve(
        self,
        agent: Person,
        ticket_id: uuid.UUID,
        department: DemoDepartment,
        words: dict[str, str],
    ) -> None:
        svc = self.services.tickets
        fix = words["fix"]
        reply = self.rng.choice(RESOLUTIONS).format_map({**words, "fix": fix})
        self._later()
        svc.post_message(agent.principal, ticket_id, PostMessage(reply))
        self._later()
        self._change(agent, ticket_id, ChangeTicket(status=TicketStatus.RESOLVED))

    def _change(self, actor: Person, ticket_id: uuid.UUID, command: ChangeTicket) -> Ticket:
        """A staff change of the version just read, as a client sends its If-Match."""
        return self.services.tickets.change(
            actor.principal, ticket_id, self._version(ticket_id), command
        )

    # ------------------------------------------------------------ helpers

    def _later(self) -> None:
        """Move the clock on: minutes to a day later, never past the real now."""
        room = (self.now - self.clock.current).total_seconds()
        step = min(self.rng.uniform(300, 26 * 3600), room / 3)
        self.clock.current += timedelta(seconds=max(step, 0.001))

    def _version(self, ticket_id: uuid.UUID) -> int:
        return self.services.tickets.get_ticket(SYSTEM_OPERATOR, ticket_id).ticket.version

    def _note(self, words: dict[str, str]) -> PostMessage:
        return PostMessage(self.rng.choice(NOTES).format_map(words), MessageVisibility.INTERNAL)

    def _words(self, created: datetime, department: DemoDepartment) -> dict[str, str]:
        rng = self.rng
        words = {key: rng.choice(values) for key, values in WORDS.items()}
        words.update(
            order=f"HD-{rng.randint(10000, 99999)}",
            invoice=f"INV-{created.year}-{rng.randint(1000, 9999)}",
            amount=f"€{rng.randint(900, 49900) / 100:.2f}",
            date=(created - timedelta(days=rng.randint(1, 12)))
            .strftime("%B %d")
            .replace(" 0", " "),
            error_code=f"E{rng.randint(100, 999)}",
        )
        words["cause"] = department.plan.cause.format_map(words)
        words["missing"] = department.plan.missing
        words["team"] = rng.choice(department.plan.teams)
        return words

    def _attachments(
        self, department: DemoDepartment, words: dict[str, str], chance: float
    ) -> tuple[AttachmentInput, ...]:
        settings = self.services.settings
        allowed = {m.lower() for m in settings.attachment_mime_types}
        files = [f for f in department.plan.attachments if f[1] in allowed]
        if not files or self.rng.random() >= chance:
            return ()
        filename, mime = self.rng.choice(files)
        filename = filename.format_map(words)
        token = f"{self.rng.getrandbits(64):016x}"
        return (
            AttachmentInput(
                url=f"https://files.example.com/demo/{token}/{filename}",
                filename=filename,
                mime_type=mime,
                size_bytes=self.rng.randint(
                    20_000, max(20_000, min(3_000_000, settings.attachment_max_bytes))
                ),
                checksum=f"sha256:{hashlib.sha256(token.encode()).hexdigest()}",
            ),
        )


# ---------------------------------------------------------------- the command


def _emails() -> list[str]:
    names = [ADMIN_NAME, DEPARTING_AGENT[0]]
    for plan in DEPARTMENTS:
        names += [plan.lead, *(name for name, _ in plan.agents)]
    emails = [_email(name, STAFF_DOMAIN) for name in names]
    emails += [
        _email(n, CUSTOMER_DOMAINS[i % len(CUSTOMER_DOMAINS)]) for i, n in enumerate(CUSTOMERS)
    ]
    return emails


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
    for email in _emails():
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
        taken = sorted({p.user.email for p in staff} & set(_emails()))
        if taken:
            fail(f"{taken[0]} already has an account: demo fills only an empty database")
        if uses_memory(settings):
            click.echo("note: memory:// keeps nothing once the command ends", err=True)
        run = Demo(services, rng, clock, password, now)
        accounts = _staff_count()
        label = f"creating the organization, {accounts} staff and {len(CUSTOMERS)} customers"
        with _progress(label, accounts + len(CUSTOMERS)) as step:
            run.organization(step)
        click.echo(
            f"created {len(run.people) - len(run.customers)} staff and "
            f"{len(run.customers)} customers"
        )
        with _progress(f"opening {ticket_count} tickets", ticket_count) as step:
            run.tickets(ticket_count, step)
        click.echo(f"opened {sum(run.counts.values())} tickets")
        run.farewell()
    elapsed = time.monotonic() - started
    _summary(run, seed, password, ticket_count, elapsed, base_url)


def _staff_count() -> int:
    """The sample's staff accounts: the administrator, each department's lead and agents,
    and the agent who leaves."""
    return 1 + sum(1 + len(plan.agents) for plan in DEPARTMENTS) + 1


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
    run: Demo, seed: int, password: str, count: int, elapsed: float, base_url: str
) -> None:
    echo = click.echo
    staff = sum(1 + len(d.agents) for d in run.departments) + 1
    statuses = ", ".join(f"{s.value} {run.counts.get(s.value, 0)}" for s in TicketStatus)
    echo(
        f"done in {elapsed:.1f} s (seed {seed}): {len(run.departments)} departments, "
        f"{2 * len(run.departments)} teams, {staff} staff (1 deactivated), "
        f"{len(run.customers)} customers, {count} tickets ({statuses})"
    )
    first = run.departments[0]
    agent = first.agents[0]
    assert run.admin is not None
    echo("")
    echo(f"Every sample account has the password {password}. For example:")
    rows: Sequence[tuple[str, str, str]] = (
        ("admin", run.admin.email, ""),
        ("lead", first.lead.email, f"({first.plan.name})"),
        ("agent", agent.email, f"({first.plan.name}, team {agent.team})"),
        ("customer", run.customers[0].email, ""),
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
