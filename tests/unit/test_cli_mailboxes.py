"""``helpdesk mailboxes add|list|show|update|deactivate`` and ``helpdesk mail received`` end to
end on a migrated SQLite file.

The commands act through the same use case as ``/api/v1/admin/mailboxes`` and
``/api/v1/admin/received-mail``; these tests pin the exit codes (0 done, 1 refused, 2 bad
usage), the one-line errors naming the option at fault, that a refusal stores nothing, and
that ``--json`` is the API's document. What the mailboxes do to received mail is the mail
processing's (tests/mail/).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login
from helpdesk_core.usecases.org import CreateStaff
from tests.unit.test_cli_admin import PASSWORD, Run, as_json, ok, refused
from tests.unit.test_cli_sla import usage_error

SUPPORT = ("Support", "Support@Example.com")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_BLOB_DIR": str(tmp_path / "blobs"),
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-mailbox-tests-0123456789",
    }


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Run:
    register_commands()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env)

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    ok(invoke("departments", "add", "Billing"))
    return invoke


@pytest.fixture
def services(run: Run, env: dict[str, str]) -> Iterator[Services]:
    """The same database, as the server would open it."""
    opened = bootstrap(load_settings(env, env_file=None))
    yield opened
    opened.close()


def add(run: Run, *args: str) -> dict[str, Any]:
    created: dict[str, Any] = as_json(run("mailboxes", "add", *SUPPORT, *args, "--json"))
    return created


def nothing_stored(run: Run) -> None:
    assert as_json(run("mailboxes", "list", "--json")) == []


# ---------------------------------------------------------------- add, show, list


def test_add_routes_to_a_department_and_says_so(run: Run) -> None:
    line = ok(run("mailboxes", "add", *SUPPORT, "--department", "billing"))
    assert line.startswith("created mailbox Support <support@example.com> (id ")
    assert line.rstrip().endswith("new mail to Billing")
    unrouted = ok(run("mailboxes", "add", "Sales", "sales@example.com"))
    assert unrouted.rstrip().endswith("new mail unrouted")


def test_show_and_list_print_the_apis_document(
    run: Run, env: dict[str, str], services: Services
) -> None:
    created = add(run, "--department", "Billing", "--unknown-senders", "HOLD", "--reopen-days", "7")
    assert (created["address"], created["unknown_senders"], created["reopen_days"]) == (
        "support@example.com",
        "hold",
        7,
    )
    assert as_json(run("mailboxes", "show", "  SUPPORT ", "--json")) == created
    assert as_json(run("mailboxes", "show", created["id"], "--json")) == created
    assert as_json(run("mailboxes", "show", "support@EXAMPLE.com", "--json")) == created
    assert as_json(run("mailboxes", "list", "--json")) == [created]

    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("root@example.com", "Root", PASSWORD, StaffRole.ADMIN)
    )
    token = services.auth.login(Login("root@example.com", PASSWORD)).access_token
    answer = falcon.testing.TestClient(create_app(services)).simulate_get(
        f"/api/v1/admin/mailboxes/{created['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.json == created

    shown = ok(run("mailboxes", "show", "support")).splitlines()
    assert shown == [
        f"Support (id {created['id']})",
        "address          support@example.com",
        "department       Billing",
        "unknown senders  hold (held for review: helpdesk mail received --status held)",
        "reopen days      7",
        "state            active, version 1",
    ]
    table = ok(run("mailboxes", "list")).splitlines()
    assert table[0].split() == [
        "ID",
        "NAME",
        "ADDRESS",
        "DEPARTMENT",
        "UNKNOWN_SENDERS",
        "REOPEN_DAYS",
        "ACTIVE",
    ]
    assert table[1].split() == [
        created["id"],
        "Support",
        "support@example.com",
        "Billing",
        "hold",
        "7",
        "yes",
    ]


@pytest.mark.parametrize("command", ["show", "update", "deactivate"])
def test_a_mailbox_that_is_not_there_is_refused(run: Run, command: str) -> None:
    add(run)
    extra = ("--reopen-days", "3") if command == "update" else ()
    refused(run("mailboxes", command, "Help desk", *extra), "no mailbox named 'Help desk'")
    missing = str(uuid.UUID(int=5))
    refused(run("mailboxes", command, missing, *extra), f"no mailbox with id {missing}")
    refused(
        run("mailboxes", command, "help@example.com", *extra),
        "no mailbox with the address 'help@example.com'",
    )


# ---------------------------------------------------------------- update, deactivate


def test_update_changes_only_what_its_options_name(run: Run) -> None:
    created = add(run, "--department", "Billing")
    changed = as_json(
        run("mailboxes", "update", "Support", "--name", "Help", "--reopen-days", "0", "--json")
    )
    assert (changed["name"], changed["reopen_days"], changed["version"]) == ("Help", 0, 2)
    assert (changed["address"], changed["department_id"]) == (
        created["address"],
        created["department_id"],
    )
    unrouted = as_json(run("mailboxes", "update", "help", "--no-department", "--json"))
    assert (unrouted["department_id"], unrouted["version"]) == (None, 3)
    assert ok(run("mailboxes", "update", "help", "--no-department")).startswith(
        "unchanged mailbox Help <support@example.com>"
    )
    assert ok(run("mailboxes", "update", "help", "--department", "billing")).startswith(
        "updated mailbox Help"
    )
    assert (
        as_json(run("mailboxes", "show", "Help", "--json"))["department_id"]
        == (created["department_id"])
    )


def test_deactivate_keeps_the_mailbox_and_says_so_the_second_time(run: Run) -> None:
    created = add(run)
    assert ok(run("mailboxes", "deactivate", "Support")) == (
        f"deactivated mailbox Support (id {created['id']})\n"
    )
    again = as_json(run("mailboxes", "deactivate", created["id"], "--json"))
    assert (again["active"], again["version"]) == (False, 2)
    assert ok(run("mailboxes", "deactivate", "support")).startswith(
        "already deactivated mailbox Support"
    )
    assert as_json(run("mailboxes", "list", "--active", "--json")) == []
    inactive = as_json(run("mailboxes", "list", "--inactive", "--json"))
    assert [m["id"] for m in inactive] == [created["id"]]
    back = as_json(run("mailboxes", "update", "Support", "--active", "--json"))
    assert (back["active"], back["version"]) == (True, 3)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", *SUPPORT, "--reopen-days", "two weeks"), "--reopen-days 'two weeks': must be"),
        (("add", *SUPPORT, "--reopen-days", "-1"), "--reopen-days '-1': must be a whole number"),
        (("update", "Support"), "give at least one change"),
        (
            ("update", "Support", "--department", "Billing", "--no-department"),
            "--department and --no-department",
        ),
    ],
)
def test_malformed_options_are_bad_usage_and_change_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    before = as_json(run("mailboxes", "list", "--json"))
    usage_error(run("mailboxes", *args), message)
    assert as_json(run("mailboxes", "list", "--json")) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "support@example.com"), "error: NAME: "),
        (("Support", "not an address"), "error: ADDRESS: must be a valid e-mail address"),
        (
            (*SUPPORT, "--unknown-senders", "bounce"),
            "error: --unknown-senders 'bounce': must be 'create' or 'hold'",
        ),
        (
            (*SUPPORT, "--reopen-days", "3651"),
            "error: --reopen-days '3651': must be a whole number from 0 to 3650",
        ),
        ((*SUPPORT, "--department", "Nowhere"), "error: no department named 'Nowhere'"),
    ],
)
def test_a_refusal_of_the_core_names_the_option_and_stores_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    refused(run("mailboxes", "add", *args), message)
    nothing_stored(run)


def test_a_refused_update_names_its_option_and_changes_nothing(run: Run) -> None:
    created = add(run)
    refused(
        run("mailboxes", "update", "Support", "--address", "nope"),
        "error: --address 'nope': must be a valid e-mail address",
    )
    refused(run("mailboxes", "update", "Support", "--name", "x" * 101), "error: --name 'xxxxxxxx")
    assert as_json(run("mailboxes", "show", "Support", "--json")) == created


@pytest.mark.parametrize(
    "taken",
    [(" SUPPORT ", "other@example.com"), ("Other", "SUPPORT@example.com")],
    ids=["name", "address"],
)
def test_a_taken_name_or_address_is_refused(run: Run, taken: tuple[str, str]) -> None:
    add(run)
    result = run("mailboxes", "add", *taken)
    refused(result, "already exists")
    assert len(as_json(run("mailboxes", "list", "--json"))) == 1


# ---------------------------------------------------------------- mail received


def _receive(services: Services, mailbox_id: str, sender: str) -> str:
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: Hello from {sender}\r\n"
        f"Message-ID: <{uuid.uuid4()}@example.org>\r\n\r\nHello\r\n"
    ).encode()
    stored = services.mail_intake.receive(uuid.UUID(mailbox_id), raw, InboundVia.PIPE)
    return str(stored.email.id)


def test_received_lists_newest_first_and_filters(run: Run, services: Services) -> None:
    support = add(run, "--unknown-senders", "hold")
    sales = as_json(run("mailboxes", "add", "Sales", "sales@example.com", "--json"))
    first = _receive(services, support["id"], "stranger@example.org")
    services.mail.process_pending()  # an unknown sender of a mailbox that holds them
    second = _receive(services, sales["id"], "bob@example.org")
    third = _receive(services, support["id"], "cy@example.org")

    everything = as_json(run("mail", "received", "--json"))
    assert [m["id"] for m in everything["items"]] == [third, second, first]
    api = falcon.testing.TestClient(create_app(services))
    services.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("root@example.com", "Root", PASSWORD, StaffRole.ADMIN)
    )
    token = services.auth.login(Login("root@example.com", PASSWORD)).access_token
    by_api = api.simulate_get(
        "/api/v1/admin/received-mail", headers={"Authorization": f"Bearer {token}"}
    )
    assert by_api.json == everything

    held = as_json(run("mail", "received", "--status", "HELD", "--json"))["items"]
    assert [(m["id"], m["sender"], m["outcome"]) for m in held] == [
        (first, "stranger@example.org", "unknown_sender")
    ]
    of_support = as_json(run("mail", "received", "--mailbox", "support", "--limit", "1", "--json"))
    assert [m["id"] for m in of_support["items"]] == [third]

    table = ok(run("mail", "received", "--status", "held")).splitlines()
    assert table[0].split() == [
        "RECEIVED_AT",
        "MAILBOX",
        "STATUS",
        "OUTCOME",
        "SENDER",
        "SUBJECT",
        "TICKET",
    ]
    assert table[1].split()[1:] == [
        "Support",
        "held",
        "unknown_sender",
        "stranger@example.org",
        "Hello",
        "from",
        "stranger@example.org",
        "-",
    ]
    assert ok(run("mail", "received", "--mailbox", "Sales", "--status", "failed")) == "(none)\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--status", "lost"), 2, "--status 'lost': must be one of pending, processed"),
        (("--limit", "ten"), 2, "--limit 'ten': must be a whole number from 1 to 200"),
        (("--limit", "0"), 1, "--limit '0': must be from 1 to 200"),
        (("--limit", "201"), 1, "--limit '201': must be from 1 to 200"),
        (("--mailbox", "Nowhere"), 1, "no mailbox named 'Nowhere'"),
    ],
)
def test_received_refuses_bad_options_in_one_line(
    run: Run, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run("mail", "received", *args)
    if code == 1:
        refused(result, message)
    else:
        usage_error(result, message)


# ---------------------------------------------------------------- --help


def test_every_mail_command_has_help(run: Run) -> None:
    commands = register_commands().commands
    mailboxes, mail = commands["mailboxes"], commands["mail"]
    assert isinstance(mailboxes, click.Group)
    assert isinstance(mail, click.Group)
    assert sorted(mailboxes.commands) == [
        "add",
        "deactivate",
        "imap",
        "list",
        "secret",
        "show",
        "update",
    ]
    assert sorted(mail.commands) == ["ingest", "poll", "process", "received"]
    paths = [("mailboxes",), ("mail",)] + [
        (group.name or "", name) for group in (mailboxes, mail) for name in group.commands
    ]
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith(f"Usage: cli {' '.join(path)}")
