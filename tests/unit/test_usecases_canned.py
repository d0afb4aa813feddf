"""Canned responses on the in-memory adapters: who may write, use and render them, and what a
rendering fills in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import attrs
import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.canned import CannedScope, RenderedResponse
from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.canned import (
    CannedResponseQuery,
    CreateCannedResponse,
    UpdateCannedResponse,
    render_for_ticket,
)
from helpdesk_core.usecases.customers import CustomerService
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam
from helpdesk_core.usecases.tickets import OpenTicket
from tests.conftest import make_settings

GREETING = 'Hi {{ customer.first_name | default("there") }}, {{ agent.signature | default("Us") }}'


@attrs.define
class Desk:
    """A helpdesk on memory: Sales (with team A) and Support, their people, a ticket each."""

    services: Services
    sales: uuid.UUID
    support: uuid.UUID
    team_a: uuid.UUID
    team_b: uuid.UUID  # of Sales too
    people: dict[str, Principal] = attrs.Factory(dict)
    tickets: dict[str, uuid.UUID] = attrs.Factory(dict)

    def staff(
        self,
        name: str,
        role: StaffRole,
        department: uuid.UUID | None = None,
        team: uuid.UUID | None = None,
    ) -> Principal:
        profile = self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                f"{name.lower()}@example.com", name, "a long password 7", role, department, team
            ),
        )
        self.people[name] = self.services.auth.acting_as(profile.user.id)
        return self.people[name]

    def canned(
        self,
        actor: str,
        scope: CannedScope = CannedScope.PERSONAL,
        body: str = GREETING,
        **holder: uuid.UUID,
    ) -> uuid.UUID:
        command = CreateCannedResponse(f"{scope.value} of {actor}", body, scope, **holder)
        return self.services.canned.create(self.people[actor], command).id


@pytest.fixture
def desk() -> Iterator[Desk]:
    services = bootstrap(make_settings())
    org = services.org
    sales = org.create_department(SYSTEM_OPERATOR, CreateDepartment(name="Sales")).id
    support = org.create_department(SYSTEM_OPERATOR, CreateDepartment(name="Support")).id
    team_a = org.create_team(SYSTEM_OPERATOR, CreateTeam(name="A", department_id=sales)).id
    team_b = org.create_team(SYSTEM_OPERATOR, CreateTeam(name="B", department_id=sales)).id
    made = Desk(services, sales, support, team_a, team_b)
    made.staff("Ada", StaffRole.ADMIN)
    made.staff("Lena", StaffRole.LEAD, sales)
    made.staff("Dan", StaffRole.AGENT, sales, team_a)
    made.staff("Bea", StaffRole.AGENT, sales, team_b)
    made.staff("Sam", StaffRole.AGENT, support)
    account = services.auth.register(Register("ann@example.com", "a long password 7", "Ann Lee"))
    ann = made.people["Ann"] = Principal(account.user.id, Role.CUSTOMER)
    for subject, department in (("Refund", sales), ("Login", support), ("Lost", None)):
        opened = services.tickets.open_ticket(
            ann, OpenTicket(subject, "Help.", department_id=department)
        )
        made.tickets[subject] = opened.ticket.id
    yield made
    services.close()


def titles(desk: Desk, who: str, **query: object) -> list[str]:
    found = desk.services.canned.list(desk.people[who], CannedResponseQuery(**query))  # type: ignore[arg-type]
    return [r.title for r in found]


# ---------------------------------------------------------------- writing


def test_an_unknown_placeholder_is_refused_when_saved_naming_it(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as refused:
        desk.canned("Dan", body="Call us: {{ customer.phone }}")
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("body", "unknown placeholder customer.phone")
    ]
    assert titles(desk, "Dan") == []
    response = desk.canned("Dan")
    with pytest.raises(ValidationFailed, match=r"unknown placeholder ticket\.priority"):
        desk.services.canned.update(
            desk.people["Dan"], response, 1, UpdateCannedResponse(body="{{ ticket.priority }}")
        )


@pytest.mark.parametrize(
    ("who", "scope", "holder", "allowed"),
    [
        ("Dan", CannedScope.PERSONAL, None, True),
        ("Dan", CannedScope.TEAM, "team_a", False),  # agents write their own ones only
        ("Lena", CannedScope.TEAM, "team_a", True),  # a team of her department
        ("Lena", CannedScope.DEPARTMENT, "sales", True),
        ("Lena", CannedScope.DEPARTMENT, "support", False),
        ("Lena", CannedScope.EVERYONE, None, False),
        ("Ada", CannedScope.TEAM, "team_b", True),
        ("Ada", CannedScope.DEPARTMENT, "support", True),
        ("Ada", CannedScope.EVERYONE, None, True),
    ],
)
def test_who_may_write_for_whom(
    desk: Desk, who: str, scope: CannedScope, holder: str | None, allowed: bool
) -> None:
    ids = {
        "team_a": desk.team_a,
        "team_b": desk.team_b,
        "sales": desk.sales,
        "support": desk.support,
    }
    field = {CannedScope.TEAM: "team_id", CannedScope.DEPARTMENT: "department_id"}
    given = {field[scope]: ids[holder]} if holder else {}
    if allowed:
        desk.canned(who, scope, **given)
        assert titles(desk, who) == [f"{scope.value} of {who}"]
    else:
        with pytest.raises(PermissionDenied):
            desk.canned(who, scope, **given)


def test_customers_have_no_canned_responses(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        desk.canned("Ann")
    with pytest.raises(PermissionDenied):
        desk.services.canned.list(desk.people["Ann"])


@pytest.mark.parametrize(
    ("scope", "given", "field", "message"),
    [
        (CannedScope.TEAM, {}, "team_id", "is required for a team response"),
        (CannedScope.DEPARTMENT, {}, "department_id", "is required"),
        (CannedScope.EVERYONE, {"team_id": "team_a"}, "team_id", "has no place"),
        (CannedScope.TEAM, {"team_id": "nowhere"}, "team_id", "no such team"),
        (CannedScope.DEPARTMENT, {"department_id": "nowhere"}, "department_id", "no such"),
    ],
)
def test_the_holder_must_fit_the_scope(
    desk: Desk, scope: CannedScope, given: dict[str, str], field: str, message: str
) -> None:
    ids = {"team_a": desk.team_a, "nowhere": uuid.uuid4()}
    with pytest.raises(ValidationFailed) as refused:
        desk.canned("Ada", scope, **{k: ids[v] for k, v in given.items()})
    assert refused.value.errors[0].field == field
    assert refused.value.errors[0].message.startswith(message)


def test_the_operator_writes_for_everyone_but_owns_nothing(desk: Desk) -> None:
    command = CreateCannedResponse("Hello", GREETING, CannedScope.EVERYONE)
    made = desk.services.canned.create(SYSTEM_OPERATOR, command)
    assert made.created_by is None
    with pytest.raises(ValidationFailed, match="scope"):
        desk.services.canned.create(SYSTEM_OPERATOR, CreateCannedResponse("Mine", "x"))


# ---------------------------------------------------------------- using


def test_each_caller_lists_what_they_may_use(desk: Desk) -> None:
    desk.canned("Dan")
    desk.canned("Bea")
    desk.canned("Lena", CannedScope.TEAM, team_id=desk.team_a)
    desk.canned("Lena", CannedScope.DEPARTMENT, department_id=desk.sales)
    desk.canned("Ada", CannedScope.DEPARTMENT, department_id=desk.support)
    desk.canned("Ada", CannedScope.EVERYONE)
    assert titles(desk, "Dan") == [
        "department of Lena",
        "everyone of Ada",
        "personal of Dan",
        "team of Lena",
    ]
    assert titles(desk, "Bea") == ["department of Lena", "everyone of Ada", "personal of Bea"]
    assert titles(desk, "Lena") == ["department of Lena", "everyone of Ada", "team of Lena"]
    assert titles(desk, "Sam") == ["department of Ada", "everyone of Ada"]
    assert titles(desk, "Ada") == [
        "department of Ada",
        "department of Lena",
        "everyone of Ada",
        "team of Lena",
    ]
    assert titles(desk, "Ada", scope=CannedScope.TEAM) == ["team of Lena"]


def test_what_one_may_not_use_is_not_found_and_what_one_may_not_change_is_denied(
    desk: Desk,
) -> None:
    dans = desk.canned("Dan")
    teams = desk.canned("Lena", CannedScope.TEAM, team_id=desk.team_a)
    canned = desk.services.canned
    for who in ("Bea", "Ada", "Lena"):
        with pytest.raises(NotFound):
            canned.get(desk.people[who], dans)
    with pytest.raises(NotFound):
        canned.get(desk.people["Bea"], teams)
    assert canned.get(desk.people["Dan"], teams).id == teams  # in the team
    with pytest.raises(PermissionDenied):
        canned.update(desk.people["Dan"], teams, 1, UpdateCannedResponse(title="Mine now"))
    with pytest.raises(PermissionDenied):
        canned.deactivate(desk.people["Dan"], teams)
    with pytest.raises(NotFound):
        canned.render(desk.people["Bea"], teams, desk.tickets["Refund"])


def test_q_finds_titles_and_shortcuts_in_any_case(desk: Desk) -> None:
    canned = desk.services.canned
    dan = desk.people["Dan"]
    canned.create(dan, CreateCannedResponse("Refund on its way", "x", shortcut="REF"))
    canned.create(dan, CreateCannedResponse("Password reset", "y", shortcut="pw"))
    assert titles(desk, "Dan", q="REFUND") == ["Refund on its way"]
    assert titles(desk, "Dan", q="ref") == ["Refund on its way"]
    assert titles(desk, "Dan", q="PW") == ["Password reset"]
    assert titles(desk, "Dan", q="nothing") == []


# ---------------------------------------------------------------- rendering


def test_a_missing_value_renders_its_default(desk: Desk) -> None:
    response = desk.canned("Dan")
    rendered = desk.services.canned.render(desk.people["Dan"], response, desk.tickets["Refund"])
    assert rendered == RenderedResponse("Hi Ann, Us", ())
    desk.services.canned.set_signature(desk.people["Dan"], "Dan\nSales")
    rendered = desk.services.canned.render(desk.people["Dan"], response, desk.tickets["Refund"])
    assert rendered == RenderedResponse("Hi Ann, Dan\nSales", ())


def test_every_placeholder_is_filled_and_an_empty_one_is_reported(desk: Desk) -> None:
    body = (
        "#{{ ticket.number }} {{ ticket.subject }} ({{ ticket.status }}) for {{ customer.name }}"
        " <{{ customer.email }}>, {{ customer.first_name }}; {{ agent.name }} /"
        " {{ agent.first_name }} / {{ agent.signature }} of {{ department.name }}"
    )
    response = desk.canned("Lena", body=body)
    lena = desk.people["Lena"]
    number = desk.services.tickets.get_ticket(lena, desk.tickets["Lost"]).ticket.number
    rendered = desk.services.canned.render(lena, response, desk.tickets["Lost"])
    assert rendered.body == (
        f"#{number} Lost (new) for Ann Lee <ann@example.com>, Ann; Lena / Lena /  of "
    )
    assert rendered.unresolved == ("agent.signature", "department.name")
    in_sales = desk.services.canned.render(lena, response, desk.tickets["Refund"])
    assert in_sales.body.endswith("of Sales")


def test_html_escapes_the_values(desk: Desk) -> None:
    desk.services.canned.set_signature(desk.people["Dan"], "<b>Dan</b> & co")
    response = desk.canned("Dan")
    rendered = desk.services.canned.render(
        desk.people["Dan"], response, desk.tickets["Refund"], "html"
    )
    assert rendered.body == "Hi Ann, &lt;b&gt;Dan&lt;/b&gt; &amp; co"
    with pytest.raises(ValidationFailed, match="format"):
        desk.services.canned.render(desk.people["Dan"], response, desk.tickets["Refund"], "md")


def test_rendering_counts_a_use_and_sends_nothing(desk: Desk) -> None:
    response = desk.canned("Dan")
    dan = desk.people["Dan"]
    before = desk.services.tickets.get_ticket(dan, desk.tickets["Refund"])
    for _ in range(3):
        desk.services.canned.render(dan, response, desk.tickets["Refund"])
    after = desk.services.tickets.get_ticket(dan, desk.tickets["Refund"])
    stored = desk.services.canned.get(dan, response)
    assert (stored.usage_count, stored.version) == (3, 1)
    assert after == before  # no message, no change


def test_rendering_needs_a_ticket_the_caller_sees_and_an_active_response(desk: Desk) -> None:
    response = desk.canned("Sam")
    sam = desk.people["Sam"]
    with pytest.raises(NotFound, match="no such ticket"):
        desk.services.canned.render(sam, response, desk.tickets["Refund"])  # Sales'
    with pytest.raises(NotFound, match="no such ticket"):
        desk.services.canned.render(sam, response, uuid.uuid4())
    desk.services.canned.render(sam, response, desk.tickets["Lost"])  # unrouted: seen by all
    desk.services.canned.deactivate(sam, response)
    with pytest.raises(Conflict, match="deactivated"):
        desk.services.canned.render(sam, response, desk.tickets["Login"])
    assert desk.services.canned.get(sam, response).usage_count == 1


def test_an_erased_customer_has_no_values(desk: Desk) -> None:
    response = desk.canned("Dan", body="{{ customer.name }}|{{ customer.email }}")
    customers = desk.services.customers
    assert isinstance(customers, CustomerService)
    customers.erase(SYSTEM_OPERATOR, desk.people["Ann"].user_id)
    rendered = desk.services.canned.render(desk.people["Dan"], response, desk.tickets["Refund"])
    assert rendered == RenderedResponse("|", ("customer.name", "customer.email"))


def test_other_use_cases_render_inside_their_own_transaction(desk: Desk) -> None:
    dan = desk.people["Dan"]
    with desk.services.uow.begin(read_only=True) as tx:
        view = tx.tickets.get(desk.tickets["Refund"])
        assert view is not None
        rendered = render_for_ticket(tx, dan, "{{ ticket.subject }} {{ agent.name }}", view)
    assert rendered == RenderedResponse("Refund Dan", ())


# ---------------------------------------------------------------- changing


def test_an_update_names_the_version_it_changes(desk: Desk) -> None:
    response = desk.canned("Dan")
    dan = desk.people["Dan"]
    canned = desk.services.canned
    change = UpdateCannedResponse(title="Greeting", shortcut="hi")
    with pytest.raises(PreconditionRequired):
        canned.update(dan, response, None, change)
    with pytest.raises(StaleVersion):
        canned.update(dan, response, 7, change)
    updated = canned.update(dan, response, 1, change)
    assert (updated.title, updated.shortcut, updated.version) == ("Greeting", "hi", 2)
    assert canned.update(dan, response, 2, change) == updated  # nothing changes: no version
    cleared = canned.update(dan, response, 2, UpdateCannedResponse(shortcut=""))
    assert (cleared.shortcut, cleared.version) == (None, 3)
    with pytest.raises(ValidationFailed, match="shortcut"):
        canned.update(dan, response, 3, UpdateCannedResponse(shortcut="two words"))


def test_deactivated_responses_leave_the_list_and_come_back(desk: Desk) -> None:
    response = desk.canned("Dan")
    dan = desk.people["Dan"]
    canned = desk.services.canned
    with pytest.raises(StaleVersion):
        canned.deactivate(dan, response, 5)
    gone = canned.deactivate(dan, response, 1)
    assert (gone.is_active, gone.version) == (False, 2)
    assert canned.deactivate(dan, response) == gone  # again: as it is
    assert titles(desk, "Dan") == []
    assert titles(desk, "Dan", active=False) == ["personal of Dan"]
    back = canned.update(dan, response, 2, UpdateCannedResponse(active=True))
    assert back.is_active
    assert titles(desk, "Dan") == ["personal of Dan"]


# ---------------------------------------------------------------- the signature


def test_staff_set_and_remove_their_own_signature(desk: Desk) -> None:
    canned = desk.services.canned
    dan = desk.people["Dan"]
    profile = canned.set_signature(dan, "  Dan\nSales  ")
    assert (profile.staff.signature, profile.staff.version) == ("Dan\nSales", 2)
    assert canned.set_signature(dan, "Dan\nSales").staff.version == 2  # unchanged
    assert canned.set_signature(dan, "   ").staff.signature is None
    with pytest.raises(ValidationFailed, match="signature"):
        canned.set_signature(dan, "x" * 2001)
    with pytest.raises(PermissionDenied):
        canned.set_signature(desk.people["Ann"], "Ann")
    with pytest.raises(NotFound):
        canned.set_signature(SYSTEM_OPERATOR, "The operator")
