"""Tags over HTTP, on every store: what HTTP adds to the use cases (statuses, the ticket's
ETag, If-Match, problem documents naming the field, the list's ``tag`` and ``following``
parameters). The rules themselves are tested on the use case (tests/unit/tickets/test_tags.py)
and the stores' contract (tests/contract/test_tag_repositories.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Helpdesk, Person
from tests.http.test_calendars_api import admin, desk, pointed, problem, send

__all__ = ["admin", "desk"]

STAFF_TICKETS = "/api/v1/staff/tickets"


@pytest.fixture
def world(desk: Helpdesk) -> dict[str, Any]:
    department = desk.department()
    agent = desk.staff("agent", department)
    customer = desk.customer()
    tickets = [
        desk.post(
            "/api/v1/tickets",
            customer,
            json={"subject": f"Ticket {i}", "description": "Help.", "department_id": department},
        ).json
        for i in range(3)
    ]
    return {"agent": agent, "tickets": tickets, "customer": customer}


def tag(desk: Helpdesk, who: Person, ticket_id: str, **body: Any) -> Any:
    return desk.post(f"{STAFF_TICKETS}/{ticket_id}/tags", who, json=body)


def test_tagging_answers_the_ticket_with_its_tags_and_new_etag(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent, ticket = world["agent"], world["tickets"][0]
    result = tag(desk, agent, ticket["id"], add=["  VIP ", "refund"])
    assert result.status_code == 200, result.text
    assert result.json["tags"] == ["refund", "VIP"]
    assert result.headers["etag"] == '"2"'
    assert result.json["description"] == "Help."
    detail = desk.get(f"{STAFF_TICKETS}/{ticket['id']}", agent)
    assert detail.json["tags"] == ["refund", "VIP"]
    own = desk.get(f"/api/v1/tickets/{ticket['id']}", world["customer"])
    assert own.json["tags"] == ["refund", "VIP"]  # one document, whoever reads it


def test_a_bad_body_is_a_422_naming_the_field_and_a_stale_version_a_412(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent, ticket_id = world["agent"], world["tickets"][0]["id"]
    assert pointed(tag(desk, agent, ticket_id, add=["ok", "a\nb"]))[0][1] in {"/add/1", "add.1"}
    assert pointed(tag(desk, agent, ticket_id, add=["x" * 51]))[0][1] in {"/add/0", "add.0"}
    problem(tag(desk, agent, ticket_id), 422)
    problem(tag(desk, agent, ticket_id, add="vip"), 422)
    stale = send(
        desk,
        "POST",
        f"{STAFF_TICKETS}/{ticket_id}/tags",
        agent,
        json={"add": ["vip"]},
        headers={"If-Match": '"7"'},
    )
    problem(stale, 412)
    assert desk.get(f"{STAFF_TICKETS}/{ticket_id}", agent).json["tags"] == []


def test_the_staff_list_filters_by_every_tag_and_by_what_one_follows(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    one, two, three = (t["id"] for t in world["tickets"])
    tag(desk, agent, one, add=["vip", "refund"])
    tag(desk, agent, two, add=["vip"])

    def listed(query: str) -> set[str]:
        result = desk.get(f"{STAFF_TICKETS}?{query}", agent)
        assert result.status_code == 200, result.text
        return {item["id"] for item in result.json["items"]}

    assert listed("tag=VIP") == {one, two}
    assert listed("tag=vip&tag=Refund") == {one}
    assert listed("tag=nobody+has+it") == set()
    assert listed("following=me") == set()
    assigned = desk.post(f"{STAFF_TICKETS}/{three}/assign", agent, json={"mode": "self"})
    assert assigned.status_code == 200, assigned.text
    assert listed("following=me") == {three}
    assert listed(f"following={agent.id}&tag=vip") == set()
    assert pointed(desk.get(f"{STAFF_TICKETS}?following=someone", agent)) == [
        ("query", "following")
    ]


def test_tags_are_listed_with_counts_and_renamed_or_merged_by_administrators(
    desk: Helpdesk, admin: Person, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    one, two, _ = (t["id"] for t in world["tickets"])
    tag(desk, agent, one, add=["gold", "vip"])
    tag(desk, agent, two, add=["gold"])
    listed = desk.get("/api/v1/staff/tags", agent).json
    assert [(t["name"], t["tickets"]) for t in listed["items"]] == [("gold", 2), ("vip", 1)]
    assert listed["next_cursor"] is None
    gold, vip = (t["id"] for t in listed["items"])
    read = desk.get(f"/api/v1/staff/tags/{gold}", agent)
    assert (read.json["name"], read.headers["etag"]) == ("gold", '"1"')

    def rename(tag_id: str, version: str | None, **body: Any) -> Any:
        headers = {"If-Match": version} if version else {}
        return send(
            desk, "PATCH", f"/api/v1/admin/tags/{tag_id}", admin, json=body, headers=headers
        )

    problem(rename(gold, None, name="Gold"), 428)
    problem(rename(gold, '"2"', name="Gold"), 412)
    conflict = problem(rename(gold, '"1"', name="VIP"), 409)
    assert "send merge: true" in conflict["detail"]
    renamed = rename(gold, '"1"', name="Gold")
    assert (renamed.status_code, renamed.json["name"], renamed.headers["etag"]) == (
        200,
        "Gold",
        '"2"',
    )
    assert desk.get(f"{STAFF_TICKETS}/{one}", agent).json["tags"] == ["Gold", "vip"]
    merged = desk.post(f"/api/v1/admin/tags/{vip}/merge", admin, json={"into": gold})
    assert (merged.status_code, merged.json["name"], merged.json["tickets"]) == (200, "Gold", 2)
    problem(desk.get(f"/api/v1/staff/tags/{vip}", agent), 404)
    problem(desk.post(f"/api/v1/admin/tags/{gold}/merge", admin, json={"into": gold}), 422)
    forbidden = send(desk, "PATCH", f"/api/v1/admin/tags/{gold}", agent, json={"name": "x"})
    problem(forbidden, 403)
