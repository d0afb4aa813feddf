"""The event worker is poison-proof (issue 20, findings 2 and 3), in the core on the memory
store: whatever one delivery or one mail raises is that item's failed attempt, recorded with
the error; the pass goes on, the other deliveries of the batch are sent and released, a mail
that fails never keeps its event from the webhook fan-out, and what no retry can mend fails
at once so its ticket's later events move on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import attrs
import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    OutboxState,
    SendResult,
    Undeliverable,
    UrlGuard,
    Webhook,
    WebhookSender,
)
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain

PASSWORD = "correct horse battery"


@attrs.define
class Sender:
    """Succeeds, except for URLs holding a key of ``raising``: raises that exception."""

    raising: dict[str, Exception] = attrs.Factory(dict)
    sent: list[tuple[str, str]] = attrs.Factory(list)  # url, event type

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        for marker, exc in self.raising.items():
            if marker in webhook.url:
                raise exc
        event_type = body.split(b'"type":"')[1].split(b'"')[0].decode()
        self.sent.append((webhook.url, event_type))
        return SendResult(AttemptOutcome.SUCCESS, 1, 200)


class AllowAll:
    def check(self, url: str) -> str | None:
        return None


@attrs.define
class Desk:
    services: Services
    clock: SettableClock
    mailbox: MemoryMailer
    sender: Sender
    customer: Principal
    agent: Principal
    department: uuid.UUID

    def hook(self, path: str) -> Webhook:
        url = f"https://hooks.example.com/{path}"
        return self.services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(url, ("*",))).webhook

    def open(self, subject: str = "Printer") -> uuid.UUID:
        command = OpenTicket(subject=subject, description="It jams.", department_id=self.department)
        return self.services.tickets.open_ticket(self.customer, command).ticket.id

    def sent_to(self, path: str) -> list[str]:
        return [kind for url, kind in self.sender.sent if url.endswith(f"/{path}")]


@pytest.fixture
def desk() -> Iterator[Desk]:
    clock, mailbox, sender = SettableClock(), MemoryMailer(), Sender()
    services = bootstrap(
        make_settings(),
        {Clock: clock, Mailer: mailbox, WebhookSender: sender, UrlGuard: AllowAll()},
    )
    org = services.org
    department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support")).id
    agent = org.create_staff(
        SYSTEM_OPERATOR,
        CreateStaff("agent@example.com", "Agent", PASSWORD, StaffRole.AGENT, department),
    ).user.id
    customer = services.auth.register(Register("c@example.com", PASSWORD, "Cora")).user.id
    drain(services)
    yield Desk(
        services,
        clock,
        mailbox,
        sender,
        Principal(customer, Role.CUSTOMER),
        Principal(agent, Role.AGENT, department),
        department,
    )
    services.close()


def outbox_states(desk: Desk) -> dict[str, set[OutboxState]]:
    state = desk.services.uow.state  # type: ignore[attr-defined]
    found: dict[str, set[OutboxState]] = {}
    for row in state.outbox.values():
        found.setdefault(row.entry.event.type, set()).add(row.entry.state)
    return found


# ---------------------------------------------------------------- deliveries


def test_a_sender_that_raises_fails_that_delivery_alone_and_retries_it(desk: Desk) -> None:
    desk.sender.raising["boom"] = RuntimeError("the sender tripped")
    boom, fine = desk.hook("boom"), desk.hook("fine")
    desk.open()
    drain(desk.services)  # before the fix: RuntimeError out of the pass, the batch leased
    assert desk.sent_to("fine") == ["ticket.created"]
    (delivery,) = desk.services.webhooks.deliveries(SYSTEM_OPERATOR, boom.id, 10)
    assert delivery.state is DeliveryState.PENDING  # handed back to the schedule, not leased
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > desk.clock.current
    (attempt,) = delivery.attempt_log
    assert attempt.outcome is AttemptOutcome.NETWORK_ERROR
    assert "RuntimeError: the sender tripped" in (attempt.error or "")
    assert desk.services.webhooks.get(SYSTEM_OPERATOR, boom.id).is_active
    assert desk.services.webhooks.deliveries(SYSTEM_OPERATOR, fine.id, 10)[0].state is (
        DeliveryState.DELIVERED
    )


def test_an_undeliverable_message_fails_at_once_and_the_endpoint_stays(desk: Desk) -> None:
    desk.sender.raising["odd"] = Undeliverable("no encoding holds this")
    odd = desk.hook("odd")
    desk.open()
    desk.open()
    drain(desk.services)
    deliveries = desk.services.webhooks.deliveries(SYSTEM_OPERATOR, odd.id, 10)
    assert [d.state for d in deliveries] == [DeliveryState.FAILED] * 2
    assert [len(d.attempt_log) for d in deliveries] == [1, 1]
    assert all("no encoding holds this" in (d.attempt_log[0].error or "") for d in deliveries)
    assert desk.services.webhooks.get(SYSTEM_OPERATOR, odd.id).is_active  # one event's fault


def test_a_url_stored_before_encoding_was_checked_fails_alone_and_disables(desk: Desk) -> None:
    fine = desk.hook("fine")
    bad = attrs.evolve(fine, id=uuid.uuid4(), url="https://a..example/in")  # an empty label
    desk.services.uow.state.webhooks[bad.id] = bad  # type: ignore[attr-defined]
    desk.open()
    drain(desk.services)
    assert desk.sent_to("fine") == ["ticket.created"]
    (delivery,) = desk.services.webhooks.deliveries(SYSTEM_OPERATOR, bad.id, 10)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempt_log[0].outcome is AttemptOutcome.REFUSED
    disabled = desk.services.webhooks.get(SYSTEM_OPERATOR, bad.id)
    assert not disabled.is_active
    assert "cannot be encoded" in (disabled.disabled_reason or "")


def test_a_stored_url_is_sent_as_it_goes_on_the_wire(desk: Desk) -> None:
    hook = desk.hook("fine")
    accented = attrs.evolve(hook, id=uuid.uuid4(), url="https://B\u00fccher.example/caf\u00e9")
    desk.services.uow.state.webhooks[accented.id] = accented  # type: ignore[attr-defined]
    desk.open()
    drain(desk.services)
    assert ("https://xn--bcher-kva.example/caf%C3%A9", "ticket.created") in desk.sender.sent


# ---------------------------------------------------------------- mail


def test_a_failing_mail_does_not_keep_the_event_from_its_webhooks(desk: Desk) -> None:
    desk.hook("fine")
    ticket_id = desk.open()
    drain(desk.services)
    desk.mailbox.fail_with = OSError("smtp down")
    desk.services.tickets.post_message(desk.agent, ticket_id, PostMessage("On it."))
    drain(desk.services)  # before the fix: the mail failed first, the fan-out never ran
    assert "ticket.message_added" in desk.sent_to("fine")
    assert outbox_states(desk)["ticket.message_added"] == {OutboxState.PENDING}  # mail: retry
    desk.mailbox.fail_with = None
    desk.clock.current += timedelta(seconds=2 * desk.services.settings.retry_max_seconds)
    drain(desk.services)
    assert [m.subject for m in desk.mailbox.sent] == ["Re: [#1] Printer"]
    assert desk.sent_to("fine").count("ticket.message_added") == 1  # the fan-out adds none twice


def test_a_mail_that_cannot_be_built_fails_its_event_at_once(desk: Desk) -> None:
    desk.hook("fine")
    ticket_id = desk.open()
    drain(desk.services)
    desk.mailbox.fail_with = Undeliverable("the mail cannot be built")
    desk.services.tickets.post_message(desk.agent, ticket_id, PostMessage("On it."))
    desk.services.tickets.post_message(desk.customer, ticket_id, PostMessage("Thanks"))
    drain(desk.services)
    states = outbox_states(desk)
    assert states["ticket.message_added"] == {OutboxState.FAILED, OutboxState.DONE}
    # the ticket's later events went on, and every event reached the endpoint
    assert desk.sent_to("fine").count("ticket.message_added") == 2
    state = desk.services.uow.state  # type: ignore[attr-defined]
    failed = [r.entry for r in state.outbox.values() if r.entry.state is OutboxState.FAILED]
    assert [(e.attempts, "cannot be built" in (e.last_error or "")) for e in failed] == [(1, True)]


def test_a_subject_stored_with_a_line_break_is_mailed_on_one_line(desk: Desk) -> None:
    ticket_id = desk.open()
    state = desk.services.uow.state  # type: ignore[attr-defined]
    ticket = state.tickets[ticket_id]
    state.tickets[ticket_id] = attrs.evolve(ticket, subject="Broken\r\nBcc: eve@example.com")
    desk.services.tickets.post_message(desk.agent, ticket_id, PostMessage("On it."))
    drain(desk.services)
    assert [m.subject for m in desk.mailbox.sent] == ["Re: [#1] Broken Bcc: eve@example.com"]
