"""The email channel's ports: reading a message's bytes, and storing mailboxes, received
messages and the Message-IDs that thread them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.mail import (
    Bounce,
    Direction,
    InboundEmail,
    InboundMail,
    InboundStatus,
    Mailbox,
    Participant,
)


class MailParser(Protocol):
    """Reads RFC 5322 messages (``adapters/mail/parsing.py``: the standard library's
    ``email`` with its default policy, nh3 for HTML, mail-parser-reply for quoted history).

    Neither method raises for a malformed message: mail from the world is often broken, and a
    message the helpdesk stored must be processed to an outcome. What cannot be read is left
    out (an undecodable part's text becomes what its bytes decode to with replacement
    characters; a header that does not parse is absent)."""

    def identify(self, raw: bytes) -> str | None:
        """The message's Message-ID without angle brackets (None when it has none), read
        from its headers only: what ingestion needs before it acknowledges a message."""
        ...

    def parse(self, raw: bytes) -> InboundMail:
        """Everything the helpdesk uses of the message."""
        ...


class MailboxRepository(Protocol):
    """The addresses the helpdesk receives at; names unique regardless of case and spacing,
    addresses unique."""

    def add(self, mailbox: Mailbox) -> None:
        """Store a new mailbox; Conflict when its name or address is another's (the message
        names which)."""
        ...

    def get(self, mailbox_id: uuid.UUID) -> Mailbox | None: ...

    def by_address(self, address: str) -> Mailbox | None:
        """The mailbox of a normalized address (its ``+tag`` removed by the caller)."""
        ...

    def list(self, active: bool | None = None) -> Sequence[Mailbox]:
        """By name key in code-point order, then id; ``active`` filters when not None."""
        ...

    def update(self, mailbox: Mailbox) -> None:
        """Store ``mailbox`` (its version bumped); StaleVersion unless the stored version is
        ``mailbox.version - 1``; Conflict on a taken name or address."""
        ...


class InboundEmailRepository(Protocol):
    """Received messages, stored before they are processed; ``dedupe_key`` unique."""

    def add(self, email: InboundEmail) -> InboundEmail:
        """Store ``email`` unless a message with its ``dedupe_key`` is stored: answers the
        stored one (``email`` itself when it was new). Concurrent adds of one key store one."""
        ...

    def get(self, email_id: uuid.UUID) -> InboundEmail | None: ...

    def claim(self, now: datetime, limit: int) -> Sequence[InboundEmail]:
        """Up to ``limit`` pending messages, oldest first, locked until the transaction ends
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent workers never process one
        message twice; SQLite serializes writers)."""
        ...

    def update(self, email: InboundEmail) -> None:
        """Store the processing fields of ``email``."""
        ...

    def list(
        self,
        *,
        mailbox_id: uuid.UUID | None = None,
        status: InboundStatus | None = None,
        limit: int = 50,
    ) -> Sequence[InboundEmail]:
        """Newest first (received_at, then id)."""
        ...

    def count_from(self, sender: str, since: datetime) -> int:
        """Messages from ``sender`` processed since ``since`` (flood limits)."""
        ...

    def count_on_ticket(self, ticket_id: uuid.UUID, since: datetime) -> int:
        """Messages processed onto ``ticket_id`` since ``since`` (flood limits)."""
        ...

    def mailbox_of_ticket(self, ticket_id: uuid.UUID) -> uuid.UUID | None:
        """The mailbox of the latest message processed onto ``ticket_id`` (the address its
        requester writes to), or None when no mail came to it."""
        ...


class MailThreadRepository(Protocol):
    """Every Message-ID the helpdesk sent or received, with its ticket: how replies find
    their ticket; and the addresses mail to which bounced."""

    def record(
        self,
        message_id: str,
        ticket_id: uuid.UUID,
        direction: Direction,
        at: datetime,
    ) -> None:
        """Remember ``message_id`` for ``ticket_id``; an id already known keeps its ticket."""
        ...

    def tickets_of(self, message_ids: Sequence[str]) -> dict[str, uuid.UUID]:
        """The ticket of each known id among ``message_ids``."""
        ...

    def of_ticket(self, ticket_id: uuid.UUID, limit: int = 20) -> Sequence[str]:
        """The ticket's latest ``limit`` ids, oldest first (by when they were recorded, then
        id): the References of the next mail the helpdesk sends on it."""
        ...

    def sent(self, message_id: str) -> bool:
        """Whether the helpdesk itself sent a message with this id."""
        ...

    def bounced(self, bounce: Bounce) -> Bounce:
        """Mark an address as bouncing (again: its count goes up); answers what is stored."""
        ...

    def bounce_of(self, address: str) -> Bounce | None: ...


class ParticipantRepository(Protocol):
    """The participants of tickets' mail threads."""

    def add(self, participant: Participant) -> bool:
        """Add unless the ticket has this address already; whether it was added."""
        ...

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Participant]:
        """By when they were added, then address."""
        ...

    def remove(self, ticket_id: uuid.UUID, address: str) -> bool: ...
