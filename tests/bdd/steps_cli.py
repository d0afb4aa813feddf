"""Steps for features/cli: the operator at the terminal, through the real ``helpdesk`` command.

Every command runs through Click's test runner against a fresh SQLite file of the scenario's
own, with the environment an operator's shell would set (the ``Operator`` of
steps_cli_failures, whose "the operator runs" and "the command fails" steps the features
share). What is not the operator's work happens where it happens in life, on the web: a
customer writing in, an agent answering, someone logging in. That is the HTTP app in process,
over the same database file, and it is also what the ``--json`` output is compared with.

A command the operator "tries" is expected to be refused: the database is dumped before it
runs, so that "nothing in the database has changed" compares every row, not only the rows
the story thought of.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import falcon.testing
import pytest
from click.testing import Result
from pytest_bdd import given, parsers, then, when

from adapters.sql.migrate import head
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from tests.bdd.steps_cli_failures import Operator
from tests.bdd.steps_identity import GOOD_PASSWORD

API = "/api/v1"


@attrs.define
class Web:
    """The helpdesk's HTTP API in process, over the operator's database."""

    services: Services
    client: falcon.testing.TestClient

    def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> falcon.testing.Result:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.client.simulate_request(method, f"{API}{path}", headers=headers, **kwargs)

    def log_in(self, email: str, password: str = GOOD_PASSWORD) -> falcon.testing.Result:
        return self.call("POST", "/auth/login", json={"email": email, "password": password})

    def token(self, email: str) -> str:
        login = self.log_in(email)
        assert login.status_code == 200, login.text
        token: str = login.json["access_token"]
        return token


@attrs.define
class Terminal:
    """The scenario's helpdesk as the operator sees it: the command, the database file, the
    web beside them, and what the story established (the ticket it is about)."""

    operator: Operator
    request: pytest.FixtureRequest
    before: str | None = None  # the database, dumped before the command the operator tried
    administrator: str | None = None  # the email of the administrator the operator created
    ticket_id: str | None = None
    _web: Web | None = None

    @property
    def database(self) -> Path:
        return self.operator.tmp_path / "hd.db"

    def use_new_database(self) -> None:
        self.operator.env["HELPDESK_DATABASE_URL"] = f"sqlite:///{self.database}"

    def done(self, *args: str, stdin: str | None = None) -> str:
        """Run a command the story needs done; its output, once it succeeded."""
        result = self.operator.invoke(*args, stdin=stdin)
        assert result.exit_code == 0, f"helpdesk {shlex.join(args)}: {result.output}"
        return result.stdout

    def attempt(self, *args: str, stdin: str | None = None) -> Result:
        """Run the story's command, keeping the database as it was before."""
        self.before = self.dump()
        return self.operator.run(*args, stdin=stdin)

    def dump(self) -> str:
        """Every table and row of the database file, as SQL ('' while there is no file)."""
        if not self.database.exists():
            return ""
        connection = sqlite3.connect(self.database)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()

    def web(self) -> Web:
        if self._web is None:
            services = bootstrap(load_settings(self.operator.environment(), env_file=None))
            self.request.addfinalizer(services.close)
            self._web = Web(services, falcon.testing.TestClient(create_app(services)))
        return self._web

    def as_administrator(self, path: str) -> Any:
        """What the web API answers the administrator at ``path``."""
        assert self.administrator is not None, "the story created no administrator"
        web = self.web()
        answer = web.call("GET", path, web.token(self.administrator))
        assert answer.status_code == 200, answer.text
        return answer.json

    def last(self) -> Result:
        assert self.operator.result is not None, "no command has run yet"
        return self.operator.result


@pytest.fixture
def terminal(operator: Operator, request: pytest.FixtureRequest) -> Terminal:
    return Terminal(operator, request)


# ------------------------------------------------------------------ reading the output


def _table(output: str) -> list[dict[str, str]]:
    """The rows of a table the commands print, by lower-case column name; cells are cut at
    the columns' starts in the header line (a cell may hold spaces)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if lines == ["(none)"]:
        return []
    header = lines[0]
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    names = header.lower().split()
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def _expected(datatable: list[list[str]]) -> list[dict[str, str]]:
    names, *rows = datatable
    return [dict(zip(names, row, strict=True)) for row in rows]


def _listed(terminal: Terminal, what: str, datatable: list[list[str]]) -> None:
    expected = _expected(datatable)
    output = terminal.done(what, "list")
    shown = [{name: row[name] for name in expected[0]} for row in _table(output)]
    assert shown == expected, f"helpdesk {what} list:\n{output}"


def _section(output: str, title: str) -> list[str]:
    """The lines of one section of ``tickets show`` (``Conversation (2)`` ... blank line)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{title} ("))
    section = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        section.append(line)
    return section


def _json(terminal: Terminal) -> Any:
    result = terminal.last()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ the database


@given("a new, empty database file")
def new_database(terminal: Terminal) -> None:
    terminal.database.touch()
    terminal.use_new_database()


@given("a database the operator has migrated")
def database_migrated(terminal: Terminal) -> None:
    terminal.use_new_database()
    terminal.done("db", "upgrade")


@when(parsers.parse('the operator tries "helpdesk {command}"'))
def tries(terminal: Terminal, command: str) -> None:
    terminal.attempt(*shlex.split(command))


@then("the command says the database is at the newest revision")
def at_head(terminal: Terminal) -> None:
    result = terminal.last()
    assert result.exit_code == 0, result.output
    assert result.stdout == f"database at {head()}\n"


@then("checking the database says it is in sync with the helpdesk's schema")
def in_sync(terminal: Terminal) -> None:
    assert terminal.done("db", "check") == f"{head()}: in sync with the schema\n"


@then("nothing in the database has changed")
def unchanged(terminal: Terminal) -> None:
    assert terminal.before is not None, "the story tried no command"
    assert terminal.dump() == terminal.before


# ------------------------------------------------------------------ commands and answers


@then(parsers.parse('the command says "{text}"'))
def says(terminal: Terminal, text: str) -> None:
    result = terminal.last()
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith(text), result.stdout


@then(
    parsers.parse('the command stops with exit status {status:d} and one line that says "{cause}"')
)
def stops_with(terminal: Terminal, status: int, cause: str) -> None:
    result = terminal.last()
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert cause in result.stderr, result.stderr


# ------------------------------------------------------------------ people


@when(
    parsers.parse(
        'the operator creates the administrator "{name}" with the email "{email}", '
        "giving a good password on standard input"
    )
)
def creates_administrator(terminal: Terminal, name: str, email: str) -> None:
    _create_administrator(terminal, name, email, f"{GOOD_PASSWORD}\n")


@when(
    parsers.parse(
        'the operator creates the administrator "{name}" with the email "{email}", '
        'giving the password "{password}" on standard input'
    )
)
def creates_administrator_with(terminal: Terminal, name: str, email: str, password: str) -> None:
    _create_administrator(terminal, name, email, f"{password}\n")


@when(
    parsers.parse(
        'the operator creates the administrator "{name}" with the email "{email}", '
        "giving nothing on standard input"
    )
)
def creates_administrator_without(terminal: Terminal, name: str, email: str) -> None:
    _create_administrator(terminal, name, email, "")


def _create_administrator(terminal: Terminal, name: str, email: str, stdin: str) -> None:
    args = ("--email", email, "--display-name", name, "--password-stdin")
    terminal.attempt("admin", "create", *args, stdin=stdin)


@given(parsers.parse('the operator has created the administrator "{email}"'))
def has_created_administrator(terminal: Terminal, email: str) -> None:
    args = ("--email", email, "--display-name", "Root", "--password-stdin")
    terminal.done("admin", "create", *args, stdin=f"{GOOD_PASSWORD}\n")
    terminal.administrator = email


@when(
    parsers.parse(
        'the operator adds the agent "{name}" with the email "{email}" to the team "{team}", '
        "giving a good password on standard input"
    )
)
def adds_agent(terminal: Terminal, name: str, email: str, team: str) -> None:
    terminal.attempt(*_add_agent(name, email, "--team", team), stdin=f"{GOOD_PASSWORD}\n")


@given(
    parsers.parse(
        'the operator has added the agent "{name}" with the email "{email}" to the team "{team}"'
    )
)
def has_added_agent(terminal: Terminal, name: str, email: str, team: str) -> None:
    terminal.done(*_add_agent(name, email, "--team", team), stdin=f"{GOOD_PASSWORD}\n")


def _add_agent(name: str, email: str, *placement: str) -> tuple[str, ...]:
    who = ("--email", email, "--display-name", name, "--role", "agent")
    return ("staff", "add", *who, *placement, "--password-stdin")


@then("the command printed nothing of the password")
def no_password_shown(terminal: Terminal) -> None:
    result = terminal.last()
    for part in GOOD_PASSWORD.split():
        assert part not in result.output, result.output


@then(parsers.parse('"{email}" can log in to the web with that password, as an {role:w}'))
def can_log_in(terminal: Terminal, email: str, role: str) -> None:
    login = terminal.web().log_in(email)
    assert login.status_code == 200, login.text
    assert login.json["user"]["role"] == {"administrator": "admin"}.get(role, role)


# ------------------------------------------------------------------ the organization


@given(parsers.parse('the operator has added the department "{department}" with the team "{team}"'))
def has_added_department_and_team(terminal: Terminal, department: str, team: str) -> None:
    terminal.done("departments", "add", department)
    terminal.done("teams", "add", team, "--department", department)


@given(
    parsers.parse(
        'the operator has added the department "{department}" with the agent "{name}" '
        'whose email is "{email}"'
    )
)
def has_added_department_and_agent(
    terminal: Terminal, department: str, name: str, email: str
) -> None:
    terminal.done("departments", "add", department)
    agent = _add_agent(name, email, "--department", department)
    terminal.done(*agent, stdin=f"{GOOD_PASSWORD}\n")


@then("the staff list reads:")
def staff_list_reads(terminal: Terminal, datatable: list[list[str]]) -> None:
    _listed(terminal, "staff", datatable)


@then("the team list reads:")
def team_list_reads(terminal: Terminal, datatable: list[list[str]]) -> None:
    _listed(terminal, "teams", datatable)


@then(parsers.parse("the command prints the same documents as the web API's list of {what:w}"))
def same_as_api(terminal: Terminal, what: str) -> None:
    printed = _json(terminal)
    answer = terminal.as_administrator(f"/admin/{what}")
    assert answer["next_cursor"] is None
    assert printed, f"helpdesk {what} list --json printed no {what}"
    by_id = sorted(answer["items"], key=lambda document: document["id"])
    assert sorted(printed, key=lambda document: document["id"]) == by_id


@then(
    parsers.parse(
        'the JSON shows "{email}" as an active {role:w} of "{department}", in the team "{team}"'
    )
)
def staff_json(terminal: Terminal, email: str, role: str, department: str, team: str) -> None:
    (member,) = [document for document in _json(terminal) if document["email"] == email]
    departments = json.loads(terminal.done("departments", "list", "--json"))
    teams = json.loads(terminal.done("teams", "list", "--json"))
    (department_id,) = [d["id"] for d in departments if d["name"] == department]
    (team_id,) = [t["id"] for t in teams if t["name"] == team]
    assert member["role"] == role
    assert member["active"] is True
    assert (member["department_id"], member["team_id"]) == (department_id, team_id)


# ------------------------------------------------------------------ tickets, on the web


@given(parsers.parse('{name:w} has written in to "{department}" on the web about "{subject}"'))
def has_written_in(terminal: Terminal, name: str, department: str, subject: str) -> None:
    web, email = terminal.web(), f"{name.lower()}@example.com"
    account = {"email": email, "password": GOOD_PASSWORD, "display_name": name}
    assert web.call("POST", "/auth/register", json=account).status_code == 202
    token = web.token(email)
    choices = web.call("GET", "/departments", token).json["items"]
    (department_id,) = [d["id"] for d in choices if d["name"] == department]
    description = f"{subject}: the total is twice what I ordered."
    body = {"subject": subject, "description": description, "department_id": department_id}
    ticket = web.call("POST", "/tickets", token, json=body)
    assert ticket.status_code == 201, ticket.text
    terminal.ticket_id = ticket.json["id"]


@given(parsers.parse('{name:w} has answered "{text}" on the web'))
def has_answered(terminal: Terminal, name: str, text: str) -> None:
    _staff_message(terminal, name, text, "public")


@given(parsers.parse('{name:w} has left the internal note "{text}" on the web'))
def has_left_note(terminal: Terminal, name: str, text: str) -> None:
    _staff_message(terminal, name, text, "internal")


def _staff_message(terminal: Terminal, name: str, text: str, visibility: str) -> None:
    web = terminal.web()
    path = f"/staff/tickets/{terminal.ticket_id}/messages"
    token = web.token(f"{name.lower()}@example.com")
    answer = web.call("POST", path, token, json={"body": text, "visibility": visibility})
    assert answer.status_code == 201, answer.text


# ------------------------------------------------------------------ tickets, at the terminal


@then(parsers.parse('the command shows the ticket "{title}" with:'))
def shows_ticket(terminal: Terminal, title: str, datatable: list[list[str]]) -> None:
    result = terminal.last()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == title
    fields = dict(re.findall(r"^  (\w+) +(.*)$", result.stdout, re.MULTILINE))
    for label, value in datatable:
        assert fields.get(label) == value, f"{label}: {fields.get(label)!r}\n{result.stdout}"


@then("the conversation reads:")
def conversation_reads(terminal: Terminal, datatable: list[list[str]]) -> None:
    messages: list[dict[str, str]] = []
    for line in _section(terminal.last().stdout, "Conversation"):
        header = re.match(r"^  -- \S+ \S+  (.+?)(  \[internal\])?$", line)
        if header:
            internal = "yes" if header[2] else "no"
            messages.append({"from": header[1], "says": "", "internal": internal})
        else:
            messages[-1]["says"] = " ".join(filter(None, [messages[-1]["says"], line.strip()]))
    assert messages == _expected(datatable), terminal.last().stdout


@then("the history reads:")
def history_reads(terminal: Terminal, datatable: list[list[str]]) -> None:
    result = terminal.last()
    assert result.exit_code == 0, result.output
    entries = []
    for line in _section(result.stdout, "History"):
        # "  2024-05-01 09:30  Ann                  replied": the name is padded to 20.
        who_and_change = line.split(None, 2)[2]
        entries.append({"by": who_and_change[:20].strip(), "change": who_and_change[21:]})
    assert entries == _expected(datatable), result.stdout


@then("the command prints the ticket as the web API shows it to the administrator")
def ticket_as_api(terminal: Terminal) -> None:
    assert _json(terminal) == terminal.as_administrator(f"/staff/tickets/{terminal.ticket_id}")


@then(
    parsers.parse(
        'the JSON shows the ticket number {number:d}, {status:w}, in the department "{department}"'
    )
)
def ticket_json(terminal: Terminal, number: int, status: str, department: str) -> None:
    ticket = _json(terminal)
    assert (ticket["number"], ticket["status"]) == (number, status)
    assert ticket["department"]["name"] == department
