"""Ticket scope over HTTP: how the edge answers for a ticket outside the caller's scope.

The rule itself (a ticket outside the scope does not exist, for every use case, role and
department) is the use cases' and is tested there (tests/unit/tickets). Here, on every store,
a caller of each kind calls every single-ticket route on a ticket outside their scope with a
request that would succeed if scope were not enforced (the control test below proves it on
the owners' side): a customer every customer route, an agent every staff route, and a lead
the routes where a role rule answers an agent first. Each call is a 404 problem, the same
answer as for a ticket that does not exist, and the store is unchanged; a 403 only where the
role rule answers. The lists and the queue counts answer within the scope.

Two departments, Alpha and Bravo, each with a team, a lead, an agent (in the team) and a
customer whose tickets are routed there; Alpha has a second customer, Cara.

One populated store per backend serves every case (as in test_bad_input): each case asserts
that nothing changed, so the stage stays valid for the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import falcon.testing
import pytest
import sqlalchemy as sa

from tests.conftest import BACKENDS
from tests.http.conftest import Helpdesk, Person, make_helpdesk
from tests.http.test_bad_input import PROBLEM, snapshot

API = "/api/v1"
SIDES = ("alpha", "bravo")
OTHER = {"alpha": "bravo", "bravo": "alpha"}
# A word only the tickets of each side contain (subject and description), for ``q``.
WORD = {"alpha": "zeppelin", "bravo": "quokka"}


@attrs.frozen
class Side:
    """One department with its team and people, and its customer's tickets."""

    department: str
    team: str
    lead: Person
    agent: Person
    customer: Person
    live: str  # a new ticket (status "new"), routed to the department
    closed: str  # a ticket its customer closed
    version: int  # the live ticket's version, for If-Match


@attrs.define
class Stage:
    desk: Helpdesk
    sides: dict[str, Side]
    cara: Person  # a second customer of Alpha
    cara_ticket: str
    engine: sa.Engine | None = None
    baseline: dict[str, Any] = attrs.Factory(dict)

    def actor(self, key: str) -> Person:
        """``alpha.agent``, ``bravo.customer``, ``cara``, ..."""
        if key == "cara":
            return self.cara
        side, role = key.split(".")
        person: Person = getattr(self.sides[side], role)
        return person

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self.desk, engine=self.engine)

    def assert_unchanged(self) -> None:
        """The store equals the photo taken when the stage was built (or after the last
        case that broke the rule, so that one failure does not fail every later case)."""
        now = self.snapshot()
        changed = now != self.baseline
        self.baseline = now
        assert not changed, "an out-of-scope call changed the store"

    def call(
        self,
        method: str,
        path: str,
        who: Person,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> falcon.testing.Result:
        kwargs: dict[str, Any] = {"headers": who.headers | (headers or {}), "params": params}
        if body is not None:
            kwargs["json"] = body
        return self.desk.client.simulate_request(method, f"{API}{path}", **kwargs)


def _open(desk: Helpdesk, who: Person, side: str, department: str) -> str:
    result = desk.post(
        f"{API}/tickets",
        who,
        json={
            "subject": f"{side.title()} {WORD[side]} printer jammed",
            "description": f"The {WORD[side]} printer on floor 3 jams on every page.",
            "department_id": department,
        },
    )
    assert result.status_code == 201, result.text
    ticket_id: str = result.json["id"]
    return ticket_id


def build_stage(desk: Helpdesk) -> Stage:
    sides = {}
    cara, cara_ticket = None, None
    for side in SIDES:
        department = desk.department(side.title())
        team = desk.team(department, f"{side.title()} Tier 1")
        lead = desk.staff("lead", department)
        agent = desk.staff("agent", department, team)
        customer = desk.customer(f"{side}-customer")
        live = _open(desk, customer, side, department)
        closed = _open(desk, customer, side, department)
        result = desk.post(f"{API}/tickets/{closed}/close", customer)
        assert result.status_code == 200, result.text
        version = desk.get(f"{API}/staff/tickets/{live}", agent).json["version"]
        sides[side] = Side(department, team, lead, agent, customer, live, closed, version)
        if side == "alpha":
            cara = desk.customer("cara")
            cara_ticket = _open(desk, cara, side, department)
    assert cara is not None
    assert cara_ticket is not None
    url = desk.services.settings.database_url
    engine = None if url.startswith("memory:") else sa.create_engine(url, pool_size=1)
    stage = Stage(desk, sides, cara, cara_ticket, engine)
    stage.baseline = stage.snapshot()
    return stage


# ------------------------------------------------------------------ the cases


@attrs.frozen
class Route:
    """A single-ticket route and a request to it that succeeds inside scope."""

    name: str
    method: str
    path: str  # with {id} for the ticket
    kind: str  # which ticket of the target side: "live" or "closed"
    body: Callable[[Side], dict[str, Any] | None] = lambda side: None
    if_match: bool = False
    leads_only: bool = False  # a role rule refuses agents before any ticket is looked at


CUSTOMER_ROUTES = [
    Route("detail", "GET", "/tickets/{id}", "live"),
    Route("messages", "GET", "/tickets/{id}/messages", "live"),
    Route("reply", "POST", "/tickets/{id}/messages", "live", lambda s: {"body": "Any news?"}),
    Route("close", "POST", "/tickets/{id}/close", "live"),
    Route("reopen", "POST", "/tickets/{id}/reopen", "closed"),
]
STAFF_ROUTES = [
    Route("detail", "GET", "/staff/tickets/{id}", "live"),
    Route(
        "patch",
        "PATCH",
        "/staff/tickets/{id}",
        "live",
        lambda s: {"status": "open", "priority": "urgent", "team_id": s.team},
        if_match=True,
    ),
    Route("assign-self", "POST", "/staff/tickets/{id}/assign", "live", lambda s: {"mode": "self"}),
    Route(
        "assign-agent",
        "POST",
        "/staff/tickets/{id}/assign",
        "live",
        lambda s: {"mode": "agent", "agent_id": s.agent.id},
        leads_only=True,
    ),
    Route(
        "assign-team",
        "POST",
        "/staff/tickets/{id}/assign",
        "live",
        lambda s: {"mode": "team", "team_id": s.team},
        leads_only=True,
    ),
    Route(
        "assign-auto",
        "POST",
        "/staff/tickets/{id}/assign",
        "live",
        lambda s: {"mode": "auto"},
        leads_only=True,
    ),
    Route(
        "reply",
        "POST",
        "/staff/tickets/{id}/messages",
        "live",
        lambda s: {"body": "We are on it."},
    ),
    Route(
        "note",
        "POST",
        "/staff/tickets/{id}/messages",
        "live",
        lambda s: {"body": "Grumpy customer.", "visibility": "internal"},
    ),
    Route("history", "GET", "/staff/tickets/{id}/history", "live"),
]


@attrs.frozen
class Case:
    """``actor`` calls ``route`` on a ticket of ``target`` (a side), ``owner``'s."""

    actor: str
    route: Route
    target: str
    owner: str  # who may make this very call: the in-scope counterpart of ``actor``

    @property
    def id(self) -> str:
        return f"{self.actor} -> {self.owner}'s {self.route.kind}: {self.route.name}"

    def ticket(self, stage: Stage) -> str:
        if self.owner == "cara":
            return stage.cara_ticket
        return str(getattr(stage.sides[self.target], self.route.kind))

    def request(self, stage: Stage, ticket_id: str | None = None) -> dict[str, Any]:
        side = stage.sides[self.target]
        route = self.route
        return {
            "method": route.method,
            "path": route.path.format(id=ticket_id or self.ticket(stage)),
            "body": route.body(side),
            "headers": {"If-Match": f'"{side.version}"'} if route.if_match else None,
        }


CASES = (
    [Case("alpha.customer", route, "bravo", "bravo.customer") for route in CUSTOMER_ROUTES]
    + [Case("alpha.agent", route, "bravo", "bravo.agent") for route in STAFF_ROUTES]
    # Past the role rule that answers an agent first, a lead finds no ticket either.
    + [
        Case("alpha.lead", route, "bravo", "bravo.lead")
        for route in STAFF_ROUTES
        if route.leads_only
    ]
)


def expected_status(case: Case) -> int:
    """404: the ticket is out of scope. 403 only where a role rule (assigning to others is
    for leads) refuses the agent before any ticket is looked at, whatever the ticket."""
    return 403 if case.route.leads_only and case.actor.endswith(".agent") else 404


# ------------------------------------------------------------------ the stage


@pytest.fixture(scope="module", params=BACKENDS)
def shared_stage(request: pytest.FixtureRequest) -> Iterator[Stage]:
    """One populated helpdesk per store for every case (each asserts it changed nothing)."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
    else:
        url = request.getfixturevalue("postgres_databases").fresh()
    desk, services = make_helpdesk(database_url=url)
    stage = build_stage(desk)
    yield stage
    if stage.engine is not None:
        stage.engine.dispose()
    services.close()


@pytest.fixture
def fresh_stage() -> Iterator[Stage]:
    """A populated in-memory helpdesk of its own, for calls that change it."""
    desk, services = make_helpdesk()
    yield build_stage(desk)
    services.close()


# ------------------------------------------------------------------ single tickets


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_an_out_of_scope_ticket_does_not_exist_and_nothing_changes(
    shared_stage: Stage, case: Case
) -> None:
    stage = shared_stage
    who = stage.actor(case.actor)
    result = stage.call(who=who, **case.request(stage))
    status = expected_status(case)
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    assert "etag" not in result.headers
    # No existence leak: the answer is the one for a ticket that was never there.
    missing = stage.call(who=who, **case.request(stage, str(uuid.uuid4())))
    assert (missing.status_code, missing.json["title"], missing.json["detail"]) == (
        status,
        result.json["title"],
        result.json["detail"],
    )
    stage.assert_unchanged()


CONTROLS = list({(c.owner.split(".")[-1], c.route.name, c.route.path): c for c in CASES}.values())


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CONTROLS])
def test_the_same_calls_succeed_inside_scope(fresh_stage: Stage, case: Case) -> None:
    """The refusals above are about scope: the owners' side makes the very same calls."""
    result = fresh_stage.call(who=fresh_stage.actor(case.owner), **case.request(fresh_stage))
    if expected_status(case) == 403:  # agents may not assign to others anywhere
        assert result.status_code == 403, result.text
    else:
        assert result.status_code in {200, 201}, result.text


# ------------------------------------------------------------------ lists


def _ids(result: falcon.testing.Result) -> set[str]:
    assert result.status_code == 200, result.text
    return {t["id"] for t in result.json["items"]}


def _tickets_of(stage: Stage, side: str) -> set[str]:
    tickets = {stage.sides[side].live, stage.sides[side].closed}
    return tickets | ({stage.cara_ticket} if side == "alpha" else set())


def test_the_queue_never_shows_the_other_departments_tickets(shared_stage: Stage) -> None:
    stage, side = shared_stage, "alpha"  # every side and role: tests/unit/tickets
    who = stage.actor(f"{side}.agent")
    own, others = _tickets_of(stage, side), _tickets_of(stage, OTHER[side])

    def listed(**params: str) -> set[str]:
        return _ids(stage.call("GET", "/staff/tickets", who, params=params or None))

    assert listed() == own
    assert listed(q=WORD[side]) == own  # the search works ...
    assert listed(q=WORD[OTHER[side]]) == set()  # ... but not across departments
    assert listed(q=f"{OTHER[side].title()} printer jammed", sort="relevance") == set()
    assert listed(department_id=stage.sides[OTHER[side]].department) == set()
    assert listed(team_id=stage.sides[OTHER[side]].team) == set()
    assert listed(status="closed") == {stage.sides[side].closed}
    assert listed(assignee_id=stage.sides[OTHER[side]].agent.id) == set()
    assert not listed(limit="1", sort="created") & others
    stage.assert_unchanged()


def test_a_customer_lists_only_their_own_tickets(shared_stage: Stage) -> None:
    stage = shared_stage
    who = stage.actor("cara")  # she shares Alpha with its customer, not their tickets
    own = {stage.cara_ticket}
    assert _ids(stage.call("GET", "/tickets", who)) == own
    assert _ids(stage.call("GET", "/tickets", who, params={"status": "new,closed"})) == own
    stage.assert_unchanged()


def test_queue_counts_of_the_other_department_do_not_exist(shared_stage: Stage) -> None:
    stage, side = shared_stage, "alpha"  # every side and role: tests/unit/tickets
    who = stage.actor(f"{side}.agent")
    url = "/staff/queue-counts"
    own = stage.call("GET", url, who, params={"department_id": stage.sides[side].department})
    assert own.status_code == 200, own.text
    assert own.json["by_status"]["new"] == 2  # the live ticket and Cara's
    other = stage.call(
        "GET", url, who, params={"department_id": stage.sides[OTHER[side]].department}
    )
    missing = stage.call("GET", url, who, params={"department_id": str(uuid.uuid4())})
    assert other.status_code == missing.status_code == 404, other.text
    assert other.headers["content-type"] == PROBLEM
    assert other.json["detail"] == missing.json["detail"]
    stage.assert_unchanged()
