"""Steps for features/identity and features/organization, over the real HTTP app.

People are called by their first name in the features ("Ann", "Bob"); here each one is an
email address (``ann@example.com``), a password, and the sessions they hold, one per device
("on her laptop"). "The administrator" is the first administrator of the helpdesk, made the
way the command line makes one; everything else happens through the HTTP API, as a client
would do it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import falcon.testing
import pytest
from pytest_bdd import given, parsers, then, when

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.org import CreateStaff
from tests.conftest import make_settings
from tests.support.events import drain

API = "/api/v1"
# Canaries: the log guard (tests/conftest.py) fails any test that logs "CANARY".
GOOD_PASSWORD = "correct horse CANARY battery"
NEW_PASSWORD = "a brand new CANARY secret 7"
WRONG_PASSWORD = "not my CANARY password at all"
ADMINISTRATOR = "the administrator"
ROLES = {"agent": "agent", "lead": "lead", "administrator": "admin"}  # as said -> as stored


@attrs.define
class Someone:
    """A person of the story: how they log in, and the sessions they hold by device."""

    name: str
    email: str
    password: str = GOOD_PASSWORD
    id: str | None = None
    sessions: dict[str, str] = attrs.Factory(dict)


class SceneClock:
    """The helpdesk's clock in a story: the real time, until a step says what time it is."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)


@attrs.define
class Scene:
    """One helpdesk for one scenario, and what the story has established so far."""

    services: Services
    client: falcon.testing.TestClient
    mailbox: MemoryMailer
    clock: SceneClock
    people: dict[str, Someone] = attrs.Factory(dict)
    departments: dict[str, str] = attrs.Factory(dict)  # name -> id
    teams: dict[str, str] = attrs.Factory(dict)  # name -> id
    answers: list[falcon.testing.Result] = attrs.Factory(list)
    reset_token: str | None = None

    # ---- the wire

    def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> falcon.testing.Result:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        answer = self.client.simulate_request(method, f"{API}{path}", headers=headers, **kwargs)
        self.answers.append(answer)
        return answer

    @property
    def last(self) -> falcon.testing.Result:
        return self.answers[-1]

    def log_in(self, email: str, password: str) -> falcon.testing.Result:
        return self.call("POST", "/auth/login", json={"email": email, "password": password})

    # ---- the cast

    def person(self, name: str) -> Someone:
        if name in {ADMINISTRATOR, "an administrator"}:
            return self.administrator()
        if name not in self.people:
            self.people[name] = Someone(name, f"{name.lower()}@example.com")
        return self.people[name]

    def administrator(self) -> Someone:
        """The first administrator, created as ``helpdesk admin create`` does, logged in."""
        if ADMINISTRATOR not in self.people:
            admin = Someone("Ada", "ada@example.com")
            self.services.org.create_staff(
                SYSTEM_OPERATOR,
                CreateStaff(admin.email, admin.name, admin.password, StaffRole.ADMIN),
            )
            self.people[ADMINISTRATOR] = admin
            self.session(admin, "desk")
        return self.people[ADMINISTRATOR]

    def session(self, person: Someone, device: str) -> str:
        """Log ``person`` in on ``device``; the token of the new session."""
        answer = self.log_in(person.email, person.password)
        assert answer.status_code == 200, answer.text
        person.id = answer.json["user"]["id"]
        person.sessions[device] = answer.json["access_token"]
        return person.sessions[device]

    def as_admin(self, method: str, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.call(method, path, self.administrator().sessions["desk"], **kwargs)


def _scene(
    request: pytest.FixtureRequest,
    overrides: Mapping[Any, Any] | None = None,
    **settings: Any,
) -> Scene:
    """A fresh in-memory helpdesk whose mail is kept for the story to read; ``overrides``
    replace more ports (as in ``bootstrap``), ``settings`` change the test settings."""
    mailbox = MemoryMailer()
    clock = SceneClock()
    ports = {Mailer: mailbox, Clock: clock, **(overrides or {})}
    services = bootstrap(make_settings(**settings), ports)
    request.addfinalizer(services.close)
    return Scene(services, falcon.testing.TestClient(create_app(services)), mailbox, clock)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _problem(answer: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json
    return body


# ------------------------------------------------------------------ the helpdesk


@given("a helpdesk that mails its password reset links", target_fixture="scene")
def helpdesk_with_mail(request: pytest.FixtureRequest) -> Scene:
    return _scene(request)


@given("a helpdesk with an administrator", target_fixture="scene")
def helpdesk_with_admin(request: pytest.FixtureRequest) -> Scene:
    scene = _scene(request)
    scene.administrator()
    return scene


# ------------------------------------------------------------------ accounts


@when(parsers.parse('{name} registers with the email address "{email}" and a good password'))
def register_with(scene: Scene, name: str, email: str) -> None:
    person = scene.person(name)
    answer = scene.call(
        "POST",
        "/auth/register",
        json={"email": email, "password": person.password, "display_name": name},
    )
    # 202 with the same body whether or not the address was taken (issue 20): the account
    # of a free address is ready at once, and logging in says whose it is.
    assert answer.status_code == 202, answer.text
    login = scene.log_in(email, person.password)
    assert login.status_code == 200, login.text
    person.id = login.json["user"]["id"]


@given(parsers.parse("{name} has registered"))
def has_registered(scene: Scene, name: str) -> None:
    register_with(scene, name, scene.person(name).email)


@then(parsers.parse('{name} can log in with "{email}" and that password'))
def can_log_in_with(scene: Scene, name: str, email: str) -> None:
    person = scene.person(name)
    person.email = email
    scene.session(person, "login")


@then(parsers.parse("the helpdesk knows {name} as a customer"))
def known_as_customer(scene: Scene, name: str) -> None:
    person = scene.person(name)
    me = scene.call("GET", "/me", person.sessions["login"])
    assert me.status_code == 200, me.text
    assert (me.json["display_name"], me.json["role"]) == (name, "customer")


@given(parsers.parse('{name} is an agent in "{department}"'))
def is_an_agent(scene: Scene, name: str, department: str) -> None:
    add_staff(scene, ADMINISTRATOR, name, "agent", department)


@given(parsers.parse('{name} is a lead in "{department}"'))
def is_a_lead(scene: Scene, name: str, department: str) -> None:
    add_staff(scene, ADMINISTRATOR, name, "lead", department)


# ------------------------------------------------------------------ sessions


@given(parsers.parse("{name} is logged in on {whose:w} {device:w}"))
def logged_in_on(scene: Scene, name: str, device: str) -> None:
    scene.session(scene.person(name), device)


@when(parsers.parse("{name} logs out on {whose:w} {device:w}"))
def logs_out(scene: Scene, name: str, device: str) -> None:
    answer = scene.call("POST", "/auth/logout", scene.person(name).sessions[device])
    assert answer.status_code == 204, answer.text


@then(parsers.parse("{name}'s session on {whose:w} {device:w} still works"))
def session_works(scene: Scene, name: str, device: str) -> None:
    answer = scene.call("GET", "/me", scene.person(name).sessions[device])
    assert answer.status_code == 200, answer.text


@then(parsers.parse("{name}'s session on {whose:w} {device:w} no longer works"))
def session_ended(scene: Scene, name: str, device: str) -> None:
    answer = scene.call("GET", "/me", scene.person(name).sessions[device])
    _problem(answer, 401)


@when(parsers.parse("somebody tries to log in as {name} with a wrong password"))
def wrong_password(scene: Scene, name: str) -> None:
    scene.log_in(scene.person(name).email, WRONG_PASSWORD)


@then("they are not let in")
def not_let_in(scene: Scene) -> None:
    body = _problem(scene.last, 401)
    assert "access_token" not in body


@then("the refusal is the same as for an address nobody registered")
def same_refusal_as_unknown(scene: Scene) -> None:
    known = scene.last
    unknown = scene.log_in("nobody@example.com", WRONG_PASSWORD)
    assert unknown.status_code == known.status_code

    def strip(answer: falcon.testing.Result) -> dict[str, Any]:
        return {k: v for k, v in answer.json.items() if k != "request_id"}

    assert strip(unknown) == strip(known)


@when(parsers.parse("somebody tries {count:d} wrong passwords for {name}'s account"))
def many_wrong_passwords(scene: Scene, count: int, name: str) -> None:
    for _ in range(count):
        _problem(scene.log_in(scene.person(name).email, WRONG_PASSWORD), 401)


@then(parsers.parse("even {name}'s right password is turned away for now"))
def turned_away(scene: Scene, name: str) -> None:
    person = scene.person(name)
    _problem(scene.log_in(person.email, person.password), 429)


@then(parsers.parse("{name} is told how long to wait"))
def told_how_long(scene: Scene, name: str) -> None:
    wait = int(scene.last.headers["retry-after"])
    assert 1 <= wait <= scene.services.settings.login_rate_window


@then(parsers.parse("{name} cannot log in any more"))
@then(parsers.parse("{name} cannot log in"))
def cannot_log_in(scene: Scene, name: str) -> None:
    person = scene.person(name)
    _problem(scene.log_in(person.email, person.password), 401)


# ------------------------------------------------------------------ passwords


@when(parsers.parse("{name} changes {whose:w} password on {whose2:w} {device:w}"))
def changes_password(scene: Scene, name: str, device: str) -> None:
    person = scene.person(name)
    answer = scene.call(
        "POST",
        "/auth/password/change",
        person.sessions[device],
        json={"current_password": person.password, "new_password": NEW_PASSWORD},
    )
    assert answer.status_code == 204, answer.text


@then(parsers.parse("{name} can log in only with {whose:w} new password"))
def only_new_password(scene: Scene, name: str) -> None:
    person = scene.person(name)
    _problem(scene.log_in(person.email, person.password), 401)
    assert scene.log_in(person.email, NEW_PASSWORD).status_code == 200
    person.password = NEW_PASSWORD


@when(parsers.parse("{name} says {whose:w} has forgotten {whose2:w} password"))
def forgot(scene: Scene, name: str) -> None:
    answer = scene.call("POST", "/auth/password/forgot", json={"email": scene.person(name).email})
    assert answer.status_code == 202, answer.text


@then(parsers.parse("{name} receives a link to reset {whose:w} password"))
def receives_link(scene: Scene, name: str) -> None:
    person = scene.person(name)
    drain(scene.services)  # the worker mails the link
    assert [m.to for m in scene.mailbox.sent] == [person.email]
    link = re.search(r"https?://\S+[?&]token=([A-Za-z0-9_-]+)", scene.mailbox.sent[-1].body)
    assert link, scene.mailbox.sent[-1].body
    scene.reset_token = link.group(1)


@when(parsers.parse("{name} chooses a new password through the link"))
def reset_through_link(scene: Scene, name: str) -> None:
    answer = scene.call(
        "POST",
        "/auth/password/reset",
        json={"token": scene.reset_token, "new_password": NEW_PASSWORD},
    )
    assert answer.status_code == 204, answer.text


@then("the link cannot be used a second time")
def link_used_up(scene: Scene) -> None:
    answer = scene.call(
        "POST",
        "/auth/password/reset",
        json={"token": scene.reset_token, "new_password": "yet another secret 9"},
    )
    body = _problem(answer, 422)
    assert [e["field"] for e in body["errors"]] == ["token"]


@when(parsers.parse('somebody asks for a password reset for "{email}"'))
def asks_for_reset(scene: Scene, email: str) -> None:
    scene.call("POST", "/auth/password/forgot", json={"email": email})


@then("both answers are the same")
def both_answers_same(scene: Scene) -> None:
    first, second = scene.answers[-2:]
    assert first.status_code == second.status_code == 202
    assert first.json == second.json


@then(parsers.parse("only {name} receives a mail"))
def only_one_mail(scene: Scene, name: str) -> None:
    drain(scene.services)
    assert [m.to for m in scene.mailbox.sent] == [scene.person(name).email]


# ------------------------------------------------------------------ departments and teams


@given(parsers.parse('the department "{department}"'))
@when(parsers.parse('the administrator creates the department "{department}"'))
def creates_department(scene: Scene, department: str) -> None:
    answer = scene.as_admin("POST", "/admin/departments", json={"name": department})
    assert answer.status_code == 201, answer.text
    scene.departments[department] = answer.json["id"]


@when(parsers.parse('{name} tries to create the department "{department}"'))
def tries_to_create_department(scene: Scene, name: str, department: str) -> None:
    person = scene.person(name)
    scene.call("POST", "/admin/departments", _token(person), json={"name": department})


@given(parsers.parse('the team "{team}" in "{department}"'))
@when(parsers.parse('the administrator creates the team "{team}" in "{department}"'))
def creates_team(scene: Scene, team: str, department: str) -> None:
    answer = scene.as_admin(
        "POST",
        "/admin/teams",
        json={"name": team, "department_id": scene.departments[department]},
    )
    assert answer.status_code == 201, answer.text
    scene.teams[team] = answer.json["id"]


@when(parsers.parse('the administrator tries to create the team "{team}" in "{department}"'))
def tries_to_create_team(scene: Scene, team: str, department: str) -> None:
    scene.as_admin(
        "POST",
        "/admin/teams",
        json={"name": team, "department_id": scene.departments[department]},
    )


@then("the administrator is told that name is taken")
def name_taken(scene: Scene) -> None:
    _problem(scene.last, 409)


@then(parsers.parse('the administrator sees the departments "{names}"'))
@then(parsers.parse('the administrator still sees the departments "{names}"'))
def admin_sees_departments(scene: Scene, names: str) -> None:
    answer = scene.as_admin("GET", "/admin/departments")
    assert answer.status_code == 200, answer.text
    assert [d["name"] for d in answer.json["items"]] == _names(names)


@then(parsers.parse('"{department}" has the teams "{names}"'))
def department_has_teams(scene: Scene, department: str, names: str) -> None:
    answer = scene.as_admin(
        "GET", "/admin/teams", params={"department_id": scene.departments[department]}
    )
    assert answer.status_code == 200, answer.text
    assert [t["name"] for t in answer.json["items"]] == _names(names)


@when(parsers.parse('the administrator deactivates the department "{department}"'))
def deactivates_department(scene: Scene, department: str) -> None:
    answer = scene.as_admin(
        "PATCH", f"/admin/departments/{scene.departments[department]}", json={"active": False}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json["active"] is False


@when(parsers.parse('the administrator renames the department "{old}" to "{new}"'))
def renames_department(scene: Scene, old: str, new: str) -> None:
    department_id = scene.departments.pop(old)
    answer = scene.as_admin("PATCH", f"/admin/departments/{department_id}", json={"name": new})
    assert answer.status_code == 200, answer.text
    scene.departments[new] = department_id


@given(parsers.parse('a customer has seen "{names}" among the departments to choose from'))
@then(parsers.parse('a customer opening a ticket can choose only "{names}"'))
def customer_choices(scene: Scene, names: str) -> None:
    answer = scene.call("GET", "/departments")  # no account needed to see the choices
    assert answer.status_code == 200, answer.text
    assert [d["name"] for d in answer.json["items"]] == _names(names)


# ------------------------------------------------------------------ staff


def _token(person: Someone) -> str | None:
    return next(iter(person.sessions.values()), None)


@when(parsers.parse('{actor} adds {name} as an {role:w} in the team "{team}" of "{department}"'))
def add_staff_to_team(
    scene: Scene, actor: str, name: str, role: str, team: str, department: str
) -> None:
    add_staff(scene, actor, name, role, department, team)


def add_staff(
    scene: Scene,
    actor: str,
    name: str,
    role: str,
    department: str | None,
    team: str | None = None,
) -> None:
    person = scene.person(name)
    body = {
        "email": person.email,
        "display_name": name,
        "password": person.password,
        "role": ROLES[role],
        "department_id": scene.departments[department] if department else None,
        "team_id": scene.teams[team] if team else None,
    }
    answer = scene.call("POST", "/admin/staff", _token(scene.person(actor)), json=body)
    assert answer.status_code == 201, answer.text
    person.id = answer.json["id"]


@when(parsers.parse("{actor} tries to add {name} as an {role:w}"))
def tries_to_add_staff(scene: Scene, actor: str, name: str, role: str) -> None:
    person = scene.person(name)
    body = {
        "email": person.email,
        "display_name": name,
        "password": person.password,
        "role": ROLES[role],
    }
    scene.call("POST", "/admin/staff", _token(scene.person(actor)), json=body)


@then(parsers.parse("{name} is told only administrators may do that"))
def only_administrators(scene: Scene, name: str) -> None:
    body = _problem(scene.last, 403)
    assert "only administrators" in body["detail"], body


@then(parsers.parse("{name} can log in with the password {whose:w} was given"))
def can_log_in_given(scene: Scene, name: str) -> None:
    scene.session(scene.person(name), "login")


@then(parsers.parse('{name} works as an {role:w} in "{department}", in the team "{team}"'))
def works_as(scene: Scene, name: str, role: str, department: str, team: str) -> None:
    token = scene.session(scene.person(name), "check")
    me = scene.call("GET", "/me", token)
    assert me.status_code == 200, me.text
    assert (me.json["role"], me.json["department_id"], me.json["team_id"]) == (
        ROLES[role],
        scene.departments[department],
        scene.teams[team],
    )


@then(parsers.parse('the staff of the team "{team}" are "{names}"'))
def team_staff(scene: Scene, team: str, names: str) -> None:
    answer = scene.as_admin("GET", "/admin/staff", params={"team_id": scene.teams[team]})
    assert answer.status_code == 200, answer.text
    assert sorted(s["display_name"] for s in answer.json["items"]) == sorted(_names(names))


@when(parsers.parse("{actor} deactivates {name:w}"))
def deactivates(scene: Scene, actor: str, name: str) -> None:
    person = scene.person(name)
    answer = scene.call(
        "PATCH",
        f"/admin/staff/{person.id}",
        _token(scene.person(actor)),
        json={"active": False},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json["active"] is False
