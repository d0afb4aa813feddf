"""Steps for features/cli/cli_failures.feature: the ``helpdesk`` command, in process.

The command runs through Click's test runner with its own environment, as an operator's shell
would set it; "a user the database server refuses" is a role the server does not know (the
shared test server trusts every password from 127.0.0.1, and an unknown role is refused
alike, as an authentication failure). A wrong password is checked against a server that asks
for one in ``tests/e2e/test_cli_failures.py``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, then, when
from sqlalchemy.engine import make_url

from entrypoints.cli.main import cli, register_commands
from tests.e2e.pgcluster import free_port
from tests.support.services import postgres_url

DATABASE_PASSWORD = "Sh0uld-never-show-" + uuid.uuid4().hex[:8]


@attrs.define
class Operator:
    tmp_path: Path
    env: dict[str, str] = attrs.field(factory=dict)
    result: Result | None = None

    def environment(self) -> dict[str, str]:
        """The operator's shell: a test key, cheap password hashing, and what the story set."""
        return {
            "HELPDESK_SECRET_KEYS": "bdd-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "HELPDESK_ARGON2_MEMORY_KIB": "1024",
            "HELPDESK_ARGON2_TIME_COST": "1",
            "HELPDESK_ARGON2_PARALLELISM": "1",
            "HELPDESK_DB_CONNECT_TIMEOUT": "2",
            **self.env,
        }

    def invoke(self, *args: str, stdin: str | None = None) -> Result:
        """Run ``helpdesk ARGS`` (its result is not kept as the story's last command)."""
        register_commands()
        return CliRunner().invoke(
            cli,
            ["--env-file", str(self.tmp_path / "none.env"), *args],
            env=self.environment(),
            input=stdin,
        )

    def run(self, *args: str, stdin: str | None = None) -> Result:
        """Run ``helpdesk ARGS`` as the story's last command, the one the Then steps read."""
        self.result = self.invoke(*args, stdin=stdin)
        return self.result


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    return Operator(tmp_path)


def _on_shared_server(**parts: str) -> str:
    url = make_url(postgres_url()).set(password=DATABASE_PASSWORD, **parts)
    return url.render_as_string(hide_password=False)


@given(parsers.parse("the database address points at {what}"))
def database_address(operator: Operator, what: str) -> None:
    if what == "a port where nothing listens":
        url = f"postgresql+psycopg://helpdesk:{DATABASE_PASSWORD}@127.0.0.1:{free_port()}/hd"
    elif what == "a database that does not exist":
        url = _on_shared_server(database=f"helpdesk_missing_{uuid.uuid4().hex[:10]}")
    elif what == "a user the database server refuses":
        url = _on_shared_server(username=f"helpdesk_nobody_{uuid.uuid4().hex[:10]}")
    else:
        raise AssertionError(f"no such database address in the steps: {what}")
    operator.env["HELPDESK_DATABASE_URL"] = url


@given(parsers.parse('a migrated helpdesk database with the department "{name}"'))
def migrated_database(operator: Operator, name: str) -> None:
    operator.env["HELPDESK_DATABASE_URL"] = f"sqlite:///{operator.tmp_path / 'hd.db'}"
    for args in (("db", "upgrade"), ("departments", "add", name)):
        done = operator.run(*args)
        assert done.exit_code == 0, done.output


@when(parsers.parse('the operator runs "helpdesk {command}"'))
def runs(operator: Operator, command: str) -> None:
    operator.run(*command.split())


@when("the operator adds an agent without saying which department")
def adds_agent(operator: Operator) -> None:
    operator.run(
        "staff",
        "add",
        "--email",
        "agent@example.com",
        "--display-name",
        "Agent",
        "--role",
        "agent",
        "--password-stdin",
        stdin="A-long-enough-password-42\n",
    )


@then(parsers.parse('the command fails with one line that says "{cause}"'))
def fails_with(operator: Operator, cause: str) -> None:
    result = operator.result
    assert result is not None
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert cause in lines[0], lines[0]


@then("the line does not show the password")
def no_password(operator: Operator) -> None:
    assert operator.result is not None
    assert DATABASE_PASSWORD not in operator.result.output


@then("no traceback is printed")
def no_traceback(operator: Operator) -> None:
    assert operator.result is not None
    assert "Traceback" not in operator.result.output
    assert operator.result.exception is None or isinstance(operator.result.exception, SystemExit)
