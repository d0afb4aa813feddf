"""Steps for features/productivity/macros.feature, over the real HTTP app: macros saved
through ``POST /staff/macros``, applied through ``POST /staff/tickets/{id}/macros/{macro_id}``
(with the ticket's ETag), bulk actions through ``POST /staff/tickets/bulk``."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_identity import Scene, _problem
from tests.bdd.steps_tickets import Tickets, _ok, _token

_NAMES = {"add_tags", "remove_tags"}  # actions whose value is a list of names
_DEPARTMENTS = {"set_department"}  # actions whose value the story names a department by


@attrs.define
class Macros:
    ids: dict[str, str] = attrs.Factory(dict)  # name -> id
    bulk: dict[str, Any] | None = None  # the last bulk action's answer


@pytest.fixture
def macros() -> Macros:
    return Macros()


def _action(scene: Scene, action: str, value: str) -> dict[str, Any]:
    if action in _NAMES:
        return {"action": action, "value": [v.strip() for v in value.split(",")]}
    if action in _DEPARTMENTS:
        return {"action": action, "value": scene.departments[value]}
    return {"action": action, "value": value or None}


@given(parsers.parse('{name} has saved the macro "{macro}" with these actions:'))
def saved_macro(
    scene: Scene, macros: Macros, name: str, macro: str, datatable: list[list[str]]
) -> None:
    actions = [_action(scene, row[0].strip(), row[1].strip()) for row in datatable[1:]]
    body = {"name": macro, "actions": actions}
    saved = _ok(scene.call("POST", "/staff/macros", _token(scene, name), json=body), 201)
    macros.ids[macro] = saved["id"]


def _apply(
    scene: Scene, tickets: Tickets, macros: Macros, name: str, macro: str, subject: str
) -> Any:
    ticket_id = tickets.ids[subject]
    token = _token(scene, name)
    seen = scene.call("GET", f"/staff/tickets/{ticket_id}", token)
    answer = scene.client.simulate_post(
        f"/api/v1/staff/tickets/{ticket_id}/macros/{macros.ids[macro]}",
        headers={"Authorization": f"Bearer {token}", "If-Match": seen.headers["etag"]},
    )
    scene.answers.append(answer)
    return answer


@when(parsers.parse('{name} applies "{macro}" to "{subject}"'))
def applies(
    scene: Scene, tickets: Tickets, macros: Macros, name: str, macro: str, subject: str
) -> None:
    _ok(_apply(scene, tickets, macros, name, macro, subject))


@when(parsers.parse('{name} tries to apply "{macro}" to "{subject}"'))
def tries_to_apply(
    scene: Scene, tickets: Tickets, macros: Macros, name: str, macro: str, subject: str
) -> None:
    _apply(scene, tickets, macros, name, macro, subject)


@then(parsers.parse("{name} is told action {number:d} was refused"))
def told_refused(scene: Scene, name: str, number: int) -> None:
    body = _problem(scene.last, 403)
    assert body["detail"].startswith(f"action {number} "), body


@when(parsers.parse('{name} tags "{first}", "{second}" and "{third}" with "{tag}" in bulk'))
def tags_in_bulk(
    scene: Scene,
    tickets: Tickets,
    macros: Macros,
    name: str,
    first: str,
    second: str,
    third: str,
    tag: str,
) -> None:
    body = {
        "tickets": [{"id": tickets.ids[s]} for s in (first, second, third)],
        "actions": [{"action": "add_tags", "value": [tag]}],
    }
    macros.bulk = _ok(scene.call("POST", "/staff/tickets/bulk", _token(scene, name), json=body))


@then("the bulk action reports:")
def bulk_reports(tickets: Tickets, macros: Macros, datatable: list[list[str]]) -> None:
    assert macros.bulk is not None
    subjects = {ticket_id: subject for subject, ticket_id in tickets.ids.items()}
    told = [
        (subjects[item["ticket_id"]], "ok" if item["ok"] else item["error"]["code"])
        for item in macros.bulk["items"]
    ]
    assert told == [(row[0].strip(), row[1].strip()) for row in datatable[1:]]
