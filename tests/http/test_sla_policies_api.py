"""Service-level policies over HTTP, on every store: what HTTP adds to the use cases (status
codes, Location and ETag, If-Match, problem documents pointing at the field, who may), and
``POST /admin/sla/recalc``.

The rules themselves (matching, the clocks, what an edit or a deactivation does to them) are
tested where they live: tests/sla/.
"""

from __future__ import annotations

import uuid
from typing import Any

import falcon.testing
import pytest

from helpdesk_core.documents import sla_policy_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.calendars import CreateCalendar
from tests.http.conftest import Helpdesk, Person
from tests.http.test_calendars_api import admin, desk, pointed, problem, send

POLICIES = "/api/v1/admin/sla-policies"
RECALC = "/api/v1/admin/sla/recalc"
URGENT = {
    "name": "Urgent support",
    "priorities": ["urgent"],
    "targets": {"urgent": {"first_response": 30, "next_response": 60, "resolution": 480}},
    "warn_before": 15,
}
MISSING = "00000000-0000-4000-8000-000000000000"  # sorts before every id the desk makes
PROBLEM = "application/problem+json"
__all__ = ["admin", "desk", "send"]  # the calendar tests' desk, administrator and client


def create(desk: Helpdesk, admin: Person, **changes: Any) -> falcon.testing.Result:
    result = desk.post(POLICIES, admin, json={**URGENT, **changes})
    assert result.status_code == 201, result.text
    return result


def calendar(desk: Helpdesk, name: str = "Office") -> str:
    office = desk.services.calendars.create(
        SYSTEM_OPERATOR, CreateCalendar(name, "UTC", (("mon", "09:00", "17:00"),))
    )
    return str(office.id)


def patch(
    desk: Helpdesk, admin: Person, location: str, body: dict[str, Any], version: int | None = 1
) -> falcon.testing.Result:
    headers = {} if version is None else {"If-Match": f'"{version}"'}
    return send(desk, "PATCH", location, admin, json=body, headers=headers)


# ------------------------------------------------------------------ create, read, list


def test_a_created_policy_has_its_location_and_its_version_as_etag(
    desk: Helpdesk, admin: Person
) -> None:
    support, office = desk.department("Support"), calendar(desk)
    created = create(desk, admin, department_ids=[support], calendar_id=office)
    document = created.json
    assert created.headers["location"] == f"{POLICIES}/{document['id']}"
    assert created.headers["etag"] == '"1"'
    assert (document["department_ids"], document["calendar_id"]) == ([support], office)
    assert document["targets"] == {
        "urgent": {"first_response": 30, "next_response": 60, "resolution": 480}
    }
    assert (document["pause_statuses"], document["on_reopen"]) == (["pending"], "continue")
    assert (document["active"], document["version"]) == (True, 1)

    read = desk.get(created.headers["location"], admin)
    assert (read.status_code, read.headers["etag"], read.json) == (200, '"1"', document)
    head = send(desk, "HEAD", created.headers["location"], admin)
    assert (head.status_code, head.headers["etag"], head.content) == (200, '"1"', b"")
    stored = desk.services.sla.get(SYSTEM_OPERATOR, uuid.UUID(document["id"]))
    assert sla_policy_document(stored) == document


def test_the_list_is_in_matching_order_filters_on_active_and_pages(
    desk: Helpdesk, admin: Person
) -> None:
    for name, position in (("Zulu", 0), ("alpha", 5), ("Bravo", 0)):
        create(desk, admin, name=name, position=position)
    first = desk.get(POLICIES, admin, params={"limit": "2"})
    assert [p["name"] for p in first.json["items"]] == ["Bravo", "Zulu"]
    rest = desk.get(POLICIES, admin, params={"limit": "2", "cursor": first.json["next_cursor"]})
    assert ([p["name"] for p in rest.json["items"]], rest.json["next_cursor"]) == (["alpha"], None)

    alpha = rest.json["items"][0]
    off = patch(desk, admin, f"{POLICIES}/{alpha['id']}", {"active": False})
    assert off.status_code == 200, off.text
    inactive = desk.get(POLICIES, admin, params={"active": "false"}).json["items"]
    active = desk.get(POLICIES, admin, params={"active": "true"}).json["items"]
    assert [p["name"] for p in inactive] == ["alpha"]
    assert [p["name"] for p in active] == ["Bravo", "Zulu"]
    assert pointed(desk.get(POLICIES, admin, params={"active": "maybe"})) == [("query", "active")]


def test_an_unknown_policy_is_a_404(desk: Helpdesk, admin: Person) -> None:
    missing = f"{POLICIES}/{MISSING}"
    problem(desk.get(missing, admin), 404)
    problem(patch(desk, admin, missing, {"name": "Other"}), 404)
    problem(desk.get(f"{POLICIES}/not-an-id", admin), 404)


def test_a_taken_name_is_a_409(desk: Helpdesk, admin: Person) -> None:
    create(desk, admin)
    problem(desk.post(POLICIES, admin, json={**URGENT, "name": " URGENT   support"}), 409)
    assert len(desk.get(POLICIES, admin).json["items"]) == 1


# ------------------------------------------------------------------ change with If-Match


def test_a_change_needs_the_etag_it_was_read_with(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    rename = {"name": "Urgent desk"}
    assert problem(patch(desk, admin, location, rename, None), 428)["type"].endswith(
        "precondition-required"
    )
    problem(patch(desk, admin, location, rename, 2), 412)
    problem(send(desk, "PATCH", location, admin, json=rename, headers={"If-Match": "soon"}), 412)

    changed = send(desk, "PATCH", location, admin, json=rename, headers={"If-Match": 'W/"1"'})
    assert (changed.status_code, changed.headers["etag"]) == (200, '"2"')
    assert (changed.json["name"], changed.json["version"]) == ("Urgent desk", 2)
    problem(patch(desk, admin, location, {"name": "Again"}, 1), 412)
    assert desk.get(location, admin).json == changed.json


def test_a_patch_replaces_what_it_names_null_keeps_the_rest_and_clears_the_calendar(
    desk: Helpdesk, admin: Person
) -> None:
    office = calendar(desk)
    location = create(desk, admin, calendar_id=office).headers["location"]
    body: dict[str, Any] = {
        "name": None,
        "position": 7,
        "targets": {"high": {"resolution": 960}},
        "pause_statuses": [],
        "on_reopen": "restart",
        "warn_before": None,
        "active": None,
    }
    changed = patch(desk, admin, location, body).json
    assert (changed["name"], changed["position"], changed["warn_before"]) == (
        "Urgent support",
        7,
        15,
    )
    assert changed["targets"] == {
        "high": {"first_response": None, "next_response": None, "resolution": 960}
    }
    assert (changed["pause_statuses"], changed["on_reopen"]) == ([], "restart")
    assert (changed["calendar_id"], changed["version"]) == (office, 2)

    cleared = patch(desk, admin, location, {"calendar_id": None}, 2)
    assert (cleared.json["calendar_id"], cleared.headers["etag"]) == (None, '"3"')
    again = patch(desk, admin, location, {"calendar_id": None}, 3)
    assert (again.status_code, again.json["version"]) == (200, 3)  # nothing to change
    back = patch(desk, admin, location, {"calendar_id": office}, 3).json
    assert (back["calendar_id"], back["version"]) == (office, 4)


def test_deactivation_is_a_patch_of_active(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    off = patch(desk, admin, location, {"active": False})
    assert (off.json["active"], off.headers["etag"]) == (False, '"2"')
    again = patch(desk, admin, location, {"active": False}, 2)
    assert (again.status_code, again.json["version"]) == (200, 2)
    back = patch(desk, admin, location, {"active": True}, 2)
    assert (back.json["active"], back.json["version"]) == (True, 3)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"warn_before": "soon"}, "/warn_before"),
        ({"targets": {"urgent": {"first_response": 0}}}, "/targets/urgent/first_response"),
        ({"pause_statuses": ["closed"]}, "/pause_statuses/0"),
        ({"department_ids": [MISSING]}, "/department_ids/0"),
    ],
)
def test_a_bad_body_is_a_422_whatever_the_if_match(
    desk: Helpdesk, admin: Person, body: dict[str, Any], pointer: str
) -> None:
    location = create(desk, admin).headers["location"]
    for headers in ({}, {"If-Match": '"9"'}, {"If-Match": "junk"}, {"If-Match": '"1"'}):
        result = send(desk, "PATCH", location, admin, json=body, headers=headers)
        assert pointed(result) == [("body", pointer)], headers
    assert desk.get(location, admin).json["version"] == 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "x" * 101}, "/name"),
        ({"name": "Urgent\x00support"}, "/name"),
        ({"name": ["Urgent"]}, "/name"),
        ({"name": None}, "/name"),
        ({"targets": None}, "/targets"),
        ({"targets": []}, "/targets"),
        ({"targets": "urgent:30"}, "/targets"),
        ({"targets": {"urgent": 30}}, "/targets/urgent"),
        ({"targets": {"soon": {"first_response": 30}}}, "/targets/soon"),
        ({"targets": {"urg\x00ent": {"first_response": 30}}}, "/targets/urg\x00ent"),
        ({"targets": {"urgent": {"first_reply": 30}}}, "/targets/urgent/first_reply"),
        ({"targets": {"urgent": {"resolution": -5}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": 1_000_001}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": 10**40}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": 1.5}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": "480"}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": True}}}, "/targets/urgent/resolution"),
        ({"targets": {"urgent": {"resolution": {"a": [[1]]}}}}, "/targets/urgent/resolution"),
        ({"position": -1}, "/position"),
        ({"position": 1_000_001}, "/position"),
        ({"position": 2**64}, "/position"),
        ({"position": None}, "/position"),
        ({"department_ids": "all"}, "/department_ids"),
        ({"department_ids": ["billing"]}, "/department_ids/0"),
        ({"department_ids": [MISSING]}, "/department_ids/0"),
        ({"priorities": ["critical"]}, "/priorities/0"),
        ({"priorities": "urgent"}, "/priorities"),
        ({"calendar_id": "office"}, "/calendar_id"),
        ({"calendar_id": MISSING}, "/calendar_id"),
        ({"pause_statuses": ["resolved"]}, "/pause_statuses/0"),
        ({"pause_statuses": ["waiting"]}, "/pause_statuses/0"),
        ({"warn_before": -1}, "/warn_before"),
        ({"warn_before": 100_001}, "/warn_before"),
        ({"on_reopen": "later"}, "/on_reopen"),
        ({"on_reopen": None}, "/on_reopen"),
        ({"colour": "red"}, "/colour"),
    ],
)
def test_bad_input_is_a_422_pointing_at_the_field_and_stores_nothing(
    desk: Helpdesk, admin: Person, changes: dict[str, Any], pointer: str
) -> None:
    result = desk.post(POLICIES, admin, json={**URGENT, **changes})
    assert ("body", pointer) in pointed(result)
    assert desk.get(POLICIES, admin).json["items"] == []


def test_a_missing_department_is_named_where_the_body_lists_it(
    desk: Helpdesk, admin: Person
) -> None:
    support = desk.department("Support")
    result = desk.post(POLICIES, admin, json={**URGENT, "department_ids": [support, MISSING]})
    assert pointed(result) == [("body", "/department_ids/1")]


def test_a_body_that_is_not_json_is_a_400(desk: Helpdesk, admin: Person) -> None:
    result = send(
        desk, "POST", POLICIES, admin, body="{", headers={"Content-Type": "application/json"}
    )
    assert problem(result, 400)["type"] == "urn:helpdesk:problem:malformed-json"


# ------------------------------------------------------------------ recalc


def test_recalc_answers_how_many_tickets_it_looked_at(desk: Helpdesk, admin: Person) -> None:
    support = desk.department("Support")
    customer = desk.customer()
    opened = [
        desk.post(
            "/api/v1/tickets",
            customer,
            json={"subject": f"Down {n}", "description": "All of it.", "department_id": support},
        ).json["id"]
        for n in range(2)
    ]
    assert desk.post(RECALC, admin).json == {"tickets": 2}  # open, and no policy yet

    normal = {"normal": {"resolution": 600}}
    policy = create(desk, admin, department_ids=[support], priorities=[], targets=normal).json
    result = desk.post(RECALC, admin)
    assert (result.status_code, result.json) == (200, {"tickets": 2})
    ticket = desk.get(f"/api/v1/staff/tickets/{opened[0]}", admin).json
    assert ticket["sla"]["policy_id"] == policy["id"]


# ------------------------------------------------------------------ who may


def every_route(location: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", POLICIES, {}),
        ("HEAD", POLICIES, {}),
        ("POST", POLICIES, {"json": {**URGENT, "name": "Other"}}),
        ("GET", location, {}),
        ("HEAD", location, {}),
        ("PATCH", location, {"json": {"name": "Mine"}, "headers": {"If-Match": '"1"'}}),
        ("POST", RECALC, {}),
    ]


@pytest.mark.parametrize("role", ["agent", "lead", "customer"])
def test_only_administrators_may_use_policies(desk: Helpdesk, admin: Person, role: str) -> None:
    location = create(desk, admin).headers["location"]
    who = desk.customer() if role == "customer" else desk.staff(role, desk.department())
    for method, path, kw in every_route(location):
        result = send(desk, method, path, who, **kw)
        assert result.status_code == 403, (method, path, result.text)
        if method != "HEAD":
            assert result.headers["content-type"] == PROBLEM
    assert [p["name"] for p in desk.get(POLICIES, admin).json["items"]] == ["Urgent support"]
    assert desk.get(location, admin).json["version"] == 1


def test_anonymous_callers_are_asked_to_authenticate(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    for method, path, kw in every_route(location):
        result = send(desk, method, path, None, **kw)
        assert result.status_code == 401, (method, path)
        assert "www-authenticate" in result.headers
