"""``helpdesk mailboxes imap`` and ``helpdesk mail poll`` (entrypoints/cli/mail_imap.py) end to
end on a migrated SQLite file: exit codes (0 done, 1 refused or failed, 2 bad usage), the one
line naming the option at fault, the password read from standard input and printed nowhere,
options that keep what they do not name, and a poll against a real IMAP server (Dovecot).

The commands are mounted here on groups of the test's own, as entrypoints/cli/mail.py mounts
them on its ``mailboxes`` and ``mail`` groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli import mail_imap
from entrypoints.cli.main import CliState, cli, register_commands
from entrypoints.config import load_settings
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.mail.support import letter
from tests.support.dovecot import Dovecot, free_port
from tests.unit.test_cli_admin import Run, as_json, ok, refused
from tests.unit.test_cli_sla import usage_error

PASSWORD = "imap-CANARY-secret"


@pytest.fixture(autouse=True)
def no_stderr_log_handler() -> Iterator[None]:
    """A fresh ``helpdesk mail poll --once`` process has no log handler: an earlier test of
    this process may have installed the CLI's (``configure_logging``), which would print the
    poller's INFO lines into the captured stderr. Put it aside while the test runs."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_helpdesk", False)]
    for handler in ours:
        root.removeHandler(handler)
    yield
    for handler in ours:
        root.addHandler(handler)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_BLOB_DIR": str(tmp_path / "blobs"),
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-imap-tests-0123456789",
        "HELPDESK_LOG_LEVEL": "WARNING",
    }


def helpdesk(env_file: str) -> click.Group:
    """``helpdesk`` with the two commands where entrypoints/cli/mail.py puts them."""

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = CliState(env_file)

    groups = {name: click.Group(name) for name in ("mailboxes", "mail")}
    for group_name, command in mail_imap.COMMANDS:
        groups[group_name].add_command(command)
    for group in groups.values():
        root.add_command(group)
    return root


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Run:
    register_commands()
    runner = CliRunner()
    env_file = str(tmp_path / "none.env")
    ours = helpdesk(env_file)

    def setup(*args: str) -> Result:
        return runner.invoke(cli, ["--env-file", env_file, *args], env=env)

    ok(setup("db", "upgrade"))
    ok(setup("mailboxes", "add", "Support", "support@example.com"))

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(ours, list(args), env=env, input=stdin)

    return invoke


@pytest.fixture
def services(run: Run, env: dict[str, str]) -> Iterator[Services]:
    opened = bootstrap(load_settings(env, env_file=None))
    yield opened
    opened.close()


def set_imap(run: Run, *args: str, stdin: str | None = PASSWORD + "\n") -> dict[str, Any]:
    options = ["--password-stdin"] if stdin is not None else []
    document: dict[str, Any] = as_json(
        run("mailboxes", "imap", "Support", *args, *options, "--json", stdin=stdin)
    )
    return document


FIRST = ("--host", "imap.example.com", "--username", "support@example.com")


def test_settings_are_set_with_the_password_from_stdin_and_shown_without_it(run: Run) -> None:
    refused(run("mailboxes", "imap", "Support"), "mailbox Support has no IMAP settings")

    document = set_imap(run, *FIRST, "--move-to", "Helpdesk/Done")

    assert {k: document[k] for k in ("host", "port", "security", "username", "folder")} == {
        "host": "imap.example.com",
        "port": 993,
        "security": "tls",
        "username": "support@example.com",
        "folder": "INBOX",
    }
    assert document["move_to"] == "Helpdesk/Done"
    assert "password" not in document
    shown = ok(run("mailboxes", "imap", "support"))
    assert "imap.example.com:993 (tls)" in shown
    assert "moves it to 'Helpdesk/Done'" in shown
    assert "last poll        never" in shown
    assert "CANARY" not in shown
    assert as_json(run("mailboxes", "imap", "support@example.com", "--json")) == document


def test_options_keep_what_they_do_not_name(run: Run, services: Services) -> None:
    set_imap(run, *FIRST, "--security", "starttls")
    support = services.mailboxes.list(SYSTEM_OPERATOR)[0]
    sealed = services.mailbox_imap.get(SYSTEM_OPERATOR, support.id).password

    document = set_imap(run, "--folder", "Support", "--move-to", "Done", stdin=None)

    assert (document["host"], document["username"]) == FIRST[1::2]
    assert (document["security"], document["port"], document["folder"]) == (
        "starttls",
        143,
        "Support",
    )
    assert services.mailbox_imap.get(SYSTEM_OPERATOR, support.id).password == sealed
    # --security tls takes its own port along; --mark-seen stops moving.
    document = set_imap(run, "--security", "tls", "--mark-seen", stdin=None)
    assert (document["security"], document["port"], document["move_to"]) == ("tls", 993, None)


def test_refusals_name_their_option(run: Run) -> None:
    refused(
        run("mailboxes", "imap", "Support", *FIRST),
        "--password-stdin: is required: the mailbox has none yet",
    )
    usage_error(
        run("mailboxes", "imap", "Support", "--host", "imap.example.com"),
        "need --host, --username and --password-stdin",
    )
    usage_error(run("mailboxes", "imap", "Support", *FIRST, "--port", "x1"), "--port 'x1'")
    refused(
        run(
            "mailboxes",
            "imap",
            "Support",
            *FIRST,
            "--port",
            "70000",
            "--password-stdin",
            stdin=PASSWORD,
        ),
        "--port: must be a whole number from 1 to 65535",
    )
    refused(
        run(
            "mailboxes",
            "imap",
            "Support",
            *FIRST,
            "--security",
            "ssl",
            "--password-stdin",
            stdin=PASSWORD,
        ),
        "--security: must be 'tls', 'starttls' or 'none'",
    )
    usage_error(
        run("mailboxes", "imap", "Support", *FIRST, "--password-stdin", stdin=""),
        "--password-stdin: standard input gave no password",
    )
    usage_error(run("mailboxes", "imap", "Support", "--clear", "--host", "x"), "--clear")
    refused(run("mailboxes", "imap", "Nowhere", *FIRST), "no mailbox named 'Nowhere'")
    refused(run("mailboxes", "imap", "Support"), "has no IMAP settings")  # nothing stored


def test_a_password_sent_in_clear_is_warned_about(run: Run) -> None:
    result = run(
        "mailboxes",
        "imap",
        "Support",
        *FIRST,
        "--security",
        "none",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: security none: the password goes to imap.example.com unencrypted\n"
    )
    local = run("mailboxes", "imap", "Support", "--host", "127.0.0.1")
    assert local.exit_code == 0, local.output
    assert local.stderr == ""


def test_clearing_stops_fetching(run: Run) -> None:
    set_imap(run, *FIRST)
    assert "cleared the IMAP settings of mailbox Support" in ok(
        run("mailboxes", "imap", "Support", "--clear")
    )
    assert "no IMAP settings to clear" in ok(run("mailboxes", "imap", "Support", "--clear"))


@pytest.fixture
def imap_server() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


def test_poll_once_fetches_now_and_fails_naming_the_mailbox_whose_server_is_away(
    run: Run, services: Services, imap_server: Dovecot
) -> None:
    imap_server.append("desk", letter(subject="One"), letter(subject="Two"))
    server = ("--host", imap_server.host, "--port", str(imap_server.port), "--security", "none")
    set_imap(run, *server, "--username", "desk", stdin=imap_server.password + "\n")

    assert ok(run("mail", "poll", "--once")) == "fetched 2 messages\n"
    received = services.mailboxes.received(SYSTEM_OPERATOR)
    assert sorted(e.via for e in received) == [InboundVia.IMAP] * 2
    assert ok(run("mail", "poll", "--once", "--limit", "5")) == "fetched 0 messages\n"

    dead = str(free_port())
    set_imap(run, "--port", dead, stdin=None)
    failed = run("mail", "poll", "--once")
    refused(failed, f"mailbox Support: connecting to 127.0.0.1:{dead} (none)")
    assert failed.stdout == "fetched 0 messages\n"
    usage_error(run("mail", "poll", "--once", "--limit", "lots"), "--limit 'lots'")
    refused(run("mail", "poll", "--once", "--limit", "0"), "--limit: must be a whole number")
