"""Fetching mail from IMAP servers: the stored settings and poll state, the sessions that read a
folder, and the box that seals the passwords."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from helpdesk_core.domain.mail_fetch import MailboxImap
from helpdesk_core.ports.secretbox import SecretBox


class MailFetchRepository(Protocol):
    """The IMAP settings of mailboxes, one per mailbox, with their poll state."""

    def get(self, mailbox_id: uuid.UUID, for_update: bool = False) -> MailboxImap | None:
        """The mailbox's settings; ``for_update`` locks them until the transaction ends
        (PostgreSQL: ``FOR UPDATE``; SQLite and memory serialize writers anyway), so that
        two pollers deciding whether a mailbox is due, or moving its state on, take turns."""
        ...

    def put(self, config: MailboxImap) -> None:
        """Store ``config`` whole, replacing what the mailbox had; Conflict when the mailbox
        does not exist."""
        ...

    def delete(self, mailbox_id: uuid.UUID) -> bool:
        """Forget the mailbox's settings; whether it had any."""
        ...

    def set_state(
        self,
        mailbox_id: uuid.UUID,
        *,
        uidvalidity: int | None,
        last_uid: int,
        polled_at: datetime | None,
        last_error: str | None,
    ) -> bool:
        """Store the poll state alone (never the settings or their version); whether the
        mailbox still has settings (False: they were cleared meanwhile, nothing is stored)."""
        ...

    def list_active(self) -> Sequence[MailboxImap]:
        """The settings of every active mailbox, by mailbox id."""
        ...


@attrs.frozen
class FetchedMail:
    """One message of a folder: its UID and its bytes, or None with its size when it is
    larger than the fetch allowed (it was never downloaded)."""

    uid: int
    raw: bytes | None = attrs.field(repr=False)
    size: int


class MailFetchFailed(Exception):
    """The server could not be reached or refused (connection, TLS, login, a folder, a
    command); the message says which, and never holds the password."""


class MailFetcher(Protocol):
    """A logged-in session on one folder of one account (``MailFetcherFactory.open``).

    Every method raises MailFetchFailed when the server fails it."""

    def uidvalidity(self) -> int:
        """The folder's UIDVALIDITY, as it was when the session selected it."""
        ...

    def fetch(self, after_uid: int, limit: int, max_bytes: int) -> Iterator[FetchedMail]:
        """Up to ``limit`` messages with a UID above ``after_uid``, in ascending UID order,
        one at a time (each downloaded when it is reached, never more than one in memory);
        one larger than ``max_bytes`` comes without its bytes. Reading a message changes
        nothing on the server (no ``\\Seen``)."""
        ...

    def done(self, uids: Iterable[int]) -> None:
        """Mark these messages handled on the server: moved to the settings' ``move_to``,
        or flagged ``\\Seen`` when there is none."""
        ...

    def close(self) -> None:
        """Log out and let the connection go (never raises)."""
        ...


class MailFetcherFactory(Protocol):
    """Opens sessions (``adapters/mail/imap.py``), each connection under a timeout."""

    def open(self, config: MailboxImap, password: str) -> MailFetcher:
        """Connect to ``config``'s server, log in with ``password`` and select its folder
        (creating ``move_to`` when it is missing); MailFetchFailed when any step fails."""
        ...


class ImapPasswordBox(SecretBox, Protocol):
    """The SecretBox that seals IMAP passwords, a purpose of its own: what it seals opens
    with no other box (a webhook secret's), and no other box's values open with it."""
