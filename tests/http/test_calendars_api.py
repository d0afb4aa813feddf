"""Business calendars over HTTP, on every store: what HTTP adds to the use cases (status codes,
Location and ETag, If-Match, problem documents pointing at the field, who may).

The rules themselves (overlaps, names, versions, the arithmetic, public holidays merged) are
tested where they live: tests/unit/test_calendar_service.py, test_calendar_public_holidays.py
and test_business_time.py. Public holidays come from the in-memory table here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from adapters.memory.public_holidays import MemoryPublicHolidays
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.documents import calendar_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.calendars import PublicHolidays
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, Person

CALENDARS = "/api/v1/admin/calendars"
WEEKDAYS = [
    {"weekday": day, "start": "09:00", "end": "17:00"}
    for day in ("mon", "tue", "wed", "thu", "fri")
]
OFFICE = {
    "name": "Munich office",
    "timezone": "Europe/Berlin",
    "intervals": WEEKDAYS,
    "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
}
PROBLEM = "application/problem+json"


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    services = bootstrap(
        make_settings(database_url=backend_url), {PublicHolidays: MemoryPublicHolidays()}
    )
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


@pytest.fixture
def admin(desk: Helpdesk) -> Person:
    return desk.staff("admin")


def send(
    desk: Helpdesk, method: str, path: str, who: Person | None, **kw: Any
) -> falcon.testing.Result:
    headers = {**(who.headers if who else {}), **kw.pop("headers", {})}
    return desk.client.simulate_request(method, path, headers=headers, **kw)


def create(desk: Helpdesk, admin: Person, **changes: Any) -> falcon.testing.Result:
    result = desk.post(CALENDARS, admin, json={**OFFICE, **changes})
    assert result.status_code == 201, result.text
    return result


def problem(result: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    body: dict[str, Any] = result.json
    assert body["status"] == status
    return body


def pointed(result: falcon.testing.Result) -> list[tuple[str, str]]:
    """The (in, pointer or field) of every error of a 422."""
    errors = problem(result, 422)["errors"]
    return [(e["in"], e.get("pointer", e["field"])) for e in errors]


# ------------------------------------------------------------------ create, read, list


def test_a_created_calendar_has_its_location_and_its_version_as_etag(
    desk: Helpdesk, admin: Person
) -> None:
    created = create(desk, admin)
    document = created.json
    assert created.headers["location"] == f"{CALENDARS}/{document['id']}"
    assert created.headers["etag"] == '"1"'
    assert document["intervals"] == WEEKDAYS
    assert document["holidays"] == [{"date": "2026-12-24", "name": "Christmas Eve"}]
    assert (document["active"], document["version"]) == (True, 1)

    read = desk.get(created.headers["location"], admin)
    assert (read.status_code, read.headers["etag"], read.json) == (200, '"1"', document)
    stored = desk.services.calendars.get(SYSTEM_OPERATOR, uuid.UUID(document["id"]))
    assert calendar_document(stored) == document


def test_public_holidays_are_listed_beside_the_hand_listed_ones(
    desk: Helpdesk, admin: Person
) -> None:
    document = create(
        desk,
        admin,
        holidays=[{"date": "2026-12-25", "name": "Office closed"}],
        public_holidays={"country": "de", "subdivision": "BY", "years": [2026]},
    ).json
    days = {h["date"]: h["name"] for h in document["holidays"]}
    assert days["2026-12-25"] == "Office closed"
    assert days["2026-01-06"] == "Epiphany"
    assert list(days) == sorted(days)
    assert len(days) == 12


def test_the_list_is_by_name_filters_on_active_and_pages(desk: Helpdesk, admin: Person) -> None:
    for name in ("Berlin", "amsterdam", "Chicago"):
        create(desk, admin, name=name)
    first = desk.get(CALENDARS, admin, params={"limit": "2"})
    assert [c["name"] for c in first.json["items"]] == ["amsterdam", "Berlin"]
    rest = desk.get(CALENDARS, admin, params={"limit": "2", "cursor": first.json["next_cursor"]})
    assert ([c["name"] for c in rest.json["items"]], rest.json["next_cursor"]) == (
        ["Chicago"],
        None,
    )

    chicago = rest.json["items"][0]
    off = send(
        desk,
        "PATCH",
        f"{CALENDARS}/{chicago['id']}",
        admin,
        json={"active": False},
        headers={"If-Match": '"1"'},
    )
    assert off.status_code == 200, off.text
    inactive = desk.get(CALENDARS, admin, params={"active": "false"}).json["items"]
    active = desk.get(CALENDARS, admin, params={"active": "true"}).json["items"]
    assert [c["name"] for c in inactive] == ["Chicago"]
    assert [c["name"] for c in active] == ["amsterdam", "Berlin"]
    assert pointed(desk.get(CALENDARS, admin, params={"active": "maybe"})) == [("query", "active")]


def test_an_unknown_calendar_is_a_404(desk: Helpdesk, admin: Person) -> None:
    missing = f"{CALENDARS}/00000000-0000-4000-8000-000000000000"
    problem(desk.get(missing, admin), 404)
    problem(send(desk, "PATCH", missing, admin, json={}, headers={"If-Match": '"1"'}), 404)
    problem(
        desk.post(f"{missing}/compute", admin, json={"start": "2026-01-01T00:00Z", "minutes": 1}),
        404,
    )
    problem(desk.get(f"{CALENDARS}/not-an-id", admin), 404)


def test_a_taken_name_is_a_409(desk: Helpdesk, admin: Person) -> None:
    create(desk, admin)
    problem(desk.post(CALENDARS, admin, json={**OFFICE, "name": " MUNICH   office"}), 409)


# ------------------------------------------------------------------ change with If-Match


def test_a_change_needs_the_etag_it_was_read_with(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    rename = {"name": "Munich HQ"}
    assert problem(send(desk, "PATCH", location, admin, json=rename), 428)["type"].endswith(
        "precondition-required"
    )
    problem(send(desk, "PATCH", location, admin, json=rename, headers={"If-Match": '"2"'}), 412)
    problem(send(desk, "PATCH", location, admin, json=rename, headers={"If-Match": "soon"}), 412)

    changed = send(desk, "PATCH", location, admin, json=rename, headers={"If-Match": 'W/"1"'})
    assert (changed.status_code, changed.headers["etag"]) == (200, '"2"')
    assert (changed.json["name"], changed.json["version"]) == ("Munich HQ", 2)
    problem(
        send(desk, "PATCH", location, admin, json={"name": "Again"}, headers={"If-Match": '"1"'}),
        412,
    )
    assert desk.get(location, admin).json == changed.json


def test_a_patch_replaces_what_it_names_and_null_keeps_the_rest(
    desk: Helpdesk, admin: Person
) -> None:
    location = create(desk, admin).headers["location"]
    body = {
        "name": None,
        "timezone": "America/New_York",
        "intervals": [{"weekday": "sat", "start": "10:00", "end": "24:00"}],
        "holidays": None,
        "public_holidays": {"country": "DE", "years": [2027]},
        "active": None,
    }
    changed = send(desk, "PATCH", location, admin, json=body, headers={"If-Match": '"1"'}).json
    assert (changed["name"], changed["timezone"]) == ("Munich office", "America/New_York")
    assert changed["intervals"] == body["intervals"]
    assert changed["holidays"][0] == {"date": "2026-12-24", "name": "Christmas Eve"}
    assert len(changed["holidays"]) == 1 + 9


def test_deactivation_is_a_patch_of_active(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    off = send(desk, "PATCH", location, admin, json={"active": False}, headers={"If-Match": '"1"'})
    assert (off.json["active"], off.headers["etag"]) == (False, '"2"')
    again = send(
        desk, "PATCH", location, admin, json={"active": False}, headers={"If-Match": '"2"'}
    )
    assert (again.status_code, again.json["version"]) == (200, 2)  # nothing to change
    back = send(desk, "PATCH", location, admin, json={"active": True}, headers={"If-Match": '"2"'})
    assert (back.json["active"], back.json["version"]) == (True, 3)


def test_a_bad_body_is_a_422_whatever_the_if_match(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    bad = {"intervals": [{"weekday": "mon", "start": "17:00", "end": "09:00"}]}
    for headers in ({}, {"If-Match": '"9"'}, {"If-Match": "junk"}):
        assert pointed(send(desk, "PATCH", location, admin, json=bad, headers=headers)) == [
            ("body", "/intervals/0/end")
        ]
    assert desk.get(location, admin).json["version"] == 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"timezone": "Europe/Atlantis"}, "/timezone"),
        ({"timezone": 1}, "/timezone"),
        ({"name": ""}, "/name"),
        ({"name": "x" * 101}, "/name"),
        ({"name": ["Munich"]}, "/name"),
        ({"intervals": []}, "/intervals"),
        ({"intervals": "mon-fri"}, "/intervals"),
        (
            {
                "intervals": [
                    {"weekday": "tue", "start": "09:00", "end": "17:00"},
                    {"weekday": "tue", "start": "16:00", "end": "18:00"},
                ]
            },
            "/intervals/1",
        ),
        ({"intervals": [{"weekday": "mon", "start": "12:00", "end": "11:00"}]}, "/intervals/0/end"),
        (
            {"intervals": [{"weekday": "mon", "start": "9:00", "end": "17:00"}]},
            "/intervals/0/start",
        ),
        (
            {"intervals": [{"weekday": "monday", "start": "09:00", "end": "17:00"}]},
            "/intervals/0/weekday",
        ),
        ({"intervals": [{"weekday": "mon", "start": "09:00"}]}, "/intervals/0/end"),
        ({"holidays": [{"date": "2026-02-30", "name": "No such day"}]}, "/holidays/0/date"),
        ({"holidays": [{"date": "20261224", "name": "Basic format"}]}, "/holidays/0/date"),
        ({"holidays": [{"date": "2026-12-24T00:00:00", "name": "A time"}]}, "/holidays/0/date"),
        (
            {
                "holidays": [
                    {"date": "2026-12-24", "name": "A"},
                    {"date": "2026-12-24", "name": "B"},
                ]
            },
            "/holidays/1/date",
        ),
        ({"holidays": [{"date": "2026-12-24", "name": "x" * 101}]}, "/holidays/0/name"),
        ({"public_holidays": {"country": "XX", "years": [2026]}}, "/public_holidays/country"),
        (
            {"public_holidays": {"country": "DE", "subdivision": "ZZ", "years": [2026]}},
            "/public_holidays/subdivision",
        ),
        ({"public_holidays": {"country": "DE", "years": []}}, "/public_holidays/years"),
        (
            {"public_holidays": {"country": "DE", "years": list(range(2020, 2031))}},
            "/public_holidays/years",
        ),
        ({"public_holidays": {"country": "DE", "years": [2026, 1899]}}, "/public_holidays/years/1"),
        ({"public_holidays": {"country": "DE", "years": [2026.5]}}, "/public_holidays/years/0"),
        ({"public_holidays": {"country": "DE"}}, "/public_holidays/years"),
        ({"public_holidays": None}, "/public_holidays"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_bad_input_is_a_422_pointing_at_the_field_and_stores_nothing(
    desk: Helpdesk, admin: Person, changes: dict[str, Any], pointer: str
) -> None:
    result = desk.post(CALENDARS, admin, json={**OFFICE, **changes})
    assert ("body", pointer) in pointed(result)
    assert desk.get(CALENDARS, admin).json["items"] == []


def test_a_body_that_is_not_json_is_a_400(desk: Helpdesk, admin: Person) -> None:
    result = send(
        desk, "POST", CALENDARS, admin, body="{", headers={"Content-Type": "application/json"}
    )
    assert problem(result, 400)["type"] == "urn:helpdesk:problem:malformed-json"


# ------------------------------------------------------------------ compute


def compute(desk: Helpdesk, admin: Person, location: str, **body: Any) -> falcon.testing.Result:
    return desk.post(f"{location}/compute", admin, json=body)


def test_compute_answers_the_due_instant_in_utc(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    # Wednesday 23 December 16:00 in Munich, 4 hours: one that day, none on Christmas Eve (a
    # holiday of this calendar), three on Friday: 12:00 in Munich, 11:00 UTC.
    result = compute(desk, admin, location, start="2026-12-23T16:00:00+01:00", minutes=240)
    assert (result.status_code, result.json) == (200, {"due_at": "2026-12-25T11:00:00+00:00"})
    same = compute(desk, admin, location, start="2026-12-23T15:00:00Z", minutes=240)
    assert same.json == result.json


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"start": "2026-12-23T16:00:00", "minutes": 60}, "/start"),
        ({"start": "tomorrow", "minutes": 60}, "/start"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": -1}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": 10**18}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": 10**40}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": "60"}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": 1.5}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z"}, "/minutes"),
        ({"start": "2026-12-23T16:00:00Z", "minutes": 1, "until": "x"}, "/until"),
    ],
)
def test_bad_compute_input_is_a_422_pointing_at_the_field(
    desk: Helpdesk, admin: Person, body: dict[str, Any], pointer: str
) -> None:
    location = create(desk, admin).headers["location"]
    assert pointed(desk.post(f"{location}/compute", admin, json=body)) == [("body", pointer)]


# ------------------------------------------------------------------ who may


def every_route(location: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", CALENDARS, {}),
        ("POST", CALENDARS, {"json": {**OFFICE, "name": "Other"}}),
        ("GET", location, {}),
        ("HEAD", location, {}),
        ("PATCH", location, {"json": {"name": "Mine"}, "headers": {"If-Match": '"1"'}}),
        ("POST", f"{location}/compute", {"json": {"start": "2026-01-05T09:00Z", "minutes": 1}}),
    ]


@pytest.mark.parametrize("role", ["agent", "lead", "customer"])
def test_only_administrators_may_use_calendars(desk: Helpdesk, admin: Person, role: str) -> None:
    location = create(desk, admin).headers["location"]
    who = desk.customer() if role == "customer" else desk.staff(role, desk.department())
    for method, path, kw in every_route(location):
        result = send(desk, method, path, who, **kw)
        assert result.status_code == 403, (method, path, result.text)
        if method != "HEAD":
            assert result.headers["content-type"] == PROBLEM
    assert [c["name"] for c in desk.get(CALENDARS, admin).json["items"]] == ["Munich office"]
    assert desk.get(location, admin).json["version"] == 1


def test_anonymous_callers_are_asked_to_authenticate(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    for method, path, kw in every_route(location):
        result = send(desk, method, path, None, **kw)
        assert result.status_code == 401, (method, path)
        assert "www-authenticate" in result.headers
