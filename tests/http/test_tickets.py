"""Tickets over HTTP: what the edge adds to the use cases, through the workflow.

The rules of tickets are tested on the use cases (tests/unit/tickets); here, how their answers
are rendered and mapped (status codes, ETag and If-Match, Idempotency-Key, problems) and how
the query of a list is read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.org import CreateTeam, UpdateDepartment
from helpdesk_core.usecases.tickets import ChangeTicket
from tests.http.conftest import Helpdesk, Person

API = "/api/v1"
PDF = {
    "url": "https://files.example.com/a/invoice.pdf",
    "filename": "invoice.pdf",
    "mime_type": "application/pdf",
    "size_bytes": 12345,
}


class Office:
    """Two departments with a lead and agents each, an admin and two customers."""

    def __init__(self, desk: Helpdesk) -> None:
        self.desk = desk
        self.billing = desk.department("Billing")
        self.tech = desk.department("Tech")
        self.tier1 = desk.team(self.billing, "Tier 1")
        self.admin = desk.staff("admin")
        self.lead = desk.staff("lead", self.billing)
        self.agent = desk.staff("agent", self.billing, self.tier1)
        self.agent2 = desk.staff("agent", self.billing, self.tier1)
        self.tech_agent = desk.staff("agent", self.tech)
        self.ann = desk.customer("ann")
        self.bob = desk.customer("bob")

    def open(self, who: Person | None = None, **body: Any) -> dict[str, Any]:
        payload = {
            "subject": "Invoice is wrong",
            "description": "I was charged twice.",
            "department_id": self.billing,
        } | body
        result = self.desk.post(f"{API}/tickets", who or self.ann, json=payload)
        assert result.status_code == 201, result.text
        return result.json

    def staff_get(self, ticket_id: str, who: Person | None = None) -> Any:
        return self.desk.get(f"{API}/staff/tickets/{ticket_id}", who or self.agent)

    def patch(
        self, ticket_id: str, body: dict[str, Any], version: int | None, who: Person | None = None
    ) -> Any:
        headers = dict((who or self.agent).headers)
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        return self.desk.client.simulate_patch(
            f"{API}/staff/tickets/{ticket_id}", json=body, headers=headers
        )


@pytest.fixture
def office(helpdesk: Helpdesk) -> Office:
    return Office(helpdesk)


def test_a_customer_opens_a_ticket_and_sees_it(office: Office) -> None:
    ticket = office.open(attachments=[PDF])
    assert (ticket["status"], ticket["priority"], ticket["version"]) == ("new", "normal", 1)
    assert ticket["department"] == {"id": office.billing, "name": "Billing"}
    assert ticket["requester"]["id"] == office.ann.id
    assert ticket["attachments"][0]["filename"] == "invoice.pdf"
    mine = office.desk.get(f"{API}/tickets", office.ann).json
    assert [t["id"] for t in mine["items"]] == [ticket["id"]]
    assert "description" not in mine["items"][0]
    detail = office.desk.get(f"{API}/tickets/{ticket['id']}", office.ann)
    assert detail.headers["etag"] == '"1"'
    assert detail.json["description"] == "I was charged twice."


def test_customers_cannot_post_internal_notes(office: Office) -> None:
    ticket = office.open()
    result = office.desk.post(
        f"{API}/tickets/{ticket['id']}/messages",
        office.ann,
        json={"body": "hi", "visibility": "internal"},
    )
    assert result.status_code == 422


def test_close_and_reopen(office: Office) -> None:
    ticket = office.open()
    closed = office.desk.post(f"{API}/tickets/{ticket['id']}/close", office.ann)
    assert closed.json["status"] == "closed"
    assert closed.json["closed_at"] is not None
    again = office.desk.post(f"{API}/tickets/{ticket['id']}/close", office.ann)
    assert again.status_code == 409
    assert "closed" in again.json["detail"]
    reply = office.desk.post(
        f"{API}/tickets/{ticket['id']}/messages", office.ann, json={"body": "one more thing"}
    )
    assert reply.status_code == 409
    reopened = office.desk.post(f"{API}/tickets/{ticket['id']}/reopen", office.ann)
    assert (reopened.json["status"], reopened.json["closed_at"]) == ("open", None)


def test_patch_needs_the_current_etag(office: Office) -> None:
    ticket = office.open()
    assert office.patch(ticket["id"], {"priority": "high"}, None).status_code == 428
    changed = office.patch(ticket["id"], {"priority": "high"}, 1)
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    stale = office.patch(ticket["id"], {"priority": "urgent"}, 1)
    assert stale.status_code == 412
    assert office.staff_get(ticket["id"]).json["priority"] == "high"


def test_an_illegal_transition_names_both_states(office: Office) -> None:
    ticket = office.open()
    office.desk.post(f"{API}/tickets/{ticket['id']}/close", office.ann)
    result = office.patch(ticket["id"], {"status": "pending"}, 2)
    assert result.status_code == 409
    assert "closed" in result.json["detail"]
    assert "pending" in result.json["detail"]


def test_every_change_leaves_one_history_entry(office: Office) -> None:
    ticket = office.open(attachments=[PDF])
    tid = ticket["id"]
    office.patch(tid, {"status": "open", "priority": "high"}, 1)
    office.patch(tid, {"team_id": office.tier1}, 2)
    office.desk.post(f"{API}/staff/tickets/{tid}/assign", office.agent, json={"mode": "self"})
    office.desk.post(
        f"{API}/staff/tickets/{tid}/messages",
        office.agent,
        json={"body": "note", "visibility": "internal"},
    )
    history = office.desk.get(f"{API}/staff/tickets/{tid}/history", office.lead).json["items"]
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("ticket", None, "created"),
        ("attachment", None, "invoice.pdf"),
        ("status", "new", "open"),
        ("priority", "normal", "high"),
        ("team", None, office.tier1),
        ("assignee", None, office.agent.id),
        ("message", None, history[-1]["new_value"]),
    ]
    assert history[-1]["new_value"].startswith("internal:")
    assert history[2]["actor"]["id"] == office.agent.id
    assert office.desk.get(f"{API}/staff/tickets/{tid}/history", office.ann).status_code == 403


def test_only_leads_and_admins_unroute_or_route_elsewhere(office: Office) -> None:
    """An agent's PATCH that unroutes a ticket, or sends it to a department the agent does
    not work in, is a 403 problem and changes nothing; a lead's is a 200."""
    ticket = office.open()
    for department in (None, office.tech):
        refused = office.patch(ticket["id"], {"department_id": department}, 1, office.agent)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "only leads and administrators" in refused.json["detail"]
    assert office.staff_get(ticket["id"], office.admin).json["version"] == 1
    unrouted = office.patch(ticket["id"], {"department_id": None}, 1, office.lead)
    assert unrouted.status_code == 200, unrouted.text
    assert unrouted.json["department"] is None


def test_staff_list_filters(office: Office) -> None:
    a = office.open(subject="Refund for order 123", priority="urgent")["id"]
    b = office.open(subject="Cannot log in", description="password reset mail never came")["id"]
    office.desk.post(f"{API}/staff/tickets/{b}/assign", office.agent, json={"mode": "self"})
    url = f"{API}/staff/tickets"

    def ids(**params: str) -> list[str]:
        result = office.desk.get(url, office.lead, params=params)
        assert result.status_code == 200, result.text
        return [t["id"] for t in result.json["items"]]

    assert ids(priority="urgent") == [a]
    assert ids(unassigned="true") == [a]
    assert ids(assignee_id=office.agent.id) == [b]
    assert ids(q="password mail") == [b]
    assert ids(q="refund") == [a]
    assert ids(sort="created") == [a, b]
    assert set(ids(status="new")) == {a, b}
    assert ids(status="closed") == []


def test_pages_visit_every_ticket_once(office: Office) -> None:
    opened = {office.open(subject=f"Ticket {n}")["id"] for n in range(7)}
    seen: list[str] = []
    params = {"limit": "3", "sort": "created"}
    while True:
        page = office.desk.get(f"{API}/staff/tickets", office.lead, params=params).json
        seen += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        params = {"limit": "3", "sort": "created", "cursor": page["next_cursor"]}
    assert sorted(seen) == sorted(opened)
    assert len(seen) == len(opened)


def test_idempotency_key_replays_the_first_answer(office: Office) -> None:
    headers = office.ann.headers | {"Idempotency-Key": "abc-123"}
    body = {"subject": "Printer", "description": "It is on fire."}
    first = office.desk.client.simulate_post(f"{API}/tickets", json=body, headers=headers)
    again = office.desk.client.simulate_post(f"{API}/tickets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    other = office.desk.client.simulate_post(
        f"{API}/tickets", json=body | {"subject": "Other"}, headers=headers
    )
    assert other.status_code == 409
    assert len(office.desk.get(f"{API}/tickets", office.ann).json["items"]) == 1


def test_queue_counts_follow_every_change(office: Office) -> None:
    url = f"{API}/staff/queue-counts"
    before = office.desk.get(url, office.lead).json
    tid = office.open()["id"]
    after = office.desk.get(url, office.lead).json
    assert after["by_status"]["new"] == before["by_status"]["new"] + 1
    assert after["open_unassigned"] == before["open_unassigned"] + 1
    office.desk.post(f"{API}/staff/tickets/{tid}/assign", office.agent, json={"mode": "self"})
    counts = office.desk.get(url, office.lead).json
    assert counts["open_unassigned"] == before["open_unassigned"]
    assert counts["open_by_assignee"][office.agent.id] == 1
    assert (
        office.desk.get(
            url, office.tech_agent, params={"department_id": office.billing}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("route", ["staff", "customer"])
def test_a_reply_names_its_author(office: Office, route: str) -> None:
    """The answer to a reply names its author, whether the ticket's requester or staff."""
    tid = office.open()["id"]
    who, path = (
        (office.agent, f"/staff/tickets/{tid}")
        if route == "staff"
        else (office.ann, f"/tickets/{tid}")
    )
    result = office.desk.post(f"{API}{path}/messages", who, json={"body": "Thanks"})
    assert result.status_code == 201, result.text
    assert result.json["author"] == {
        "id": who.id,
        "display_name": "Agent" if route == "staff" else "C",
    }


def test_a_ticket_opened_in_an_auto_assigning_department_is_stored_assigned(
    sql_helpdesk: Helpdesk,
) -> None:
    """On every store the new ticket is written assigned, at the version its two changes
    (created, assigned) give it: the answer, a later read, the history and If-Match agree."""
    desk = sql_helpdesk
    billing = desk.department("Billing")
    desk.services.org.update_department(
        SYSTEM_OPERATOR, uuid.UUID(billing), UpdateDepartment(auto_assign=True)
    )
    agent, lead, ann = desk.staff("agent", billing), desk.staff("lead", billing), desk.customer()
    body = {"subject": "s", "description": "d", "department_id": billing, "attachments": [PDF]}
    opened = desk.post(f"{API}/tickets", ann, json=body)
    assert opened.status_code == 201, opened.text
    assert (opened.json["assignee"]["id"], opened.json["version"]) == (agent.id, 2)
    assert opened.headers["etag"] == '"2"'
    tid = opened.json["id"]
    read = desk.get(f"{API}/staff/tickets/{tid}", agent)
    assert (read.json["assignee"]["id"], read.json["version"], read.json["status"]) == (
        agent.id,
        2,
        "new",
    )
    history = desk.get(f"{API}/staff/tickets/{tid}/history", lead).json["items"]
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("ticket", None, "created"),
        ("attachment", None, "invoice.pdf"),
        ("assignee", None, agent.id),
    ]
    changed = desk.client.simulate_patch(
        f"{API}/staff/tickets/{tid}",
        json={"priority": "high"},
        headers={**agent.headers, "If-Match": '"2"'},
    )
    assert (changed.status_code, changed.json["version"]) == (200, 3), changed.text


def test_customers_use_customer_routes_and_staff_staff_routes(office: Office) -> None:
    ticket = office.open()
    assert office.desk.get(f"{API}/staff/tickets", office.ann).status_code == 403
    assert office.desk.get(f"{API}/staff/tickets/{ticket['id']}", office.ann).status_code == 403
    assert office.desk.get(f"{API}/tickets", office.agent).status_code == 403


def test_a_ticket_names_a_team_made_after_the_request_authenticated(office: Office) -> None:
    """The names of a ticket are read with the ticket: a team made (and the ticket moved to
    it) between a request's authentication and its read of the ticket is named."""
    tid = office.open()["id"]
    assert office.staff_get(tid).status_code == 200
    night = office.desk.services.org.create_team(
        SYSTEM_OPERATOR, CreateTeam("Night shift", uuid.UUID(office.billing))
    ).id
    lead = office.desk.services.auth.authenticate(office.lead.token)
    office.desk.services.tickets.change(
        lead, uuid.UUID(tid), 1, ChangeTicket(team_id=night, change_team=True)
    )

    body = office.staff_get(tid).json

    assert body["team"] == {"id": str(night), "name": "Night shift"}
    assert body["department"] == {"id": office.billing, "name": "Billing"}
