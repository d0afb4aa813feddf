"""GET /tickets/by-number/{number} and /staff/tickets/by-number/{number} over HTTP.

The answer by number is the answer by id (body and ETag), with a Content-Location naming the
ticket's own route. Outside the caller's scope, for a number no ticket has and for a path
segment that is no number, it is the same 404 problem; the role rules of the id routes apply
(a customer route refuses staff, a staff route customers).
"""

from __future__ import annotations

import pytest

from tests.http.conftest import Helpdesk
from tests.http.test_bad_input import PROBLEM
from tests.http.test_tickets import API, Office


@pytest.fixture
def office(helpdesk: Helpdesk) -> Office:
    return Office(helpdesk)


def test_a_customer_finds_her_ticket_by_its_number(office: Office) -> None:
    office.open(subject="First")
    ticket = office.open(subject="Second")
    desk = office.desk
    by_id = desk.get(f"{API}/tickets/{ticket['id']}", office.ann)
    by_number = desk.get(f"{API}/tickets/by-number/{ticket['number']}", office.ann)
    assert by_number.status_code == 200, by_number.text
    assert by_number.json == by_id.json
    assert by_number.json["subject"] == "Second"
    assert by_number.headers["etag"] == by_id.headers["etag"] == '"1"'
    assert by_number.headers["content-location"] == f"{API}/tickets/{ticket['id']}"


def test_staff_find_a_ticket_of_their_scope_with_its_notes(office: Office) -> None:
    ticket = office.open()
    desk = office.desk
    note = {"body": "Batch job again.", "visibility": "internal"}
    posted = desk.post(f"{API}/staff/tickets/{ticket['id']}/messages", office.agent, json=note)
    assert posted.status_code == 201, posted.text
    for who in (office.agent, office.lead, office.admin):
        by_number = desk.get(f"{API}/staff/tickets/by-number/{ticket['number']}", who)
        assert by_number.status_code == 200, by_number.text
        assert by_number.json == office.staff_get(ticket["id"], who).json
        assert [m["visibility"] for m in by_number.json["messages"]] == ["internal"]
        assert by_number.headers["content-location"] == f"{API}/staff/tickets/{ticket['id']}"


def _same_not_found(office: Office, path: str, who: object, unknown: str) -> None:
    desk = office.desk
    refused = desk.get(path, who)  # type: ignore[arg-type]
    missing = desk.get(unknown, who)  # type: ignore[arg-type]
    assert refused.status_code == missing.status_code == 404, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "etag" not in refused.headers
    assert (refused.json["title"], refused.json["detail"]) == (
        missing.json["title"],
        missing.json["detail"],
    )


def test_out_of_scope_is_the_404_of_a_number_no_ticket_has(office: Office) -> None:
    ticket = office.open()  # Ann's, routed to Billing
    number, unknown = ticket["number"], ticket["number"] + 1000
    _same_not_found(
        office,
        f"{API}/tickets/by-number/{number}",
        office.bob,
        f"{API}/tickets/by-number/{unknown}",
    )
    _same_not_found(
        office,
        f"{API}/staff/tickets/by-number/{number}",
        office.tech_agent,
        f"{API}/staff/tickets/by-number/{unknown}",
    )


@pytest.mark.parametrize(
    "segment", ["0", "-1", "abc", "%231", "1e3", "1.0", "٣", "99999999999999999999", str(2**63)]
)
def test_a_segment_that_names_no_ticket_number_is_404(office: Office, segment: str) -> None:
    office.open()
    for path, who in (
        (f"{API}/tickets/by-number/{segment}", office.ann),
        (f"{API}/staff/tickets/by-number/{segment}", office.admin),
    ):
        answer = office.desk.get(path, who)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == PROBLEM


def test_the_role_rules_of_the_id_routes_apply(office: Office) -> None:
    ticket = office.open()
    desk = office.desk
    staff_on_customer_route = desk.get(f"{API}/tickets/by-number/{ticket['number']}", office.agent)
    customer_on_staff_route = desk.get(
        f"{API}/staff/tickets/by-number/{ticket['number']}", office.ann
    )
    assert staff_on_customer_route.status_code == 403, staff_on_customer_route.text
    assert customer_on_staff_route.status_code == 403, customer_on_staff_route.text
    anonymous = desk.get(f"{API}/tickets/by-number/{ticket['number']}")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
