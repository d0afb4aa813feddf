"""``helpdesk admin|staff|departments|teams`` end to end on a migrated SQLite file.

Every command acts through the same use cases as the HTTP API; these tests pin the exit codes
(0 done, 1 refused, 2 bad usage), the one-line errors, the JSON output, and that the password
never appears in anything printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings

PASSWORD = "Tr1cky-Lantern-42"
OTHER_PASSWORD = "Quiet-Harbor-Owl-7"

Run = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-admin-tests-0123456789",
    }


@pytest.fixture
def outputs() -> list[str]:
    """Everything any command printed in a test, to prove the passwords never show."""
    return []


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str], outputs: list[str]) -> Iterator[Run]:
    register_commands()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **extra_env: str) -> Result:
        result = runner.invoke(
            cli,
            ["--env-file", str(tmp_path / "none.env"), *args],
            env={**env, **extra_env},
            input=input,
        )
        outputs.extend((result.output, result.stdout, result.stderr))
        return result

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    yield invoke
    for text in outputs:
        assert PASSWORD not in text
        assert OTHER_PASSWORD not in text


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def refused(result: Result, message: str) -> None:
    """Exit 1 with exactly one line on stderr, ``error: ...`` containing ``message``."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


# ---------------------------------------------------------------- admin create


def test_admin_create_from_stdin_makes_an_account_that_logs_in_over_http(
    run: Run, env: dict[str, str]
) -> None:
    result = run(
        "admin",
        "create",
        "--email",
        "Root@Example.com",
        "--display-name",
        "Root",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert ok(result).startswith("created administrator root@example.com (id ")

    listed = as_json(run("staff", "list", "--json"))
    assert [(s["email"], s["role"], s["department_id"]) for s in listed] == [
        ("root@example.com", "admin", None)
    ]

    services = bootstrap(load_settings(env, env_file=None))
    try:
        client = falcon.testing.TestClient(_app(services))
        login = client.simulate_post(
            "/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert login.json["user"]["role"] == "admin"
        wrong = client.simulate_post(
            "/api/v1/auth/login", json={"email": "root@example.com", "password": OTHER_PASSWORD}
        )
        assert wrong.status_code == 401
    finally:
        services.close()


def _app(services: Any) -> Any:
    from entrypoints.http.app import create_app

    return create_app(services)


def test_admin_create_prompts_twice_without_echo(run: Run) -> None:
    result = run(
        "admin",
        "create",
        "--email",
        "second@example.com",
        "--display-name",
        "Second",
        "--json",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.stderr  # the prompt goes to stderr, keeping stdout JSON
    created = json.loads(result.stdout)
    assert created["email"] == "second@example.com"
    assert created["role"] == "admin"


def test_admin_create_with_mismatched_confirmation_asks_again(run: Run) -> None:
    result = run(
        "admin",
        "create",
        "--email",
        "third@example.com",
        "--display-name",
        "Third",
        input=f"{PASSWORD}\n{OTHER_PASSWORD}\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.stderr


def test_a_weak_password_is_refused_naming_the_password(run: Run) -> None:
    result = run(
        "admin",
        "create",
        "--email",
        "weak@example.com",
        "--display-name",
        "Weak",
        "--password-stdin",
        input="short\n",
    )
    refused(result, "password: must be at least")
    result = run(
        "admin",
        "create",
        "--email",
        "weak@example.com",
        "--display-name",
        "Weak",
        "--password-stdin",
        input="weak@example.com-is-mine\n",
    )
    refused(result, "password: must not contain the email address")
    assert as_json(run("staff", "list", "--json")) == []


def test_empty_stdin_is_bad_usage(run: Run) -> None:
    result = run(
        "admin",
        "create",
        "--email",
        "a@example.com",
        "--display-name",
        "A",
        "--password-stdin",
        input="",
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --password-stdin")


def test_a_duplicate_email_is_refused(run: Run) -> None:
    args = ("admin", "create", "--email", "dup@example.com", "--display-name", "Dup")
    ok(run(*args, "--password-stdin", input=f"{PASSWORD}\n"))
    refused(
        run(*args, "--password-stdin", input=f"{PASSWORD}\n"), "the email is already registered"
    )


# ---------------------------------------------------------------- departments


def test_departments_add_list_rename_deactivate(run: Run) -> None:
    out = ok(run("departments", "add", "Billing", "--auto-assign"))
    assert out.startswith("created department Billing (id ")
    tech = as_json(run("departments", "add", "Tech", "--json"))
    assert (tech["name"], tech["auto_assign"], tech["active"]) == ("Tech", False, True)

    listed = by_name(as_json(run("departments", "list", "--json")))
    assert set(listed) == {"Billing", "Tech"}
    assert listed["Billing"]["auto_assign"] is True

    table = ok(run("departments", "list"))
    assert table.splitlines()[0].split() == ["ID", "NAME", "AUTO_ASSIGN", "ACTIVE"]
    assert "Billing" in table

    refused(run("departments", "add", "billing"), "a department named 'Billing' already exists")

    assert ok(run("departments", "rename", "BILLING", "Accounts")) == (
        "renamed department Billing to Accounts\n"
    )
    renamed = as_json(run("departments", "rename", tech["id"], "Technical", "--json"))
    assert (renamed["id"], renamed["name"]) == (tech["id"], "Technical")
    refused(run("departments", "rename", "Accounts", "technical"), "already exists")

    assert ok(run("departments", "deactivate", "accounts")) == "deactivated department Accounts\n"
    active = as_json(run("departments", "list", "--active", "--json"))
    inactive = as_json(run("departments", "list", "--inactive", "--json"))
    assert [d["name"] for d in active] == ["Technical"]
    assert [d["name"] for d in inactive] == ["Accounts"]

    refused(run("departments", "rename", "Billing", "X"), "no department named 'Billing'")
    refused(
        run("departments", "deactivate", "00000000-0000-0000-0000-00000000abcd"),
        "no department with id",
    )


def test_an_empty_list_prints_none(run: Run) -> None:
    assert ok(run("departments", "list")) == "(none)\n"
    assert as_json(run("departments", "list", "--json")) == []


# ---------------------------------------------------------------- teams


def test_teams_with_the_same_name_in_two_departments(run: Run) -> None:
    ok(run("departments", "add", "Billing"))
    ok(run("departments", "add", "Tech"))
    out = ok(run("teams", "add", "Tier 1", "--department", "billing"))
    assert out.startswith("created team Tier 1 in Billing (id ")
    tech_tier = as_json(run("teams", "add", "Tier 1", "--department", "Tech", "--json"))
    departments = {d["id"]: d["name"] for d in as_json(run("departments", "list", "--json"))}
    assert departments[tech_tier["department_id"]] == "Tech"
    refused(run("teams", "add", "tier 1", "--department", "Tech"), "has a team named 'Tier 1'")

    teams = as_json(run("teams", "list", "--json"))
    assert sorted((departments[t["department_id"]], t["name"]) for t in teams) == [
        ("Billing", "Tier 1"),
        ("Tech", "Tier 1"),
    ]
    only_tech = as_json(run("teams", "list", "--department", "tech", "--json"))
    assert [t["id"] for t in only_tech] == [tech_tier["id"]]
    assert ok(run("teams", "list")).splitlines()[0].split() == [
        "ID",
        "NAME",
        "DEPARTMENT",
        "ACTIVE",
    ]

    ambiguous = run("teams", "rename", "tier 1", "Front line")
    refused(ambiguous, "several departments (Billing, Tech)")
    assert "--department" in ambiguous.stderr
    refused(run("teams", "deactivate", "Tier 1"), "give --department or the team's id")

    assert ok(run("teams", "rename", "tier 1", "Front line", "--department", "Billing")) == (
        "renamed team Tier 1 to Front line\n"
    )
    renamed = as_json(run("teams", "rename", tech_tier["id"], "Escalations", "--json"))
    assert (renamed["name"], departments[renamed["department_id"]]) == ("Escalations", "Tech")

    assert ok(run("teams", "deactivate", "front line")) == "deactivated team Front line\n"
    assert [t["name"] for t in as_json(run("teams", "list", "--inactive", "--json"))] == [
        "Front line"
    ]
    assert [t["name"] for t in as_json(run("teams", "list", "--active", "--json"))] == [
        "Escalations"
    ]

    refused(run("teams", "add", "X", "--department", "Nope"), "no department named 'Nope'")
    refused(
        run("teams", "rename", "Escalations", "Y", "--department", "Billing"),
        "no team named 'Escalations' in department Billing",
    )
    refused(run("teams", "deactivate", "Ghosts"), "no team named 'Ghosts'")


# ---------------------------------------------------------------- staff


def _admin(run: Run) -> None:
    ok(
        run(
            "admin",
            "create",
            "--email",
            "root@example.com",
            "--display-name",
            "Root",
            "--password-stdin",
            input=f"{PASSWORD}\n",
        )
    )


def test_staff_add_list_set_role_move_deactivate_activate(run: Run) -> None:
    _admin(run)
    ok(run("departments", "add", "Billing"))
    ok(run("departments", "add", "Tech"))
    ok(run("teams", "add", "Tier 1", "--department", "Billing"))
    ok(run("teams", "add", "Tier 1", "--department", "Tech"))
    ok(run("teams", "add", "Tier 2", "--department", "Tech"))

    added = run(
        "staff",
        "add",
        "--email",
        "Bob@Example.com",
        "--display-name",
        "Bob",
        "--role",
        "agent",
        "--department",
        "tech",
        "--team",
        "tier 1",
        "--password-stdin",
        input=f"{OTHER_PASSWORD}\n",
    )
    assert ok(added).startswith("created agent bob@example.com (id ")
    carol = as_json(
        run(
            "staff",
            "add",
            "--email",
            "carol@example.com",
            "--display-name",
            "Carol",
            "--role",
            "LEAD",
            "--department",
            "Billing",
            "--password-stdin",
            "--json",
            input=f"{OTHER_PASSWORD}\n",
        )
    )

    def names(member: dict[str, Any]) -> tuple[str | None, str | None]:
        """The names of a staff document's department and team (the JSON carries ids)."""
        departments = {d["id"]: d["name"] for d in as_json(run("departments", "list", "--json"))}
        teams = {t["id"]: t["name"] for t in as_json(run("teams", "list", "--json"))}
        return departments.get(member["department_id"]), teams.get(member["team_id"])

    assert (carol["role"], *names(carol)) == ("lead", "Billing", None)

    every = as_json(run("staff", "list", "--json"))
    assert sorted(s["email"] for s in every) == [
        "bob@example.com",
        "carol@example.com",
        "root@example.com",
    ]
    bob = next(s for s in every if s["email"] == "bob@example.com")
    assert (bob["role"], *names(bob), bob["active"]) == (
        "agent",
        "Tech",
        "Tier 1",
        True,
    )

    def emails(*filters: str) -> list[str]:
        return sorted(s["email"] for s in as_json(run("staff", "list", *filters, "--json")))

    assert emails("--department", "Tech") == ["bob@example.com"]
    assert emails("--department", "Tech", "--team", "Tier 1") == ["bob@example.com"]
    assert emails("--role", "admin") == ["root@example.com"]
    assert emails("--role", "lead", "--department", "billing") == ["carol@example.com"]
    assert emails("--inactive") == []
    refused(run("staff", "list", "--team", "Tier 1"), "several departments")
    table = ok(run("staff", "list", "--department", "tech"))
    assert table.splitlines()[0].split() == [
        "ID",
        "EMAIL",
        "DISPLAY_NAME",
        "ROLE",
        "DEPARTMENT",
        "TEAM",
        "ACTIVE",
    ]
    assert "bob@example.com" in table

    assert ok(run("staff", "set-role", "BOB@example.com", "lead")) == (
        "bob@example.com is now lead\n"
    )
    assert as_json(run("staff", "set-role", bob["id"], "agent", "--json"))["role"] == "agent"

    # moving keeps the team only if it belongs to the new department
    assert ok(run("staff", "move", "bob@example.com", "--department", "Billing")) == (
        "moved bob@example.com to department Billing\n"
    )
    moved = as_json(
        run(
            "staff",
            "move",
            "bob@example.com",
            "--department",
            "Tech",
            "--team",
            "Tier 2",
            "--json",
        )
    )
    assert names(moved) == ("Tech", "Tier 2")
    assert ok(run("staff", "move", "bob@example.com", "--department", "Tech", "--no-team")) == (
        "moved bob@example.com to department Tech\n"
    )
    refused(
        run("staff", "move", "bob@example.com", "--department", "Billing", "--team", "Tier 2"),
        "no team named 'Tier 2' in department Billing",
    )
    usage = run(
        "staff",
        "move",
        "bob@example.com",
        "--department",
        "Tech",
        "--team",
        "Tier 2",
        "--no-team",
    )
    assert usage.exit_code == 2

    assert ok(run("staff", "deactivate", "bob@example.com")) == "deactivated bob@example.com\n"
    assert emails("--inactive") == ["bob@example.com"]
    assert as_json(run("staff", "activate", bob["id"], "--json"))["active"] is True
    assert emails("--active") == ["bob@example.com", "carol@example.com", "root@example.com"]

    refused(
        run("staff", "deactivate", "root@example.com"),
        "the last active administrator cannot be removed or demoted",
    )
    refused(run("staff", "set-role", "nobody@example.com", "lead"), "no staff member with email")
    refused(
        run("staff", "activate", "00000000-0000-0000-0000-00000000beef"),
        "no staff member with id",
    )


def test_staff_add_refusals(run: Run) -> None:
    ok(run("departments", "add", "Billing"))
    base = ("staff", "add", "--email", "d@example.com", "--display-name", "D")

    refused(
        run(
            *base,
            "--role",
            "agent",
            "--department",
            "Nope",
            "--password-stdin",
            input=f"{PASSWORD}\n",
        ),
        "no department named 'Nope'",
    )
    refused(
        run(*base, "--role", "agent", "--password-stdin", input=f"{PASSWORD}\n"),
        "error: --department: an agent needs a department",
    )
    refused(
        run(
            *base,
            "--role",
            "agent",
            "--department",
            "Billing",
            "--password-stdin",
            input="aaaaaaaaaaaa\n",
        ),
        "password: is too easy to guess",
    )
    bad_role = run(
        *base,
        "--role",
        "boss",
        "--department",
        "Billing",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert bad_role.exit_code == 2
    assert "'boss' is not one of" in bad_role.stderr
    missing = run("staff", "add", "--email", "d@example.com", "--role", "agent")
    assert missing.exit_code == 2
    assert "--display-name" in missing.stderr
    assert as_json(run("staff", "list", "--json")) == []


# ---------------------------------------------------------------- --help


def _commands(group: click.Group, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


def test_every_admin_command_has_help(run: Run) -> None:
    group = register_commands()
    paths = [
        path
        for top in ("admin", "staff", "departments", "teams")
        for path in _commands(group.commands[top], (top,))  # type: ignore[arg-type]
    ]
    assert len(paths) == 4 + 1 + 6 + 4 + 4
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith(f"Usage: cli {' '.join(path)}")
        command = group
        for name in path:
            command = command.commands[name]  # type: ignore[assignment]
        assert command.help, path
