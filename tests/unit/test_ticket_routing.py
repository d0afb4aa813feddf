"""Who may route a ticket where (the use case, on the in-memory store).

An unrouted ticket is seen by the staff of every department, internal notes included, so
taking a ticket out of its department is not an agent's call; nor is sending it to a
department the agent does not work in. Agents route into their own department only; leads
and administrators route anywhere, and may unroute.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import attrs
import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import PermissionDenied
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import ChangeTicket, OpenTicket
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@attrs.frozen
class Office:
    services: Services
    billing: uuid.UUID
    tech: uuid.UUID
    customer: Principal

    def staff(self, role: StaffRole, department: uuid.UUID | None) -> Principal:
        created = self.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(f"{uuid.uuid4().hex}@example.com", "S", PASSWORD, role, department),
        )
        return Principal(created.user.id, Role(role.value), department)

    def ticket(self, department: uuid.UUID | None) -> Ticket:
        command = OpenTicket("Printer", "It is on fire.", department_id=department)
        return self.services.tickets.open_ticket(self.customer, command).ticket

    def route(self, actor: Principal, ticket: Ticket, department: uuid.UUID | None) -> Ticket:
        command = ChangeTicket(department_id=department, change_department=True)
        return self.services.tickets.change(actor, ticket.id, ticket.version, command).ticket

    def department_of(self, ticket: Ticket) -> uuid.UUID | None:
        return self.services.tickets.get_ticket(SYSTEM_OPERATOR, ticket.id).ticket.department_id


@pytest.fixture
def office() -> Iterator[Office]:
    services = bootstrap(make_settings())
    org = services.org
    billing = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing")).id
    tech = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Tech")).id
    account = services.auth.register(Register("ann@example.com", PASSWORD, "Ann"))
    yield Office(services, billing, tech, Principal(account.user.id, Role.CUSTOMER))
    services.close()


def test_an_agent_may_not_unroute_a_ticket(office: Office) -> None:
    agent = office.staff(StaffRole.AGENT, office.billing)
    ticket = office.ticket(office.billing)
    with pytest.raises(PermissionDenied, match="only leads and administrators may unroute"):
        office.route(agent, ticket, None)
    assert office.department_of(ticket) == office.billing


def test_an_agent_may_not_move_a_ticket_to_another_department(office: Office) -> None:
    agent = office.staff(StaffRole.AGENT, office.billing)
    ticket = office.ticket(office.billing)
    with pytest.raises(PermissionDenied, match="department they do not work in"):
        office.route(agent, ticket, office.tech)
    assert office.department_of(ticket) == office.billing


def test_an_agent_may_not_route_an_unrouted_ticket_elsewhere(office: Office) -> None:
    agent = office.staff(StaffRole.AGENT, office.tech)
    ticket = office.ticket(None)
    with pytest.raises(PermissionDenied):
        office.route(agent, ticket, office.billing)
    assert office.department_of(ticket) is None


def test_an_agent_routes_an_unrouted_ticket_into_their_own_department(office: Office) -> None:
    agent = office.staff(StaffRole.AGENT, office.tech)
    ticket = office.ticket(None)
    assert office.route(agent, ticket, office.tech).department_id == office.tech


def test_an_agent_may_still_change_other_fields(office: Office) -> None:
    """The rule is about a department that changes: sending the same one is no move."""
    agent = office.staff(StaffRole.AGENT, office.billing)
    ticket = office.ticket(office.billing)
    assert office.route(agent, ticket, office.billing) == ticket


@pytest.mark.parametrize("role", [StaffRole.LEAD, StaffRole.ADMIN])
def test_leads_and_administrators_move_and_unroute(office: Office, role: StaffRole) -> None:
    actor = office.staff(role, office.billing if role is StaffRole.LEAD else None)
    assert office.route(actor, office.ticket(office.billing), office.tech).department_id == (
        office.tech
    )
    assert office.route(actor, office.ticket(office.billing), None).department_id is None
