"""``helpdesk webhooks list|add|disable|deliveries`` and ``helpdesk outbox status`` on SQLite.

The commands act through the same use cases as the HTTP API; these tests pin the exit codes
(0 done, 1 refused, 2 bad usage), the one-line errors, the JSON shapes, and that a webhook's
secret is printed once, by ``add``, and by nothing else.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.unit.test_cli_admin import Run, as_json, ok, refused

# A public address: the URL guard admits it without resolving a name (nothing is sent).
HOOK_URL = "https://93.184.215.14/helpdesk-events"
OTHER_URL = "https://93.184.215.15/other"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-webhook-tests-0123456789",
    }


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Run:
    register_commands()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **extra_env: str) -> Result:
        return runner.invoke(
            cli,
            ["--env-file", str(tmp_path / "none.env"), *args],
            env={**env, **extra_env},
            input=input,
        )

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    return invoke


@pytest.fixture
def services(run: Run, env: dict[str, str]) -> Iterator[Services]:
    """The same database, opened directly (for what no command does: pings, worker passes)."""
    built = bootstrap(load_settings(env, env_file=None))
    yield built
    built.close()


def add(run: Run, url: str = HOOK_URL, *events: str) -> dict[str, Any]:
    result = run("webhooks", "add", url, *(f"--event={e}" for e in events or ("*",)), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: ")  # the secret is shown only now
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def drain(services: Services) -> None:
    worker = services.new_worker()
    while worker.process_events():
        pass


# ---------------------------------------------------------------- add and list


def test_add_prints_the_secret_once_with_a_warning_and_list_never_shows_it(run: Run) -> None:
    result = run("webhooks", "add", HOOK_URL, "-e", "ticket.created,ticket.closed")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("created webhook ")
    assert lines[0].endswith(f" for {HOOK_URL}")
    assert "events: ticket.created, ticket.closed" in lines
    secrets = SECRET.findall(result.stdout)
    assert len(secrets) == 1
    assert result.stderr.startswith("warning: ")
    assert "only time" in result.stderr
    secret = secrets[0]

    table = ok(run("webhooks", "list"))
    assert table.splitlines()[0].split() == [
        "ID",
        "URL",
        "EVENTS",
        "ACTIVE",
        "FAILURES",
        "DISABLED_REASON",
    ]
    assert HOOK_URL in table
    assert "ticket.created,ticket.closed" in table
    listed = as_json(run("webhooks", "list", "--json"))
    assert [w["url"] for w in listed] == [HOOK_URL]
    assert "secret" not in listed[0]
    for text in (table, json.dumps(listed), ok(run("webhooks", "disable", HOOK_URL))):
        assert secret not in text
        assert "whsec_" not in text


def test_add_with_json_carries_the_secret_and_the_api_fields(run: Run) -> None:
    result = run("webhooks", "add", HOOK_URL, "--event", "*", "--description", "CRM", "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)  # the warning goes to stderr: stdout stays JSON
    assert set(created) == {
        "id",
        "url",
        "events",
        "description",
        "active",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
        "updated_at",
        "secret",
    }
    assert created["secret"].startswith("whsec_")
    assert (created["events"], created["description"], created["active"]) == (["*"], "CRM", True)
    assert result.stderr.startswith("warning: ")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://127.0.0.1/x", "127.0.0.1"),
        ("http://10.0.0.1/x", "10.0.0.1"),
        ("http://169.254.169.254/latest", "169.254.169.254"),
        ("http://localhost:8080/x", "localhost"),
    ],
)
def test_add_refuses_internal_addresses(run: Run, url: str, named: str) -> None:
    result = run("webhooks", "add", url, "--event", "*")
    refused(result, f"url: {url}")
    assert named in result.stderr
    assert "whsec_" not in result.output
    assert as_json(run("webhooks", "list", "--json")) == []


def test_the_allowlist_admits_a_loopback_receiver(run: Run) -> None:
    result = run(
        "webhooks",
        "add",
        "http://127.0.0.1:9000/hook",
        "-e",
        "*",
        HELPDESK_WEBHOOK_ALLOWLIST="127.0.0.1",
    )
    assert result.exit_code == 0, result.output
    refused(run("webhooks", "add", "http://10.0.0.1/x", "-e", "*"), "10.0.0.1")


def test_add_refuses_unknown_event_types_and_needs_at_least_one(run: Run) -> None:
    refused(run("webhooks", "add", HOOK_URL, "-e", "ticket.exploded"), "events: unknown event")
    missing = run("webhooks", "add", HOOK_URL)
    assert missing.exit_code == 2
    assert "--event" in missing.stderr
    blank = run("webhooks", "add", HOOK_URL, "-e", " , ")
    assert blank.exit_code == 2
    assert blank.stderr.startswith("error: --event")


# ---------------------------------------------------------------- disable


def test_disable_by_id_or_by_url(run: Run) -> None:
    first = add(run)
    second = add(run, OTHER_URL, "ticket.created")
    assert (
        ok(run("webhooks", "disable", first["id"]))
        == f"disabled webhook {first['id']} ({HOOK_URL})\n"
    )
    by_url = as_json(run("webhooks", "disable", OTHER_URL, "--json"))
    assert (by_url["id"], by_url["active"]) == (second["id"], False)
    assert by_url["disabled_reason"]
    assert "secret" not in by_url
    listed = as_json(run("webhooks", "list", "--json"))
    assert [w["active"] for w in listed] == [False, False]
    table = ok(run("webhooks", "list"))
    assert all(" no " in line for line in table.splitlines()[1:])


def test_disable_refuses_what_names_no_webhook(run: Run) -> None:
    refused(run("webhooks", "disable", str(uuid.uuid4())), "no such webhook")
    refused(run("webhooks", "disable", "https://nowhere.example/x"), "no webhook with URL")
    add(run)
    add(run)  # the same URL twice: a URL no longer names one
    refused(run("webhooks", "disable", HOOK_URL), "give the webhook's id")


# ---------------------------------------------------------------- deliveries


def test_deliveries_of_a_new_webhook_are_none(run: Run) -> None:
    created = add(run)
    assert ok(run("webhooks", "deliveries", created["id"])) == "(none)\n"
    assert as_json(run("webhooks", "deliveries", HOOK_URL, "--json")) == {
        "items": [],
        "next_cursor": None,
    }


def test_deliveries_show_pings_newest_first_a_page_at_a_time(run: Run, services: Services) -> None:
    created = add(run, HOOK_URL, "ticket.closed")
    webhook_id = uuid.UUID(created["id"])
    events = []
    for _ in range(3):
        events.append(str(services.webhooks.ping(SYSTEM_OPERATOR, webhook_id).id))
        drain(services)

    table = ok(run("webhooks", "deliveries", created["id"]))
    header, *rows = table.splitlines()
    assert header.split() == [
        "ID",
        "EVENT_TYPE",
        "STATE",
        "ATTEMPTS",
        "LAST_ATTEMPT",
        "NEXT",
        "CREATED",
    ]
    assert len(rows) == 3
    assert all("webhook.ping" in row and "pending" in row for row in rows)

    seen: list[str] = []
    args = ["webhooks", "deliveries", created["id"], "--limit", "2", "--json"]
    page = as_json(run(*args))
    seen += [d["event_id"] for d in page["items"]]
    assert page["next_cursor"]
    first = page["items"][0]
    assert (first["state"], first["attempts"], first["attempt_log"]) == ("pending", 0, [])
    page = as_json(run(*args, "--cursor", page["next_cursor"]))
    seen += [d["event_id"] for d in page["items"]]
    assert page["next_cursor"] is None
    assert seen == list(reversed(events))

    text = ok(run("webhooks", "deliveries", created["id"], "--limit", "1"))
    assert text.splitlines()[-1].startswith("next: --cursor ")


def test_deliveries_refuse_bad_paging_and_unknown_webhooks(run: Run) -> None:
    created = add(run)
    too_many = run("webhooks", "deliveries", created["id"], "--limit", "101")
    assert too_many.exit_code == 2
    assert too_many.stderr.startswith("error: --limit: must be from 1 to 100")
    word = run("webhooks", "deliveries", created["id"], "--limit", "ten")
    assert word.exit_code == 2
    cursor = run("webhooks", "deliveries", created["id"], "--cursor", "garbage")
    assert cursor.exit_code == 2
    assert cursor.stderr.startswith("error: --cursor")
    refused(run("webhooks", "deliveries", str(uuid.uuid4())), "no such webhook")


# ---------------------------------------------------------------- outbox status


def test_outbox_status_counts_pending_events_and_deliveries(run: Run, services: Services) -> None:
    empty = as_json(run("outbox", "status", "--json"))
    assert empty == {
        "pending": 0,
        "failed": 0,
        "oldest_pending_at": None,
        "oldest_pending_age_seconds": None,
        "deliveries_pending": 0,
    }
    assert "oldest pending      -" in ok(run("outbox", "status"))

    created = add(run, HOOK_URL, "ticket.closed")
    services.webhooks.ping(SYSTEM_OPERATOR, uuid.UUID(created["id"]))
    waiting = as_json(run("outbox", "status", "--json"))
    assert waiting["pending"] == 1
    assert waiting["oldest_pending_at"] is not None
    assert waiting["oldest_pending_age_seconds"] >= 0
    assert waiting["deliveries_pending"] == 0
    text = ok(run("outbox", "status"))
    assert re.search(r"^pending events\s+1$", text, re.MULTILINE), text
    assert re.search(
        r"^oldest pending\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+s ago\)$", text, re.MULTILINE
    ), text

    drain(services)
    handled = as_json(run("outbox", "status", "--json"))
    assert (handled["pending"], handled["deliveries_pending"]) == (0, 1)
    assert re.search(r"^deliveries pending\s+1$", ok(run("outbox", "status")), re.MULTILINE)


def test_outbox_status_without_a_database_exits_1(tmp_path: Path, env: dict[str, str]) -> None:
    register_commands()
    missing = {**env, "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.db'}"}
    result = CliRunner().invoke(
        cli, ["--env-file", str(tmp_path / "none.env"), "outbox", "status"], env=missing
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("webhooks", "--help"),
        ("webhooks", "list", "--help"),
        ("webhooks", "add", "--help"),
        ("webhooks", "disable", "--help"),
        ("webhooks", "deliveries", "--help"),
        ("outbox", "--help"),
        ("outbox", "status", "--help"),
    ],
)
def test_help(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(register_commands(), list(args))
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


# ---------------------------------------------------------------- secrets: rotate, reseal

NEW_KEY = "a-newer-secret-key-for-the-cli-webhook-tests-0123456789"


def test_rotate_secret_prints_a_new_secret_once(run: Run) -> None:
    created = add(run)
    result = run("webhooks", "rotate-secret", created["id"], "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: ")
    rotated = json.loads(result.stdout)
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert {k: v for k, v in rotated.items() if k not in ("secret", "updated_at")} == {
        k: v for k, v in created.items() if k not in ("secret", "updated_at")
    }
    plain = run("webhooks", "rotate-secret", HOOK_URL)
    assert plain.exit_code == 0, plain.output
    assert len(SECRET.findall(plain.stdout)) == 1
    assert not SECRET.search(ok(run("webhooks", "list", "--json")))
    refused(run("webhooks", "rotate-secret", str(uuid.uuid4())), "no such webhook")


def test_reseal_moves_every_secret_to_the_newest_key(run: Run, env: dict[str, str]) -> None:
    add(run)
    add(run, OTHER_URL)
    both = f"{NEW_KEY},{env['HELPDESK_SECRET_KEYS']}"
    first = as_json(run("webhooks", "reseal", "--json", HELPDESK_SECRET_KEYS=both))
    assert first == {"resealed": 2, "current": 0, "unreadable": []}
    again = run("webhooks", "reseal", HELPDESK_SECRET_KEYS=NEW_KEY)  # the old key removed
    assert ok(again) == "re-encrypted 0 webhook secrets; 2 already used the newest key\n"


def test_reseal_names_secrets_no_key_opens_and_exits_1(run: Run) -> None:
    created = add(run)
    result = run("webhooks", "reseal", HELPDESK_SECRET_KEYS=NEW_KEY)  # the old key lost
    refused(result, "1 webhook secrets open with no configured key")
    assert created["id"] in result.stderr


def test_add_without_keys_seals_with_the_development_key_file(
    run: Run, env: dict[str, str], tmp_path: Path
) -> None:
    """Not with a throwaway key: the server and the workers read the same key file."""
    from adapters.security.secretbox import FernetSecretBox
    from entrypoints.bootstrap import WEBHOOK_SECRET_PURPOSE

    key_file = tmp_path / "dev-secret"
    result = run(
        "webhooks",
        "add",
        HOOK_URL,
        "--event=*",
        "--json",
        HELPDESK_SECRET_KEYS="",
        HELPDESK_SECRET_FILE=str(key_file),
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    services = bootstrap(load_settings(env, env_file=None))
    try:
        stored = services.webhooks.get(SYSTEM_OPERATOR, uuid.UUID(created["id"])).secret
    finally:
        services.close()
    box = FernetSecretBox([key_file.read_text().strip()], WEBHOOK_SECRET_PURPOSE)
    assert box.open(stored) == created["secret"]
