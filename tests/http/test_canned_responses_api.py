"""Canned responses and the signature over HTTP, on every store: what HTTP adds to the use
cases (status codes, Location and ETag, If-Match, problem documents naming the field).

Who may write and use which response, and what a rendering fills in, are tested on the use
case (tests/unit/test_usecases_canned.py); the grammar in tests/unit/test_templates.py.
"""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from tests.http.conftest import Helpdesk, Person
from tests.http.test_calendars_api import problem, send

CANNED = "/api/v1/staff/canned-responses"
SIGNATURE = "/api/v1/staff/me/signature"
PROBLEM = "application/problem+json"
GREETING = {
    "title": "Greeting",
    "shortcut": "hi",
    "body": 'Hi {{ customer.first_name | default("there") }},\n\n'
    '{{ agent.signature | default("The Billing team") }}',
}


@pytest.fixture
def desk(sql_helpdesk: Helpdesk) -> Helpdesk:
    return sql_helpdesk


@pytest.fixture
def billing(desk: Helpdesk) -> str:
    return desk.department("Billing")


@pytest.fixture
def agent(desk: Helpdesk, billing: str) -> Person:
    return desk.staff("agent", billing)


def errors(result: falcon.testing.Result) -> list[tuple[str, str]]:
    return [(e["field"], e["message"]) for e in problem(result, 422)["errors"]]


def ticket(desk: Helpdesk, department_id: str | None) -> str:
    customer = desk.customer()
    body: dict[str, Any] = {"subject": "Charged twice", "description": "Twice."}
    if department_id:
        body["department_id"] = department_id
    opened = desk.post("/api/v1/tickets", customer, json=body)
    assert opened.status_code == 201, opened.text
    return str(opened.json["id"])


def create(desk: Helpdesk, who: Person, **changes: Any) -> dict[str, Any]:
    result = desk.post(CANNED, who, json={**GREETING, **changes})
    assert result.status_code == 201, result.text
    assert result.headers["etag"] == '"1"'
    assert result.headers["location"].endswith(f"{CANNED}/{result.json['id']}")
    document: dict[str, Any] = result.json
    return document


# ---------------------------------------------------------------- what the issue requires


def test_saving_an_unknown_placeholder_is_a_422_naming_it(desk: Helpdesk, agent: Person) -> None:
    result = desk.post(CANNED, agent, json={**GREETING, "body": "Call {{ customer.phone }}"})
    assert errors(result) == [("body", "unknown placeholder customer.phone")]
    assert "unknown placeholder customer.phone" in result.json["detail"]
    made = create(desk, agent)
    result = send(
        desk,
        "PATCH",
        f"{CANNED}/{made['id']}",
        agent,
        json={"body": "{{ agent.name | default(oops) }}"},
        headers={"If-Match": '"1"'},
    )
    assert errors(result) == [("body", "malformed placeholder {{ agent.name | default(oops) }}")]
    assert desk.get(f"{CANNED}/{made['id']}", agent).json == made


def test_a_missing_value_renders_its_default(desk: Helpdesk, agent: Person, billing: str) -> None:
    made = create(desk, agent)
    ticket_id = ticket(desk, billing)
    result = desk.post(f"{CANNED}/{made['id']}/render", agent, json={"ticket_id": ticket_id})
    assert result.status_code == 200, result.text
    assert result.json == {"body": "Hi C,\n\nThe Billing team", "unresolved": []}
    signed = send(desk, "PUT", SIGNATURE, agent, json={"signature": "Agent\nBilling"})
    assert signed.status_code == 200, signed.text
    result = desk.post(f"{CANNED}/{made['id']}/render", agent, json={"ticket_id": ticket_id})
    assert result.json == {"body": "Hi C,\n\nAgent\nBilling", "unresolved": []}
    assert desk.get(f"{CANNED}/{made['id']}", agent).json["usage_count"] == 2


# ---------------------------------------------------------------- the routes


def test_a_response_is_created_read_listed_and_paged(desk: Helpdesk, agent: Person) -> None:
    made = create(desk, agent)
    assert made == {
        "id": made["id"],
        "title": "Greeting",
        "shortcut": "hi",
        "body": GREETING["body"],
        "scope": "personal",
        "owner_id": agent.id,
        "team_id": None,
        "department_id": None,
        "usage_count": 0,
        "active": True,
        "created_at": made["created_at"],
        "updated_at": made["created_at"],
        "version": 1,
    }
    read = desk.get(f"{CANNED}/{made['id']}", agent)
    assert (read.status_code, read.headers["etag"], read.json) == (200, '"1"', made)
    create(desk, agent, title="Another", shortcut=None)
    first = desk.get(CANNED, agent, params={"limit": "1"})
    assert [r["title"] for r in first.json["items"]] == ["Another"]
    rest = desk.get(CANNED, agent, params={"limit": "1", "cursor": first.json["next_cursor"]})
    assert ([r["title"] for r in rest.json["items"]], rest.json["next_cursor"]) == (
        ["Greeting"],
        None,
    )
    found = desk.get(CANNED, agent, params={"q": "HI", "scope": "personal"})
    assert [r["title"] for r in found.json["items"]] == ["Greeting"]


def test_a_change_needs_the_version_and_delete_deactivates(desk: Helpdesk, agent: Person) -> None:
    made = create(desk, agent)
    path = f"{CANNED}/{made['id']}"
    problem(send(desk, "PATCH", path, agent, json={"title": "New"}), 428)
    stale = send(desk, "PATCH", path, agent, json={"title": "New"}, headers={"If-Match": '"7"'})
    problem(stale, 412)
    changed = send(
        desk,
        "PATCH",
        path,
        agent,
        json={"title": "New", "shortcut": ""},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json["title"], changed.json["shortcut"], changed.headers["etag"]) == (
        "New",
        None,
        '"2"',
    )
    problem(send(desk, "DELETE", path, agent, headers={"If-Match": '"1"'}), 412)
    gone = send(desk, "DELETE", path, agent)
    assert (gone.status_code, gone.json["active"], gone.json["version"]) == (200, False, 3)
    assert desk.get(CANNED, agent).json["items"] == []
    assert [r["id"] for r in desk.get(CANNED, agent, params={"active": "false"}).json["items"]] == [
        made["id"]
    ]
    ticket_id = ticket(desk, None)
    problem(desk.post(f"{path}/render", agent, json={"ticket_id": ticket_id}), 409)


def test_out_of_reach_is_404_and_customers_are_403(
    desk: Helpdesk, agent: Person, billing: str
) -> None:
    made = create(desk, agent)
    path = f"{CANNED}/{made['id']}"
    colleague = desk.staff("agent", billing)
    for method in ("GET", "DELETE"):
        problem(send(desk, method, path, colleague), 404)
    elsewhere = ticket(desk, desk.department("Tech"))
    assert (
        "no such ticket"
        in problem(desk.post(f"{path}/render", agent, json={"ticket_id": elsewhere}), 404)["detail"]
    )
    customer = desk.customer()
    problem(desk.get(CANNED, customer), 403)
    problem(send(desk, "PUT", SIGNATURE, customer, json={"signature": "x"}), 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "x"}, "title"),
        ({"title": "x"}, "body"),
        ({**GREETING, "scope": "galaxy"}, "scope"),
        ({**GREETING, "scope": None}, "scope"),
        ({**GREETING, "title": 7}, "title"),
        ({**GREETING, "shortcut": "two words"}, "shortcut"),
        ({**GREETING, "title": "x" * 201}, "title"),
        ({**GREETING, "body": "x" * 20001}, "body"),
        ({**GREETING, "scope": "team"}, "team_id"),
        ({**GREETING, "team_id": "not-a-uuid"}, "team_id"),
        ({**GREETING, "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    desk: Helpdesk, agent: Person, body: dict[str, Any], field: str
) -> None:
    assert field in {name for name, _ in errors(desk.post(CANNED, agent, json=body))}
    assert desk.get(CANNED, agent).json["items"] == []


def test_bad_render_input_and_bad_queries_are_problems(desk: Helpdesk, agent: Person) -> None:
    made = create(desk, agent)
    render = f"{CANNED}/{made['id']}/render"
    ticket_id = ticket(desk, None)
    for body, field in (
        ({}, "ticket_id"),
        ({"ticket_id": ticket_id, "format": "markdown"}, "format"),
        ({"ticket_id": ticket_id, "format": None}, "format"),
        ({"ticket_id": 42}, "ticket_id"),
    ):
        assert field in {name for name, _ in errors(desk.post(render, agent, json=body))}
    for params, field in (
        ({"scope": "galaxy"}, "scope"),
        ({"active": "maybe"}, "active"),
        ({"q": "x" * 201}, "q"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nonsense"}, "cursor"),
    ):
        assert field in {name for name, _ in errors(desk.get(CANNED, agent, params=params))}
    problem(
        send(desk, "POST", render, agent, body="{", headers={"Content-Type": "application/json"}),
        400,
    )
    problem(desk.get(f"{CANNED}/not-an-id", agent), 404)
    assert desk.get(f"{CANNED}/{made['id']}", agent).json["usage_count"] == 0


def test_the_signature_shows_in_the_staff_document(desk: Helpdesk, agent: Person) -> None:
    admin = desk.staff("admin")
    assert desk.get(f"/api/v1/admin/staff/{agent.id}", admin).json["signature"] is None
    signed = send(desk, "PUT", SIGNATURE, agent, json={"signature": "  Dan\nBilling  "})
    assert signed.status_code == 200, signed.text
    assert (signed.json["id"], signed.json["signature"]) == (agent.id, "Dan\nBilling")
    assert desk.get(f"/api/v1/admin/staff/{agent.id}", admin).json == signed.json
    removed = send(desk, "PUT", SIGNATURE, agent, json={"signature": None})
    assert removed.json["signature"] is None
    assert ("signature", "is required") in errors(send(desk, "PUT", SIGNATURE, agent, json={}))
    assert "signature" in {
        f for f, _ in errors(send(desk, "PUT", SIGNATURE, agent, json={"signature": "x" * 2001}))
    }
