"""Receiving a message: stored, then acknowledged; processed later by the worker.

Every way mail arrives (an MTA piping into ``helpdesk mail ingest``, the IMAP poller, a
provider POSTing to ``/api/v1/inbound/email``, a program calling the library) ends here, so
they share one rule: the message's bytes go to the blob store (content-addressed: storing
them again stores nothing new), then one row records it under its dedupe key (its Message-ID,
or the hash of its bytes when it has none). Once that row is committed the sender may be told
"received"; a crash before it leaves nothing the next delivery of the same message will not
redo, and a second delivery of a message already stored is recognized and processed never
again (zammad#1662: duplicates after a fetch error).

Parsing is not done here beyond the Message-ID in the headers: a malformed message is still
stored and acknowledged, and processing decides what it is.
"""

from __future__ import annotations

import threading
import uuid

import attrs

from helpdesk_core.domain.errors import AuthenticationFailed, NotFound, ValidationFailed
from helpdesk_core.domain.mail import (
    InboundEmail,
    InboundVia,
    Mailbox,
    dedupe_key,
    usable_message_id,
)
from helpdesk_core.domain.signatures import verify
from helpdesk_core.domain.values import name_key, normalize_email
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.mail import MailParser
from helpdesk_core.ports.secretbox import SecretBox, SecretUnreadable
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork

MESSAGE_MAX_BYTES_DEFAULT = 50 * 1024 * 1024


@attrs.frozen
class MailPolicy:
    """Limits of the email channel (configuration): the largest message taken in, and how
    many messages one sender, or one ticket, may have processed in an hour before the rest
    are ignored as a flood."""

    max_message_bytes: int = MESSAGE_MAX_BYTES_DEFAULT
    per_sender_per_hour: int = 30
    per_ticket_per_hour: int = 60


class MailWakeup:
    """Tells this process's workers that a message was stored, so they process it at their
    next pass instead of after their idle wait (``EventWorker.process_mail``). Mail stored by
    another process (an MTA's pipe, another host) is found within that wait."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def take(self) -> bool:
        """Whether mail was stored since the last take."""
        found = self._event.is_set()
        self._event.clear()
        return found


@attrs.frozen
class Received:
    """What intake did with a message: the stored row, and whether it was already stored
    (then nothing new was recorded)."""

    email: InboundEmail
    duplicate: bool


@attrs.define
class MailIntake:
    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _blobs: BlobStore
    _parser: MailParser
    _policy: MailPolicy
    _box: SecretBox
    _wakeup: MailWakeup

    def mailbox(self, name_or_address: str) -> Mailbox:
        """The active mailbox with this name (any case and spacing) or address; NotFound."""
        with self._uow.begin(read_only=True) as tx:
            return _active_mailbox(tx, name_or_address)

    def receive(self, mailbox_id: uuid.UUID, raw: bytes, via: InboundVia) -> Received:
        """Store ``raw`` as received at the mailbox (active, else NotFound) and answer the
        stored row; ValidationFailed (``message``) when it is empty or larger than the
        policy allows. Safe to call again with the same message, from any way and at once:
        one row, processed once."""
        if not raw.strip():
            raise ValidationFailed.field("message", "is empty")
        if len(raw) > self._policy.max_message_bytes:
            raise ValidationFailed.field(
                "message",
                f"is {len(raw)} bytes; the limit is {self._policy.max_message_bytes}",
            )
        message_id = usable_message_id(self._parser.identify(raw))
        key = dedupe_key(message_id, raw)
        with self._uow.begin(read_only=True) as tx:
            mailbox = tx.mailboxes.get(mailbox_id)
            if mailbox is None or not mailbox.is_active:
                raise NotFound("no such mailbox")
        raw_key = self._blobs.put(raw)  # before the row: a stored row always has its bytes
        email = InboundEmail(
            id=self._ids.new_id(),
            mailbox_id=mailbox_id,
            dedupe_key=key,
            message_id=message_id,
            raw_key=raw_key,
            size=len(raw),
            via=via,
            received_at=self._clock.now(),
        )
        with self._uow.begin() as tx:
            stored = tx.inbound_emails.add(email)
            tx.commit()
        self._wakeup.set()
        return Received(stored, duplicate=stored.id != email.id)

    def receive_signed(
        self,
        mailbox_id: uuid.UUID,
        raw: bytes,
        message_id: str,
        timestamp: str,
        signatures: str,
    ) -> Received:
        """:meth:`receive` for mail a provider POSTs, signed with the mailbox's inbound
        secret as webhooks are (``domain/signatures.py``: ``webhook-id``,
        ``webhook-timestamp``, ``webhook-signature``). AuthenticationFailed, the same for
        every cause, when the mailbox is unknown, inactive or has no secret, or the
        signature does not match within five minutes: nothing tells a stranger which."""
        refused = AuthenticationFailed("the request is not signed by the mailbox's secret")
        with self._uow.begin(read_only=True) as tx:
            mailbox = tx.mailboxes.get(mailbox_id)
        if mailbox is None or not mailbox.is_active or mailbox.inbound_secret is None:
            raise refused
        try:
            secret = self._box.open(mailbox.inbound_secret)
        except SecretUnreadable:
            raise refused from None
        now = self._clock.now().timestamp()
        if not verify(secret, message_id, timestamp, raw, signatures, now):
            raise refused
        return self.receive(mailbox_id, raw, InboundVia.HTTP)


def _active_mailbox(tx: Transaction, name_or_address: str) -> Mailbox:
    wanted = name_or_address.strip()
    if "@" in wanted:
        try:
            found = tx.mailboxes.by_address(normalize_email(wanted))
        except ValidationFailed:
            found = None
    else:
        key = name_key(wanted)
        found = next((m for m in tx.mailboxes.list(active=True) if name_key(m.name) == key), None)
    if found is None or not found.is_active:
        raise NotFound(f"no active mailbox named {name_or_address!r}")
    return found
