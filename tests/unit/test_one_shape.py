"""One shape per entity: for the same thing, the API's JSON, the CLI's ``--json`` and the
library's ``helpdesk.document`` are the same document (``helpdesk_core.documents`` renders
all three).

One SQLite database, filled by ``helpdesk demo``, a webhook with a delivery and mailboxes
with a received message; each entity is read through the CLI (as the terminal's operator),
through the API (as the demo's administrator, who sees everything the operator does) and
through the library (as its system actor), and the documents compared whole.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from click.testing import CliRunner, Result

import helpdesk
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.demo import DEFAULT_PASSWORD
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR

API = "/api/v1"
HOOK_URL = "https://93.184.215.14/helpdesk-events"  # public: admitted without resolving a name


class Desk:
    """The demo's database, through the CLI and through the API."""

    def __init__(self, folder: Path) -> None:
        register_commands()
        self.env = {
            "HELPDESK_DATABASE_URL": f"sqlite:///{folder / 'hd.db'}",
            "HELPDESK_ARGON2_MEMORY_KIB": "1024",
            "HELPDESK_ARGON2_TIME_COST": "1",
            "HELPDESK_ARGON2_PARALLELISM": "1",
            "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-one-shape-tests-0123456789",
            "HELPDESK_BLOB_DIR": str(folder / "blobs"),
        }
        self._folder = folder
        self._runner = CliRunner()
        self.cli_ok("db", "upgrade")
        self.cli_ok("demo", "--tickets", "12", "--seed", "5")
        self.services: Services = bootstrap(load_settings(self.env, env_file=None))
        self.client = falcon.testing.TestClient(create_app(self.services))
        self.embedded = helpdesk.open(load_settings(self.env, env_file=None))
        self.library = self.embedded.system
        admin = next(s for s in self.cli_json("staff", "list", "--role", "admin") if s["active"])
        login = self.client.simulate_post(
            f"{API}/auth/login", json={"email": admin["email"], "password": DEFAULT_PASSWORD}
        )
        assert login.status_code == 200, login.text
        self._token = login.json["access_token"]

    def cli_ok(self, *args: str) -> str:
        result: Result = self._runner.invoke(
            cli, ["--env-file", str(self._folder / "none.env"), *args], env=self.env
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli_ok(*args, "--json"))

    def api(self, path: str) -> Any:
        answer = self.client.simulate_get(
            f"{API}{path}", headers={"Authorization": f"Bearer {self._token}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json

    def api_all(self, path: str) -> list[Any]:
        """Every item of a paged list route, following its cursors."""
        items: list[Any] = []
        cursor = ""
        while True:
            body = self.api(f"{path}?limit=100{cursor}")
            items += body["items"]
            if body["next_cursor"] is None:
                return items
            cursor = f"&cursor={body['next_cursor']}"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    built = Desk(tmp_path_factory.mktemp("one-shape"))
    yield built
    built.services.close()
    built.embedded.close()


def _a_ticket_with_history(desk: Desk) -> dict[str, Any]:
    """A ticket with a conversation, an assignee and more history than its opening."""
    listed = desk.cli_json("tickets", "list", "--limit", "100")["items"]
    return next(t for t in listed if t["assignee"] is not None and t["status"] != "new")


def test_a_ticket_is_the_same_document(desk: Desk) -> None:
    ticket = _a_ticket_with_history(desk)
    by_cli = desk.cli_json("tickets", "show", str(ticket["number"]))
    by_api = desk.api(f"/staff/tickets/{ticket['id']}")

    assert by_cli == by_api
    assert helpdesk.document(desk.library.get_ticket(uuid.UUID(ticket["id"]))) == by_api
    assert by_api["messages"]
    assert by_api["assignee"]["display_name"]


def test_a_page_of_tickets_is_the_same_documents(desk: Desk) -> None:
    by_cli = desk.cli_json("tickets", "list", "--limit", "5", "--sort", "created")
    by_api = desk.api("/staff/tickets?limit=5&sort=created")
    query = helpdesk.TicketQuery(limit=5, sort=helpdesk.TicketSort.CREATED)
    by_library = helpdesk.document(desk.library.list_tickets(query))

    assert by_cli == by_api
    assert by_library["items"] == by_api["items"]
    assert len(by_api["items"]) == 5


def test_a_history_entry_is_the_same_document(desk: Desk) -> None:
    ticket = _a_ticket_with_history(desk)
    by_cli = desk.cli_json("tickets", "history", ticket["id"])
    by_api = desk.api(f"/staff/tickets/{ticket['id']}/history")
    history = desk.library.ticket_history(uuid.UUID(ticket["id"]))

    assert by_cli == by_api
    assert [helpdesk.document(entry) for entry in history] == by_api["items"]
    assignments = [e for e in by_api["items"] if e["field"] == "assignee" and e["new_value"]]
    assert assignments
    assert all(e["new_name"] for e in assignments)


def test_a_staff_member_is_the_same_document(desk: Desk) -> None:
    by_cli = sorted(desk.cli_json("staff", "list"), key=lambda s: s["id"])
    by_api = sorted(desk.api_all("/admin/staff"), key=lambda s: s["id"])
    by_library = sorted(
        (helpdesk.document(profile) for profile in desk.library.list_staff()),
        key=lambda s: s["id"],
    )

    assert by_cli == by_api
    assert by_library == by_api
    assert len(by_api) > 3


def test_a_webhook_delivery_is_the_same_document(desk: Desk) -> None:
    created = desk.cli_json("webhooks", "add", HOOK_URL, "--event=*")
    desk.services.webhooks.ping(SYSTEM_OPERATOR, uuid.UUID(created["id"]))
    worker = desk.services.new_worker()
    while worker.process_events():
        pass

    by_cli = desk.cli_json("webhooks", "deliveries", created["id"])
    by_api = desk.api(f"/admin/webhooks/{created['id']}/deliveries")
    deliveries = desk.library.webhook_deliveries(uuid.UUID(created["id"]))

    assert by_cli == by_api
    assert [helpdesk.document(delivery) for delivery in deliveries] == by_api["items"]
    assert [d["event_type"] for d in by_api["items"]] == ["webhook.ping"]


def test_a_mailbox_is_the_same_document(desk: Desk) -> None:
    department = desk.cli_json("departments", "list")[0]
    created = desk.cli_json(
        "mailboxes", "add", "Support", "support@example.com", "--department", department["id"]
    )
    by_cli = desk.cli_json("mailboxes", "show", created["id"])
    by_api = desk.api(f"/admin/mailboxes/{created['id']}")
    by_library = helpdesk.document(desk.library.get_mailbox(uuid.UUID(created["id"])))

    assert by_cli == by_api == created
    assert by_library == by_api
    assert by_api["department_id"] == department["id"]
    listed = desk.cli_json("mailboxes", "list")
    assert listed == desk.api_all("/admin/mailboxes")
    assert listed == [helpdesk.document(m) for m in desk.library.list_mailboxes()]


def test_received_mail_is_the_same_document(desk: Desk) -> None:
    mailbox = desk.cli_json("mailboxes", "add", "Sales", "sales@example.com")
    raw = (
        b"From: Somebody New <new@example.org>\r\nTo: sales@example.com\r\n"
        b"Subject: A question\r\nMessage-ID: <one-shape-1@example.org>\r\n\r\nHello\r\n"
    )
    desk.services.mail_intake.receive(uuid.UUID(mailbox["id"]), raw, InboundVia.PIPE)
    desk.services.mail.process_pending()

    by_cli = desk.cli_json("mail", "received", "--mailbox", "Sales")
    by_api = desk.api(f"/admin/received-mail?mailbox_id={mailbox['id']}")
    received = desk.library.received_mail(uuid.UUID(mailbox["id"]))

    assert by_cli == by_api
    assert [helpdesk.document(email) for email in received] == by_api["items"]
    assert [(e["sender"], e["status"]) for e in by_api["items"]] == [
        ("new@example.org", "processed")
    ]
