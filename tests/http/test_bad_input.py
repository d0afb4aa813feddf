"""Bad input on every route of identity, organization, tickets and webhooks: a precise refusal,
no change.

Each case sends one malformed or forbidden request and expects an exact status, answered as
problem details (``application/problem+json``); a 422 must name the offending field(s). The
store is photographed before and after: a refused request leaves every table as it was. The
cases run on every store (memory, SQLite, PostgreSQL).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import falcon.testing
import pytest
import sqlalchemy as sa

from adapters.memory.mail import MemoryMailer
from adapters.sql.tables import metadata
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app, openapi_document
from entrypoints.http.pagination import encode_cursor
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.usecases.auth import Register
from tests.conftest import BACKENDS, make_settings
from tests.http.bad_input_cases import (
    ABSENT,
    AGENT,
    BILLING,
    BODY_ROUTES,
    CLOSED,
    CUSTOMER,
    DONE,
    FORGOT,
    HOOK_URL,
    INVOICES,
    LISTS,
    NEW_PASSWORD,
    OFFHOOK,
    RANDOM,
    REFUNDS,
    RESET,
    SALES,
    STAFF_TICKETS,
    TAKEN_EMAIL,
    TEAMS,
    TICKET,
    TIER1,
    WEBHOOK,
    Case,
)
from tests.http.bad_input_ticket_cases import CASES, TICKET_ROUTES, WEBHOOK_ROUTES
from tests.http.conftest import PASSWORD, Helpdesk, Person, make_helpdesk

PROBLEM = "application/problem+json"
ADMIN = "/api/v1/admin"

# ------------------------------------------------------------------ the store, photographed


def snapshot(
    helpdesk: Helpdesk, ignore: frozenset[str] = frozenset(), engine: sa.Engine | None = None
) -> dict[str, Any]:
    """Everything the store holds, comparable with ``==``.

    Memory: a copy of every table of the MemoryState. SQL: the row count and the full rows
    (sorted) of every table, read through ``engine`` or a throwaway one. ``ignore`` names
    tables to leave out (a refused login is *meant* to leave a failed-attempt record).
    """
    url = helpdesk.services.settings.database_url
    if url.startswith("memory:"):
        state = helpdesk.services.uow.state  # type: ignore[attr-defined]
        return {
            field.name: dict(getattr(state, field.name))
            for field in attrs.fields(type(state))
            if field.name not in ignore
        }
    own = engine is None
    engine = engine or sa.create_engine(url, poolclass=sa.pool.NullPool)
    photo: dict[str, Any] = {}
    try:
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                if table.name in ignore:
                    continue
                rows = connection.execute(sa.select(table)).all()
                photo[f"{table.name}: rows"] = len(rows)
                photo[table.name] = sorted((tuple(row) for row in rows), key=repr)
    finally:
        if own:
            engine.dispose()
    return photo


# ------------------------------------------------------------------ the stage


@attrs.define
class Stage:
    """A populated helpdesk: who calls, the ids the markers stand for, and its store."""

    desk: Helpdesk
    callers: dict[str, Person | None]
    ids: dict[str, str]
    engine: sa.Engine | None = None  # for snapshots of a SQL store
    photo: dict[str, Any] | None = None  # the store as the last case left it

    def fill(self, value: Any) -> Any:
        """``value`` with every marker replaced by its id (in strings, lists and dicts)."""
        if isinstance(value, str):
            return re.sub(r"<[a-z0-9]+>", lambda m: self.ids[m.group(0)], value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def send(self, case: Case) -> falcon.testing.Result:
        caller = self.callers[case.who]
        headers = dict(caller.headers) if caller else {}
        headers |= {name: self.fill(value) for name, value in (case.headers or {}).items()}
        kwargs: dict[str, Any] = {"params": self.fill(case.params)}
        if case.raw is not None:
            headers["Content-Type"] = case.content_type
            kwargs["body"] = case.raw
        elif case.json is not ABSENT:
            kwargs["json"] = self.fill(case.json)
        return self.desk.client.simulate_request(
            case.method, self.fill(case.path), headers=headers, **kwargs
        )

    def snapshot(self, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
        return snapshot(self.desk, ignore, self.engine)

    @property
    def backend(self) -> str:
        """memory, sqlite or postgres."""
        url = self.desk.services.settings.database_url
        if url.startswith("memory:"):
            return "memory"
        return "sqlite" if url.startswith("sqlite") else "postgres"

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def build_stage(desk: Helpdesk) -> Stage:
    """Departments Billing (teams Refunds, Invoices; an agent), Sales (team Tier 1) and a
    deactivated one, Closed; an administrator, and a customer registered as TAKEN_EMAIL with
    two tickets routed to Billing, a new one and a closed one; and two webhooks (to a public
    address), one of them disabled."""
    billing = desk.department("Billing")
    sales = desk.department("Sales")
    closed = desk.department("Closed")
    admin = desk.staff("admin")
    result = desk.patch(f"{ADMIN}/departments/{closed}", admin, json={"active": False})
    assert result.status_code == 200, result.text
    refunds = desk.team(billing, "Refunds")
    invoices = desk.team(billing, "Invoices")
    tier1 = desk.team(sales, "Tier 1")
    agent = desk.staff("agent", billing, refunds)
    desk.services.auth.register(
        Register(email=TAKEN_EMAIL, password=PASSWORD, display_name="Taken")
    )
    customer = desk.person(TAKEN_EMAIL)

    def open_ticket(department_id: str) -> dict[str, Any]:
        body = {"subject": "Printer", "description": "It jams.", "department_id": department_id}
        result = desk.post("/api/v1/tickets", customer, json=body)
        assert result.status_code == 201, result.text
        ticket: dict[str, Any] = result.json
        return ticket

    ticket = open_ticket(billing)
    assert (ticket["version"], ticket["assignee"]) == (1, None)
    done = open_ticket(billing)["id"]
    closed_done = desk.post(f"/api/v1/tickets/{done}/close", customer)
    assert closed_done.status_code == 200, closed_done.text

    def add_webhook(description: str) -> str:
        body = {"url": HOOK_URL, "events": ["*"], "description": description}
        result = desk.post(f"{ADMIN}/webhooks", admin, json=body)
        assert result.status_code == 201, result.text
        webhook_id: str = result.json["id"]
        return webhook_id

    webhook = add_webhook("Everything")
    offhook = add_webhook("Switched off")
    result = desk.patch(f"{ADMIN}/webhooks/{offhook}", admin, json={"active": False})
    assert result.status_code == 200, result.text
    assert not result.json["active"]
    ids = {
        BILLING: billing,
        SALES: sales,
        CLOSED: closed,
        REFUNDS: refunds,
        INVOICES: invoices,
        TIER1: tier1,
        AGENT: agent.id,
        CUSTOMER: customer.id,
        RANDOM: str(uuid.uuid4()),
        TICKET: ticket["id"],
        DONE: done,
        WEBHOOK: webhook,
        OFFHOOK: offhook,
    }
    url = desk.services.settings.database_url
    engine = None if url.startswith("memory:") else sa.create_engine(url, pool_size=1)
    callers = {"anonymous": None, "customer": customer, "agent": agent, "admin": admin}
    return Stage(desk, callers, ids, engine)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_stage(request: pytest.FixtureRequest) -> Iterator[Stage]:
    """One populated helpdesk per store for the whole table of cases.

    Sharing is sound because every case asserts it changed nothing (a case that does change
    the store fails itself); a fresh store per case cost ~0.3 s each on PostgreSQL.
    """
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
    else:
        url = request.getfixturevalue("postgres_databases").fresh()
    desk, services = make_helpdesk(database_url=url)
    stage = build_stage(desk)
    yield stage
    stage.close()
    services.close()


@pytest.fixture
def stage(sql_helpdesk: Helpdesk) -> Iterator[Stage]:
    """A populated helpdesk of its own, for cases that may change what they touch."""
    stage = build_stage(sql_helpdesk)
    yield stage
    stage.close()


# ------------------------------------------------------------------ the tests


def assert_refused(result: falcon.testing.Result, case: Case) -> None:
    assert result.status_code == case.status, result.text
    assert result.headers["content-type"] == PROBLEM, result.text
    body = result.json
    assert body["status"] == case.status
    if case.status == 422:
        named = [error["field"] for error in body["errors"]]
        assert sorted(set(named)) == sorted(case.fields), body
        assert all(error["message"] for error in body["errors"])


def refused_without_change(stage: Stage, case: Case) -> None:
    ignore = frozenset({"rate_limit_events"}) if case.counts_as_failed_login else frozenset()
    # Only the cases touch a stage, so the photo taken after one case is the store before
    # the next: one photograph per case instead of two.
    before = stage.photo if stage.photo is not None and not ignore else stage.snapshot(ignore)
    stage.photo = None  # until this case is photographed after itself
    result = stage.send(case)
    after = stage.snapshot(ignore)
    stage.photo = None if ignore else after
    assert_refused(result, case)
    assert after == before, "a refused request changed the store"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input_is_refused_precisely_and_changes_nothing(
    shared_stage: Stage, case: Case, request: pytest.FixtureRequest
) -> None:
    if case.bug and shared_stage.backend in case.bug_on:
        # A known bug may change the shared store: harmless, as every case photographs it
        # before and after itself.
        request.applymarker(pytest.mark.xfail(strict=True, reason=case.bug))
    refused_without_change(shared_stage, case)


def test_the_same_team_name_is_fine_in_another_department(stage: Stage) -> None:
    admin = stage.callers["admin"]
    result = stage.desk.post(
        TEAMS, admin, json={"name": "REFUNDS", "department_id": stage.ids[SALES]}
    )
    assert result.status_code == 201, result.text
    assert (result.json["name"], result.json["department_id"]) == ("REFUNDS", stage.ids[SALES])


def test_a_department_may_change_the_case_of_its_own_name(stage: Stage) -> None:
    admin = stage.callers["admin"]
    result = stage.desk.patch(
        f"{ADMIN}/departments/{stage.ids[BILLING]}", admin, json={"name": "BILLING"}
    )
    assert result.status_code == 200, result.text
    assert result.json["name"] == "BILLING"


def test_the_cases_cover_every_route_with_a_body_or_query() -> None:
    touched = {(case.method, case.path) for case in CASES}
    for _, method, path, _, _ in BODY_ROUTES:
        assert (method, path) in touched
    assert {path for _, path, _ in LISTS} <= {path for _, path in touched}
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


def test_the_cases_cover_every_ticket_route() -> None:
    """Every documented ticket route has cases: its single-ticket ids, body or query."""
    documented = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        if "/tickets" in path or "/queue-counts" in path
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    }
    by_id = {(m, p.format("{ticket_id}")) for _, m, p, _, _, _ in TICKET_ROUTES}
    touched = {(case.method, case.path) for case in CASES}
    assert documented <= by_id | touched, sorted(documented - by_id - touched)


def test_the_cases_cover_every_webhook_route() -> None:
    """Every documented webhook route has cases: its ids, its body or its query."""
    documented = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        if "/webhooks" in path
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    }
    by_id = {(m, p.format("{webhook_id}")) for _, m, p, _ in WEBHOOK_ROUTES}
    touched = {(case.method, case.path) for case in CASES}
    assert documented <= by_id | touched, sorted(documented - by_id - touched)


# Timestamps that are valid ISO 8601 with an offset, but whose UTC equivalent falls outside
# the years 1-9999: an answer (all tickets, none, or a 422 naming the parameter), never a 500.
EDGE_OF_THE_CALENDAR = {
    "created-from-year-1": {"created_from": "0001-01-01T00:00:00+14:00"},
    "created-to-year-9999": {"created_to": "9999-12-31T23:59:59-14:00"},
    "cursor-year-1": {
        "sort": "created",
        "cursor": encode_cursor(["0001-01-01T00:00:00+14:00", str(uuid.UUID(int=1))]),
    },
}


@pytest.mark.parametrize("params", EDGE_OF_THE_CALENDAR.values(), ids=EDGE_OF_THE_CALENDAR)
def test_timestamps_at_the_edge_of_the_calendar_are_answered(
    shared_stage: Stage, params: dict[str, str], request: pytest.FixtureRequest
) -> None:
    shared_stage.photo = None  # not a refusal case: photograph afresh
    before = shared_stage.snapshot()
    result = shared_stage.desk.get(STAFF_TICKETS, shared_stage.callers["agent"], params=params)
    assert result.status_code == 422, result.text  # no store can hold such a time
    assert {e["field"] for e in result.json["errors"]} <= set(params), result.text
    assert shared_stage.snapshot() == before


# ------------------------------------------------------------------ a reset token in hand


@pytest.fixture
def mailbox() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def mail_stage(backend_url: str, mailbox: MemoryMailer) -> Iterator[Stage]:
    """A stage whose mail is kept, so a real reset token can be used badly."""
    services = bootstrap(make_settings(database_url=backend_url), {Mailer: mailbox})
    stage = build_stage(Helpdesk(services, falcon.testing.TestClient(create_app(services))))
    yield stage
    stage.close()
    services.close()


@pytest.mark.parametrize(
    ("new_password", "status"),
    [("short", 422), ("Xy1 " * 64 + "z", 422), (12345678901, 422), ("taken-password", 422)],
    ids=["short", "257-characters", "number", "contains-the-email"],
)
def test_a_refused_reset_keeps_the_token_usable(
    mail_stage: Stage, mailbox: MemoryMailer, new_password: object, status: int
) -> None:
    desk = mail_stage.desk
    assert desk.post(FORGOT, json={"email": TAKEN_EMAIL}).status_code == 202
    worker = desk.services.new_worker()  # the reset mail goes out through the outbox
    while worker.process_events():
        pass
    token = re.search(r"token=([A-Za-z0-9_-]+)", mailbox.sent[-1].body)
    assert token, mailbox.sent[-1].body
    before = mail_stage.snapshot()
    result = desk.post(RESET, json={"token": token.group(1), "new_password": new_password})
    assert result.status_code == status
    assert result.headers["content-type"] == PROBLEM
    assert [e["field"] for e in result.json["errors"]] == ["new_password"]
    assert mail_stage.snapshot() == before
    ok = desk.post(RESET, json={"token": token.group(1), "new_password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text
