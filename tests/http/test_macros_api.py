"""Saving and managing macros over HTTP, on every store: what HTTP adds to the use case
(status codes, Location and ETag, If-Match, problem documents naming the field).

Who may save and see which macro, and what a macro's actions are checked against, are tested
on the use case (tests/unit/test_usecases_macros.py).
"""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Helpdesk, Person
from tests.http.test_calendars_api import problem, send
from tests.http.test_canned_responses_api import agent, billing, desk, errors

__all__ = ["agent", "billing", "desk"]  # the fixtures this module's tests take

MACROS = "/api/v1/staff/macros"
PROBLEM = "application/problem+json"
REFUND: dict[str, Any] = {
    "name": "Refund sent",
    "actions": [
        {"action": "add_tags", "value": ["refund"]},
        {"action": "reply", "value": 'Hi {{ customer.first_name | default("there") }}, done.'},
        {"action": "set_status", "value": "pending"},
        {"action": "assign_to_me"},
    ],
}


def create(desk: Helpdesk, who: Person, **changes: Any) -> dict[str, Any]:
    result = desk.post(MACROS, who, json={**REFUND, **changes})
    assert result.status_code == 201, result.text
    assert result.headers["etag"] == '"1"'
    assert result.headers["location"].endswith(f"{MACROS}/{result.json['id']}")
    document: dict[str, Any] = result.json
    return document


# ---------------------------------------------------------------- the routes


def test_a_macro_is_saved_read_listed_and_paged(
    desk: Helpdesk, agent: Person, billing: str
) -> None:
    made = create(desk, agent)
    assert made == {
        "id": made["id"],
        "name": "Refund sent",
        "scope": "personal",
        "owner_id": agent.id,
        "department_id": None,
        "actions": [
            {"action": "add_tags", "value": ["refund"]},
            {"action": "reply", "value": REFUND["actions"][1]["value"]},
            {"action": "set_status", "value": "pending"},
            {"action": "assign_to_me", "value": None},
        ],
        "active": True,
        "created_by": agent.id,
        "created_at": made["created_at"],
        "updated_at": made["created_at"],
        "version": 1,
    }
    read = desk.get(f"{MACROS}/{made['id']}", agent)
    assert (read.status_code, read.headers["etag"], read.json) == (200, '"1"', made)
    create(desk, agent, name="another")
    first = desk.get(MACROS, agent, params={"limit": "1"})
    assert [m["name"] for m in first.json["items"]] == ["another"]
    rest = desk.get(MACROS, agent, params={"limit": "1", "cursor": first.json["next_cursor"]})
    assert ([m["name"] for m in rest.json["items"]], rest.json["next_cursor"]) == (
        ["Refund sent"],
        None,
    )
    assert desk.get(MACROS, desk.staff("agent", billing)).json == {"items": [], "next_cursor": None}


def test_a_change_needs_the_version_and_delete_deactivates(desk: Helpdesk, agent: Person) -> None:
    made = create(desk, agent)
    path = f"{MACROS}/{made['id']}"
    problem(send(desk, "PATCH", path, agent, json={"name": "New"}), 428)
    problem(
        send(desk, "PATCH", path, agent, json={"name": "New"}, headers={"If-Match": '"7"'}), 412
    )
    changed = send(
        desk,
        "PATCH",
        path,
        agent,
        json={"name": "New", "actions": [{"action": "follow", "value": None}]},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json["name"], changed.json["actions"], changed.headers["etag"]) == (
        "New",
        [{"action": "follow", "value": None}],
        '"2"',
    )
    unchanged = send(desk, "PATCH", path, agent, json={}, headers={"If-Match": '"2"'})
    assert (unchanged.status_code, unchanged.json) == (200, changed.json)
    problem(send(desk, "DELETE", path, agent, headers={"If-Match": '"1"'}), 412)
    gone = send(desk, "DELETE", path, agent)
    assert (gone.status_code, gone.headers["etag"]) == (200, '"3"')
    assert (gone.json["active"], gone.json["version"], gone.json["name"]) == (False, 3, "New")
    assert desk.get(MACROS, agent).json["items"] == []
    problem(desk.get(path, agent), 404)
    problem(send(desk, "DELETE", path, agent), 404)


# ---------------------------------------------------------------- refusals


def test_a_bad_step_is_a_422_naming_its_place_and_nothing_is_saved(
    desk: Helpdesk, agent: Person
) -> None:
    actions = [
        {"action": "set_status", "value": "pending"},
        {"action": "set_priority", "value": "whenever"},
    ]
    result = desk.post(MACROS, agent, json={"name": "Bad", "actions": actions})
    assert errors(result) == [("actions.1.value", "must be one of low, normal, high, urgent")]
    result = desk.post(
        MACROS,
        agent,
        json={"name": "Bad", "actions": [{"action": "assign_team", "value": None}]},
    )
    assert errors(result) == [("actions.0.value", "must be an id (a UUID string)")]
    nobody = "0f6d1c3e-5b7a-4e2f-9a1d-2c3b4a5d6e7f"
    result = desk.post(
        MACROS,
        agent,
        json={
            "name": "Bad",
            "actions": [{"action": "follow"}, {"action": "assign_agent", "value": nobody}],
        },
    )
    assert errors(result) == [("actions.1.value", "no such staff member")]
    result = desk.post(MACROS, agent, json={"name": "", "actions": "all of them"})
    assert {field for field, _ in errors(result)} == {"name", "actions"}
    result = desk.post(MACROS, agent, json={**REFUND, "extra": 1})
    assert errors(result) == [("extra", "is not a known field")]
    made = create(desk, agent)
    result = send(
        desk,
        "PATCH",
        f"{MACROS}/{made['id']}",
        agent,
        json={"actions": [{"action": "reply", "value": "{{ customer.phone }}"}]},
        headers={"If-Match": '"9"'},  # the body is checked first
    )
    assert errors(result) == [("actions.0.value", "unknown placeholder customer.phone")]
    assert [m["id"] for m in desk.get(MACROS, agent).json["items"]] == [made["id"]]


def test_an_agent_saving_a_macro_for_everyone_is_403(desk: Helpdesk, agent: Person) -> None:
    result = desk.post(MACROS, agent, json={**REFUND, "scope": "everyone"})
    assert "only administrators" in problem(result, 403)["detail"]
    result = desk.post(MACROS, agent, json={**REFUND, "scope": "department"})
    problem(result, 403)
    assert desk.get(MACROS, agent).json["items"] == []
    admin = desk.staff("admin")
    everyone = create(desk, admin, scope="everyone")
    assert [m["id"] for m in desk.get(MACROS, agent).json["items"]] == [everyone["id"]]
    path = f"{MACROS}/{everyone['id']}"
    problem(send(desk, "PATCH", path, agent, json={"name": "x"}, headers={"If-Match": '"1"'}), 403)
    problem(send(desk, "DELETE", path, agent), 403)


def test_a_leads_department_macro_reaches_its_department_only(
    desk: Helpdesk, agent: Person, billing: str
) -> None:
    lead = desk.staff("lead", billing)
    made = create(desk, lead, scope="department")
    assert (made["department_id"], made["owner_id"]) == (billing, None)
    assert desk.get(f"{MACROS}/{made['id']}", agent).status_code == 200
    outsider = desk.staff("agent", desk.department("Tech"))
    problem(desk.get(f"{MACROS}/{made['id']}", outsider), 404)
    problem(desk.get(MACROS, desk.customer()), 403)
