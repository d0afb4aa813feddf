"""The desk the ticket use cases are tested at: ``TicketService`` and its neighbours built by
the composition root on the in-memory adapters, with a clock the test sets; an organization
of two departments and the people who work there; and the one place that reads what the
use cases return.

What close, reopen, change, assign, post_message, messages, history and list_tickets return
is read through ``ticket_of``, ``message_of``, ``entry_of`` and ``items_of`` only, never by an
attribute in a test: when a return type changes (a view that wraps the ticket, say), a line
of one of them changes and no test does. (A ticket's detail, from open_ticket and get_ticket,
is read as it is: it wraps its ticket as ``.ticket``; its messages go through ``message_of``.)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from entrypoints.bootstrap import Services
from helpdesk_core.domain.entities import HistoryEntry, Ticket, TicketMessage
from helpdesk_core.domain.errors import DomainError, ValidationFailed
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, Role, StaffRole, TicketStatus
from helpdesk_core.domain.views import HistoryView, MessageView, TicketView
from helpdesk_core.ports.tickets import TicketPage, TicketQuery
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTicket,
    OpenTicket,
    PostMessage,
    TicketService,
)
from tests.support.clock import SettableClock

PASSWORD = "correct horse battery"
PDF = AttachmentInput(
    url="https://files.example.com/a/invoice.pdf",
    filename="invoice.pdf",
    mime_type="application/pdf",
    size_bytes=12_345,
)

# ---------------------------------------------------------------- what the use cases return


def ticket_of(view: TicketView) -> Ticket:
    """The ticket of what close, reopen, change and assign return, or of a listed item."""
    return view.ticket


def message_of(view: MessageView) -> TicketMessage:
    """The message of what post_message returns, or of one item of a ticket detail's
    ``messages`` or of what the messages use case returns."""
    return view.message


def entry_of(view: HistoryView) -> HistoryEntry:
    """The history entry of one item of what history returns."""
    return view.entry


def items_of(page: TicketPage) -> tuple[TicketView, ...]:
    """The items of a page of list_tickets (read each with ``ticket_of``)."""
    return tuple(page.items)


# ---------------------------------------------------------------- the desk


@attrs.define
class Desk:
    """Billing (teams Refunds and Invoices) and Tech (team Tier 1), with their people.

    Billing: ``lead``, ``agent`` and ``agent2`` (both in Refunds); Tech: ``tech_lead`` and
    ``tech_agent`` (in Tier 1); ``admin`` is an administrator's staff account; customers
    ``ann`` and ``bob``. ``SYSTEM_OPERATOR`` (the terminal's operator) is no staff member.
    """

    services: Services
    clock: SettableClock
    billing: uuid.UUID
    tech: uuid.UUID
    refunds: uuid.UUID
    invoices: uuid.UUID
    tier1: uuid.UUID
    lead: Principal
    agent: Principal
    agent2: Principal
    tech_lead: Principal
    tech_agent: Principal
    admin: Principal
    ann: Principal
    bob: Principal

    @property
    def tickets(self) -> TicketService:
        return self.services.tickets

    @classmethod
    def build(cls, services: Services, clock: SettableClock) -> Desk:
        """The organization above on ``services`` (a fresh store)."""
        billing, tech = _department(services, "Billing"), _department(services, "Tech")
        refunds, tier1 = _team(services, billing, "Refunds"), _team(services, tech, "Tier 1")
        return cls(
            services,
            clock,
            billing=billing,
            tech=tech,
            refunds=refunds,
            invoices=_team(services, billing, "Invoices"),
            tier1=tier1,
            lead=_staff(services, StaffRole.LEAD, billing),
            agent=_staff(services, StaffRole.AGENT, billing, refunds),
            agent2=_staff(services, StaffRole.AGENT, billing, refunds),
            tech_lead=_staff(services, StaffRole.LEAD, tech),
            tech_agent=_staff(services, StaffRole.AGENT, tech, tier1),
            admin=_staff(services, StaffRole.ADMIN),
            ann=_customer(services, "Ann"),
            bob=_customer(services, "Bob"),
        )

    # ------------------------------------------------------------ the organization

    def department(self, name: str, auto_assign: bool = False) -> uuid.UUID:
        return _department(self.services, name, auto_assign)

    def team(self, department: uuid.UUID, name: str) -> uuid.UUID:
        return _team(self.services, department, name)

    def staff(
        self, role: StaffRole, department: uuid.UUID | None = None, team: uuid.UUID | None = None
    ) -> Principal:
        return _staff(self.services, role, department, team)

    def customer(self, name: str = "Cy") -> Principal:
        return _customer(self.services, name)

    def deactivate(self, who: Principal) -> None:
        self.services.org.update_staff(SYSTEM_OPERATOR, who.user_id, UpdateStaff(active=False))

    def move_staff(self, who: Principal, department: uuid.UUID) -> None:
        """Move a staff member to ``department`` (their principal keeps the old one)."""
        command = UpdateStaff(department_id=department, change_department=True)
        self.services.org.update_staff(SYSTEM_OPERATOR, who.user_id, command)

    def close_department(self, department: uuid.UUID) -> None:
        command = UpdateDepartment(active=False)
        self.services.org.update_department(SYSTEM_OPERATOR, department, command)

    def auto_assign(self, department: uuid.UUID) -> None:
        command = UpdateDepartment(auto_assign=True)
        self.services.org.update_department(SYSTEM_OPERATOR, department, command)

    def close_team(self, team: uuid.UUID) -> None:
        self.services.org.update_team(SYSTEM_OPERATOR, team, UpdateTeam(active=False))

    # ------------------------------------------------------------ tickets

    def open(
        self,
        who: Principal | None = None,
        department: uuid.UUID | None = None,
        subject: str = "Charged twice",
        **changes: Any,
    ) -> Ticket:
        """A ticket ``who`` (Ann) opens for ``department`` (none: unrouted)."""
        command = OpenTicket(subject, "The invoice came twice.", department_id=department)
        detail = self.tickets.open_ticket(who or self.ann, attrs.evolve(command, **changes))
        ticket: Ticket = detail.ticket
        return ticket

    def current(self, ticket: Ticket | uuid.UUID) -> Ticket:
        """The ticket as it is stored now."""
        ticket_id = ticket if isinstance(ticket, uuid.UUID) else ticket.id
        stored: Ticket = self.tickets.get_ticket(SYSTEM_OPERATOR, ticket_id).ticket
        return stored

    def change(self, actor: Principal, ticket: Ticket, **fields: Any) -> Ticket:
        """``actor`` changes the current version of ``ticket`` (routing flags set for what
        is named): the ticket as changed."""
        command = ChangeTicket(
            **fields,
            change_department="department_id" in fields,
            change_team="team_id" in fields,
        )
        current = self.current(ticket)
        return ticket_of(self.tickets.change(actor, current.id, current.version, command))

    def reply(
        self,
        who: Principal,
        ticket: Ticket,
        body: str = "Any news?",
        visibility: MessageVisibility = MessageVisibility.PUBLIC,
        attachments: tuple[AttachmentInput, ...] = (),
    ) -> TicketMessage:
        command = PostMessage(body, visibility, attachments)
        return message_of(self.tickets.post_message(who, ticket.id, command))

    def assign(
        self,
        who: Principal,
        ticket: Ticket,
        mode: str,
        agent: Principal | None = None,
        team: uuid.UUID | None = None,
    ) -> Ticket:
        command = Assign(mode, agent.user_id if agent else None, team)
        return ticket_of(self.tickets.assign(who, ticket.id, command))

    def conversation(self, who: Principal, ticket: Ticket) -> list[TicketMessage]:
        """The messages of ``ticket`` that ``who`` reads, oldest first."""
        return [message_of(m) for m in self.tickets.get_ticket(who, ticket.id).messages]

    def listed(self, who: Principal, **query: Any) -> list[Ticket]:
        """The tickets ``who`` lists with ``query`` (a TicketQuery's fields)."""
        page = self.tickets.list_tickets(who, TicketQuery(**query))
        return [ticket_of(item) for item in items_of(page)]

    def set_status(self, ticket: Ticket, status: TicketStatus) -> Ticket:
        """``ticket`` put in ``status`` by the operator (a precondition, not the test)."""
        return self.change(SYSTEM_OPERATOR, ticket, status=status)

    # ------------------------------------------------------------ what was recorded

    def history(self, ticket: Ticket) -> list[tuple[uuid.UUID | None, str, str | None, str | None]]:
        """(actor, field, old, new) of every history entry of ``ticket``, oldest first."""
        entries = [entry_of(e) for e in self.tickets.history(SYSTEM_OPERATOR, ticket.id)]
        return [(e.actor_id, e.field, e.old_value, e.new_value) for e in entries]

    def fields_recorded(self, ticket: Ticket) -> list[str]:
        return [field for _, field, _, _ in self.history(ticket)]

    def events(self, ticket: Ticket | None = None) -> list[Event]:
        """Every event in the outbox (of ``ticket`` only, when named), in their order."""
        state = self.services.uow.state  # type: ignore[attr-defined]
        entries = sorted((row.entry for row in state.outbox.values()), key=lambda e: e.seq)
        events = [entry.event for entry in entries]
        if ticket is None:
            return events
        return [e for e in events if e.ordering_key == f"ticket:{ticket.id}"]

    def event_types(self, ticket: Ticket) -> list[str]:
        return [e.type for e in self.events(ticket)]

    def photo(self) -> dict[str, Any]:
        """Every table of the store (event payloads included), comparable with ``==``."""
        state = self.services.uow.state  # type: ignore[attr-defined]
        tables: dict[str, Any] = {
            f.name: dict(getattr(state, f.name)) for f in attrs.fields(type(state))
        }
        tables["event data"] = [e.data for e in self.events()]
        return tables

    @contextmanager
    def refuses(
        self, error: type[DomainError], *fields: str, match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[DomainError]]:
        """The block raises ``error`` (a ValidationFailed naming exactly ``fields``) whose
        message holds the text ``match``, and the store is as it was before it."""
        before = self.photo()
        with pytest.raises(error, match=re.escape(match) if match else None) as caught:
            yield caught
        if fields or isinstance(caught.value, ValidationFailed):
            assert isinstance(caught.value, ValidationFailed), caught.value
            assert [e.field for e in caught.value.errors] == list(fields), caught.value.errors
        assert self.photo() == before, "a refused use case changed the store"


def _department(services: Services, name: str, auto_assign: bool = False) -> uuid.UUID:
    command = CreateDepartment(name, auto_assign=auto_assign)
    return services.org.create_department(SYSTEM_OPERATOR, command).id


def _team(services: Services, department: uuid.UUID, name: str) -> uuid.UUID:
    return services.org.create_team(SYSTEM_OPERATOR, CreateTeam(name, department)).id


def _staff(
    services: Services,
    role: StaffRole,
    department: uuid.UUID | None = None,
    team: uuid.UUID | None = None,
) -> Principal:
    email = f"{role.value}.{uuid.uuid4().hex[:12]}@staff.example.com"
    command = CreateStaff(email, role.value.title(), PASSWORD, role, department, team)
    user_id = services.org.create_staff(SYSTEM_OPERATOR, command).user.id
    return Principal(user_id, Role(role.value), department, team)


def _customer(services: Services, name: str) -> Principal:
    email = f"{name.lower()}.{uuid.uuid4().hex[:12]}@example.com"
    account = services.auth.register(Register(email, PASSWORD, name))
    return Principal(account.user.id, Role.CUSTOMER)
