"""``TicketService.get_ticket_by_number`` on the in-memory adapters: the scope rule; and the
core's refusal of text no store can hold in searches, idempotency keys and filters.

A ticket found by its number is the ticket found by its id, with what the actor may see of it
(internal notes for staff only). Outside the actor's scope (another customer's ticket, another
department's) it does not exist: the same NotFound as for a number no ticket has.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import attrs
import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import NotFound, ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, Role, StaffRole
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import TICKET_NUMBER_MAX, OpenTicket, PostMessage
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@attrs.frozen
class Desk:
    services: Services
    ann: Principal  # customer
    bob: Principal  # customer
    billing_agent: Principal
    tech_agent: Principal
    billing_number: int  # Ann's ticket, routed to Billing, with an internal note
    unrouted_number: int  # Bob's ticket, in no department yet


@pytest.fixture
def desk() -> Iterator[Desk]:
    services = bootstrap(make_settings())
    org, tickets = services.org, services.tickets
    billing = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
    tech = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Tech"))

    def agent(email: str, department_id: uuid.UUID) -> Principal:
        staff = org.create_staff(
            SYSTEM_OPERATOR, CreateStaff(email, email, PASSWORD, StaffRole.AGENT, department_id)
        )
        return Principal(staff.user.id, Role.AGENT, department_id)

    def customer(email: str) -> Principal:
        account = services.auth.register(Register(email, PASSWORD, email))
        return Principal(account.user.id, Role.CUSTOMER)

    billing_agent, tech_agent = agent("b@x.example", billing.id), agent("t@x.example", tech.id)
    ann, bob = customer("ann@x.example"), customer("bob@x.example")
    routed = tickets.open_ticket(
        ann, OpenTicket("Charged twice", "Twice.", department_id=billing.id)
    )
    tickets.post_message(
        billing_agent,
        routed.ticket.id,
        PostMessage("Batch job again.", MessageVisibility.INTERNAL),
    )
    tickets.post_message(billing_agent, routed.ticket.id, PostMessage("On it."))
    unrouted = tickets.open_ticket(bob, OpenTicket("Where do I ask?", "Hello."))
    yield Desk(
        services,
        ann,
        bob,
        billing_agent,
        tech_agent,
        routed.ticket.number,
        unrouted.ticket.number,
    )
    services.close()


def test_the_number_finds_what_the_id_finds_for_each_actor(desk: Desk) -> None:
    tickets = desk.services.tickets
    for actor in (desk.ann, desk.billing_agent, SYSTEM_OPERATOR):
        by_number = tickets.get_ticket_by_number(actor, desk.billing_number)
        assert by_number.ticket.number == desk.billing_number
        assert by_number == tickets.get_ticket(actor, by_number.ticket.id)
    customer_view = tickets.get_ticket_by_number(desk.ann, desk.billing_number)
    staff_view = tickets.get_ticket_by_number(desk.billing_agent, desk.billing_number)
    assert [m.message.body for m in customer_view.messages] == ["On it."]
    assert [m.message.body for m in staff_view.messages] == ["Batch job again.", "On it."]


@pytest.mark.parametrize(
    ("actor", "ticket"),
    [
        ("bob", "billing"),  # another customer's ticket
        ("ann", "unrouted"),  # another customer's, though staff of every department see it
        ("tech_agent", "billing"),  # another department's
    ],
)
def test_out_of_scope_is_the_same_not_found_as_no_such_number(
    desk: Desk, actor: str, ticket: str
) -> None:
    tickets = desk.services.tickets
    who: Principal = getattr(desk, actor)
    number: int = getattr(desk, f"{ticket}_number")
    with pytest.raises(NotFound) as out_of_scope:
        tickets.get_ticket_by_number(who, number)
    with pytest.raises(NotFound) as unknown:
        tickets.get_ticket_by_number(who, desk.unrouted_number + 100)
    assert out_of_scope.value.detail == unknown.value.detail == "no such ticket"


def test_a_ticket_in_no_department_is_found_by_staff_of_any(desk: Desk) -> None:
    tickets = desk.services.tickets
    for actor in (desk.bob, desk.billing_agent, desk.tech_agent):
        found = tickets.get_ticket_by_number(actor, desk.unrouted_number)
        assert found.ticket.number == desk.unrouted_number


@pytest.mark.parametrize("number", [0, -5, TICKET_NUMBER_MAX + 1])
def test_a_number_no_ticket_can_have_is_not_found(desk: Desk, number: int) -> None:
    with pytest.raises(NotFound, match="no such ticket"):
        desk.services.tickets.get_ticket_by_number(SYSTEM_OPERATOR, number)


# ---------------------------------------------------------------- text no store can hold
# The HTTP edge refuses it first; the core refuses it too, for the CLI and the library.


@pytest.mark.parametrize("text", ["print\x00er", "x\ud800"])
def test_a_search_with_unstorable_text_is_refused_before_any_store(desk: Desk, text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        desk.services.tickets.list_tickets(desk.billing_agent, TicketQuery(text=text))
    assert [e.field for e in caught.value.errors] == ["q"]


def test_an_idempotency_key_with_unstorable_text_is_refused(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as caught:
        desk.services.tickets.open_ticket(desk.ann, OpenTicket("S", "D"), "key\x00")
    assert [e.field for e in caught.value.errors] == ["Idempotency-Key"]


def test_a_customer_filter_with_unstorable_text_is_refused(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as caught:
        desk.services.customers.list(SYSTEM_OPERATOR, CustomerFilter(email_contains="a\ud800"))
    assert [e.field for e in caught.value.errors] == ["email"]


def test_an_email_no_store_can_hold_names_no_account(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.services.customers.find_by_email(SYSTEM_OPERATOR, "ann\x00@x.example")
    with pytest.raises(NotFound):
        desk.services.customers.unlock_account(SYSTEM_OPERATOR, "ann\x00@x.example")
