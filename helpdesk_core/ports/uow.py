"""The unit of work: every write of one use case commits together or not at all."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from helpdesk_core.ports.calendars import CalendarRepository
from helpdesk_core.ports.canned import CannedResponseRepository
from helpdesk_core.ports.events import DeliveryRepository, OutboxRepository, WebhookRepository
from helpdesk_core.ports.followers import FollowerRepository
from helpdesk_core.ports.macros import MacroRepository
from helpdesk_core.ports.mail import (
    InboundEmailRepository,
    MailboxRepository,
    MailThreadRepository,
    ParticipantRepository,
)
from helpdesk_core.ports.mail_fetch import MailFetchRepository
from helpdesk_core.ports.repositories import (
    DepartmentRepository,
    PasswordResetRepository,
    SessionRepository,
    StaffRepository,
    TeamRepository,
    UserRepository,
)
from helpdesk_core.ports.requests import RequestAnswerRepository
from helpdesk_core.ports.sla import SlaClockRepository, SlaPolicyRepository
from helpdesk_core.ports.tags import TagRepository
from helpdesk_core.ports.tickets import (
    AttachmentRepository,
    IdempotencyRepository,
    TicketHistoryRepository,
    TicketMessageRepository,
    TicketRepository,
)

# Counters the stores keep for themselves, named alike by every store that uses the ``counters``
# table (SQLite and memory; PostgreSQL uses sequences instead).
TICKET_NUMBER_COUNTER = "ticket-number"
OUTBOX_SEQ_COUNTER = "outbox-seq"


class CounterRepository(Protocol):
    """Named, monotonically increasing counters (ticket numbers, round-robin positions)."""

    def next_value(self, name: str) -> int:
        """Increment the counter ``name`` (created at 0 on first use) and return the new value.

        Atomic: concurrent transactions never receive the same value once they commit.
        """
        ...

    def current_value(self, name: str) -> int:
        """The counter's last committed value, 0 when it was never used."""
        ...


class Transaction(Protocol):
    """One open transaction and the repositories that work inside it."""

    @property
    def counters(self) -> CounterRepository:
        """Counters, inside this transaction."""
        ...

    @property
    def users(self) -> UserRepository:
        """Users, inside this transaction."""
        ...

    @property
    def staff(self) -> StaffRepository:
        """Staff profiles, inside this transaction."""
        ...

    @property
    def departments(self) -> DepartmentRepository:
        """Departments, inside this transaction."""
        ...

    @property
    def teams(self) -> TeamRepository:
        """Teams, inside this transaction."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """Login sessions, inside this transaction."""
        ...

    @property
    def password_resets(self) -> PasswordResetRepository:
        """Password reset tokens, inside this transaction."""
        ...

    @property
    def tickets(self) -> TicketRepository:
        """Tickets, inside this transaction."""
        ...

    @property
    def messages(self) -> TicketMessageRepository:
        """Ticket messages, inside this transaction."""
        ...

    @property
    def history(self) -> TicketHistoryRepository:
        """Ticket history, inside this transaction."""
        ...

    @property
    def attachments(self) -> AttachmentRepository:
        """Attachment references, inside this transaction."""
        ...

    @property
    def idempotency(self) -> IdempotencyRepository:
        """Idempotency records, inside this transaction."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Recorded events, inside this transaction: written with the change they report."""
        ...

    @property
    def webhooks(self) -> WebhookRepository:
        """Webhook endpoints, inside this transaction."""
        ...

    @property
    def deliveries(self) -> DeliveryRepository:
        """Webhook deliveries and their attempts, inside this transaction."""
        ...

    @property
    def calendars(self) -> CalendarRepository:
        """Business calendars, inside this transaction."""
        ...

    @property
    def sla_policies(self) -> SlaPolicyRepository:
        """Service-level policies, inside this transaction."""
        ...

    @property
    def sla_clocks(self) -> SlaClockRepository:
        """The service-level clocks of tickets, inside this transaction."""
        ...

    @property
    def mailboxes(self) -> MailboxRepository:
        """The addresses mail is received at, inside this transaction."""
        ...

    @property
    def inbound_emails(self) -> InboundEmailRepository:
        """Received messages, inside this transaction."""
        ...

    @property
    def mail_threads(self) -> MailThreadRepository:
        """Message-IDs with their tickets, and bounced addresses, inside this transaction."""
        ...

    @property
    def participants(self) -> ParticipantRepository:
        """The participants of tickets' mail threads, inside this transaction."""
        ...

    @property
    def mail_fetch(self) -> MailFetchRepository:
        """Mailboxes' IMAP settings and poll state, inside this transaction."""
        ...

    @property
    def canned_responses(self) -> CannedResponseRepository:
        """Canned responses, inside this transaction."""
        ...

    @property
    def tags(self) -> TagRepository:
        """Tags, and which ticket carries which, inside this transaction."""
        ...

    @property
    def request_answers(self) -> RequestAnswerRepository:
        """The stored answers of idempotent bulk requests, inside this transaction."""
        ...

    @property
    def followers(self) -> FollowerRepository:
        """The followers of tickets, inside this transaction."""
        ...

    @property
    def macros(self) -> MacroRepository:
        """Macros, inside this transaction."""
        ...

    def commit(self) -> None:
        """Make every change of this transaction durable. Without it, leaving rolls back."""
        ...

    def rollback(self) -> None:
        """Discard every change of this transaction."""
        ...


class UnitOfWork(Protocol):
    """Opens transactions. Safe to share between threads: each ``begin()`` is independent."""

    def scope(self) -> AbstractContextManager[None]:
        """Let the transactions begun in this block, in this thread, share one connection.

        A request's worth of work (authentication, the use case, rendering) then takes one
        connection from the pool instead of one per transaction. Transactions still begin and
        end as before; one begun while another is open in the block gets its own connection.
        """
        ...

    def begin(self, read_only: bool = False) -> AbstractContextManager[Transaction]:
        """Open a transaction; leaving the block without ``commit()`` rolls it back.

        ``read_only`` promises no writes: SQLite then takes no write lock, so reads run
        beside a writer.
        """
        ...
