"""Saving and managing macros on the in-memory adapters: who may save, see, change and
deactivate which, and what a macro's actions are checked against when it is saved."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.canned import CannedScope
from helpdesk_core.domain.errors import (
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.macros import Macro, MacroScope
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.canned import CreateCannedResponse, UpdateCannedResponse
from helpdesk_core.usecases.macros import CreateMacro, UpdateMacro
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from tests.conftest import make_settings

RESOLVE = [{"action": "set_status", "value": "resolved"}]


@attrs.define
class Desk:
    """A helpdesk on memory: Sales (team A) and Support (team S), their people."""

    services: Services
    sales: uuid.UUID
    support: uuid.UUID
    team_a: uuid.UUID
    team_s: uuid.UUID
    people: dict[str, Principal] = attrs.Factory(dict)

    def staff(self, name: str, role: StaffRole, department: uuid.UUID | None = None) -> Principal:
        profile = self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(f"{name.lower()}@example.com", name, "a long password 7", role, department),
        )
        self.people[name] = self.services.auth.acting_as(profile.user.id)
        return self.people[name]

    def save(
        self,
        who: str,
        scope: MacroScope = MacroScope.PERSONAL,
        actions: list[dict[str, Any]] | None = None,
        name: str | None = None,
        department_id: uuid.UUID | None = None,
    ) -> Macro:
        command = CreateMacro(
            name or f"{scope.value} of {who}", actions or RESOLVE, scope, department_id
        )
        return self.services.macros.create(self.actor(who), command)

    def actor(self, who: str) -> Principal:
        return SYSTEM_OPERATOR if who == "operator" else self.people[who]

    def names(self, who: str) -> list[str]:
        return [m.name for m in self.services.macros.list(self.actor(who))]


@pytest.fixture
def desk() -> Iterator[Desk]:
    services = bootstrap(make_settings())
    org = services.org
    sales = org.create_department(SYSTEM_OPERATOR, CreateDepartment(name="Sales")).id
    support = org.create_department(SYSTEM_OPERATOR, CreateDepartment(name="Support")).id
    team_a = org.create_team(SYSTEM_OPERATOR, CreateTeam(name="A", department_id=sales)).id
    team_s = org.create_team(SYSTEM_OPERATOR, CreateTeam(name="S", department_id=support)).id
    made = Desk(services, sales, support, team_a, team_s)
    made.staff("Ada", StaffRole.ADMIN)
    made.staff("Lena", StaffRole.LEAD, sales)
    made.staff("Dan", StaffRole.AGENT, sales)
    made.staff("Bea", StaffRole.AGENT, sales)
    made.staff("Sam", StaffRole.AGENT, support)
    account = services.auth.register(Register("ann@example.com", "a long password 7", "Ann Lee"))
    made.people["Ann"] = Principal(account.user.id, Role.CUSTOMER)
    yield made
    services.close()


def fields(failed: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in failed.value.errors]


# ---------------------------------------------------------------- who may save which


def test_anyone_on_the_staff_saves_their_own_personal_macros(desk: Desk) -> None:
    made = desk.save("Dan", name="Close it")
    assert (made.scope, made.owner_id, made.department_id) == (
        MacroScope.PERSONAL,
        desk.people["Dan"].user_id,
        None,
    )
    assert (made.created_by, made.is_active, made.version) == (made.owner_id, True, 1)
    assert [s.as_json() for s in made.steps] == [{"action": "set_status", "value": "resolved"}]
    assert desk.names("Dan") == ["Close it"]
    assert desk.names("Bea") == desk.names("Ada") == []
    with pytest.raises(NotFound):
        desk.services.macros.get(desk.people["Ada"], made.id)


def test_leads_save_their_departments_macros_and_no_others(desk: Desk) -> None:
    made = desk.save("Lena", MacroScope.DEPARTMENT)  # her own department by default
    assert made.department_id == desk.sales
    with pytest.raises(PermissionDenied, match="leads of its department"):
        desk.save("Lena", MacroScope.DEPARTMENT, department_id=desk.support)
    with pytest.raises(PermissionDenied, match="only administrators"):
        desk.save("Lena", MacroScope.EVERYONE)
    assert desk.names("Dan") == desk.names("Bea") == desk.names("Ada") == ["department of Lena"]
    assert desk.names("Sam") == []


def test_agents_save_neither_department_nor_everyone_macros(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        desk.save("Dan", MacroScope.DEPARTMENT)
    with pytest.raises(PermissionDenied, match="only administrators may save macros for everyone"):
        desk.save("Dan", MacroScope.EVERYONE)
    assert desk.services.macros.list(desk.people["Ada"]) == []


def test_administrators_save_any_departments_and_everyones(desk: Desk) -> None:
    desk.save("Ada", MacroScope.DEPARTMENT, department_id=desk.support)
    everyone = desk.save("operator", MacroScope.EVERYONE)
    assert everyone.created_by is None  # the operator is nobody's account
    assert desk.names("Sam") == ["department of Ada", "everyone of operator"]
    assert desk.names("Dan") == ["everyone of operator"]
    with pytest.raises(ValidationFailed, match="department_id: is required"):
        desk.save("Ada", MacroScope.DEPARTMENT)  # she has no department of her own


def test_the_holder_of_a_scope_is_checked(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as failed:
        desk.save("operator")
    assert fields(failed) == [("scope", "only staff members own personal macros")]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Dan", department_id=desk.sales)
    assert fields(failed) == [("department_id", "has no place in a personal macro")]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Ada", MacroScope.DEPARTMENT, department_id=uuid.uuid4())
    assert fields(failed) == [("department_id", "no such department")]


def test_customers_neither_save_nor_list_macros(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        desk.save("Ann")
    with pytest.raises(PermissionDenied):
        desk.services.macros.list(desk.people["Ann"])


# ---------------------------------------------------------------- what is listed and read


def test_the_list_holds_what_the_caller_may_apply_by_name_in_any_case_then_id(
    desk: Desk,
) -> None:
    for name in ("beta", "Alpha", "alpha", "Gamma"):
        desk.save("operator", MacroScope.EVERYONE, name=name)
    desk.save("Ada", MacroScope.DEPARTMENT, name="Support only", department_id=desk.support)
    found = desk.services.macros.list(desk.people["Dan"])
    assert [m.name for m in found] == ["Alpha", "alpha", "beta", "Gamma"]
    assert found[0].id < found[1].id
    assert "Support only" in desk.names("Sam")


def test_a_macro_the_caller_may_not_apply_is_not_found(desk: Desk) -> None:
    sales = desk.save("Lena", MacroScope.DEPARTMENT)
    assert desk.services.macros.get(desk.people["Dan"], sales.id) == sales
    assert desk.services.macros.get(desk.people["Ada"], sales.id) == sales
    with pytest.raises(NotFound):
        desk.services.macros.get(desk.people["Sam"], sales.id)
    with pytest.raises(PermissionDenied):
        desk.services.macros.get(desk.people["Ann"], sales.id)
    with pytest.raises(NotFound, match="no such macro"):
        desk.services.macros.get(desk.people["Dan"], uuid.uuid4())


# ---------------------------------------------------------------- what a macro's actions name


def test_bad_shapes_and_a_bad_name_are_reported_together_naming_each_place(desk: Desk) -> None:
    actions = [
        {"action": "set_status", "value": "pending"},
        {"action": "set_priority", "value": "soon"},
        {"action": "fly"},
    ]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Dan", actions=actions, name="  ")
    assert [field for field, _ in fields(failed)] == [
        "name",
        "actions.1.value",
        "actions.2.action",
    ]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Dan", actions=[{"action": "reply", "value": "Hi {{ customer.phone }}"}])
    assert fields(failed) == [("actions.0.value", "unknown placeholder customer.phone")]
    assert desk.names("Dan") == []


def test_every_reference_is_checked_naming_its_place(desk: Desk) -> None:
    org = desk.services.org
    closed = org.create_department(SYSTEM_OPERATOR, CreateDepartment(name="Closed")).id
    org.update_department(SYSTEM_OPERATOR, closed, UpdateDepartment(active=False))
    old_team = org.create_team(SYSTEM_OPERATOR, CreateTeam(name="Old", department_id=desk.sales))
    org.update_team(SYSTEM_OPERATOR, old_team.id, UpdateTeam(active=False))
    gone = desk.staff("Gus", StaffRole.AGENT, desk.sales).user_id
    org.update_staff(SYSTEM_OPERATOR, gone, UpdateStaff(active=False))
    retired = desk.services.canned.create(
        SYSTEM_OPERATOR, CreateCannedResponse("Old", "Bye.", CannedScope.EVERYONE)
    )
    desk.services.canned.update(SYSTEM_OPERATOR, retired.id, 1, UpdateCannedResponse(active=False))
    nobody = str(uuid.uuid4())
    actions = [
        {"action": "set_department", "value": nobody},
        {"action": "set_department", "value": str(closed)},
        {"action": "set_team", "value": nobody},
        {"action": "assign_team", "value": str(old_team.id)},
        {"action": "assign_agent", "value": nobody},
        {"action": "assign_agent", "value": str(gone)},
        {"action": "reply_canned", "value": nobody},
        {"action": "reply_canned", "value": str(retired.id)},
        {"action": "add_note", "value": "Checked."},
    ]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Dan", actions=actions)
    assert fields(failed) == [
        ("actions.0.value", "no such department"),
        ("actions.1.value", "no such department"),
        ("actions.2.value", "no such team"),
        ("actions.3.value", "no such team"),
        ("actions.4.value", "no such staff member"),
        ("actions.5.value", "no such staff member"),
        ("actions.6.value", "no such canned response"),
        ("actions.7.value", "the canned response is deactivated"),
    ]
    assert desk.names("Dan") == []


def test_a_team_belongs_to_the_department_the_ticket_is_in_at_its_step(desk: Desk) -> None:
    canned = desk.services.canned.create(
        SYSTEM_OPERATOR, CreateCannedResponse("Hi", "Hi.", CannedScope.EVERYONE)
    )
    fine = [
        {"action": "assign_team", "value": str(desk.team_s)},  # a personal macro: any team
        {"action": "set_department", "value": str(desk.sales)},
        {"action": "set_team", "value": str(desk.team_a)},
        {"action": "assign_agent", "value": str(desk.people["Bea"].user_id)},
        {"action": "reply_canned", "value": str(canned.id)},
    ]
    assert len(desk.save("Dan", actions=fine).steps) == 5
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Lena", MacroScope.DEPARTMENT, actions=fine)  # Sales': team S is Support's
    assert fields(failed) == [("actions.0.value", "the team belongs to another department")]
    moved = [
        {"action": "set_department", "value": str(desk.support)},
        {"action": "assign_team", "value": str(desk.team_s)},
        {"action": "set_team", "value": str(desk.team_a)},
    ]
    with pytest.raises(ValidationFailed) as failed:
        desk.save("Lena", MacroScope.DEPARTMENT, actions=moved)
    assert fields(failed) == [("actions.2.value", "the team belongs to another department")]


# ---------------------------------------------------------------- changing and deactivating


def test_a_change_names_the_version_it_saw(desk: Desk) -> None:
    made = desk.save("Dan")
    dan = desk.people["Dan"]
    change = UpdateMacro(name="Resolve", actions=[{"action": "follow"}])
    with pytest.raises(PreconditionRequired):
        desk.services.macros.update(dan, made.id, None, change)
    with pytest.raises(StaleVersion):
        desk.services.macros.update(dan, made.id, 2, change)
    bad = UpdateMacro(actions=[{"action": "follow"}, {"action": "reply", "value": 7}])
    with pytest.raises(ValidationFailed) as failed:
        desk.services.macros.update(dan, made.id, None, bad)  # the command first
    assert [field for field, _ in fields(failed)] == ["actions.1.value"]
    changed = desk.services.macros.update(dan, made.id, 1, change)
    assert (changed.name, changed.version, changed.owner_id) == ("Resolve", 2, dan.user_id)
    assert [s.action.value for s in changed.steps] == ["follow"]
    assert desk.services.macros.get(dan, made.id) == changed
    same = desk.services.macros.update(dan, made.id, 2, UpdateMacro(name=" Resolve "))
    assert same == changed  # nothing changed: no new version
    renamed = desk.services.macros.update(dan, made.id, 2, UpdateMacro(name="Done"))
    assert (renamed.name, renamed.steps, renamed.version) == ("Done", changed.steps, 3)


def test_a_changes_references_are_checked_against_the_macros_department(desk: Desk) -> None:
    made = desk.save("Lena", MacroScope.DEPARTMENT)
    lena = desk.people["Lena"]
    wrong = UpdateMacro(actions=[{"action": "assign_team", "value": str(desk.team_s)}])
    with pytest.raises(ValidationFailed) as failed:
        desk.services.macros.update(lena, made.id, 1, wrong)
    assert fields(failed) == [("actions.0.value", "the team belongs to another department")]
    right = UpdateMacro(actions=[{"action": "assign_team", "value": str(desk.team_a)}])
    assert desk.services.macros.update(lena, made.id, 1, right).version == 2


def test_only_who_may_save_a_macro_changes_or_deactivates_it(desk: Desk) -> None:
    everyone = desk.save("operator", MacroScope.EVERYONE)
    sales = desk.save("Lena", MacroScope.DEPARTMENT)
    mine = desk.save("Dan")
    dan, bea, lena = desk.people["Dan"], desk.people["Bea"], desk.people["Lena"]
    with pytest.raises(PermissionDenied):
        desk.services.macros.update(dan, everyone.id, 1, UpdateMacro(name="x"))
    with pytest.raises(PermissionDenied):
        desk.services.macros.deactivate(dan, sales.id)
    with pytest.raises(NotFound):
        desk.services.macros.deactivate(bea, mine.id)
    with pytest.raises(PermissionDenied):
        desk.services.macros.deactivate(lena, everyone.id)
    assert desk.services.macros.update(lena, sales.id, 1, UpdateMacro(name="x")).version == 2
    assert desk.services.macros.deactivate(desk.people["Ada"], everyone.id).version == 2


def test_a_deactivated_macro_is_neither_listed_nor_read_but_stays_stored(desk: Desk) -> None:
    made = desk.save("Dan")
    dan = desk.people["Dan"]
    with pytest.raises(StaleVersion):
        desk.services.macros.deactivate(dan, made.id, 3)
    gone = desk.services.macros.deactivate(dan, made.id, 1)
    assert (gone.is_active, gone.version, gone.name) == (False, 2, made.name)
    assert desk.names("Dan") == []
    with pytest.raises(NotFound):
        desk.services.macros.get(dan, made.id)
    with pytest.raises(NotFound):
        desk.services.macros.deactivate(dan, made.id)
    with desk.services.uow.begin(read_only=True) as tx:
        assert tx.macros.get(made.id) == gone
