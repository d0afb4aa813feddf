"""Who may call what: every route of identity and organization, as every kind of caller.

The table below is the whole access policy of the HTTP API in one place. Each row is a
documented route and method; each column a kind of caller; each cell the exact status the
caller gets for a well-formed request. Every cell runs as its own test, on a fresh in-memory
helpdesk, so a cell never depends on what another one did (logging out, for one, ends the
session it was called with).

Callers: nobody (no token), a customer, an agent, a lead, an administrator, and an agent
whose account was deactivated after they logged in (their token must be refused wherever a
token is needed, and must not matter where none is).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from entrypoints.http.app import openapi_document
from tests.http.conftest import PASSWORD, Helpdesk, Person, make_helpdesk

ACTORS = ("anonymous", "customer", "agent", "lead", "admin", "deactivated")
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})

# fmt: off
#  (method, path as documented)                         anon  cust agent lead admin deact
STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST",  "/api/v1/auth/register"):                  (201,  201, 201,  201, 201,  201),
    ("POST",  "/api/v1/auth/login"):                     (401,  401, 401,  401, 401,  401),
    ("POST",  "/api/v1/auth/password/forgot"):           (202,  202, 202,  202, 202,  202),
    ("POST",  "/api/v1/auth/password/reset"):            (422,  422, 422,  422, 422,  422),
    ("GET",   "/api/v1/departments"):                    (200,  200, 200,  200, 200,  200),
    ("POST",  "/api/v1/auth/logout"):                    (401,  204, 204,  204, 204,  401),
    ("POST",  "/api/v1/auth/password/change"):           (401,  204, 204,  204, 204,  401),
    ("GET",   "/api/v1/me"):                             (401,  200, 200,  200, 200,  401),
    ("PATCH", "/api/v1/me"):                             (401,  200, 200,  200, 200,  401),
    ("GET",   "/api/v1/admin/departments"):              (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/departments"):              (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/departments/{department_id}"): (401, 403, 403, 403, 200,  401),
    ("PATCH", "/api/v1/admin/departments/{department_id}"): (401, 403, 403, 403, 200,  401),
    ("GET",   "/api/v1/admin/teams"):                    (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/teams"):                    (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/teams/{team_id}"):          (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/teams/{team_id}"):          (401,  403, 403,  403, 200,  401),
    ("GET",   "/api/v1/admin/staff"):                    (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/staff"):                    (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/staff/{staff_id}"):         (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/staff/{staff_id}"):         (401,  403, 403,  403, 200,  401),
}
# fmt: on

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    route: dict(zip(ACTORS, statuses, strict=True)) for route, statuses in STATUSES.items()
}


@attrs.frozen
class World:
    """A fresh helpdesk with one department, one team, an agent to act on, and the caller."""

    desk: Helpdesk
    department_id: str
    team_id: str
    colleague: Person
    actor: Person | None


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


Request = tuple[str, dict[str, Any] | None]  # the concrete path, and the JSON body if any
REQUESTS: dict[tuple[str, str], Callable[[World], Request]] = {
    ("POST", "/api/v1/auth/register"): lambda w: (
        "/api/v1/auth/register",
        {"email": f"{_unique('new')}@example.com", "password": PASSWORD, "display_name": "New"},
    ),
    ("POST", "/api/v1/auth/login"): lambda w: (
        "/api/v1/auth/login",
        {"email": w.colleague.email, "password": "not the password"},
    ),
    ("POST", "/api/v1/auth/password/forgot"): lambda w: (
        "/api/v1/auth/password/forgot",
        {"email": w.colleague.email},
    ),
    ("POST", "/api/v1/auth/password/reset"): lambda w: (
        "/api/v1/auth/password/reset",
        {"token": "not-a-reset-token", "new_password": "brand new secret 7"},
    ),
    ("GET", "/api/v1/departments"): lambda w: ("/api/v1/departments", None),
    ("POST", "/api/v1/auth/logout"): lambda w: ("/api/v1/auth/logout", None),
    ("POST", "/api/v1/auth/password/change"): lambda w: (
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "a new secret 42"},
    ),
    ("GET", "/api/v1/me"): lambda w: ("/api/v1/me", None),
    ("PATCH", "/api/v1/me"): lambda w: ("/api/v1/me", {"display_name": "Someone Else"}),
    ("GET", "/api/v1/admin/departments"): lambda w: ("/api/v1/admin/departments", None),
    ("POST", "/api/v1/admin/departments"): lambda w: (
        "/api/v1/admin/departments",
        {"name": _unique("Department")},
    ),
    ("GET", "/api/v1/admin/departments/{department_id}"): lambda w: (
        f"/api/v1/admin/departments/{w.department_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/departments/{department_id}"): lambda w: (
        f"/api/v1/admin/departments/{w.department_id}",
        {"name": _unique("Renamed")},
    ),
    ("GET", "/api/v1/admin/teams"): lambda w: ("/api/v1/admin/teams", None),
    ("POST", "/api/v1/admin/teams"): lambda w: (
        "/api/v1/admin/teams",
        {"name": _unique("Team"), "department_id": w.department_id},
    ),
    ("GET", "/api/v1/admin/teams/{team_id}"): lambda w: (
        f"/api/v1/admin/teams/{w.team_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/teams/{team_id}"): lambda w: (
        f"/api/v1/admin/teams/{w.team_id}",
        {"name": _unique("Renamed")},
    ),
    ("GET", "/api/v1/admin/staff"): lambda w: ("/api/v1/admin/staff", None),
    ("POST", "/api/v1/admin/staff"): lambda w: (
        "/api/v1/admin/staff",
        {
            "email": f"{_unique('staff')}@example.com",
            "display_name": "New Agent",
            "password": PASSWORD,
            "role": "agent",
            "department_id": w.department_id,
        },
    ),
    ("GET", "/api/v1/admin/staff/{staff_id}"): lambda w: (
        f"/api/v1/admin/staff/{w.colleague.id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/staff/{staff_id}"): lambda w: (
        f"/api/v1/admin/staff/{w.colleague.id}",
        {"role": "lead"},
    ),
}


def _actor(desk: Helpdesk, kind: str, department_id: str, team_id: str) -> Person | None:
    if kind == "anonymous":
        return None
    if kind == "customer":
        return desk.customer()
    if kind == "agent":
        return desk.staff("agent", department_id, team_id)
    if kind == "lead":
        return desk.staff("lead", department_id)
    if kind == "admin":
        return desk.staff("admin")
    assert kind == "deactivated"
    person = desk.staff("agent", department_id, team_id)  # logged in ...
    desk.deactivate(person)  # ... and then deactivated: the token in hand must stop working
    return person


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    desk, services = make_helpdesk()
    department_id = desk.department()
    team_id = desk.team(department_id)
    colleague = desk.staff("agent", department_id, team_id)
    actor = _actor(desk, request.param, department_id, team_id)
    yield World(desk, department_id, team_id, colleague, actor)
    services.close()


def _cells() -> list[Any]:
    return [
        pytest.param(method, path, status, actor, id=f"{method} {path} as {actor}")
        for (method, path), row in MATRIX.items()
        for actor, status in row.items()
    ]


@pytest.mark.parametrize(("method", "path", "status", "world"), _cells(), indirect=["world"])
def test_each_caller_gets_exactly_the_status_in_the_table(
    world: World, method: str, path: str, status: int
) -> None:
    concrete, body = REQUESTS[(method, path)](world)
    headers = world.actor.headers if world.actor else None
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    result = world.desk.client.simulate_request(method, concrete, **kwargs)
    assert result.status_code == status, result.text
    if status >= 400:
        assert result.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert result.headers["www-authenticate"].startswith("Bearer")


def test_the_deactivated_caller_really_held_a_working_token() -> None:
    """The 'deactivated' column means something: the same token worked before."""
    desk, services = make_helpdesk()
    try:
        department_id = desk.department()
        person = desk.staff("agent", department_id)
        assert desk.get("/api/v1/me", person).status_code == 200
        desk.deactivate(person)
        assert desk.get("/api/v1/me", person).status_code == 401
    finally:
        services.close()


def test_the_table_has_a_request_for_every_row() -> None:
    assert set(REQUESTS) == set(MATRIX)


def test_every_documented_api_route_has_a_row() -> None:
    """A route added to the OpenAPI document without a row here fails, and vice versa."""
    documented = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if method in HTTP_METHODS
    }
    assert sorted(documented - set(MATRIX)) == [], "documented routes missing from the matrix"
    assert sorted(set(MATRIX) - documented) == [], "matrix rows for undocumented routes"
