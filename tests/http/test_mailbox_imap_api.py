"""A mailbox's IMAP settings over HTTP, on every store: what HTTP adds to the use case
(200, 204, 404, 403, a 422 pointing at the field, the password never in an answer or a log
line, a PUT that stores and connects to nothing).

The rules themselves (host, port and security, folders, the password kept when left out, the
poll state starting over) are the use case's and the domain's:
helpdesk_core/usecases/mail/imap_settings.py and domain/mail_fetch.py.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.documents import mailbox_imap_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.conftest import CANARY, LogGuard, make_settings
from tests.http.conftest import Helpdesk, Person

MAILBOXES = "/api/v1/admin/mailboxes"
PROBLEM = "application/problem+json"
MISSING = "00000000-0000-4000-8000-000000000000"
# The log guard (tests/conftest.py) fails any test whose log lines carry CANARY.
IMAP_PASSWORD = f"imap {CANARY} secret 1"
SETTINGS = {
    "host": "IMAP.Example.com",
    "username": "support@example.com",
    "password": IMAP_PASSWORD,
    "move_to": "Helpdesk/Done",
}


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(database_url=backend_url))
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


@pytest.fixture
def admin(desk: Helpdesk) -> Person:
    return desk.staff("admin")


@pytest.fixture
def imap(desk: Helpdesk, admin: Person) -> str:
    """The IMAP path of a new mailbox, which has no settings yet."""
    created = desk.post(
        MAILBOXES, admin, json={"name": "Support", "address": "support@example.com"}
    )
    assert created.status_code == 201, created.text
    return f"{MAILBOXES}/{created.json['id']}/imap"


def send(
    desk: Helpdesk, method: str, path: str, who: Person | None, **kw: Any
) -> falcon.testing.Result:
    return desk.client.simulate_request(method, path, headers=who.headers if who else {}, **kw)


def put(desk: Helpdesk, admin: Person, path: str, body: Any) -> falcon.testing.Result:
    return send(desk, "PUT", path, admin, json=body)


def problem(result: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    body: dict[str, Any] = result.json
    assert body["status"] == status
    return body


def config_id(imap: str) -> uuid.UUID:
    """The mailbox id in an IMAP path."""
    return uuid.UUID(imap.split("/")[-2])


def pointed(result: falcon.testing.Result) -> list[tuple[str, str]]:
    """The (in, pointer or field) of every error of a 422."""
    errors = problem(result, 422)["errors"]
    return [(e["in"], e.get("pointer", e["field"])) for e in errors]


def test_put_then_get_round_trips_the_settings_without_the_password(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    stored = put(desk, admin, imap, SETTINGS)

    assert stored.status_code == 200, stored.text
    assert stored.json == {
        "mailbox_id": str(config_id(imap)),
        "host": "imap.example.com",
        "port": 993,
        "security": "tls",
        "username": "support@example.com",
        "folder": "INBOX",
        "move_to": "Helpdesk/Done",
        "uidvalidity": None,
        "last_uid": 0,
        "polled_at": None,
        "last_error": None,
        "created_at": stored.json["created_at"],
        "updated_at": stored.json["created_at"],
        "version": 1,
    }
    read = desk.get(imap, admin)
    assert read.status_code == 200
    assert read.json == stored.json
    config = desk.services.mailbox_imap.get(SYSTEM_OPERATOR, config_id(imap))
    assert read.json == mailbox_imap_document(config)  # the CLI's --json shape
    head = send(desk, "HEAD", imap, admin)
    assert (head.status_code, head.content) == (200, b"")
    for answer in (stored, read):
        assert "password" not in answer.json
        assert IMAP_PASSWORD not in answer.text
    # Stored sealed: not even the store holds it readable.
    assert IMAP_PASSWORD not in config.password


def test_a_put_without_a_password_keeps_the_stored_one_and_replaces_the_rest(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    put(desk, admin, imap, SETTINGS)
    sealed = desk.services.mailbox_imap.get(SYSTEM_OPERATOR, config_id(imap)).password

    moved = put(
        desk,
        admin,
        imap,
        {"host": "imap.example.com", "username": "support@example.com", "security": "starttls"},
    )

    assert moved.status_code == 200, moved.text
    # Whole: what is left out takes its default (port follows security; move_to null).
    assert (moved.json["port"], moved.json["security"], moved.json["move_to"]) == (
        143,
        "starttls",
        None,
    )
    assert moved.json["version"] == 2
    after = desk.services.mailbox_imap.get(SYSTEM_OPERATOR, config_id(imap))
    assert after.password == sealed
    same = put(
        desk,
        admin,
        imap,
        {"host": "imap.example.com", "username": "support@example.com", "security": "starttls"},
    )
    assert (same.status_code, same.json) == (200, moved.json)  # nothing changed, same version


def test_delete_forgets_the_settings_and_a_second_one_is_a_404(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    put(desk, admin, imap, SETTINGS)

    cleared = send(desk, "DELETE", imap, admin)

    assert (cleared.status_code, cleared.content) == (204, b"")
    problem(desk.get(imap, admin), 404)
    problem(send(desk, "DELETE", imap, admin), 404)
    mailbox = desk.get(imap.removesuffix("/imap"), admin)
    assert mailbox.status_code == 200  # the mailbox itself stays


def test_a_mailbox_without_settings_or_no_mailbox_at_all_is_a_404(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    assert "IMAP settings" in problem(desk.get(imap, admin), 404)["detail"]
    assert send(desk, "HEAD", imap, admin).status_code == 404
    problem(send(desk, "DELETE", imap, admin), 404)
    unknown = f"{MAILBOXES}/{MISSING}/imap"
    problem(desk.get(unknown, admin), 404)
    problem(put(desk, admin, unknown, SETTINGS), 404)
    problem(send(desk, "DELETE", unknown, admin), 404)
    problem(desk.get(f"{MAILBOXES}/not-an-id/imap", admin), 404)  # no resource has that id


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_only_administrators_may_and_a_refusal_changes_nothing(
    desk: Helpdesk, admin: Person, imap: str, role: str
) -> None:
    put(desk, admin, imap, SETTINGS)
    before = desk.get(imap, admin).json
    staff = desk.staff(role, desk.department())
    customer = desk.customer()

    for who in (staff, customer):
        problem(desk.get(imap, who), 403)
        problem(put(desk, who, imap, {**SETTINGS, "host": "imap.evil.example"}), 403)
        problem(send(desk, "DELETE", imap, who), 403)
    problem(send(desk, "GET", imap, None), 401)
    assert desk.get(imap, admin).json == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"host": "not a host"}, "host"),
        ({"host": None}, "host"),
        ({"port": 0}, "port"),
        ({"port": "993"}, "port"),
        ({"port": 993, "security": "starttls"}, "port"),
        ({"security": "ssl"}, "security"),
        ({"security": None}, "security"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"password": None}, "password"),
        ({"password": "two\nlines"}, "password"),
        ({"folder": "Mail/*"}, "folder"),
        ({"folder": None}, "folder"),
        ({"move_to": "inbox"}, "move_to"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_settings_are_a_422_naming_the_field_and_store_nothing(
    desk: Helpdesk, admin: Person, imap: str, change: dict[str, Any], field: str
) -> None:
    refused = put(desk, admin, imap, {**SETTINGS, **change})

    assert pointed(refused) == [("body", f"/{field}")]
    assert IMAP_PASSWORD not in refused.text
    problem(desk.get(imap, admin), 404)


def test_the_first_settings_need_a_password_and_every_bad_field_is_named(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    without = {k: v for k, v in SETTINGS.items() if k != "password"}
    assert pointed(put(desk, admin, imap, without)) == [("body", "/password")]
    assert sorted(pointed(put(desk, admin, imap, {"password": IMAP_PASSWORD}))) == [
        ("body", "/host"),
        ("body", "/username"),
    ]
    both = put(desk, admin, imap, {**SETTINGS, "host": "-bad-", "port": 70000})
    assert sorted(pointed(both)) == [("body", "/host"), ("body", "/port")]
    problem(desk.get(imap, admin), 404)


def test_the_password_reaches_no_log_line(
    desk: Helpdesk, admin: Person, imap: str, no_secret_in_logs: LogGuard
) -> None:
    put(desk, admin, imap, SETTINGS)
    put(desk, admin, imap, {**SETTINGS, "port": 0})  # refused, the password still in the body
    desk.get(imap, admin)

    access = [line for logger, line in no_secret_in_logs.lines if logger == "helpdesk.access"]
    assert any('"PUT"' in line and "/imap" in line for line in access), access
    assert not any(IMAP_PASSWORD in line for _logger, line in no_secret_in_logs.lines)


def test_a_put_only_stores_the_settings_and_connects_to_nothing(
    desk: Helpdesk, admin: Person, imap: str
) -> None:
    """The server is tried by the worker's next poll, never by the request: a listening
    socket named by the settings has no connection waiting once the PUT has answered."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        body = {**SETTINGS, "host": "127.0.0.1", "port": port, "security": "none"}

        stored = put(desk, admin, imap, body)

        assert stored.status_code == 200, stored.text
        assert (stored.json["host"], stored.json["port"]) == ("127.0.0.1", port)
        with pytest.raises(BlockingIOError):
            server.accept()
