"""Mailboxes and received mail over HTTP, on every store: what HTTP adds to the use cases
(status codes, Location and ETag, If-Match, problem documents pointing at the field, who may).

The rules themselves (names, addresses, reopen days, versions, what is held) are the use
case's and the domain's: helpdesk_core/usecases/mail/mailboxes.py and domain/mail.py, and
the stores' in tests/contract/test_mail_repositories.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.documents import inbound_email_document, mailbox_document
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, Person

MAILBOXES = "/api/v1/admin/mailboxes"
RECEIVED = "/api/v1/admin/received-mail"
SUPPORT = {"name": "Support", "address": "Support@Example.com"}
PROBLEM = "application/problem+json"
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(database_url=backend_url))
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
    result = desk.post(MAILBOXES, admin, json={**SUPPORT, **changes})
    assert result.status_code == 201, result.text
    return result


def patch(
    desk: Helpdesk, admin: Person, location: str, body: Any, if_match: str | None = '"1"'
) -> falcon.testing.Result:
    headers = {} if if_match is None else {"If-Match": if_match}
    return send(desk, "PATCH", location, admin, json=body, headers=headers)


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


def received(desk: Helpdesk, mailbox_id: str, sender: str, subject: str) -> str:
    """A message as intake stores it (pending until the worker processes it); its id."""
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@example.org>\r\n\r\nHello\r\n"
    ).encode()
    stored = desk.services.mail_intake.receive(uuid.UUID(mailbox_id), raw, InboundVia.LIBRARY)
    return str(stored.email.id)


# ------------------------------------------------------------------ create, read, list


def test_a_created_mailbox_has_its_location_and_its_version_as_etag(
    desk: Helpdesk, admin: Person
) -> None:
    department = desk.department()
    created = create(desk, admin, department_id=department, unknown_senders="hold")
    document = created.json
    assert created.headers["location"] == f"{MAILBOXES}/{document['id']}"
    assert created.headers["etag"] == '"1"'
    assert (document["address"], document["department_id"]) == ("support@example.com", department)
    assert (document["unknown_senders"], document["reopen_days"]) == ("hold", 14)
    assert (document["active"], document["version"]) == (True, 1)

    read = desk.get(created.headers["location"], admin)
    assert (read.status_code, read.headers["etag"], read.json) == (200, '"1"', document)
    stored = desk.services.mailboxes.get(SYSTEM_OPERATOR, uuid.UUID(document["id"]))
    assert mailbox_document(stored) == document


def test_what_is_left_out_takes_the_defaults(desk: Helpdesk, admin: Person) -> None:
    document = create(desk, admin).json
    assert (document["department_id"], document["unknown_senders"]) == (None, "create")
    assert document["reopen_days"] == 14


def test_the_list_is_by_name_filters_on_active_and_pages(desk: Helpdesk, admin: Person) -> None:
    for name in ("Sales", "billing", "Returns"):
        create(desk, admin, name=name, address=f"{name.lower()}@example.com")
    first = desk.get(MAILBOXES, admin, params={"limit": "2"})
    assert [m["name"] for m in first.json["items"]] == ["billing", "Returns"]
    rest = desk.get(MAILBOXES, admin, params={"limit": "2", "cursor": first.json["next_cursor"]})
    assert ([m["name"] for m in rest.json["items"]], rest.json["next_cursor"]) == (["Sales"], None)

    sales = rest.json["items"][0]
    off = patch(desk, admin, f"{MAILBOXES}/{sales['id']}", {"active": False})
    assert off.status_code == 200, off.text
    inactive = desk.get(MAILBOXES, admin, params={"active": "false"}).json["items"]
    active = desk.get(MAILBOXES, admin, params={"active": "true"}).json["items"]
    assert [m["name"] for m in inactive] == ["Sales"]
    assert [m["name"] for m in active] == ["billing", "Returns"]
    assert pointed(desk.get(MAILBOXES, admin, params={"active": "maybe"})) == [("query", "active")]


def test_an_unknown_mailbox_is_a_404(desk: Helpdesk, admin: Person) -> None:
    missing = f"{MAILBOXES}/{MISSING}"
    problem(desk.get(missing, admin), 404)
    problem(patch(desk, admin, missing, {}), 404)
    problem(desk.get(f"{MAILBOXES}/not-an-id", admin), 404)
    problem(patch(desk, admin, f"{MAILBOXES}/not-an-id", {"name": "X"}), 404)


@pytest.mark.parametrize(
    "taken",
    [
        {"name": " SUPPORT ", "address": "other@example.com"},
        {"name": "Other", "address": "support@EXAMPLE.com"},
    ],
    ids=["name", "address"],
)
def test_a_taken_name_or_address_is_a_409(
    desk: Helpdesk, admin: Person, taken: dict[str, str]
) -> None:
    create(desk, admin)
    problem(desk.post(MAILBOXES, admin, json=taken), 409)
    other = create(desk, admin, name="Sales", address="sales@example.com").headers["location"]
    problem(patch(desk, admin, other, taken), 409)
    assert len(desk.get(MAILBOXES, admin).json["items"]) == 2
    assert desk.get(other, admin).json["version"] == 1


# ------------------------------------------------------------------ change with If-Match


def test_a_change_needs_the_etag_it_was_read_with(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    rename = {"name": "Help"}
    assert problem(patch(desk, admin, location, rename, None), 428)["type"].endswith(
        "precondition-required"
    )
    problem(patch(desk, admin, location, rename, '"2"'), 412)
    problem(patch(desk, admin, location, rename, "soon"), 412)

    changed = patch(desk, admin, location, rename, 'W/"1"')
    assert (changed.status_code, changed.headers["etag"]) == (200, '"2"')
    assert (changed.json["name"], changed.json["version"]) == ("Help", 2)
    problem(patch(desk, admin, location, {"name": "Again"}, '"1"'), 412)
    assert desk.get(location, admin).json == changed.json


def test_a_patch_replaces_what_it_names_and_null_keeps_the_rest(
    desk: Helpdesk, admin: Person
) -> None:
    department = desk.department()
    location = create(desk, admin, department_id=department).headers["location"]
    body = {
        "name": None,
        "address": "Help@Example.com",
        "unknown_senders": "hold",
        "reopen_days": 0,
        "active": None,
    }
    changed = patch(desk, admin, location, body).json
    assert (changed["name"], changed["address"]) == ("Support", "help@example.com")
    assert (changed["unknown_senders"], changed["reopen_days"]) == ("hold", 0)
    assert (changed["department_id"], changed["active"]) == (department, True)


def test_a_null_department_unroutes_and_a_missing_one_keeps_it(
    desk: Helpdesk, admin: Person
) -> None:
    billing, sales = desk.department(), desk.department()
    location = create(desk, admin, department_id=billing).headers["location"]
    moved = patch(desk, admin, location, {"department_id": sales})
    assert moved.json["department_id"] == sales
    kept = patch(desk, admin, location, {"reopen_days": 7}, moved.headers["etag"])
    assert kept.json["department_id"] == sales
    unrouted = patch(desk, admin, location, {"department_id": None}, kept.headers["etag"])
    assert (unrouted.json["department_id"], unrouted.json["version"]) == (None, 4)


def test_deactivation_is_a_patch_of_active(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    off = patch(desk, admin, location, {"active": False})
    assert (off.json["active"], off.headers["etag"]) == (False, '"2"')
    again = patch(desk, admin, location, {"active": False}, '"2"')
    assert (again.status_code, again.json["version"]) == (200, 2)  # nothing to change
    back = patch(desk, admin, location, {"active": True}, '"2"')
    assert (back.json["active"], back.json["version"]) == (True, 3)


def test_a_bad_body_is_a_422_whatever_the_if_match(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    for if_match in (None, '"9"', "junk"):
        result = patch(desk, admin, location, {"reopen_days": 3651}, if_match)
        assert pointed(result) == [("body", "/reopen_days")]
    assert desk.get(location, admin).json["version"] == 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "x" * 101}, "/name"),
        ({"name": "Sup\u0000port"}, "/name"),
        ({"name": "Line\nbreak"}, "/name"),
        ({"name": ["Support"]}, "/name"),
        ({"name": None}, "/name"),
        ({"address": "not an address"}, "/address"),
        ({"address": "a@b\u0000.com"}, "/address"),
        ({"address": "x" * 250 + "@example.com"}, "/address"),
        ({"address": 7}, "/address"),
        ({"department_id": "billing"}, "/department_id"),
        ({"department_id": MISSING}, "/department_id"),
        ({"unknown_senders": "bounce"}, "/unknown_senders"),
        ({"unknown_senders": None}, "/unknown_senders"),
        ({"reopen_days": -1}, "/reopen_days"),
        ({"reopen_days": 3651}, "/reopen_days"),
        ({"reopen_days": 10**18}, "/reopen_days"),
        ({"reopen_days": 10**40}, "/reopen_days"),
        ({"reopen_days": 1.5}, "/reopen_days"),
        ({"reopen_days": "14"}, "/reopen_days"),
        ({"reopen_days": True}, "/reopen_days"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_bad_input_is_a_422_pointing_at_the_field_and_stores_nothing(
    desk: Helpdesk, admin: Person, changes: dict[str, Any], pointer: str
) -> None:
    result = desk.post(MAILBOXES, admin, json={**SUPPORT, **changes})
    assert ("body", pointer) in pointed(result)
    assert desk.get(MAILBOXES, admin).json["items"] == []


def test_a_missing_field_and_a_bad_patch_name_their_field(desk: Helpdesk, admin: Person) -> None:
    assert pointed(desk.post(MAILBOXES, admin, json={"name": "Support"})) == [("body", "/address")]
    location = create(desk, admin).headers["location"]
    assert pointed(patch(desk, admin, location, {"unknown_senders": None})) == [
        ("body", "/unknown_senders")
    ]
    assert pointed(patch(desk, admin, location, {"department_id": MISSING})) == [
        ("body", "/department_id")
    ]


def test_a_body_that_is_not_json_is_a_400(desk: Helpdesk, admin: Person) -> None:
    result = send(
        desk, "POST", MAILBOXES, admin, body="{", headers={"Content-Type": "application/json"}
    )
    assert problem(result, 400)["type"] == "urn:helpdesk:problem:malformed-json"


# ------------------------------------------------------------------ received mail


def test_received_mail_is_listed_newest_first_and_filtered(desk: Helpdesk, admin: Person) -> None:
    support = create(desk, admin).json["id"]
    sales = create(desk, admin, name="Sales", address="sales@example.com").json["id"]
    first = received(desk, support, "ann@example.org", "First")
    second = received(desk, sales, "bob@example.org", "Second")
    third = received(desk, support, "cy@example.org", "Third")

    everything = desk.get(RECEIVED, admin)
    assert everything.status_code == 200, everything.text
    assert set(everything.json) == {"items"}
    assert [m["id"] for m in everything.json["items"]] == [third, second, first]
    stored = desk.services.mailboxes.received(SYSTEM_OPERATOR)
    assert everything.json["items"] == [inbound_email_document(m) for m in stored]
    assert {m["status"] for m in everything.json["items"]} == {"pending"}

    of_support = desk.get(RECEIVED, admin, params={"mailbox_id": support, "limit": "1"}).json
    assert [m["id"] for m in of_support["items"]] == [third]
    of_sales = desk.get(RECEIVED, admin, params={"mailbox_id": sales, "status": "pending"}).json
    assert [m["id"] for m in of_sales["items"]] == [second]
    held = desk.get(RECEIVED, admin, params={"status": "held"}).json
    assert held == {"items": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "9" * 40}, "limit"),
        ({"status": "lost"}, "status"),
        ({"mailbox_id": "support"}, "mailbox_id"),
        ({"mailbox_id": "\u0000"}, "mailbox_id"),
        ({"status": "he\u0000ld"}, "status"),
    ],
)
def test_bad_received_mail_queries_are_a_422_naming_the_parameter(
    desk: Helpdesk, admin: Person, params: dict[str, str], field: str
) -> None:
    assert pointed(desk.get(RECEIVED, admin, params=params)) == [("query", field)]


def test_received_mail_of_an_unknown_mailbox_is_a_404(desk: Helpdesk, admin: Person) -> None:
    problem(desk.get(RECEIVED, admin, params={"mailbox_id": MISSING}), 404)


# ------------------------------------------------------------------ who may


def every_route(location: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", MAILBOXES, {}),
        ("HEAD", MAILBOXES, {}),
        ("POST", MAILBOXES, {"json": {"name": "Other", "address": "other@example.com"}}),
        ("GET", location, {}),
        ("HEAD", location, {}),
        ("PATCH", location, {"json": {"name": "Mine"}, "headers": {"If-Match": '"1"'}}),
        ("GET", RECEIVED, {}),
        ("HEAD", RECEIVED, {}),
    ]


@pytest.mark.parametrize("role", ["agent", "lead", "customer"])
def test_only_administrators_may_use_mailboxes(desk: Helpdesk, admin: Person, role: str) -> None:
    location = create(desk, admin).headers["location"]
    who = desk.customer() if role == "customer" else desk.staff(role, desk.department())
    for method, path, kw in every_route(location):
        result = send(desk, method, path, who, **kw)
        assert result.status_code == 403, (method, path, result.text)
        if method != "HEAD":
            assert result.headers["content-type"] == PROBLEM
    assert [m["name"] for m in desk.get(MAILBOXES, admin).json["items"]] == ["Support"]
    assert desk.get(location, admin).json["version"] == 1


def test_anonymous_callers_are_asked_to_authenticate(desk: Helpdesk, admin: Person) -> None:
    location = create(desk, admin).headers["location"]
    for method, path, kw in every_route(location):
        result = send(desk, method, path, None, **kw)
        assert result.status_code == 401, (method, path)
        assert "www-authenticate" in result.headers
