"""``helpdesk users`` end to end on a migrated SQLite file: list, show, deactivate,
reactivate, erase and unlock, with the exit codes (0 done, 1 refused, 2 bad usage), one-line
errors, and the same JSON as the admin routes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.errors import AuthenticationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login, Register
from helpdesk_core.usecases.org import CreateStaff

PASSWORD = "Tr1cky-Lantern-42"
WRONG = "Quiet-Harbor-Owl-7"

Run = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-users-tests-0123456789",
    }


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Iterator[Run]:
    register_commands()
    runner = CliRunner()
    outputs: list[str] = []

    def invoke(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(
            cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env, input=input
        )
        outputs.extend((result.stdout, result.stderr))
        return result

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    yield invoke
    assert not any(PASSWORD in text for text in outputs)


@pytest.fixture
def services(run: Run, env: dict[str, str]) -> Iterator[Services]:
    """The same database, as the server would see it (to register and log in)."""
    services = bootstrap(load_settings(env, env_file=None))
    yield services
    services.close()


def register(services: Services, *names: str) -> list[str]:
    emails = []
    for name in names:
        email = f"{name}@example.com"
        services.auth.register(Register(email, PASSWORD, name.title()))
        emails.append(email)
    return emails


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def refused(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def login_status(services: Services, email: str, password: str = PASSWORD) -> int:
    client = falcon.testing.TestClient(create_app(services))
    answer = client.simulate_post("/api/v1/auth/login", json={"email": email, "password": password})
    return answer.status_code


# ---------------------------------------------------------------- list and show


def test_list_pages_filters_and_prints_the_apis_json(run: Run, services: Services) -> None:
    assert ok(run("users", "list")).strip() == "(none)"
    register(services, "ann", "anna", "bob")
    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    first = as_json(run("users", "list", "--limit", "2", "--json"))
    assert [c["email"] for c in first["items"]] == ["ann@example.com", "anna@example.com"]
    rest = as_json(run("users", "list", "--cursor", first["next_cursor"], "--json"))
    assert rest == {"items": [rest["items"][0]], "next_cursor": None}
    assert rest["items"][0]["email"] == "bob@example.com"
    # The same JSON the admin route answers for the same customer.
    admin = falcon.testing.TestClient(create_app(services))
    token = admin.simulate_post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    ).json["access_token"]
    api = admin.simulate_get(
        f"/api/v1/admin/customers/{rest['items'][0]['id']}",
        headers={"Authorization": f"Bearer {token}"},
    ).json
    assert api == rest["items"][0]

    table = ok(run("users", "list", "--email", "ANN", "--limit", "1"))
    assert "ann@example.com" in table
    assert "bob@example.com" not in table
    assert table.strip().splitlines()[-1].startswith("next: --cursor ")
    assert "ada@example.com" not in ok(run("users", "list"))


def test_list_filters_by_active(run: Run, services: Services) -> None:
    register(services, "ann", "bob")
    ok(run("users", "deactivate", "bob@example.com"))
    inactive = as_json(run("users", "list", "--inactive", "--json"))["items"]
    assert [c["email"] for c in inactive] == ["bob@example.com"]
    active = as_json(run("users", "list", "--active", "--json"))["items"]
    assert [c["email"] for c in active] == ["ann@example.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", "0"), "--limit"),
        (("--limit", "many"), "--limit"),
        (("--cursor", "garbage"), "--cursor"),
        (("--email", "x" * 300), "--email"),
    ],
)
def test_bad_list_options_are_one_line_and_exit_2(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    refused(run("users", "list", *args), message, 2)


def test_show_by_email_or_id(run: Run, services: Services) -> None:
    register(services, "ann")
    shown = as_json(run("users", "show", "ANN@example.com", "--json"))
    assert shown["email"] == "ann@example.com"
    assert as_json(run("users", "show", shown["id"], "--json")) == shown
    text = ok(run("users", "show", "ann@example.com"))
    assert "display_name" in text
    assert "Ann" in text
    refused(run("users", "show", "nobody@example.com"), "no customer with email")
    refused(run("users", "show", "00000000-0000-0000-0000-000000000001"), "no such customer")


def test_staff_are_not_shown_as_customers(run: Run, services: Services) -> None:
    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    refused(run("users", "show", "ada@example.com"), "no customer")
    refused(run("users", "erase", "ada@example.com", "--yes"), "no customer")


# ---------------------------------------------------------------- changes


def test_deactivate_ends_the_sessions_and_reactivate_lets_in(run: Run, services: Services) -> None:
    (email,) = register(services, "ann")
    token = services.auth.login(Login(email, PASSWORD)).access_token
    out = as_json(run("users", "deactivate", email, "--json"))
    assert out["active"] is False
    with pytest.raises(AuthenticationFailed):
        services.auth.authenticate(token)
    assert login_status(services, email) == 401
    assert "already deactivated" in ok(run("users", "deactivate", email))
    assert ok(run("users", "reactivate", email)).startswith("reactivated: ann@example.com")
    assert login_status(services, email) == 200


def test_erase_asks_first_and_keeps_nothing_personal(run: Run, services: Services) -> None:
    (email,) = register(services, "ann")
    declined = run("users", "erase", email, input="n\n")
    assert declined.exit_code == 1
    assert as_json(run("users", "show", email, "--json"))["erased"] is False
    confirmed = run("users", "erase", email, "--json", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "cannot be undone" in confirmed.stderr  # the question, on stderr
    erased = json.loads(confirmed.stdout)
    assert erased["erased"] is True
    assert erased["display_name"] == "Erased customer"
    assert "ann" not in erased["email"]
    refused(run("users", "show", email), "no customer with email")
    refused(run("users", "reactivate", erased["id"]), "erased customer cannot be reactivated")
    assert login_status(services, email) == 401
    # Run again (a retried script): nothing changes, no error.
    again = as_json(run("users", "erase", erased["id"], "--yes", "--json"))
    assert again == erased


# ---------------------------------------------------------------- unlock


def test_unlock_lifts_the_accounts_lockout(
    run: Run, services: Services, env: dict[str, str]
) -> None:
    (email,) = register(services, "ann")
    for _ in range(5):
        assert login_status(services, email, WRONG) == 401
    assert login_status(services, email) == 429
    assert ok(run("users", "unlock", "Ann@Example.com")).strip() == "unlocked: ann@example.com"
    assert login_status(services, email) == 200


def test_unlock_reaches_a_locked_out_administrator(run: Run, services: Services) -> None:
    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    for _ in range(5):
        assert login_status(services, "ada@example.com", WRONG) == 401
    assert login_status(services, "ada@example.com") == 429
    ok(run("users", "unlock", "ada@example.com"))
    assert login_status(services, "ada@example.com") == 200


def test_unlocking_an_unknown_account_is_refused(run: Run) -> None:
    refused(run("users", "unlock", "nobody@example.com"), "no account with email")
