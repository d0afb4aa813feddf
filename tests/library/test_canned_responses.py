"""Canned responses through the library, on every store: the methods of ``Acting`` answer
the read models whose ``helpdesk.document`` is the API's document, and raise the domain's
errors (an unknown placeholder names itself)."""

from __future__ import annotations

import pytest

import helpdesk
from helpdesk import (
    CannedResponseQuery,
    CannedScope,
    CreateCannedResponse,
    NotFound,
    OpenTicket,
    StaffRole,
    StaleVersion,
    UpdateCannedResponse,
    ValidationFailed,
)
from helpdesk_core.documents import canned_response_document, staff_document

GREETING = 'Hi {{ customer.first_name | default("there") }}, {{ agent.signature | default("Us") }}'


def test_an_agent_writes_renders_and_retires_a_response(desk: helpdesk.Helpdesk) -> None:
    sales = desk.system.create_department(helpdesk.CreateDepartment("Sales"))
    dan = desk.as_user(
        desk.ensure_staff("s-1", "dan@example.com", "Dan", StaffRole.AGENT, sales.id)
    )
    ann = desk.ensure_customer("c-1", "ann@example.com", "Ann Lee")
    ticket = desk.as_user(ann).open_ticket(OpenTicket("Refund", "Please.", department_id=sales.id))

    with pytest.raises(ValidationFailed) as refused:
        dan.create_canned_response(CreateCannedResponse("Bad", "{{ customer.phone }}"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("body", "unknown placeholder customer.phone")
    ]
    made = dan.create_canned_response(CreateCannedResponse("Greeting", GREETING, shortcut="hi"))
    assert helpdesk.document(made) == canned_response_document(made)
    assert dan.get_canned_response(made.id) == made
    assert dan.list_canned_responses() == [made]

    rendered = dan.render_canned_response(made.id, ticket.ticket.id)
    assert isinstance(rendered, helpdesk.RenderedResponse)
    assert helpdesk.document(rendered) == {"body": "Hi Ann, Us", "unresolved": []}
    profile = dan.set_signature("Dan, Sales")
    assert helpdesk.document(profile) == staff_document(profile)
    assert helpdesk.document(profile)["signature"] == "Dan, Sales"
    html = dan.render_canned_response(made.id, ticket.ticket.id, "html")
    assert html.body == "Hi Ann, Dan, Sales"

    changed = dan.update_canned_response(made.id, 1, UpdateCannedResponse(title="Hello"))
    assert (changed.title, changed.version, changed.usage_count) == ("Hello", 2, 2)
    with pytest.raises(StaleVersion):
        dan.update_canned_response(made.id, 1, UpdateCannedResponse(title="Old view"))
    gone = dan.deactivate_canned_response(made.id, 2)
    assert not gone.is_active
    assert dan.list_canned_responses() == []
    assert dan.list_canned_responses(CannedResponseQuery(active=False)) == [gone]

    support = desk.system.create_department(helpdesk.CreateDepartment("Support"))
    bea = desk.ensure_staff("s-2", "bea@example.com", "Bea", StaffRole.AGENT, support.id)
    other = desk.as_user(bea)
    with pytest.raises(NotFound):
        other.get_canned_response(made.id)
    everyone = desk.system.create_canned_response(
        CreateCannedResponse("All", "{{ ticket.subject }}", CannedScope.EVERYONE)
    )
    assert [r.id for r in other.list_canned_responses()] == [everyone.id]
