"""A seeded helpdesk for the schemathesis run: one account per role, ids that exist, no network.

The helpdesk is seeded once into a migrated SQLite file; each stage is a fresh copy of it (one
for the module, one per stateful scenario, so every scenario starts from the same store and
Hypothesis sees the same answers for the same steps). Each role keeps its token
while it still speaks for the account as seeded; when the run logged it out, ended its
sessions, or (through ids it found in lists) deactivated, moved or demoted the account, the
stage puts the account back and logs in again, so a request never fails only because an
earlier one used up the caller. Webhook URLs are checked by the product's own guard with a
stand-in resolver: a few names resolve to public addresses, every other name does not
resolve, and nothing ever asks DNS. Every answer the app gives is recorded, so a test can look
for secrets in all of them afterwards.
"""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import falcon
import sqlalchemy as sa

from adapters.security.tokens import ItsdangerousSigner
from adapters.sql.tables import metadata
from adapters.webhooks.guard import NetworkUrlGuard
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.errors import AuthenticationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.events import UrlGuard
from helpdesk_core.usecases.auth import Login, Register, reset_token
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from helpdesk_core.usecases.tickets import OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "customer", "agent", "lead", "admin")
STAGE_ADDRESS = "schemathesis-stage"  # the client address of the stage's own logins
# Names the stand-in resolver knows, resolving to public addresses; any other name fails.
PUBLIC_NAMES: Mapping[str, Sequence[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "example.com": ["93.184.215.14"],
}


def offline_resolver(table: Mapping[str, Sequence[str]]) -> Any:
    """A getaddrinfo stand-in: answers from ``table``, every other name does not resolve."""

    def resolve(host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]

    return resolve


@attrs.frozen
class Answer:
    """One response of the app, as it left it."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RecordingApp:
    """A WSGI app that hands every request to ``target`` and keeps every answer.

    schemathesis loads the schema through it at import time (from an in-memory helpdesk) and
    the stage fixture points it at the seeded helpdesk for the run.
    """

    def __init__(self, target: falcon.App) -> None:
        self.target = target
        self.answers: list[Answer] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list[Any], *exc: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, *exc)

        chunks = list(self.target(environ, recording_start_response))
        body = b"".join(chunks)
        content_type = next(
            (v for k, v in seen.get("headers", []) if k.lower() == "content-type"), ""
        )
        self.answers.append(
            Answer(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", ""),
                int(str(seen.get("status", "0")).split(" ", 1)[0]),
                content_type,
                body,
            )
        )
        return iter([body])


def schema_app() -> RecordingApp:
    """The app the schema is loaded from: a helpdesk on the in-memory store (nothing kept)."""
    return RecordingApp(create_app(bootstrap(make_settings())))


@attrs.frozen
class Seeded:
    """A role account as seeded: what the stage restores when the run changed it."""

    email: str
    user_id: uuid.UUID
    role: StaffRole | None  # None: a customer
    department_id: uuid.UUID | None
    team_id: uuid.UUID | None


@attrs.frozen
class Seed:
    """A seeded helpdesk kept as a SQLite file, to open as many fresh copies as needed."""

    template: Path
    accounts: dict[str, Seeded]
    ids: dict[str, list[str]]
    org_ids: tuple[uuid.UUID, uuid.UUID]  # the department and team the role accounts live in

    def open(self, folder: Path) -> Stage:
        """A helpdesk over a new copy of the seeded store."""
        target = folder / f"stage-{uuid.uuid4().hex}.db"
        source, copy = sqlite3.connect(self.template), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        services = open_services(f"sqlite:///{target}")
        return Stage(services, create_app(services), self, target)


@attrs.define
class Stage:
    """The app under test, its services, the role accounts and the ids worth aiming at."""

    services: Services
    app: falcon.App
    seed: Seed
    path: Path  # its copy of the seeded store, removed by close()
    tokens: dict[str, str] = attrs.Factory(dict)

    @property
    def accounts(self) -> dict[str, Seeded]:
        return self.seed.accounts

    @property
    def ids(self) -> dict[str, list[str]]:
        return self.seed.ids

    def headers(self, role: str) -> dict[str, str]:
        """A bearer header that speaks for ``role`` as seeded (none for anonymous)."""
        if role == "anonymous":
            return {}
        token = self.tokens.get(role)
        if token is None or not self._speaks_as_seeded(role, token):
            self._restore(role)
            token = self.services.auth.login(
                Login(self.accounts[role].email, PASSWORD, client_address=STAGE_ADDRESS)
            ).access_token
            self.tokens[role] = token
        return {"Authorization": f"Bearer {token}"}

    def issued_tokens(self) -> set[str]:
        return set(self.tokens.values())

    def _speaks_as_seeded(self, role: str, token: str) -> bool:
        try:
            principal = self.services.auth.authenticate(token)
        except AuthenticationFailed:
            return False
        seeded = self.accounts[role]
        return principal.role.value == role and (
            seeded.role is None
            or (principal.department_id, principal.team_id)
            == (seeded.department_id, seeded.team_id)
        )

    def _restore(self, role: str) -> None:
        seeded = self.accounts[role]
        if seeded.role is None:
            return  # nothing in the API changes a customer but the customer
        org, op = self.services.org, SYSTEM_OPERATOR
        department, team = self.seed.org_ids
        if not org.get_department(op, department).is_active:
            org.update_department(op, department, UpdateDepartment(active=True))
        if not org.get_team(op, team).is_active:
            org.update_team(op, team, UpdateTeam(active=True))
        org.update_staff(
            op,
            seeded.user_id,
            UpdateStaff(
                role=seeded.role,
                department_id=seeded.department_id,
                team_id=seeded.team_id,
                active=True,
                change_department=True,
                change_team=True,
            ),
        )

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` as it is now (read straight from the database)."""
        engine = sa.create_engine(self.services.settings.database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.select(metadata.tables[table]))
                return [dict(row._mapping) for row in result]
        finally:
            engine.dispose()

    def photo(self, leave_out: Iterable[str] = ()) -> dict[str, list[str]]:
        """Every table's rows, comparable with ``==`` (to prove a refusal changed nothing)."""
        skip = set(leave_out)
        return {
            table: sorted(repr(sorted(row.items())) for row in self.rows(table))
            for table in metadata.tables
            if table not in skip
        }

    def close(self) -> None:
        self.services.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


@attrs.frozen
class Secrets:
    """What no answer may carry, read from a stage's store."""

    password_hashes: frozenset[str]
    sessions: frozenset[str]  # the server-side handle of every bearer token, in both spellings
    reset_tokens: frozenset[str]  # the tokens (derived again, as the worker does), their hashes
    fingerprints: frozenset[str]  # idempotency fingerprints
    webhook_secrets: frozenset[str]

    @classmethod
    def of(cls, stage: Stage) -> Secrets:
        signer = ItsdangerousSigner(stage.services.settings.secret_keys)
        resets = stage.rows("password_reset_tokens")
        sessions = [row["id"] for row in stage.rows("sessions")]
        return cls(
            frozenset(r["password_hash"] for r in stage.rows("users")),
            frozenset([str(s) for s in sessions] + [s.hex for s in sessions]),
            frozenset(
                [reset_token(signer, r["id"]) for r in resets] + [r["token_hash"] for r in resets]
            ),
            frozenset(r["fingerprint"] for r in stage.rows("idempotency_keys")),
            frozenset(r["secret"] for r in stage.rows("webhooks")),
        )

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(
            *(getattr(self, f.name) | getattr(other, f.name) for f in attrs.fields(Secrets))
        )


def open_services(database_url: str) -> Services:
    """The helpdesk's services over ``database_url``, with the offline URL guard."""
    guard = NetworkUrlGuard((), resolver=offline_resolver(PUBLIC_NAMES))
    return bootstrap(make_settings(database_url=database_url), {UrlGuard: guard})


def seed(template: Path) -> Seed:
    """Seed the migrated SQLite file ``template``: two departments with a team each, one
    account per role (and a spare agent), tickets of the customer, a webhook."""
    services = open_services(f"sqlite:///{template}")
    try:
        return _seed(services, template)
    finally:
        services.close()


def _seed(services: Services, template: Path) -> Seed:
    org, op = services.org, SYSTEM_OPERATOR
    billing = org.create_department(op, CreateDepartment(name="Billing"))
    sales = org.create_department(op, CreateDepartment(name="Sales", auto_assign=True))
    tier1 = org.create_team(op, CreateTeam(name="Tier 1", department_id=billing.id))
    tier2 = org.create_team(op, CreateTeam(name="Tier 2", department_id=sales.id))

    def staff(role: str, email: str, team: uuid.UUID | None) -> Seeded:
        department = None if role == "admin" else billing.id
        profile = org.create_staff(
            op,
            CreateStaff(
                email=email,
                display_name=role.title(),
                password=PASSWORD,
                role=StaffRole(role),
                department_id=department,
                team_id=team,
            ),
        )
        return Seeded(email, profile.user.id, StaffRole(role), department, team)

    accounts = {
        "agent": staff("agent", "agent@stage.example.com", tier1.id),
        "lead": staff("lead", "lead@stage.example.com", None),
        "admin": staff("admin", "admin@stage.example.com", None),
    }
    # A staff member the run may change at will (the role accounts are restored when changed).
    spare = staff("agent", "spare-agent@stage.example.com", tier1.id)
    customer = services.auth.register(
        Register(email="customer@stage.example.com", password=PASSWORD, display_name="Cus")
    )
    accounts["customer"] = Seeded(customer.user.email, customer.user.id, None, None, None)

    as_customer = services.auth.authenticate(
        services.auth.login(
            Login(customer.user.email, PASSWORD, client_address=STAGE_ADDRESS)
        ).access_token
    )
    tickets = [
        services.tickets.open_ticket(
            as_customer,
            OpenTicket(subject=f"Ticket {n}", description="It broke.", department_id=dept),
            None,
        ).ticket
        for n, dept in enumerate((billing.id, billing.id, None))
    ]
    services.tickets.post_message(as_customer, tickets[0].id, PostMessage("More detail."))
    hook = services.webhooks.create(
        op, CreateWebhook(url="https://hooks.example.com/helpdesk", events=("*",))
    )
    ids = {
        "department_id": [str(billing.id), str(sales.id)],
        "team_id": [str(tier1.id), str(tier2.id)],
        "staff_id": [str(spare.user_id)],
        "agent_id": [str(spare.user_id), str(accounts["agent"].user_id)],
        "assignee_id": [str(accounts["agent"].user_id), "me"],
        "ticket_id": [str(t.id) for t in tickets],
        "webhook_id": [str(hook.webhook.id)],
    }
    return Seed(template, accounts, ids, (billing.id, tier1.id))
