"""Ticket scope through the library: acting as someone sees what they see over HTTP.

The mirror of tests/http/test_ticket_scope.py, through ``helpdesk.Helpdesk.as_user`` instead
of HTTP, on every store: the users are the host program's own (``ensure_customer``,
``ensure_staff``: no passwords), and each acts on a ticket outside their scope with a call that
succeeds inside it (the controls below prove it). Every such call raises ``NotFound`` with the
very message a ticket that never existed gets (no existence leak), the store is unchanged, and
``PermissionDenied`` comes only where a role rule answers before any ticket is looked at
(assigning to others is for leads). Lists and queue counts stay within the scope.

Two departments, Alpha and Bravo, each with a team, a lead, an agent (in the team) and a
customer whose tickets are routed there; Alpha has a second customer, Cara.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

import helpdesk
from helpdesk import Acting, StaffRole
from tests.conftest import BACKENDS, TEST_SECRET

SIDES = ("alpha", "bravo")
OTHER = {"alpha": "bravo", "bravo": "alpha"}
WORD = {"alpha": "zeppelin", "bravo": "quokka"}  # a word only each side's tickets contain


def open_desk(url: str) -> helpdesk.Helpdesk:
    return helpdesk.open(
        helpdesk.Settings(database_url=url, secret_keys=(TEST_SECRET,), auto_migrate=True)
    )


@attrs.frozen
class Side:
    department: uuid.UUID
    team: uuid.UUID
    lead: Acting
    agent: Acting
    customer: Acting
    live: uuid.UUID  # a new ticket routed to the department
    closed: uuid.UUID  # a ticket its customer closed
    version: int  # the live ticket's version


@attrs.define
class Stage:
    desk: helpdesk.Helpdesk
    sides: dict[str, Side]
    cara: Acting
    cara_ticket: uuid.UUID
    baseline: list[dict[str, Any]] = attrs.Factory(list)

    def actor(self, key: str) -> Acting:
        """``alpha.agent``, ``bravo.customer``, ``cara``."""
        if key == "cara":
            return self.cara
        side, role = key.split(".")
        acting: Acting = getattr(self.sides[side], role)
        return acting

    def snapshot(self) -> list[dict[str, Any]]:
        """Every ticket as the system sees it, with its conversation and history."""
        system = self.desk.system
        page = system.list_tickets(helpdesk.TicketQuery(limit=100))
        return [
            helpdesk.document(system.get_ticket(view.ticket.id))
            | {"history": [helpdesk.document(h) for h in system.ticket_history(view.ticket.id)]}
            for view in page.items
        ]

    def assert_unchanged(self) -> None:
        now = self.snapshot()
        changed = now != self.baseline
        self.baseline = now
        assert not changed, "an out-of-scope call changed the store"


def _open(customer: Acting, side: str, department: uuid.UUID) -> uuid.UUID:
    command = helpdesk.OpenTicket(
        f"{side.title()} {WORD[side]} printer jammed",
        f"The {WORD[side]} printer on floor 3 jams on every page.",
        department_id=department,
    )
    return customer.open_ticket(command).ticket.id


def _staff(
    desk: helpdesk.Helpdesk,
    side: str,
    role: StaffRole,
    department: uuid.UUID,
    team: uuid.UUID | None = None,
) -> Acting:
    key = f"{side}-{role.value}"
    made = desk.ensure_staff(key, f"{key}@example.com", key.title(), role, department, team)
    return desk.as_user(made)


def build_stage(desk: helpdesk.Helpdesk) -> Stage:
    sides = {}
    system = desk.system
    for side in SIDES:
        department = system.create_department(helpdesk.CreateDepartment(side.title())).id
        team = system.create_team(helpdesk.CreateTeam(f"{side.title()} Tier 1", department)).id

        lead = _staff(desk, side, StaffRole.LEAD, department)
        agent = _staff(desk, side, StaffRole.AGENT, department, team)
        customer = desk.as_user(
            desk.ensure_customer(f"{side}-customer", f"{side}@example.com", side.title())
        )
        live, closed = _open(customer, side, department), _open(customer, side, department)
        customer.close_ticket(closed)
        version = agent.get_ticket(live).ticket.version
        sides[side] = Side(department, team, lead, agent, customer, live, closed, version)
    cara = desk.as_user(desk.ensure_customer("cara", "cara@example.com", "Cara"))
    stage = Stage(desk, sides, cara, _open(cara, "alpha", sides["alpha"].department))
    stage.baseline = stage.snapshot()
    return stage


# ------------------------------------------------------------------ the cases

Call = Callable[[Acting, uuid.UUID, Side], object]


@attrs.frozen
class Operation:
    """A single-ticket method and a call of it that succeeds inside scope."""

    name: str
    kind: str  # which ticket of the target side: "live" or "closed"
    call: Call
    leads_only: bool = False  # a role rule refuses agents before any ticket is looked at


def _change(actor: Acting, ticket: uuid.UUID, side: Side) -> object:
    command = helpdesk.ChangeTicket(
        status=helpdesk.TicketStatus.OPEN,
        priority=helpdesk.TicketPriority.URGENT,
        team_id=side.team,
        change_team=True,
    )
    return actor.change_ticket(ticket, side.version, command)


def _by_number(actor: Acting, ticket: uuid.UUID, side: Side) -> object:
    """By the number the ticket has (a made-up id gets a made-up number: never used)."""
    number = NUMBERS.get(ticket, 2**62)
    return actor.get_ticket_by_number(number)


NUMBERS: dict[uuid.UUID, int] = {}  # ticket id -> number, filled as the stage is built

CUSTOMER_OPERATIONS = [
    Operation("get_ticket", "live", lambda a, t, s: a.get_ticket(t)),
    Operation("get_ticket_by_number", "live", _by_number),
    Operation("messages", "live", lambda a, t, s: a.messages(t)),
    Operation(
        "post_message", "live", lambda a, t, s: a.post_message(t, helpdesk.PostMessage("News?"))
    ),
    Operation("close_ticket", "live", lambda a, t, s: a.close_ticket(t)),
    Operation("reopen_ticket", "closed", lambda a, t, s: a.reopen_ticket(t)),
]
STAFF_OPERATIONS = [
    Operation("get_ticket", "live", lambda a, t, s: a.get_ticket(t)),
    Operation("get_ticket_by_number", "live", _by_number),
    Operation("change_ticket", "live", _change),
    Operation("assign-self", "live", lambda a, t, s: a.assign_ticket(t, helpdesk.Assign("self"))),
    Operation(
        "assign-agent",
        "live",
        lambda a, t, s: a.assign_ticket(t, helpdesk.Assign("agent", agent_id=s.agent.user_id)),
        leads_only=True,
    ),
    Operation(
        "assign-team",
        "live",
        lambda a, t, s: a.assign_ticket(t, helpdesk.Assign("team", team_id=s.team)),
        leads_only=True,
    ),
    Operation(
        "assign-auto",
        "live",
        lambda a, t, s: a.assign_ticket(t, helpdesk.Assign("auto")),
        leads_only=True,
    ),
    Operation("reply", "live", lambda a, t, s: a.post_message(t, helpdesk.PostMessage("On it."))),
    Operation(
        "note",
        "live",
        lambda a, t, s: a.post_message(
            t, helpdesk.PostMessage("Grumpy.", helpdesk.MessageVisibility.INTERNAL)
        ),
    ),
    Operation("ticket_history", "live", lambda a, t, s: a.ticket_history(t)),
]


@attrs.frozen
class Case:
    """``actor`` calls ``operation`` on a ticket of ``target``, ``owner``'s."""

    actor: str
    operation: Operation
    target: str
    owner: str  # the in-scope counterpart of ``actor``, who may make this very call

    @property
    def id(self) -> str:
        return f"{self.actor} -> {self.owner}'s {self.operation.kind}: {self.operation.name}"

    def ticket(self, stage: Stage) -> uuid.UUID:
        ticket: uuid.UUID = getattr(stage.sides[self.target], self.operation.kind)
        return ticket

    def run(self, stage: Stage, who: str, ticket: uuid.UUID | None = None) -> object:
        return self.operation.call(
            stage.actor(who), ticket or self.ticket(stage), stage.sides[self.target]
        )

    @property
    def refusal(self) -> type[helpdesk.DomainError]:
        """NotFound: out of scope. PermissionDenied only where a role rule answers first."""
        if self.operation.leads_only and self.actor.endswith(".agent"):
            return helpdesk.PermissionDenied
        return helpdesk.NotFound


CASES = (
    [Case("alpha.customer", op, "bravo", "bravo.customer") for op in CUSTOMER_OPERATIONS]
    + [Case("alpha.agent", op, "bravo", "bravo.agent") for op in STAFF_OPERATIONS]
    + [Case("alpha.lead", op, "bravo", "bravo.lead") for op in STAFF_OPERATIONS if op.leads_only]
)
CONTROLS = list({(c.owner.split(".")[-1], c.operation.name): c for c in CASES}.values())


def _remember_numbers(stage: Stage) -> None:
    for view in stage.desk.system.list_tickets(helpdesk.TicketQuery(limit=100)).items:
        NUMBERS[view.ticket.id] = view.ticket.number


@pytest.fixture(scope="module", params=BACKENDS)
def shared_stage(request: pytest.FixtureRequest) -> Iterator[Stage]:
    """One populated helpdesk per store for every case (each asserts it changed nothing)."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
    else:
        url = request.getfixturevalue("postgres_databases").fresh()
    with open_desk(url) as desk:
        stage = build_stage(desk)
        _remember_numbers(stage)
        yield stage


@pytest.fixture
def fresh_stage() -> Iterator[Stage]:
    """A populated in-memory helpdesk of its own, for calls that change it."""
    with open_desk("memory://") as desk:
        stage = build_stage(desk)
        _remember_numbers(stage)
        yield stage


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_an_out_of_scope_ticket_does_not_exist_and_nothing_changes(
    shared_stage: Stage, case: Case
) -> None:
    stage = shared_stage
    with pytest.raises(helpdesk.DomainError) as refused:
        case.run(stage, case.actor)
    assert type(refused.value) is case.refusal
    # No existence leak: the answer is the one for a ticket that was never there.
    with pytest.raises(helpdesk.DomainError) as missing:
        case.run(stage, case.actor, uuid.uuid4())
    assert (type(missing.value), missing.value.detail) == (case.refusal, refused.value.detail)
    stage.assert_unchanged()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CONTROLS])
def test_the_same_calls_succeed_inside_scope(fresh_stage: Stage, case: Case) -> None:
    """The refusals above are about scope: the owners make the very same calls."""
    if case.refusal is helpdesk.PermissionDenied:  # agents may not assign to others anywhere
        with pytest.raises(helpdesk.PermissionDenied):
            case.run(fresh_stage, case.owner)
    else:
        assert case.run(fresh_stage, case.owner) is not None


def _ids(page: helpdesk.TicketPage) -> set[uuid.UUID]:
    return {view.ticket.id for view in page.items}


def _tickets_of(stage: Stage, side: str) -> set[uuid.UUID]:
    tickets = {stage.sides[side].live, stage.sides[side].closed}
    return tickets | ({stage.cara_ticket} if side == "alpha" else set())


def test_the_queue_never_shows_the_other_departments_tickets(shared_stage: Stage) -> None:
    stage, side = shared_stage, "alpha"
    agent, other = stage.actor(f"{side}.agent"), stage.sides[OTHER[side]]

    def listed(**where: Any) -> set[uuid.UUID]:
        return _ids(agent.list_tickets(helpdesk.TicketQuery(**where)))

    assert listed() == _tickets_of(stage, side)
    assert listed(text=WORD[side]) == _tickets_of(stage, side)
    assert listed(text=WORD[OTHER[side]]) == set()
    assert listed(department_id=other.department) == set()
    assert listed(team_id=other.team) == set()
    assert listed(statuses=frozenset({helpdesk.TicketStatus.CLOSED})) == {stage.sides[side].closed}
    stage.assert_unchanged()


def test_a_customer_lists_only_their_own_tickets(shared_stage: Stage) -> None:
    stage = shared_stage
    assert _ids(stage.cara.list_tickets()) == {stage.cara_ticket}
    everything = helpdesk.TicketQuery(department_id=stage.sides["alpha"].department)
    assert _ids(stage.cara.list_tickets(everything)) == {stage.cara_ticket}
    stage.assert_unchanged()


def test_queue_counts_of_the_other_department_do_not_exist(shared_stage: Stage) -> None:
    stage = shared_stage
    agent = stage.actor("alpha.agent")
    assert agent.queue_counts(stage.sides["alpha"].department).by_status["new"] == 2
    with pytest.raises(helpdesk.NotFound) as other:
        agent.queue_counts(stage.sides["bravo"].department)
    with pytest.raises(helpdesk.NotFound) as missing:
        agent.queue_counts(uuid.uuid4())
    assert other.value.detail == missing.value.detail


def test_customers_and_staff_keep_to_their_side_of_the_desk(shared_stage: Stage) -> None:
    """The role rules the HTTP routes apply are the use cases': a customer reads no history
    and no queue and administers nothing; staff open no tickets of their own."""
    stage = shared_stage
    customer, agent = stage.actor("alpha.customer"), stage.actor("alpha.agent")
    refusals: list[Callable[[], object]] = [
        lambda: customer.ticket_history(stage.sides["alpha"].live),
        lambda: customer.queue_counts(),
        lambda: customer.list_departments(),
        lambda: customer.list_customers(),
        lambda: agent.open_ticket(helpdesk.OpenTicket("Mine", "An agent's own")),
        lambda: agent.list_staff(),
        lambda: agent.ensure_customer(helpdesk.EnsureCustomer("x", "x@example.com", "X")),
    ]
    for refusal in refusals:
        with pytest.raises(helpdesk.PermissionDenied):
            refusal()
    stage.assert_unchanged()
