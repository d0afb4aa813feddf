"""Tickets over HTTP: customers and staff through the whole workflow."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from entrypoints.http.converter import make_http_converter
from entrypoints.http.resources.tickets import TicketResources
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.org import CreateTeam, OrgService, UpdateDepartment
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


def test_numbers_increase(office: Office) -> None:
    numbers = [office.open()["number"] for _ in range(3)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3


def test_another_customers_ticket_does_not_exist(office: Office) -> None:
    ticket = office.open()
    for path in (f"{API}/tickets/{ticket['id']}", f"{API}/tickets/{ticket['id']}/messages"):
        assert office.desk.get(path, office.bob).status_code == 404
    assert office.desk.post(f"{API}/tickets/{ticket['id']}/close", office.bob).status_code == 404
    assert office.desk.get(f"{API}/tickets", office.bob).json["items"] == []


def test_internal_notes_never_reach_the_customer(office: Office) -> None:
    ticket = office.open()
    note = office.desk.post(
        f"{API}/staff/tickets/{ticket['id']}/messages",
        office.agent,
        json={"body": "customer is grumpy, SECRET-NOTE", "visibility": "internal"},
    )
    assert note.status_code == 201
    office.desk.post(
        f"{API}/staff/tickets/{ticket['id']}/messages", office.agent, json={"body": "We are on it."}
    )
    for path in (
        f"{API}/tickets/{ticket['id']}",
        f"{API}/tickets/{ticket['id']}/messages",
        f"{API}/tickets",
    ):
        result = office.desk.get(path, office.ann)
        assert result.status_code == 200
        assert "SECRET-NOTE" not in result.text
    staff_view = office.staff_get(ticket["id"]).json
    assert [m["visibility"] for m in staff_view["messages"]] == ["internal", "public"]


def test_customers_cannot_post_internal_notes(office: Office) -> None:
    ticket = office.open()
    result = office.desk.post(
        f"{API}/tickets/{ticket['id']}/messages",
        office.ann,
        json={"body": "hi", "visibility": "internal"},
    )
    assert result.status_code == 422


def test_a_customer_reply_reopens_a_pending_ticket(office: Office) -> None:
    ticket = office.open()
    office.patch(ticket["id"], {"status": "pending"}, 1)
    reply = office.desk.post(
        f"{API}/tickets/{ticket['id']}/messages",
        office.ann,
        json={"body": "Here is the info you asked for."},
    )
    assert reply.status_code == 201
    assert office.staff_get(ticket["id"]).json["status"] == "open"


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


def test_staff_scope_is_their_department(office: Office) -> None:
    ticket = office.open()
    assert office.staff_get(ticket["id"], office.tech_agent).status_code == 404
    assert office.patch(ticket["id"], {"priority": "low"}, 1, office.tech_agent).status_code == 404
    listed = office.desk.get(f"{API}/staff/tickets", office.tech_agent).json["items"]
    assert ticket["id"] not in [t["id"] for t in listed]
    assert office.staff_get(ticket["id"], office.admin).status_code == 200


def test_unrouted_tickets_are_seen_by_every_agent(office: Office) -> None:
    ticket = office.open(department_id=None)
    assert office.staff_get(ticket["id"], office.tech_agent).status_code == 200
    routed = office.patch(ticket["id"], {"department_id": office.tech}, 1, office.tech_agent)
    assert routed.status_code == 200
    assert office.staff_get(ticket["id"], office.agent).status_code == 404


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


def test_assignment_modes(office: Office) -> None:
    tid = office.open()["id"]
    url = f"{API}/staff/tickets/{tid}/assign"
    assert (
        office.desk.post(
            url, office.agent, json={"mode": "agent", "agent_id": office.agent2.id}
        ).status_code
        == 403
    )
    mine = office.desk.post(url, office.agent, json={"mode": "self"})
    assert mine.json["assignee"]["id"] == office.agent.id
    to_other = office.desk.post(
        url, office.lead, json={"mode": "agent", "agent_id": office.agent2.id}
    )
    assert to_other.json["assignee"]["id"] == office.agent2.id
    foreign = office.desk.post(
        url, office.lead, json={"mode": "agent", "agent_id": office.tech_agent.id}
    )
    assert foreign.status_code == 422
    team = office.desk.post(url, office.lead, json={"mode": "team", "team_id": office.tier1})
    assert (team.json["team"]["id"], team.json["assignee"]) == (office.tier1, None)
    auto = office.desk.post(url, office.lead, json={"mode": "auto"})
    assert auto.json["assignee"]["id"] in {office.agent.id, office.agent2.id}
    bad = office.desk.post(url, office.lead, json={"mode": "everyone"})
    assert bad.status_code == 422


def test_auto_assignment_goes_round_the_team(office: Office) -> None:
    counts: dict[str, int] = {}
    for _ in range(6):
        tid = office.open()["id"]
        office.desk.post(
            f"{API}/staff/tickets/{tid}/assign",
            office.lead,
            json={"mode": "team", "team_id": office.tier1},
        )
        result = office.desk.post(
            f"{API}/staff/tickets/{tid}/assign", office.lead, json={"mode": "auto"}
        )
        assignee = result.json["assignee"]["id"]
        counts[assignee] = counts.get(assignee, 0) + 1
    assert counts == {office.agent.id: 3, office.agent2.id: 3}


def test_new_tickets_are_auto_assigned_when_the_department_asks(helpdesk: Helpdesk) -> None:
    from helpdesk_core.domain.principal import SYSTEM_OPERATOR
    from helpdesk_core.usecases.org import UpdateDepartment

    office = Office(helpdesk)
    helpdesk.services.org.update_department(
        SYSTEM_OPERATOR, uuid.UUID(office.billing), UpdateDepartment(auto_assign=True)
    )
    assignees = {office.open()["assignee"]["id"] for _ in range(4)}
    assert assignees == {office.agent.id, office.agent2.id}


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


@pytest.mark.parametrize(
    ("attachment", "field"),
    [
        (PDF | {"url": "ftp://x/y.pdf"}, "attachments.0.url"),
        (PDF | {"url": "javascript:alert(1)"}, "attachments.0.url"),
        (PDF | {"mime_type": "application/x-msdownload"}, "attachments.0.mime_type"),
        (PDF | {"size_bytes": 10**12}, "attachments.0.size_bytes"),
        (PDF | {"filename": "../../"}, "attachments.0.filename"),
        (PDF | {"size_bytes": "12"}, "attachments.0.size_bytes"),
    ],
)
def test_refused_attachments_name_the_attachment_and_save_nothing(
    office: Office, attachment: dict[str, Any], field: str
) -> None:
    result = office.desk.post(
        f"{API}/tickets",
        office.ann,
        json={
            "subject": "s",
            "description": "d",
            "attachments": [PDF, attachment],
        },
    )
    assert result.status_code == 422, result.text
    assert field.replace("0", "1") in [e["field"] for e in result.json["errors"]]
    assert office.desk.get(f"{API}/tickets", office.ann).json["items"] == []


def test_filenames_are_sanitized(office: Office) -> None:
    ticket = office.open(attachments=[PDF | {"filename": "../../etc/\x07pass wd.pdf"}])
    assert ticket["attachments"][0]["filename"] == "pass wd.pdf"


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


def test_queue_counts_follow_replies_that_change_the_status_and_only_those(
    office: Office,
) -> None:
    """A staff reply opens a new ticket and a customer's reply reopens a pending one: both
    change the counts. A reply that leaves the status as it was changes no count, so it
    leaves the department's counts generation (and every cached count) as it was."""
    url = f"{API}/staff/queue-counts"
    key = f"ticket-counts:{office.billing}"

    def generation() -> int:
        with office.desk.services.uow.begin(read_only=True) as tx:
            return tx.counters.current_value(key)

    def reply(who: Person, path: str) -> None:
        result = office.desk.post(f"{API}{path}/messages", who, json={"body": "Hello"})
        assert result.status_code == 201, result.text

    tid = office.open()["id"]
    before = office.desk.get(url, office.lead).json["by_status"]
    reply(office.agent, f"/staff/tickets/{tid}")  # new -> open
    opened = office.desk.get(url, office.lead).json["by_status"]
    assert (opened["new"], opened["open"]) == (before["new"] - 1, before["open"] + 1)

    seen = generation()
    reply(office.agent, f"/staff/tickets/{tid}")  # open stays open
    reply(office.ann, f"/tickets/{tid}")  # a customer's reply to an open ticket: open
    assert generation() == seen
    assert office.desk.get(url, office.lead).json["by_status"] == opened

    assert office.patch(tid, {"status": "pending"}, office.staff_get(tid).json["version"])
    pending = office.desk.get(url, office.lead).json["by_status"]
    assert pending["pending"] == opened["pending"] + 1
    reply(office.ann, f"/tickets/{tid}")  # pending -> open
    assert generation() > seen
    assert office.desk.get(url, office.lead).json["by_status"] == opened


@pytest.mark.parametrize("route", ["staff", "customer"])
def test_a_reply_names_its_author_without_a_lookup_of_names(
    office: Office, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """Authentication read the author's display name: the reply's answer uses it."""
    tid = office.open()["id"]
    who, path = (
        (office.agent, f"/staff/tickets/{tid}")
        if route == "staff"
        else (office.ann, f"/tickets/{tid}")
    )

    def no_lookup(self: OrgService, user_ids: Any) -> dict[uuid.UUID, str]:
        raise AssertionError(f"looked up names of {list(user_ids)}")

    monkeypatch.setattr(OrgService, "display_names", no_lookup)
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


def test_a_ticket_read_after_authentication_names_a_team_made_in_between(office: Office) -> None:
    """Authentication reads the organization's generation; an admin makes a team and the
    ticket moves to it before the request reads the ticket. The rendered ticket names the
    team with its name, not with the snapshot of the generation the request began with."""
    services = office.desk.services
    tid = office.open()["id"]
    assert office.staff_get(tid).status_code == 200  # the current generation's names, cached
    actor = services.auth.authenticate(office.agent.token)  # this request begins here
    # Meanwhile an admin makes a team and a lead moves the ticket to it (through the use
    # cases: a response rendered for the new generation would replace the cached names).
    night = services.org.create_team(
        SYSTEM_OPERATOR, CreateTeam("Night shift", uuid.UUID(office.billing))
    ).id
    lead = services.auth.authenticate(office.lead.token)
    services.tickets.change(lead, uuid.UUID(tid), 1, ChangeTicket(team_id=night, change_team=True))

    detail = services.tickets.get_ticket(actor, uuid.UUID(tid))  # then it reads the ticket
    rendering = TicketResources(services.tickets, services.org, make_http_converter(), 20, 100)
    body = rendering.render_detail(detail, actor)

    assert body["team"] == {"id": str(night), "name": "Night shift"}
    assert body["department"] == {"id": office.billing, "name": "Billing"}
