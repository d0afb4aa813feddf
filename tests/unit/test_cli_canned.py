"""``helpdesk canned list|add|show|render`` end to end on a migrated SQLite file.

The commands act through the same use cases as ``/api/v1/staff/canned-responses``; these tests
pin the exit codes (0 done, 1 refused, 2 bad usage), the one-line errors, that a refusal stores
nothing, and that ``--json`` is the API's document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login, Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.test_cli_admin import PASSWORD, Run, as_json, ok, refused
from tests.unit.test_cli_sla import usage_error

GREETING = 'Hi {{ customer.first_name | default("there") }}, {{ agent.signature | default("Us") }}'


@attrs.frozen
class Desk:
    run: Run
    services: Services
    ticket_number: int
    agent_token: str


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    env = {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-canned-tests-0123456789",
    }
    register_commands()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env)

    assert invoke("db", "upgrade").exit_code == 0
    services = bootstrap(load_settings(env, env_file=None))
    sales = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Sales")).id
    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("dan@example.com", "Dan", PASSWORD, StaffRole.AGENT, sales)
    )
    account = services.auth.register(Register("ann@example.com", PASSWORD, "Ann Lee"))
    ann = services.auth.acting_as(account.user.id)
    opened = services.tickets.open_ticket(ann, OpenTicket("Refund", "Please.", department_id=sales))
    token = services.auth.login(Login("dan@example.com", PASSWORD)).access_token
    yield Desk(invoke, services, opened.ticket.number, token)
    services.close()


def add(desk: Desk, *args: str) -> dict[str, Any]:
    made: dict[str, Any] = as_json(desk.run("canned", "add", *args, "--json"))
    return made


def test_add_list_show_and_render_as_a_staff_member(desk: Desk) -> None:
    made = add(desk, "Greeting", "--body", GREETING, "--shortcut", "hi", "--as", "dan@example.com")
    assert (made["scope"], made["shortcut"], made["usage_count"]) == ("personal", "hi", 0)
    table = ok(desk.run("canned", "list", "--as", "dan@example.com"))
    assert "Greeting" in table
    assert "personal" in table
    assert ok(desk.run("canned", "list")) == "(none)\n"  # the operator owns no personal ones
    shown = ok(desk.run("canned", "show", "HI", "--as", "dan@example.com"))
    assert shown.endswith(GREETING + "\n")
    rendered = desk.run("canned", "render", "hi", f"#{desk.ticket_number}", "--as", "dan")
    refused(rendered, "no staff member with email 'dan'")
    text = ok(
        desk.run("canned", "render", "hi", str(desk.ticket_number), "--as", "dan@example.com")
    )
    assert text == "Hi Ann, Us\n"
    listed = as_json(desk.run("canned", "list", "--as", "dan@example.com", "--json"))
    assert listed[0]["usage_count"] == 1


def test_json_is_the_apis_document(desk: Desk) -> None:
    made = add(desk, "For all", "--body", "{{ ticket.subject }} for {{ agent.name }}")
    assert made["scope"] == "everyone"
    client = falcon.testing.TestClient(create_app(desk.services))
    headers = {"Authorization": f"Bearer {desk.agent_token}"}
    api = client.simulate_get(f"/api/v1/staff/canned-responses/{made['id']}", headers=headers)
    assert as_json(desk.run("canned", "show", made["id"], "--json")) == api.json == made
    rendered = as_json(desk.run("canned", "render", made["id"], str(desk.ticket_number), "--json"))
    assert rendered == {"body": "Refund for ", "unresolved": ["agent.name"]}
    by_api = client.simulate_post(
        f"/api/v1/staff/canned-responses/{made['id']}/render",
        headers=headers,
        json={
            "ticket_id": str(
                desk.services.tickets.get_ticket_by_number(
                    SYSTEM_OPERATOR, desk.ticket_number
                ).ticket.id
            )
        },
    )
    assert by_api.json == {"body": "Refund for Dan", "unresolved": []}


def test_an_unknown_placeholder_is_refused_and_nothing_is_stored(desk: Desk) -> None:
    refused(
        desk.run("canned", "add", "Bad", "--body", "{{ customer.phone }}"),
        "body: unknown placeholder customer.phone",
    )
    assert as_json(desk.run("canned", "list", "--json")) == []


def test_bad_usage_exits_2(desk: Desk) -> None:
    usage_error(desk.run("canned", "add", "No body"), "--body")
    usage_error(desk.run("canned", "add", "T", "--body", "x", "--scope", "team"), "--team")
    add(desk, "For all", "--body", "x", "--shortcut", "all")
    usage_error(desk.run("canned", "render", "all", "twelve"), "neither a ticket id")
    refused(desk.run("canned", "show", "nothing"), "no canned response with shortcut")


def test_render_names_what_had_no_value_on_stderr(desk: Desk) -> None:
    add(desk, "Sig", "--body", "Bye, {{ agent.signature }}", "--shortcut", "sig")
    result = desk.run("canned", "render", "sig", str(desk.ticket_number), "--format", "html")
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("Bye, \n", "unresolved: agent.signature\n")
