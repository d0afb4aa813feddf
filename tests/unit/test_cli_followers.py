"""``helpdesk tickets follow|unfollow|followers`` on a migrated SQLite file: the operator makes
a staff member follow a ticket or stop, exits 1 on a refusal and 2 on bad usage, and ``--json``
prints the document the API (and the library's ``helpdesk.document``) shows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import falcon.testing
import pytest
from click.testing import CliRunner, Result

import helpdesk
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.test_cli_tickets import failed, ok

PASSWORD = "correct horse battery staple"


@attrs.frozen
class Stage:
    """One ticket (#1) of Billing; an agent and a lead of Billing, an agent of Tech."""

    folder: Path
    env: dict[str, str]
    services: Services
    ticket_id: str

    def run(self, *args: str) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, ["--env-file", str(self.folder / "none.env"), *args], env=self.env
        )

    def json(self, *args: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(ok(self.run(*args, "--json")))
        return body


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    register_commands()
    env = {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-follower-tests-0123456789",
    }
    migrated = CliRunner().invoke(
        cli, ["--env-file", str(tmp_path / "none.env"), "db", "upgrade"], env=env
    )
    assert migrated.exit_code == 0, migrated.output
    services = bootstrap(load_settings(env, env_file=None))
    org = services.org
    billing = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing")).id
    tech = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Tech")).id
    for email, name, role, department in (
        ("dan@example.com", "Dan", StaffRole.AGENT, billing),
        ("lena@example.com", "Lena", StaffRole.LEAD, billing),
        ("tom@example.com", "Tom", StaffRole.AGENT, tech),
        ("ada@example.com", "Ada", StaffRole.ADMIN, None),
    ):
        org.create_staff(SYSTEM_OPERATOR, CreateStaff(email, name, PASSWORD, role, department))
    ann = services.auth.register(Register("ann@example.com", PASSWORD, "Ann")).user.id
    opened = services.tickets.open_ticket(
        Principal(ann, Role.CUSTOMER), OpenTicket("Charged twice", "Twice.", department_id=billing)
    )
    yield Stage(tmp_path, env, services, str(opened.ticket.id))
    services.close()


def test_the_operator_makes_a_staff_member_follow_and_stop(stage: Stage) -> None:
    assert stage.json("tickets", "followers", "#1") == {"items": []}
    assert "(none)" in ok(stage.run("tickets", "followers", "1"))
    shown = ok(stage.run("tickets", "follow", "#1", "--user", "DAN@example.com"))
    header, row = shown.splitlines()
    assert header.split() == ["NAME", "EMAIL", "REASON", "SINCE", "ID"]
    assert row.split()[:3] == ["Dan", "dan@example.com", "follower"]
    again = stage.json("tickets", "follow", stage.ticket_id, "--user", "dan@example.com")
    assert [(i["user"]["display_name"], i["reason"]) for i in again["items"]] == [
        ("Dan", "follower")
    ]
    history = stage.json("tickets", "history", "1")["items"]
    assert [(h["field"], h["new_name"], h["actor"]) for h in history[-1:]] == [
        ("follower", "Dan", None)  # the operator is no user
    ]
    assert stage.json("tickets", "unfollow", "1", "--user", "dan@example.com") == {"items": []}


def test_json_is_the_document_of_the_api_and_the_library(stage: Stage) -> None:
    stage.run("tickets", "follow", "1", "--user", "lena@example.com")
    printed = stage.json("tickets", "followers", "1")
    client = falcon.testing.TestClient(create_app(stage.services))
    login = client.simulate_post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    token = login.json["access_token"]
    answer = client.simulate_get(
        f"/api/v1/staff/tickets/{stage.ticket_id}/followers",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert printed == answer.json
    with helpdesk.open(load_settings(stage.env, env_file=None)) as desk:
        found = desk.system.ticket_followers(uuid.UUID(stage.ticket_id))
        assert helpdesk.document(found) == printed
    assert printed["items"][0]["user"]["display_name"] == "Lena"


def test_refusals_exit_1_and_bad_usage_exits_2(stage: Stage) -> None:
    failed(stage.run("tickets", "follow", "1", "--user", "ann@example.com"), 1, "no staff member")
    failed(
        stage.run("tickets", "follow", "1", "--user", "tom@example.com"),
        1,
        "does not work in the ticket's department",
    )
    failed(stage.run("tickets", "followers", "#9"), 1, "no such ticket: #9")
    missing = stage.run("tickets", "follow", "1")
    assert missing.exit_code == 2
    assert "--user" in missing.stderr
    failed(stage.run("tickets", "unfollow", "nine", "--user", "dan@example.com"), 2, "neither")
