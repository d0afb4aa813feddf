"""An in-process helpdesk over HTTP, with people of every role ready to log in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import attrs
import falcon.testing
import pytest

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam, UpdateStaff
from tests.conftest import make_settings

PASSWORD = "correct horse CANARY battery"  # the log guard (tests/conftest.py) looks for CANARY
_counter = itertools.count(1)


@attrs.frozen
class Person:
    """Someone who can log in: their id, email, and a bearer header once logged in."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@attrs.define
class Helpdesk:
    """The app under test, its services, and a few helpers to populate it."""

    services: Services
    client: falcon.testing.TestClient

    def login(self, email: str, password: str = PASSWORD) -> falcon.testing.Result:
        return self.client.simulate_post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )

    def person(self, email: str, password: str = PASSWORD) -> Person:
        result = self.login(email, password)
        assert result.status_code == 200, result.text
        return Person(result.json["user"]["id"], email, result.json["access_token"])

    def customer(self, name: str | None = None) -> Person:
        email = f"{name or 'customer'}{next(_counter)}@example.com"
        self.services.auth.register(Register(email=email, password=PASSWORD, display_name="C"))
        return self.person(email)

    def department(self, name: str | None = None) -> str:
        department = self.services.org.create_department(
            SYSTEM_OPERATOR, CreateDepartment(name=name or f"Department {next(_counter)}")
        )
        return str(department.id)

    def team(self, department_id: str, name: str | None = None) -> str:
        import uuid

        team = self.services.org.create_team(
            SYSTEM_OPERATOR,
            CreateTeam(
                name=name or f"Team {next(_counter)}", department_id=uuid.UUID(department_id)
            ),
        )
        return str(team.id)

    def staff(
        self, role: str, department_id: str | None = None, team_id: str | None = None
    ) -> Person:
        import uuid

        email = f"{role}{next(_counter)}@example.com"
        self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                email=email,
                display_name=role.title(),
                password=PASSWORD,
                role=StaffRole(role),
                department_id=uuid.UUID(department_id) if department_id else None,
                team_id=uuid.UUID(team_id) if team_id else None,
            ),
        )
        return self.person(email)

    def deactivate(self, person: Person) -> None:
        import uuid

        self.services.org.update_staff(
            SYSTEM_OPERATOR, uuid.UUID(person.id), UpdateStaff(active=False)
        )

    def get(self, path: str, who: Person | None = None, **kw: Any) -> falcon.testing.Result:
        return self.client.simulate_get(path, headers=who.headers if who else None, **kw)

    def post(self, path: str, who: Person | None = None, **kw: Any) -> falcon.testing.Result:
        return self.client.simulate_post(path, headers=who.headers if who else None, **kw)

    def patch(self, path: str, who: Person | None = None, **kw: Any) -> falcon.testing.Result:
        return self.client.simulate_patch(path, headers=who.headers if who else None, **kw)


def make_helpdesk(**settings: Any) -> tuple[Helpdesk, Services]:
    services = bootstrap(make_settings(**settings))
    return Helpdesk(services, falcon.testing.TestClient(create_app(services))), services


@pytest.fixture
def helpdesk() -> Iterator[Helpdesk]:
    """A helpdesk on the in-memory store (fast; the contract tests prove it equals SQL)."""
    desk, services = make_helpdesk()
    yield desk
    services.close()


@pytest.fixture
def sql_helpdesk(backend_url: str) -> Iterator[Helpdesk]:
    """The same helpdesk on each real store: memory, SQLite, PostgreSQL."""
    desk, services = make_helpdesk(database_url=backend_url)
    yield desk
    services.close()
