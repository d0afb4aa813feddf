"""Steps for features/tickets/text_rules.feature and features/events/poison_proof.feature.

A character the stories write as ``{U+XXXX}`` is that Unicode character: a feature file
holding a real right-to-left override would itself read as something else.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_events import HOOK_URL, Hooks, _subscribe
from tests.bdd.steps_identity import Scene, _problem
from tests.bdd.steps_tickets import _ok, _token
from tests.support.events import drain

PDF = {"url": "https://files.example.com/a", "mime_type": "application/pdf", "size_bytes": 10}
SECOND_URL = HOOK_URL + "/second"


def _chars(text: str) -> str:
    """``text`` with each ``{U+XXXX}`` replaced by that character."""
    return re.sub(r"\{U\+([0-9A-Fa-f]{4,6})\}", lambda m: chr(int(m.group(1), 16)), text)


@pytest.fixture
def last_ticket() -> dict[str, Any]:
    return {}


@pytest.fixture
def second_endpoint() -> dict[str, str]:
    return {}


# ------------------------------------------------------------------ text rules


@when(
    parsers.parse('{name} tries to open a ticket for "{department}" with the subject "{subject}"')
)
def try_to_open(scene: Scene, name: str, department: str, subject: str) -> None:
    body = {
        "subject": _chars(subject),
        "description": "Please help.",
        "department_id": scene.departments[department],
    }
    scene.call("POST", "/tickets", _token(scene, name), json=body)


@when(parsers.parse('{name} tries to change her display name to "{display_name}"'))
def try_to_rename(scene: Scene, name: str, display_name: str) -> None:
    body = {"display_name": _chars(display_name)}
    scene.call("PATCH", "/me", _token(scene, name), json=body)


@then(parsers.re(r"(?P<name>\w+) is told the (?P<field>subject|display name) (?P<reason>must .+)"))
def told_why(scene: Scene, name: str, field: str, reason: str) -> None:
    problem = _problem(scene.answers[-1], 422)
    wanted = field.replace(" ", "_")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [(wanted, reason)]


@when(parsers.parse('{name} opens a ticket for "{department}" attaching a file named "{filename}"'))
def open_with_attachment(
    scene: Scene, last_ticket: dict[str, Any], name: str, department: str, filename: str
) -> None:
    body = {
        "subject": "Invoice",
        "description": "Attached.",
        "department_id": scene.departments[department],
        "attachments": [PDF | {"filename": _chars(filename)}],
    }
    last_ticket.update(_ok(scene.call("POST", "/tickets", _token(scene, name), json=body), 201))


@then(parsers.parse('the ticket\'s attachment is named "{filename}"'))
def attachment_named(last_ticket: dict[str, Any], filename: str) -> None:
    assert [a["filename"] for a in last_ticket["attachments"]] == [_chars(filename)]


# ------------------------------------------------------------------ a poison-proof worker


@given("the mail server is down")
def mail_server_down(scene: Scene) -> None:
    scene.mailbox.fail_with = OSError("Connection refused")


@when("the mail server is back")
def mail_server_back(scene: Scene) -> None:
    scene.mailbox.fail_with = None


@given(parsers.parse('a second endpoint subscribed to "{events}" breaks the sender every time'))
def second_endpoint_breaks(
    scene: Scene, hooks: Hooks, second_endpoint: dict[str, str], events: str
) -> None:
    answer = _subscribe(scene, "the administrator", SECOND_URL, f'"{events}"')
    second_endpoint["id"] = _ok(answer, 201)["id"]
    hooks.sender.breaks_for = SECOND_URL


@then(parsers.parse('the second endpoint\'s delivery shows a failed attempt saying "{words}"'))
def second_endpoint_failed(scene: Scene, second_endpoint: dict[str, str], words: str) -> None:
    drain(scene.services)
    path = f"/admin/webhooks/{second_endpoint['id']}/deliveries"
    (delivery,) = _ok(scene.as_admin("GET", path))["items"]
    assert delivery["state"] == "pending"  # tried again later
    (attempt,) = delivery["attempt_log"]
    assert attempt["outcome"] == "network_error"
    assert words in attempt["error"]
