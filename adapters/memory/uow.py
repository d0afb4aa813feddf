"""In-memory unit of work: a real, shipped backend for tests and embedding without a database.

Transactions are serialized by one lock (as SQLite's BEGIN IMMEDIATE does) and work on a copy
of the committed state; ``commit`` publishes the copy, anything else discards it. Entities are
frozen, so a shallow copy of each table is a true snapshot.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import attrs

from adapters.memory.calendars import MemoryCalendarRepository
from adapters.memory.canned import MemoryCannedResponseRepository
from adapters.memory.events import (
    DeliveryRow,
    MemoryDeliveryRepository,
    MemoryOutboxRepository,
    MemoryWebhookRepository,
    OutboxRow,
)
from adapters.memory.followers import FollowerKey, MemoryFollowerRepository
from adapters.memory.macros import MemoryMacroRepository
from adapters.memory.mail_fetch import MemoryMailFetchRepository
from adapters.memory.mail_store import (
    MemoryInboundEmailRepository,
    MemoryMailboxRepository,
    MemoryMailThreadRepository,
    MemoryParticipantRepository,
    ParticipantKey,
    ThreadEntry,
)
from adapters.memory.repositories import (
    MemoryDepartmentRepository,
    MemoryPasswordResetRepository,
    MemorySessionRepository,
    MemoryStaffRepository,
    MemoryTeamRepository,
    MemoryUserRepository,
)
from adapters.memory.requests import MemoryRequestAnswerRepository
from adapters.memory.sla import ClockKey, MemorySlaClockRepository, MemorySlaPolicyRepository
from adapters.memory.tags import MemoryTagRepository
from adapters.memory.tickets import (
    MemoryAttachmentRepository,
    MemoryIdempotencyRepository,
    MemoryTicketHistoryRepository,
    MemoryTicketMessageRepository,
    MemoryTicketRepository,
)
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.canned import CannedResponse
from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    HistoryEntry,
    PasswordResetToken,
    Session,
    StaffMember,
    Team,
    Ticket,
    TicketMessage,
    User,
)
from helpdesk_core.domain.followers import Follower
from helpdesk_core.domain.macros import Macro
from helpdesk_core.domain.mail import Bounce, InboundEmail, Mailbox, Participant
from helpdesk_core.domain.mail_fetch import MailboxImap
from helpdesk_core.domain.sla import SlaClock, SlaPolicy
from helpdesk_core.domain.tags import Tag
from helpdesk_core.ports.events import DeliveryAttempt, Webhook
from helpdesk_core.ports.requests import StoredAnswer
from helpdesk_core.ports.tickets import IdempotencyRecord


@attrs.define
class MemoryState:
    """Every table of the in-memory store, keyed by primary key (one dict per table)."""

    counters: dict[str, int] = attrs.Factory(dict)
    users: dict[uuid.UUID, User] = attrs.Factory(dict)
    staff: dict[uuid.UUID, StaffMember] = attrs.Factory(dict)  # by user id
    departments: dict[uuid.UUID, Department] = attrs.Factory(dict)
    teams: dict[uuid.UUID, Team] = attrs.Factory(dict)
    sessions: dict[uuid.UUID, Session] = attrs.Factory(dict)
    password_resets: dict[uuid.UUID, PasswordResetToken] = attrs.Factory(dict)
    tickets: dict[uuid.UUID, Ticket] = attrs.Factory(dict)
    ticket_search: dict[uuid.UUID, str] = attrs.Factory(dict)  # by ticket id: its document
    messages: dict[uuid.UUID, TicketMessage] = attrs.Factory(dict)
    history: dict[uuid.UUID, HistoryEntry] = attrs.Factory(dict)
    attachments: dict[uuid.UUID, AttachmentReference] = attrs.Factory(dict)
    idempotency: dict[tuple[uuid.UUID, str], IdempotencyRecord] = attrs.Factory(dict)
    outbox: dict[uuid.UUID, OutboxRow] = attrs.Factory(dict)  # by event id
    webhooks: dict[uuid.UUID, Webhook] = attrs.Factory(dict)
    deliveries: dict[uuid.UUID, DeliveryRow] = attrs.Factory(dict)
    attempts: dict[uuid.UUID, DeliveryAttempt] = attrs.Factory(dict)  # of deliveries
    calendars: dict[uuid.UUID, Calendar] = attrs.Factory(dict)
    sla_policies: dict[uuid.UUID, SlaPolicy] = attrs.Factory(dict)
    sla_clocks: dict[ClockKey, SlaClock] = attrs.Factory(dict)
    mailboxes: dict[uuid.UUID, Mailbox] = attrs.Factory(dict)
    inbound_emails: dict[uuid.UUID, InboundEmail] = attrs.Factory(dict)
    inbound_dedupe: dict[str, uuid.UUID] = attrs.Factory(dict)  # dedupe_key -> inbound email id
    mail_message_ids: dict[str, ThreadEntry] = attrs.Factory(dict)
    mail_bounces: dict[str, Bounce] = attrs.Factory(dict)  # by address
    participants: dict[ParticipantKey, Participant] = attrs.Factory(dict)
    mailbox_imap: dict[uuid.UUID, MailboxImap] = attrs.Factory(dict)  # by mailbox id
    canned_responses: dict[uuid.UUID, CannedResponse] = attrs.Factory(dict)
    tags: dict[uuid.UUID, Tag] = attrs.Factory(dict)
    ticket_tags: dict[tuple[uuid.UUID, uuid.UUID], datetime] = attrs.Factory(dict)  # (tag, ticket)
    request_answers: dict[tuple[uuid.UUID, str], StoredAnswer] = attrs.Factory(dict)
    followers: dict[FollowerKey, Follower] = attrs.Factory(dict)  # (ticket id, user id)
    macros: dict[uuid.UUID, Macro] = attrs.Factory(dict)

    def copy(self) -> MemoryState:
        return MemoryState(
            **{f.name: dict(getattr(self, f.name)) for f in attrs.fields(MemoryState)}
        )

    def reset_to(self, other: MemoryState) -> None:
        """Make every table equal to ``other``'s, in place (repositories hold the dicts)."""
        for field in attrs.fields(MemoryState):
            table = getattr(self, field.name)
            table.clear()
            table.update(getattr(other, field.name))


class MemoryCounterRepository:
    """Counters in a dict of the transaction's working state."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def next_value(self, name: str) -> int:
        self._state.counters[name] = self._state.counters.get(name, 0) + 1
        return self._state.counters[name]

    def current_value(self, name: str) -> int:
        return self._state.counters.get(name, 0)


class MemoryTransaction:
    """Repositories over a private working copy of the state.

    Like a SQL connection: ``commit`` publishes the work so far, ``rollback`` discards the
    work since the last commit, and either way the transaction may go on with more work.
    """

    def __init__(
        self, base: MemoryState, publish: Callable[[MemoryState], None] | None = None
    ) -> None:
        self._base = base  # the last committed state this transaction saw; never mutated
        self._publish = publish  # None for read-only transactions: they publish nothing
        self.working = base.copy()
        self.committed = False
        self.counters = MemoryCounterRepository(self.working)
        self.users = MemoryUserRepository(self.working)
        self.staff = MemoryStaffRepository(self.working)
        self.departments = MemoryDepartmentRepository(self.working)
        self.teams = MemoryTeamRepository(self.working)
        self.sessions = MemorySessionRepository(self.working)
        self.password_resets = MemoryPasswordResetRepository(self.working)
        self.tickets = MemoryTicketRepository(self.working)
        self.messages = MemoryTicketMessageRepository(self.working)
        self.history = MemoryTicketHistoryRepository(self.working)
        self.attachments = MemoryAttachmentRepository(self.working)
        self.idempotency = MemoryIdempotencyRepository(self.working)
        self.outbox = MemoryOutboxRepository(self.working)
        self.webhooks = MemoryWebhookRepository(self.working)
        self.deliveries = MemoryDeliveryRepository(self.working)
        self.calendars = MemoryCalendarRepository(self.working)
        self.sla_policies = MemorySlaPolicyRepository(self.working)
        self.sla_clocks = MemorySlaClockRepository(self.working)
        self.mailboxes = MemoryMailboxRepository(self.working)
        self.inbound_emails = MemoryInboundEmailRepository(self.working)
        self.mail_threads = MemoryMailThreadRepository(self.working)
        self.participants = MemoryParticipantRepository(self.working)
        self.mail_fetch = MemoryMailFetchRepository(self.working)
        self.canned_responses = MemoryCannedResponseRepository(self.working)
        self.tags = MemoryTagRepository(self.working)
        self.request_answers = MemoryRequestAnswerRepository(self.working)
        self.followers = MemoryFollowerRepository(self.working)
        self.macros = MemoryMacroRepository(self.working)

    def commit(self) -> None:
        if self._publish is not None:
            published = self.working.copy()
            self._publish(published)
            self._base = published
        self.committed = True

    def rollback(self) -> None:
        self.working.reset_to(self._base)
        self.committed = False


class MemoryUnitOfWork:
    """Opens serialized transactions over one shared MemoryState."""

    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = state or MemoryState()
        self.commits = 0  # tests read it: how many transactions were committed
        self._lock = threading.Lock()

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Nothing to hold: memory has no connections."""
        yield

    @contextmanager
    def begin(self, read_only: bool = False) -> Iterator[MemoryTransaction]:
        if read_only:  # a snapshot of the committed state; never published
            yield MemoryTransaction(self.state)
            return
        with self._lock:
            yield MemoryTransaction(self.state, self._publish)

    def _publish(self, state: MemoryState) -> None:
        # Called by a transaction holding the lock; the published state is never mutated.
        self.state = state
        self.commits += 1
