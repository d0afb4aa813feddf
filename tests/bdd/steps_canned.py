"""Steps for features/productivity/canned_responses.feature, over the real HTTP app.

The scene and its people are those of steps_identity, the tickets those of steps_tickets.
Staff keep, find and fill in canned responses through /api/v1/staff/canned-responses; a
response is known to the story by its title, the draft of the last filling-in is kept.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_identity import ADMINISTRATOR, Scene, _problem
from tests.bdd.steps_tickets import Tickets, _as_admin, _ok, _token

CANNED = "/staff/canned-responses"


@attrs.define
class Canned:
    """The responses of the story by title, and the last draft."""

    ids: dict[str, str] = attrs.Factory(dict)  # title -> id
    draft: dict[str, Any] | None = None


@pytest.fixture
def canned() -> Canned:
    return Canned()


def _keep(scene: Scene, canned: Canned, name: str, title: str, body: str, scope: str) -> None:
    answer = scene.call(
        "POST", CANNED, _token(scene, name), json={"title": title, "body": body, "scope": scope}
    )
    canned.ids[title] = _ok(answer, 201)["id"]


@given(parsers.parse('{name} keeps the canned response "{title}":'))
def keeps(scene: Scene, canned: Canned, name: str, title: str, docstring: str) -> None:
    _keep(scene, canned, name, title, docstring, "personal")


@given(parsers.parse('the administrator keeps the canned response "{title}" for everyone:'))
def keeps_for_everyone(scene: Scene, canned: Canned, title: str, docstring: str) -> None:
    _keep(scene, canned, ADMINISTRATOR, title, docstring, "everyone")


@given(parsers.parse('{name} signs his replies "{signature}"'))
def signs(scene: Scene, name: str, signature: str) -> None:
    answer = scene.call(
        "PUT", "/staff/me/signature", _token(scene, name), json={"signature": signature}
    )
    assert _ok(answer)["signature"] == signature


@when(parsers.parse('{name} fills in "{title}" for "{subject}"'))
def fills_in(
    scene: Scene, canned: Canned, tickets: Tickets, name: str, title: str, subject: str
) -> None:
    path = f"{CANNED}/{canned.ids[title]}/render"
    answer = scene.call("POST", path, _token(scene, name), json={"ticket_id": tickets.ids[subject]})
    canned.draft = _ok(answer)


@when(parsers.parse('{name} tries to keep the canned response "{title}" saying "{body}"'))
def tries_to_keep(scene: Scene, name: str, title: str, body: str) -> None:
    scene.call("POST", CANNED, _token(scene, name), json={"title": title, "body": body})


@then("the draft reads:")
def draft_reads(canned: Canned, docstring: str) -> None:
    assert canned.draft is not None
    assert canned.draft["body"] == docstring


@then("nothing was left out of the draft")
def nothing_left_out(canned: Canned) -> None:
    assert canned.draft is not None
    assert canned.draft["unresolved"] == []


@then(parsers.parse('the draft names "{placeholder}" as left out'))
def named_as_left_out(canned: Canned, placeholder: str) -> None:
    assert canned.draft is not None
    assert canned.draft["unresolved"] == [placeholder]


@then(parsers.parse('nobody has replied to "{subject}"'))
def nobody_replied(scene: Scene, tickets: Tickets, subject: str) -> None:
    assert _as_admin(scene, tickets, subject)["messages"] == []


@then(parsers.parse('{name} is told the response names the unknown placeholder "{placeholder}"'))
def told_unknown(scene: Scene, name: str, placeholder: str) -> None:
    errors = _problem(scene.last, 422)["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("body", f"unknown placeholder {placeholder}")
    ]


@then(parsers.parse("{name} has no canned responses"))
def has_none(scene: Scene, name: str) -> None:
    assert _ok(scene.call("GET", CANNED, _token(scene, name)))["items"] == []


@then(parsers.parse('{name} cannot find the canned response "{title}"'))
def cannot_find(scene: Scene, canned: Canned, name: str, title: str) -> None:
    token = _token(scene, name)
    assert _ok(scene.call("GET", CANNED, token))["items"] == []
    _problem(scene.call("GET", f"{CANNED}/{canned.ids[title]}", token), 404)


@then(parsers.parse('"{title}" has been used {count:d} times'))
def used(scene: Scene, canned: Canned, title: str, count: int) -> None:
    answer = scene.as_admin("GET", f"{CANNED}/{canned.ids[title]}")
    assert _ok(answer)["usage_count"] == count
