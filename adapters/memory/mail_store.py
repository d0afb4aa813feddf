"""In-memory storage of the email channel over a transaction's working MemoryState: mailboxes,
received messages, the Message-IDs that thread them, bounced addresses and participants.

(``adapters/memory/mail.py`` is the memory *mailer*, what sends; this is what stores.) The
rules, messages and orders of the SQL repositories (``adapters/sql/mail.py``): mailbox names
unique by ``name_key`` and addresses unique, foreign keys as the schema's, a message stored once
per ``dedupe_key``, the first ticket a Message-ID was recorded for kept. Every check runs before
anything changes, so a refused write leaves the transaction as it was. Memory transactions that
write are serialized, so ``claim`` has nothing to skip and concurrent adds of one key are one
after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc, utc_or_none
from helpdesk_core.domain.errors import Conflict, NotFound, stale_version
from helpdesk_core.domain.mail import (
    Bounce,
    Direction,
    InboundEmail,
    InboundStatus,
    Mailbox,
    Participant,
)
from helpdesk_core.domain.values import name_key

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState

ParticipantKey = tuple[uuid.UUID, str]  # (ticket id, address)


@attrs.frozen
class ThreadEntry:
    """A row of ``mail_message_ids``: the ticket a Message-ID belongs to, and which way the
    message went."""

    ticket_id: uuid.UUID
    direction: Direction
    created_at: datetime


class MemoryMailboxRepository:
    """Mailboxes by id; name keys and addresses unique; a department must exist."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._mailboxes = state.mailboxes

    def add(self, mailbox: Mailbox) -> None:
        self._refuse(mailbox)
        if mailbox.id in self._mailboxes:
            raise Conflict("a mailbox with this id already exists")
        self._mailboxes[mailbox.id] = self._stored(mailbox, mailbox.created_at)

    def get(self, mailbox_id: uuid.UUID) -> Mailbox | None:
        return self._mailboxes.get(mailbox_id)

    def by_address(self, address: str) -> Mailbox | None:
        return next((m for m in self._mailboxes.values() if m.address == address), None)

    def list(self, active: bool | None = None) -> Sequence[Mailbox]:
        found = [m for m in self._mailboxes.values() if active is None or m.is_active == active]
        return sorted(found, key=lambda m: (name_key(m.name), m.id))

    def update(self, mailbox: Mailbox) -> None:
        stored = self._mailboxes.get(mailbox.id)
        if stored is None or stored.version != mailbox.version - 1:
            raise stale_version("mailbox", mailbox.version)
        self._refuse(mailbox)
        self._mailboxes[mailbox.id] = self._stored(mailbox, stored.created_at)

    def _refuse(self, mailbox: Mailbox) -> None:
        """The SQL repository's refusals, in the order its probes try them."""
        key = name_key(mailbox.name)
        others = [m for m in self._mailboxes.values() if m.id != mailbox.id]
        for other in others:
            if name_key(other.name) == key:
                raise Conflict(f"a mailbox named '{other.name}' already exists")
        for other in others:
            if other.address == mailbox.address:
                raise Conflict(f"a mailbox with the address '{other.address}' already exists")
        department = mailbox.department_id
        if department is not None and department not in self._state.departments:
            raise Conflict("no such department")

    @staticmethod
    def _stored(mailbox: Mailbox, created_at: datetime) -> Mailbox:
        return attrs.evolve(mailbox, created_at=utc(created_at), updated_at=utc(mailbox.updated_at))


def _stored_email(email: InboundEmail) -> InboundEmail:
    return attrs.evolve(
        email, received_at=utc(email.received_at), processed_at=utc_or_none(email.processed_at)
    )


def _received(email: InboundEmail) -> tuple[datetime, uuid.UUID]:
    return (email.received_at, email.id)


class MemoryInboundEmailRepository:
    """Received messages by id, one per ``dedupe_key``; the mailbox (and, once processed, the
    ticket) must exist."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._emails = state.inbound_emails
        self._by_key = state.inbound_dedupe  # dedupe_key -> id: the unique index

    def add(self, email: InboundEmail) -> InboundEmail:
        known = self._by_key.get(email.dedupe_key)
        if known is not None:
            return self._emails[known]
        if email.mailbox_id not in self._state.mailboxes:
            raise Conflict("no such mailbox")
        self._check_ticket(email)
        if email.id in self._emails:
            raise Conflict("an inbound email with this id already exists")
        stored = _stored_email(email)
        self._emails[email.id] = stored
        self._by_key[email.dedupe_key] = email.id
        return stored

    def get(self, email_id: uuid.UUID) -> InboundEmail | None:
        return self._emails.get(email_id)

    def claim(self, now: datetime, limit: int) -> Sequence[InboundEmail]:
        pending = [e for e in self._emails.values() if e.status == InboundStatus.PENDING]
        return sorted(pending, key=_received)[: max(limit, 0)]

    def update(self, email: InboundEmail) -> None:
        stored = self._emails.get(email.id)
        if stored is None:
            raise NotFound("no such inbound email")
        self._check_ticket(email)
        self._emails[email.id] = attrs.evolve(
            stored,
            status=email.status,
            outcome=email.outcome,
            sender=email.sender,
            subject=email.subject,
            ticket_id=email.ticket_id,
            ticket_message_id=email.ticket_message_id,
            detail=email.detail,
            processed_at=utc_or_none(email.processed_at),
        )

    def list(
        self,
        *,
        mailbox_id: uuid.UUID | None = None,
        status: InboundStatus | None = None,
        limit: int = 50,
    ) -> Sequence[InboundEmail]:
        found = [
            e
            for e in self._emails.values()
            if (mailbox_id is None or e.mailbox_id == mailbox_id)
            and (status is None or e.status == status)
        ]
        return sorted(found, key=_received, reverse=True)[: max(limit, 0)]

    def count_from(self, sender: str, since: datetime) -> int:
        return sum(
            1
            for e in self._emails.values()
            if e.sender == sender and e.processed_at is not None and e.processed_at >= since
        )

    def count_on_ticket(self, ticket_id: uuid.UUID, since: datetime) -> int:
        return sum(
            1
            for e in self._emails.values()
            if e.ticket_id == ticket_id and e.processed_at is not None and e.processed_at >= since
        )

    def mailbox_of_ticket(self, ticket_id: uuid.UUID) -> uuid.UUID | None:
        latest = max(
            (
                (e.processed_at, e.id, e.mailbox_id)
                for e in self._emails.values()
                if e.ticket_id == ticket_id and e.processed_at is not None
            ),
            default=None,
        )
        return None if latest is None else latest[2]

    def _check_ticket(self, email: InboundEmail) -> None:
        if email.ticket_id is not None and email.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")


class MemoryMailThreadRepository:
    """Message-IDs with their tickets (the first ticket an id was recorded for keeps it), and
    bounced addresses."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._ids = state.mail_message_ids
        self._bounces = state.mail_bounces

    def record(
        self, message_id: str, ticket_id: uuid.UUID, direction: Direction, at: datetime
    ) -> None:
        if message_id in self._ids:
            return
        if ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        self._ids[message_id] = ThreadEntry(ticket_id, Direction(direction), utc(at))

    def tickets_of(self, message_ids: Sequence[str]) -> dict[str, uuid.UUID]:
        return {mid: self._ids[mid].ticket_id for mid in message_ids if mid in self._ids}

    def of_ticket(self, ticket_id: uuid.UUID, limit: int = 20) -> Sequence[str]:
        found = sorted(
            (entry.created_at, mid)
            for mid, entry in self._ids.items()
            if entry.ticket_id == ticket_id
        )
        return [mid for _, mid in found[-limit:]]

    def sent(self, message_id: str) -> bool:
        entry = self._ids.get(message_id)
        return entry is not None and entry.direction == Direction.OUTBOUND

    def bounced(self, bounce: Bounce) -> Bounce:
        stored = self._bounces.get(bounce.address)
        if stored is None:
            found = attrs.evolve(bounce, bounced_at=utc(bounce.bounced_at))
        else:
            found = attrs.evolve(
                stored,
                status=bounce.status,
                diagnostic=bounce.diagnostic,
                bounced_at=utc(bounce.bounced_at),
                count=stored.count + 1,
            )
        self._bounces[bounce.address] = found
        return found

    def bounce_of(self, address: str) -> Bounce | None:
        return self._bounces.get(address)


class MemoryParticipantRepository:
    """Participants by (ticket, address); the ticket and the user, when one is named, must
    exist."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._participants = state.participants

    def add(self, participant: Participant) -> bool:
        key = (participant.ticket_id, participant.address)
        if key in self._participants:
            return False
        if participant.ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        if participant.user_id is not None and participant.user_id not in self._state.users:
            raise Conflict("no such user")
        self._participants[key] = attrs.evolve(participant, added_at=utc(participant.added_at))
        return True

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Participant]:
        found = [p for p in self._participants.values() if p.ticket_id == ticket_id]
        return sorted(found, key=lambda p: (p.added_at, p.address))

    def remove(self, ticket_id: uuid.UUID, address: str) -> bool:
        return self._participants.pop((ticket_id, address), None) is not None
