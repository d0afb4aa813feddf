"""Every change of a ticket leaves exactly one history entry: a model checks the history
against the sequence of changes made, over random sequences (hypothesis, stateful)."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.entities import TRANSITIONS
from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, Role, StaffRole, TicketPriority
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam
from helpdesk_core.usecases.tickets import Assign, ChangeTicket, OpenTicket, PostMessage
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


class TicketLife(RuleBasedStateMachine):
    """Drives one ticket through random changes and keeps the history we expect."""

    @initialize()
    def setup(self) -> None:
        self.services = bootstrap(make_settings())
        org = self.services.org
        department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support"))
        self.teams = [
            org.create_team(SYSTEM_OPERATOR, CreateTeam(name, department.id)).id
            for name in ("Tier 1", "Tier 2")
        ]
        lead = org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff("lead@example.com", "Lead", PASSWORD, StaffRole.LEAD, department.id),
        )
        self.agents = [
            org.create_staff(
                SYSTEM_OPERATOR,
                CreateStaff(
                    f"agent{n}@example.com",
                    f"Agent {n}",
                    PASSWORD,
                    StaffRole.AGENT,
                    department.id,
                    self.teams[n % 2],
                ),
            ).user.id
            for n in range(3)
        ]
        self.lead = Principal(lead.user.id, Role.LEAD, department.id)
        customer = self.services.auth.register(Register("c@example.com", PASSWORD, "C"))
        self.customer = Principal(customer.user.id, Role.CUSTOMER)
        self.ticket = self.services.tickets.open_ticket(
            self.customer, OpenTicket("Subject", "Description", department_id=department.id)
        ).ticket
        self.expected: list[tuple[uuid.UUID | None, str, str | None, str | None]] = [
            (self.customer.user_id, "ticket", None, "created")
        ]

    def _apply(self, before_fields: dict[str, str | None], after: object, actor: Principal) -> None:
        for field, old in before_fields.items():
            new = _field(after, field)
            if new != old:
                self.expected.append((actor.user_id, field, old, new))
        self.ticket = after  # type: ignore[assignment]

    def _snapshot(self) -> dict[str, str | None]:
        return {
            f: _field(self.ticket, f)
            for f in ("status", "priority", "department", "team", "assignee")
        }

    @rule(status=st.sampled_from(sorted(TRANSITIONS)))
    def change_status(self, status: object) -> None:
        before = self._snapshot()
        try:
            after = self.services.tickets.change(
                self.lead,
                self.ticket.id,
                self.ticket.version,
                ChangeTicket(status=status),  # type: ignore[arg-type]
            ).ticket
        except Conflict:
            assert status not in TRANSITIONS[self.ticket.status]
            return
        self._apply(before, after, self.lead)

    @rule(priority=st.sampled_from(list(TicketPriority)))
    def change_priority(self, priority: TicketPriority) -> None:
        before = self._snapshot()
        after = self.services.tickets.change(
            self.lead, self.ticket.id, self.ticket.version, ChangeTicket(priority=priority)
        ).ticket
        self._apply(before, after, self.lead)

    @rule(team=st.integers(0, 1))
    def to_team(self, team: int) -> None:
        before = self._snapshot()
        after = self.services.tickets.assign(
            self.lead, self.ticket.id, Assign("team", team_id=self.teams[team])
        ).ticket
        self._apply(before, after, self.lead)

    @rule(agent=st.integers(0, 2))
    def to_agent(self, agent: int) -> None:
        before = self._snapshot()
        after = self.services.tickets.assign(
            self.lead, self.ticket.id, Assign("agent", agent_id=self.agents[agent])
        ).ticket
        self._apply(before, after, self.lead)

    @rule(internal=st.booleans(), by_customer=st.booleans())
    def message(self, internal: bool, by_customer: bool) -> None:
        actor = self.customer if by_customer else self.lead
        before = self._snapshot()
        try:
            message = self.services.tickets.post_message(
                actor,
                self.ticket.id,
                PostMessage(
                    "hello",
                    MessageVisibility.INTERNAL
                    if internal and not by_customer
                    else MessageVisibility.PUBLIC,
                ),
            ).message
        except Conflict:  # a customer cannot reply to a closed ticket
            assert by_customer
            return
        self.expected.append(
            (actor.user_id, "message", None, f"{message.visibility.value}:{message.id}")
        )
        after = self.services.tickets.get_ticket(self.lead, self.ticket.id).ticket
        self._apply(before, after, actor)

    @invariant()
    def history_matches_the_changes(self) -> None:
        history = self.services.tickets.history(self.lead, self.ticket.id)
        got = [
            (h.entry.actor_id, h.entry.field, h.entry.old_value, h.entry.new_value) for h in history
        ]
        assert got == self.expected

    def teardown(self) -> None:
        self.services.close()


def _field(ticket: object, field: str) -> str | None:
    attribute = {"department": "department_id", "team": "team_id", "assignee": "assignee_id"}.get(
        field, field
    )
    value = getattr(ticket, attribute)
    if value is None:
        return None
    return str(getattr(value, "value", value))


TicketLife.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_history_records_every_change_exactly_once = TicketLife.TestCase
