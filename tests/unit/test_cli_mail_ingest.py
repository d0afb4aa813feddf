"""``helpdesk mail ingest`` (an MTA pipes each message in), ``helpdesk mail process`` and
``helpdesk mailboxes secret``, end to end on a migrated SQLite file.

What matters to a mail transfer agent is the exit code: 0 stored (also a second time), 65 a
message never taken, 67 no such mailbox, 75 try again later; one line on stderr says why.
What a message becomes is tested in tests/mail/.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from helpdesk_core.domain.mail import InboundStatus, Outcome
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.mail.support import letter
from tests.unit.test_cli_admin import as_json, ok

CORPUS = Path(__file__).parents[1] / "mail_corpus"
Run = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_BLOB_DIR": str(tmp_path / "blobs"),
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-mail-ingest-tests-0123456789",
        "HELPDESK_MAIL_MAX_BYTES": "65536",
    }


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Run:
    register_commands()
    runner = CliRunner()

    def invoke(*args: str, stdin: bytes = b"", extra: dict[str, str] | None = None) -> Result:
        return runner.invoke(
            cli,
            ["--env-file", str(tmp_path / "none.env"), *args],
            env={**env, **(extra or {})},
            input=stdin,
        )

    ok(invoke("db", "upgrade"))
    ok(invoke("mailboxes", "add", "Support", "support@support.example.com"))
    return invoke


@pytest.fixture
def services(run: Run, env: dict[str, str]) -> Iterator[Services]:
    opened = bootstrap(load_settings(env, env_file=None))
    yield opened
    opened.close()


def exits(result: Result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_piped_message_is_stored_once_and_processed(run: Run, services: Services) -> None:
    raw = (CORPUS / "new_ticket.eml").read_bytes()

    first = run("mail", "ingest", "--mailbox", "support", stdin=raw)
    again = run("mail", "ingest", "--mailbox", "Support@Support.Example.com", "--json", stdin=raw)
    processed = run("mail", "process")

    assert ok(first).startswith("stored: ")
    document = as_json(again)
    assert document["duplicate"] is True
    assert first.stdout.split()[-1] == document["email"]["id"]
    assert ok(processed) == "processed 1 message\n"
    [email] = services.mailboxes.received(SYSTEM_OPERATOR)
    assert (email.status, email.outcome) == (InboundStatus.PROCESSED, Outcome.TICKET_CREATED)
    assert ok(run("mail", "process")) == "processed 0 messages\n"


def test_the_exit_codes_tell_the_mta_what_to_do(run: Run, services: Services) -> None:
    exits(run("mail", "ingest", "--mailbox", "sales", stdin=letter()), 67, "no active mailbox")
    exits(run("mail", "ingest", "--mailbox", "support", stdin=b""), 65, "message: is empty")
    too_big = letter(body="x" * 70_000)
    exits(run("mail", "ingest", "--mailbox", "support", stdin=too_big), 65, "the limit is")
    away = {"HELPDESK_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    exits(run("mail", "ingest", "--mailbox", "support", stdin=letter(), extra=away), 75, "")
    assert services.mailboxes.received(SYSTEM_OPERATOR) == []


def test_a_secret_is_printed_once_and_opens_the_http_route(run: Run, services: Services) -> None:
    result = run("mailboxes", "secret", "support", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["secret"].startswith("whsec_")
    assert "secret" not in document["mailbox"]
    assert "only time the secret is shown" in result.stderr
    stored = services.mailboxes.get(SYSTEM_OPERATOR, services.mail_intake.mailbox("support").id)
    assert stored.inbound_secret is not None
    assert document["secret"] not in stored.inbound_secret  # sealed at rest
