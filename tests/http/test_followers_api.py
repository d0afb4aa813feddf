"""Who follows a ticket over HTTP (``/api/v1/staff/tickets/{id}/followers``): the answers, the
refusals as problem+json, and, on every store, a follow and a mention through the API with the
one mail per person the worker sends."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import falcon.testing
import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.ports.notifications import Mailer
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, Person
from tests.support.events import drain

TICKETS = "/api/v1/staff/tickets"


@attrs.frozen
class Office:
    """Billing with an agent, a second agent and a lead; Tech with an agent; a customer's
    ticket of Billing."""

    desk: Helpdesk
    agent: Person
    agent2: Person
    lead: Person
    tech: Person
    customer: Person
    ticket: str

    def path(self, suffix: str = "") -> str:
        return f"{TICKETS}/{self.ticket}/followers{suffix}"

    def call(self, method: str, suffix: str, who: Person) -> falcon.testing.Result:
        return self.desk.client.simulate_request(method, self.path(suffix), headers=who.headers)


def _office(desk: Helpdesk) -> Office:
    billing, tech = desk.department(), desk.department()
    customer = desk.customer()
    opened = desk.post(
        "/api/v1/tickets",
        customer,
        json={"subject": "Charged twice", "description": "Twice.", "department_id": billing},
    )
    assert opened.status_code == 201, opened.text
    return Office(
        desk,
        agent=desk.staff("agent", billing),
        agent2=desk.staff("agent", billing),
        lead=desk.staff("lead", billing),
        tech=desk.staff("agent", tech),
        customer=customer,
        ticket=opened.json["id"],
    )


@pytest.fixture
def office(helpdesk: Helpdesk) -> Office:
    return _office(helpdesk)


def people(answer: falcon.testing.Result) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return [(item["user"]["id"], item["reason"]) for item in answer.json["items"]]


def problem(answer: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json
    return body


def test_a_staff_member_follows_and_unfollows(office: Office) -> None:
    assert office.call("GET", "", office.agent).json == {"items": []}
    followed = office.call("PUT", "/me", office.agent)
    assert followed.status_code == 200, followed.text
    (item,) = followed.json["items"]
    assert item["user"] == {"id": office.agent.id, "display_name": "Agent"}
    assert item["reason"] == "follower"
    assert item["since"].endswith("+00:00")
    assert office.call("PUT", "/me", office.agent).json == followed.json  # twice: the same
    assert people(office.call("GET", "", office.lead)) == [(office.agent.id, "follower")]
    assert office.call("DELETE", "/me", office.agent).json == {"items": []}
    assert office.call("DELETE", "/me", office.agent).json == {"items": []}
    history = office.desk.get(f"{TICKETS}/{office.ticket}/history", office.lead).json["items"]
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history[-2:]] == [
        ("follower", None, office.agent.id),
        ("follower", office.agent.id, None),
    ]


def test_leads_add_and_remove_others_and_agents_may_not(office: Office) -> None:
    added = office.call("PUT", f"/{office.agent2.id}", office.lead)
    assert people(added) == [(office.agent2.id, "follower")]
    refused = problem(office.call("DELETE", f"/{office.agent2.id}", office.agent), 403)
    assert "only leads and administrators" in refused["detail"]
    problem(office.call("PUT", f"/{office.lead.id}", office.agent), 403)
    assert people(office.call("PUT", f"/{office.agent.id}", office.agent)) == [
        (office.agent2.id, "follower"),
        (office.agent.id, "follower"),
    ]
    assert people(office.call("DELETE", f"/{office.agent2.id}", office.lead)) == [
        (office.agent.id, "follower")
    ]


def test_the_assignee_is_listed_first_and_once(office: Office) -> None:
    office.call("PUT", "/me", office.agent2)
    office.call("PUT", "/me", office.agent)
    assigned = office.desk.post(
        f"{TICKETS}/{office.ticket}/assign",
        office.lead,
        json={"mode": "agent", "agent_id": office.agent.id},
    )
    assert assigned.status_code == 200, assigned.text
    listed = office.call("GET", "", office.agent2).json["items"]
    assert [(i["user"]["id"], i["reason"]) for i in listed] == [
        (office.agent.id, "assignee"),
        (office.agent2.id, "follower"),
    ]
    assert listed[0]["since"] is not None  # the assignee also followed it


def test_bad_input_is_a_problem(office: Office) -> None:
    body = problem(office.call("PUT", f"/{office.tech.id}", office.lead), 422)
    assert [(e["field"], e["pointer"]) for e in body["errors"]] == [("user_id", "/user_id")]
    body = problem(office.call("PUT", f"/{office.customer.id}", office.lead), 422)
    assert "no such active staff member" in body["errors"][0]["message"]
    problem(office.call("PUT", "/not-a-uuid", office.lead), 404)
    problem(office.call("PUT", "/me", office.tech), 404)  # outside their scope
    problem(office.call("GET", "", office.customer), 403)
    unknown = office.desk.client.simulate_get(
        f"{TICKETS}/{uuid.uuid4()}/followers", headers=office.agent.headers
    )
    problem(unknown, 404)
    malformed = office.desk.client.simulate_put(
        f"{TICKETS}/nope/followers/me", headers=office.agent.headers
    )
    problem(malformed, 404)


def test_follow_mention_and_mail_on_every_store(backend_url: str) -> None:
    """A follower and a mention through the API, on memory, SQLite and PostgreSQL: the
    assignee who follows and is mentioned receives the note once, the follower once."""
    mailer = MemoryMailer()
    services = bootstrap(make_settings(database_url=backend_url), {Mailer: mailer})
    try:
        office = _office(Helpdesk(services, falcon.testing.TestClient(create_app(services))))
        desk = office.desk
        desk.post(
            f"{TICKETS}/{office.ticket}/assign",
            office.lead,
            json={"mode": "agent", "agent_id": office.agent.id},
        )
        office.call("PUT", "/me", office.agent)
        office.call("PUT", f"/{office.agent2.id}", office.lead)
        drain(services)
        mailer.sent.clear()
        local = office.agent.email.partition("@")[0]
        note = desk.post(
            f"{TICKETS}/{office.ticket}/messages",
            office.lead,
            json={"body": f"@{local} please refund", "visibility": "internal"},
        )
        assert note.status_code == 201, note.text
        drain(services)
        assert sorted(m.to for m in mailer.sent) == sorted(
            [office.agent.email, office.agent2.email]
        )
        listed = people(office.call("GET", "", office.lead))
        assert listed == [(office.agent.id, "assignee"), (office.agent2.id, "follower")]
    finally:
        services.close()
