"""A desk for the email channel: a mailbox, mail written by the test, and the worker's pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import Ticket, TicketMessage
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.mail import Direction, InboundEmail, InboundVia, Mailbox, Participant
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.usecases.mail.intake import Received
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from helpdesk_core.usecases.sla import SlaPolicyInput
from tests.unit.tickets.support import Desk

SUPPORT = "support@support.example.com"


def letter(
    *,
    sender: str = "Ann Example <ann@customer.example>",
    to: str = SUPPORT,
    cc: str | None = None,
    subject: str = "The printer is offline",
    body: str = "Hello,\n\nthe printer on floor 3 is offline.\n\nAnn",
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain-text mail as a mail program writes it (``message_id="auto"``: a fresh one)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    if message_id == "auto":
        message_id = f"{uuid.uuid4().hex}@customer.example"
    if message_id:
        message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


@attrs.define
class MailDesk(Desk):
    """The ticket desk with a mailbox (``support``) routed to Billing."""

    support: Mailbox | None = None
    seen: list[Event] = attrs.field(factory=list)

    def listen(self) -> None:
        """Collect every event the worker hands out."""
        self.services.dispatcher.subscribe("*", self.seen.append, "test-collector")

    def types(self) -> list[str]:
        """The type of every event recorded so far, in order (handed out by a worker)."""
        worker = self.services.new_worker("drain")
        while worker.process_events():
            pass
        return [event.type for event in self.seen]

    def policy_pausing_pending(self) -> None:
        """A policy for every ticket, around the clock, that pauses while pending."""
        self.services.sla.create(
            SYSTEM_OPERATOR,
            SlaPolicyInput(
                name="Everything",
                targets={"normal": {"first_response": 60, "resolution": 480}},
            ),
        )

    def setup_mailbox(self, **changes: Any) -> Mailbox:
        command = CreateMailbox(name="Support", address=SUPPORT, department_id=self.billing)
        self.support = self.services.mailboxes.create(
            SYSTEM_OPERATOR, attrs.evolve(command, **changes)
        )
        return self.support

    @property
    def blobs(self) -> BlobStore:
        return self.services.blobs

    @property
    def mailbox(self) -> Mailbox:
        assert self.support is not None
        return self.support

    def receive(self, raw: bytes, via: InboundVia = InboundVia.PIPE) -> Received:
        return self.services.mail_intake.receive(self.mailbox.id, raw, via)

    def process(self, workers: int = 1) -> int:
        """The email pass of ``workers`` workers, one after the other."""
        return sum(self.services.new_worker(f"w{i}").process_mail() for i in range(workers))

    def deliver(self, raw: bytes) -> InboundEmail:
        """Receive ``raw`` and process everything pending; the message's row as it ends."""
        received = self.receive(raw)
        self.process()
        return self.stored(received.email.id)

    def stored(self, email_id: uuid.UUID) -> InboundEmail:
        with self.services.uow.begin(read_only=True) as tx:
            email = tx.inbound_emails.get(email_id)
        assert email is not None
        return email

    def ticket(self, ticket_id: uuid.UUID | None) -> Ticket:
        assert ticket_id is not None
        return self.current(ticket_id)

    def messages(self, ticket: Ticket) -> list[TicketMessage]:
        with self.services.uow.begin(read_only=True) as tx:
            return [view.message for view in tx.messages.list(ticket.id, include_internal=True)]

    def participants(self, ticket: Ticket) -> list[str]:
        with self.services.uow.begin(read_only=True) as tx:
            found: list[Participant] = list(tx.participants.of_ticket(ticket.id))
        return [p.address for p in found]

    def email_of(self, ticket: Ticket) -> str:
        with self.services.uow.begin(read_only=True) as tx:
            user = tx.users.get(ticket.requester_id)
        assert user is not None
        return user.email

    def all_tickets(self) -> list[Ticket]:
        return self.listed(self.admin)

    def record_sent(self, message_id: str, ticket: Ticket) -> None:
        """As if the helpdesk had mailed ``ticket`` under ``message_id`` (outbound mail
        records its ids so)."""
        with self.services.uow.begin() as tx:
            tx.mail_threads.record(message_id, ticket.id, Direction.OUTBOUND, self.clock.now())
            tx.commit()

    def reply_address(self, ticket: Ticket) -> str:
        return self.services.mail.reply_address(self.mailbox.address, ticket)
