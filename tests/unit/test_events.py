"""Events in the core: recorded with their change, handled in order, mailed, delivered, retried.

The store is the in-memory one; the clock, mailer and HTTP sender are fakes handed to the
composition root, so the whole chain (use case -> outbox -> worker -> subscribers) runs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs
import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.config import Settings
from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, Role, StaffRole, TicketStatus
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    OutboxState,
    SendResult,
    UrlGuard,
    Webhook,
    WebhookSender,
)
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.auth import ForgotPassword, Register, ResetPassword
from helpdesk_core.usecases.events import Dispatcher, WorkerPolicy, backoff
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, UpdateDepartment
from helpdesk_core.usecases.tickets import Assign, ChangeTicket, OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain

PASSWORD = "correct horse battery"


@attrs.define
class FakeSender:
    """Answers with the queued results (then success), remembering every call."""

    results: list[SendResult] = attrs.Factory(list)
    calls: list[tuple[str, str, bytes]] = attrs.Factory(list)  # url, message id, body

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        self.calls.append((webhook.url, message_id, body))
        if self.results:
            return self.results.pop(0)
        return SendResult(AttemptOutcome.SUCCESS, 3, 200)


class AllowAll:
    def check(self, url: str) -> str | None:
        return None


@attrs.define
class World:
    services: Services
    clock: SettableClock
    mailbox: MemoryMailer
    sender: FakeSender
    customer: Principal
    agent: Principal
    lead: Principal
    department: uuid.UUID

    def events(self) -> list[Event]:
        state = self.services.uow.state  # type: ignore[attr-defined]
        entries = sorted((row.entry for row in state.outbox.values()), key=lambda e: e.seq)
        return [e.event for e in entries]

    def types(self) -> list[str]:
        return [e.type for e in self.events()]


W = TypeVar("W", bound="World")


@contextmanager
def built_world(settings: Settings, kind: type[W]) -> Iterator[W]:
    """A ``kind`` of World on the in-memory store with ``settings``: a department, an agent
    and a lead in it, a customer, and the set-up's own events already handled."""
    clock, mailbox, sender = SettableClock(), MemoryMailer(), FakeSender()
    services = bootstrap(
        settings,
        {Clock: clock, Mailer: mailbox, WebhookSender: sender, UrlGuard: AllowAll()},
    )
    org = services.org
    department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support")).id
    agent = org.create_staff(
        SYSTEM_OPERATOR,
        CreateStaff("agent@example.com", "Agent", PASSWORD, StaffRole.AGENT, department),
    ).user.id
    lead = org.create_staff(
        SYSTEM_OPERATOR,
        CreateStaff("lead@example.com", "Lead", PASSWORD, StaffRole.LEAD, department),
    ).user.id
    customer = services.auth.register(Register("c@example.com", PASSWORD, "Cora")).user.id
    drain(services)  # the set-up's own events are handled before each test begins
    yield kind(
        services,
        clock,
        mailbox,
        sender,
        Principal(customer, Role.CUSTOMER),
        Principal(agent, Role.AGENT, department),
        Principal(lead, Role.LEAD, department),
        department,
    )
    services.close()


@pytest.fixture
def world() -> Iterator[World]:
    settings = attrs.evolve(
        make_settings(), retry_base_seconds=10.0, webhook_max_attempts=3, webhook_disable_after=3
    )
    with built_world(settings, World) as built:
        yield built


def _open(world: World) -> uuid.UUID:
    command = OpenTicket("Printer on fire", "It is on fire", department_id=world.department)
    return world.services.tickets.open_ticket(world.customer, command).ticket.id


# ---------------------------------------------------------------- recording


def test_every_change_records_its_events_in_order(world: World) -> None:
    tickets = world.services.tickets
    before = len(world.events())
    ticket_id = _open(world)
    tickets.assign(world.lead, ticket_id, Assign("agent", agent_id=world.agent.user_id))
    tickets.post_message(world.agent, ticket_id, PostMessage("On it"))
    version = tickets.get_ticket(world.agent, ticket_id).ticket.version
    tickets.change(world.agent, ticket_id, version, ChangeTicket(status=TicketStatus.RESOLVED))
    tickets.reopen(world.customer, ticket_id)
    tickets.close(world.customer, ticket_id)
    assert world.types()[before:] == [
        "ticket.created",
        "ticket.assigned",
        "ticket.message_added",
        "ticket.status_changed",  # the staff reply opened the new ticket
        "ticket.status_changed",
        "ticket.status_changed",
        "ticket.reopened",
        "ticket.status_changed",
        "ticket.closed",
    ]
    ticket_events = world.events()[before:]
    assert {e.ordering_key for e in ticket_events} == {f"ticket:{ticket_id}"}
    assert ticket_events[-1].data["ticket"]["status"] == "closed"
    assert ticket_events[-1].actor_id == world.customer.user_id


def test_a_new_ticket_assigned_at_once_records_its_creation_then_its_assignment(
    world: World,
) -> None:
    """An auto-assigning department's new ticket is stored assigned (one write), and its
    events and history read as the two changes it is: created (unassigned, version 1), then
    assigned (version 2)."""
    world.services.org.update_department(
        SYSTEM_OPERATOR, world.department, UpdateDepartment(auto_assign=True)
    )
    before = len(world.events())
    ticket_id = _open(world)
    created, assigned = world.events()[before:]
    assert (created.type, assigned.type) == ("ticket.created", "ticket.assigned")
    assert created.data["ticket"]["assignee"] is None
    assert created.data["ticket"]["version"] == 1
    assert assigned.data["ticket"]["assignee"] == {
        "id": str(world.agent.user_id),
        "display_name": "Agent",
    }
    assert assigned.data["ticket"]["version"] == 2
    stored = world.services.tickets.get_ticket(world.agent, ticket_id).ticket
    assert (stored.assignee_id, stored.version) == (world.agent.user_id, 2)
    history = world.services.tickets.history(world.lead, ticket_id)
    assert [(h.entry.field, h.entry.old_value, h.entry.new_value) for h in history] == [
        ("ticket", None, "created"),
        ("assignee", None, str(world.agent.user_id)),
    ]


def test_an_internal_note_event_never_carries_its_body(world: World) -> None:
    ticket_id = _open(world)
    world.services.tickets.post_message(
        world.agent, ticket_id, PostMessage("secret note", MessageVisibility.INTERNAL)
    )
    event = world.events()[-1]
    assert event.type == "ticket.message_added"
    assert event.data["message"]["visibility"] == "internal"
    assert event.data["message"]["body"] is None
    assert "secret note" not in repr(event.envelope())


def test_a_refused_change_records_no_event(world: World) -> None:
    ticket_id = _open(world)
    before = world.types()
    with pytest.raises(Conflict):
        world.services.tickets.reopen(world.customer, ticket_id)  # new: cannot reopen
    assert world.types() == before


def test_account_and_org_changes_record_events(world: World) -> None:
    types = world.types()
    assert types[:4] == ["department.created", "staff.created", "staff.created", "user.registered"]
    registered = world.events()[3]
    assert "password" not in repr(registered.data)


def test_the_dispatcher_refuses_unknown_types_and_calls_in_order() -> None:
    dispatcher = Dispatcher()
    seen: list[str] = []
    with pytest.raises(ValueError, match="unknown event type"):
        dispatcher.subscribe("ticket.exploded", seen.append)  # type: ignore[arg-type]
    dispatcher.subscribe("ticket.closed", lambda e: seen.append("first"))
    dispatcher.subscribe("*", lambda e: seen.append("second"))
    event = Event(
        uuid.uuid4(), "ticket.closed", datetime.now(UTC), "ticket:x", {"ticket": {}}, None
    )
    dispatcher.dispatch(event)
    assert seen == ["first", "second"]


# ---------------------------------------------------------------- the worker and mail


def test_the_worker_marks_every_event_done(world: World) -> None:
    _open(world)
    drain(world.services)
    state = world.services.uow.state  # type: ignore[attr-defined]
    assert {row.entry.state for row in state.outbox.values()} == {OutboxState.DONE}


def test_notifications_reach_requester_and_assignee_only_when_they_should(world: World) -> None:
    tickets = world.services.tickets
    ticket_id = _open(world)
    drain(world.services)
    world.mailbox.sent.clear()
    tickets.assign(world.lead, ticket_id, Assign("agent", agent_id=world.agent.user_id))
    tickets.post_message(world.agent, ticket_id, PostMessage("note", MessageVisibility.INTERNAL))
    tickets.post_message(world.agent, ticket_id, PostMessage("Public answer"))
    tickets.post_message(world.customer, ticket_id, PostMessage("Thanks"))
    tickets.close(world.customer, ticket_id)  # the requester's own change: no mail
    drain(world.services)
    sent = [(m.to, m.subject) for m in world.mailbox.sent]
    assert sent == [
        ("agent@example.com", "[#1] Assigned to you: Printer on fire"),
        ("c@example.com", "Re: [#1] Printer on fire"),  # it also opened the ticket
        # The assignee follows the ticket: told of the customer's answer, not of their own.
        ("agent@example.com", "[#1] Reply from Cora: Printer on fire"),
    ]
    assert "Public answer" in world.mailbox.sent[1].body
    assert not any("note" in m.body for m in world.mailbox.sent)  # the internal note stays in


def test_self_assignment_mails_nobody(world: World) -> None:
    ticket_id = _open(world)
    drain(world.services)
    world.mailbox.sent.clear()
    world.services.tickets.assign(world.agent, ticket_id, Assign("self"))
    drain(world.services)
    assert world.mailbox.sent == []


def test_the_reset_link_is_mailed_by_the_worker_and_works(world: World) -> None:
    auth = world.services.auth
    auth.forgot_password(ForgotPassword("c@example.com"))
    assert world.mailbox.sent == []  # nothing is mailed inside the request
    event = world.events()[-1]
    assert event.type == "user.password_reset_requested"
    assert "token" not in repr(event.data)
    drain(world.services)
    (mail,) = world.mailbox.sent
    token = re.search(r"token=([A-Za-z0-9_.-]+)", mail.body)
    assert token is not None
    auth.reset_password(ResetPassword(token.group(1), "a brand new secret 9"))


def test_a_failing_mailer_retries_the_event_with_backoff_then_delivers(world: World) -> None:
    world.services.auth.forgot_password(ForgotPassword("c@example.com"))
    world.mailbox.fail_with = OSError("smtp down")
    drain(world.services)
    entry = _entry(world, world.events()[-1].id)
    assert entry.state is OutboxState.PENDING
    assert "smtp down" in (entry.last_error or "")
    assert entry.available_at > world.clock.current
    world.mailbox.fail_with = None
    drain(world.services)
    assert world.mailbox.sent == []  # not due yet
    world.clock.current = entry.available_at
    drain(world.services)
    assert len(world.mailbox.sent) == 1
    assert _entry(world, world.events()[-1].id).state is OutboxState.DONE


def _entry(world: World, event_id: uuid.UUID):  # type: ignore[no-untyped-def]
    with world.services.uow.begin(read_only=True) as tx:
        return tx.outbox.get(event_id)


# ---------------------------------------------------------------- webhooks


def test_backoff_doubles_is_capped_and_jitter_only_shortens() -> None:
    policy = WorkerPolicy(retry_base_seconds=5, retry_max_seconds=30, jitter=0.25)
    assert [backoff(n, policy, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    assert backoff(2, policy, lambda: 1.0) == 7.5


def test_a_webhook_gets_its_events_signed_once_each(world: World) -> None:
    hook = world.services.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook("https://hooks.example.com/in", ("ticket.created",))
    )
    ticket_id = _open(world)
    world.services.tickets.close(world.customer, ticket_id)  # not subscribed
    drain(world.services)
    drain(world.services)
    assert len(world.sender.calls) == 1
    url, message_id, body = world.sender.calls[0]
    created = [e for e in world.events() if e.type == "ticket.created"][-1]
    assert (url, message_id) == ("https://hooks.example.com/in", str(created.id))
    assert b'"type":"ticket.created"' in body
    (delivery,) = world.services.webhooks.deliveries(SYSTEM_OPERATOR, hook.webhook.id, 10)
    assert delivery.state is DeliveryState.DELIVERED
    assert [a.outcome for a in delivery.attempt_log] == [AttemptOutcome.SUCCESS]


def test_a_failing_endpoint_is_retried_on_schedule_then_disabled(world: World) -> None:
    world.sender.results = [
        SendResult(AttemptOutcome.HTTP_ERROR, 5, 500),
        SendResult(AttemptOutcome.TIMEOUT, 10_000, None, "timed out"),
        SendResult(AttemptOutcome.NETWORK_ERROR, 1, None, "connection refused"),
    ]
    world.services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example.com", ("*",)))
    hook = world.services.webhooks.list(SYSTEM_OPERATOR)[0]
    _open(world)
    start = world.clock.current
    drain(world.services)
    schedule = []
    for _ in range(2):
        (delivery,) = world.services.webhooks.deliveries(SYSTEM_OPERATOR, hook.id, 10)
        schedule.append(delivery.next_attempt_at - start)
        world.clock.current = delivery.next_attempt_at
        drain(world.services)
    # base 10 s doubling, jitter taking off at most a quarter
    assert timedelta(seconds=7.5) <= schedule[0] <= timedelta(seconds=10)
    assert timedelta(seconds=15) <= schedule[1] - schedule[0] <= timedelta(seconds=20)
    (delivery,) = world.services.webhooks.deliveries(SYSTEM_OPERATOR, hook.id, 10)
    assert delivery.state is DeliveryState.FAILED
    assert [(a.attempt, a.outcome, a.status_code) for a in delivery.attempt_log] == [
        (1, AttemptOutcome.HTTP_ERROR, 500),
        (2, AttemptOutcome.TIMEOUT, None),
        (3, AttemptOutcome.NETWORK_ERROR, None),
    ]
    disabled = world.services.webhooks.get(SYSTEM_OPERATOR, hook.id)
    assert not disabled.is_active
    assert "3 failed attempts" in (disabled.disabled_reason or "")
    calls = len(world.sender.calls)
    _open(world)
    world.clock.current += timedelta(hours=1)
    drain(world.services)
    assert len(world.sender.calls) == calls  # a disabled endpoint receives nothing


def test_a_ping_reaches_only_its_endpoint(world: World) -> None:
    webhooks = world.services.webhooks
    one = webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://one.example.com", ("*",)))
    webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://two.example.com", ("*",)))
    drain(world.services)
    webhooks.ping(SYSTEM_OPERATOR, one.webhook.id)
    drain(world.services)
    assert [c[0] for c in world.sender.calls] == ["https://one.example.com"]
    assert b'"type":"webhook.ping"' in world.sender.calls[0][2]
