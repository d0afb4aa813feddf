"""Macros applied and bulk actions over HTTP, on every store: what HTTP adds to the use cases
(If-Match and the ETag, the refusal's status and problem document, the bulk's 200 with every
outcome, Idempotency-Key). The rules are tested on the use case
(tests/unit/tickets/test_macros_applied.py) and through the library on every store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Helpdesk, Person
from tests.http.test_calendars_api import admin, desk, pointed, problem, send

__all__ = ["admin", "desk"]

STAFF = "/api/v1/staff"


@pytest.fixture
def world(desk: Helpdesk) -> dict[str, Any]:
    billing, tech = desk.department(), desk.department()
    agent = desk.staff("agent", billing)
    customer = desk.customer()
    tickets = [
        desk.post(
            "/api/v1/tickets",
            customer,
            json={"subject": f"T{i}", "description": "Help.", "department_id": billing},
        ).json
        for i in range(2)
    ]
    return {"agent": agent, "tickets": tickets, "tech": tech}


def save(desk: Helpdesk, who: Person, *actions: dict[str, Any]) -> str:
    made = desk.post(f"{STAFF}/macros", who, json={"name": "M", "actions": list(actions)})
    assert made.status_code == 201, made.text
    return str(made.json["id"])


def test_a_macro_applies_with_if_match_and_answers_the_ticket(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent, ticket = world["agent"], world["tickets"][0]
    macro = save(
        desk, agent, {"action": "add_tags", "value": ["refund"]}, {"action": "assign_to_me"}
    )
    path = f"{STAFF}/tickets/{ticket['id']}/macros/{macro}"
    problem(send(desk, "POST", path, agent), 428)
    problem(send(desk, "POST", path, agent, headers={"If-Match": '"9"'}), 412)
    applied = send(desk, "POST", path, agent, headers={"If-Match": '"1"'})
    assert applied.status_code == 200, applied.text
    assert (applied.json["tags"], applied.json["assignee"]["id"]) == (["refund"], agent.id)
    assert applied.headers["etag"] == f'"{applied.json["version"]}"'
    history = desk.get(f"{STAFF}/tickets/{ticket['id']}/history", agent).json["items"]
    grouped = [e for e in history if e["group_id"] is not None]
    assert grouped[0]["field"] == "macro"
    assert len({e["group_id"] for e in grouped}) == 1
    nowhere = f"{STAFF}/tickets/{ticket['id']}/macros/00000000-0000-4000-8000-000000000000"
    problem(send(desk, "POST", nowhere, agent, headers={"If-Match": '"3"'}), 404)


def test_a_refused_action_is_its_refusal_and_changes_nothing(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent, ticket = world["agent"], world["tickets"][0]
    moving = save(
        desk,
        agent,
        {"action": "set_status", "value": "pending"},
        {"action": "add_tags", "value": ["refund"]},
        {"action": "set_department", "value": world["tech"]},
    )
    path = f"{STAFF}/tickets/{ticket['id']}/macros/{moving}"
    refused = problem(send(desk, "POST", path, agent, headers={"If-Match": '"1"'}), 403)
    assert refused["detail"].startswith("action 3 (set_department) was refused")
    after = desk.get(f"{STAFF}/tickets/{ticket['id']}", agent)
    assert (after.json["status"], after.json["tags"], after.headers["etag"]) == ("new", [], '"1"')


def test_a_bulk_action_answers_every_outcome_and_replays_by_key(
    desk: Helpdesk, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    one, two = (t["id"] for t in world["tickets"])
    body = {
        "tickets": [{"id": one}, {"id": two, "version": 5}],
        "actions": [{"action": "add_tags", "value": ["bulk"]}],
    }
    key = {"Idempotency-Key": "bulk-1"}
    first = send(desk, "POST", f"{STAFF}/tickets/bulk", agent, json=body, headers=key)
    assert first.status_code == 200, first.text
    assert [(i["ticket_id"], i["ok"]) for i in first.json["items"]] == [(one, True), (two, False)]
    assert first.json["items"][0]["ticket"]["tags"] == ["bulk"]
    assert first.json["items"][1]["error"]["code"] == "stale_version"
    assert (first.json["dry_run"], first.json["replayed"]) == (False, False)
    again = send(desk, "POST", f"{STAFF}/tickets/bulk", agent, json=body, headers=key)
    assert again.json["replayed"] is True
    assert [i["ok"] for i in again.json["items"]] == [True, False]
    other = send(
        desk, "POST", f"{STAFF}/tickets/bulk", agent, json={**body, "dry_run": True}, headers=key
    )
    assert other.status_code == 200  # a dry run keeps no key
    conflict = {**body, "tickets": [{"id": two}]}
    problem(send(desk, "POST", f"{STAFF}/tickets/bulk", agent, json=conflict, headers=key), 409)
    empty = desk.post(f"{STAFF}/tickets/bulk", agent, json={"tickets": []})
    assert pointed(empty) == [("body", "/tickets")]
    bad = desk.post(
        f"{STAFF}/tickets/bulk",
        agent,
        json={"tickets": [{"id": one}], "actions": [{"action": "set_status", "value": "gone"}]},
    )
    assert pointed(bad) == [("body", "/actions/0/value")]
    problem(
        send(
            desk,
            "POST",
            f"{STAFF}/tickets/bulk",
            agent,
            json=body,
            headers={"Idempotency-Key": "é"},
        ),
        422,
    )
