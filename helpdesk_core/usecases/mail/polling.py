"""The IMAP poller: the worker fetches mailboxes' new mail from their servers into intake.

Every message is processed exactly once, however the poller is stopped. The order of the
steps is what holds it:

1. the message is **received** (``MailIntake.receive``: its bytes in the blob store, its row
   committed under its dedupe key, the Message-ID or the hash of its bytes);
2. then its UID is **recorded** as the mailbox's ``last_uid`` (a commit of its own);
3. then, once the batch is through, the messages are **marked** ``\\Seen`` (or moved to the
   settings' ``move_to``) on the server.

Killed before 1, the message is fetched again by the next poll (its UID was not recorded).
Killed between 1 and 2, it is fetched again and intake recognizes it (``duplicate``): one row,
processed once. Killed between 2 and 3, it stays unmarked on the server but is never fetched
again (its UID is at most ``last_uid``). Nothing is lost, nothing is processed twice; the
worker processes the rows later (``processing.py``), itself exactly once.

A folder whose UIDVALIDITY changed (it was recreated, or the server renumbered it) may give
old UIDs to other messages: it is read from the start again, and what was stored already is
recognized by intake. A message intake refuses (empty, or over the size limit, which is known
before it is downloaded) is skipped: logged, its UID recorded, and left as it was on the
server (unread, where a person sees it).

Each mailbox is polled in its own ``try``: a server that is down, refuses the password or
times out is recorded as the mailbox's ``last_error`` (and logged), and the next mailbox is
polled. Only ``DependencyUnavailable`` (the database) goes to the caller, which backs off.

The worker asks for a poll at every pass (``poll_due``) but a mailbox is polled at most once
per interval (``PollPolicy``), by whichever worker claims it first (``polled_at``, written
under the row's lock), unless its last batch was full: then this worker polls it again at once
until it has caught up. Two pollers on one mailbox (a manual ``poll`` beside a worker's)
are harmless: intake stores each message once, and ``last_uid`` only moves on.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import attrs

from helpdesk_core.domain.errors import DependencyUnavailable, NotFound, ValidationFailed
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.mail_fetch import MailboxImap, error_text
from helpdesk_core.ports.mail_fetch import (
    FetchedMail,
    ImapPasswordBox,
    MailFetcherFactory,
    MailFetchFailed,
)
from helpdesk_core.ports.secretbox import SecretUnreadable
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.mail.intake import MailIntake, MailPolicy

log = logging.getLogger("helpdesk.mail.poll")

POLL_LIMIT_DEFAULT = 50
POLL_LIMIT_MAX = 1000


@attrs.frozen
class PollPolicy:
    """How often a mailbox is polled (seconds from the start of one poll to the next)."""

    interval_seconds: float = 60.0


@attrs.define
class MailPoller:
    _uow: UnitOfWork
    _clock: Clock
    _intake: MailIntake
    _fetchers: MailFetcherFactory
    _passwords: ImapPasswordBox
    _mail: MailPolicy
    _policy: PollPolicy
    # In this process: when to look for due mailboxes next, and the mailboxes whose last
    # batch was full (polled again at once). Shared by the worker threads; a race only
    # costs a look at the database.
    _next_check: datetime | None = attrs.field(default=None, init=False)
    _behind: set[uuid.UUID] = attrs.field(factory=set, init=False)

    def poll(self, limit: int = POLL_LIMIT_DEFAULT) -> int:
        """Poll every active mailbox with IMAP settings now, up to ``limit`` messages each;
        how many messages were fetched (stored, recognized as stored, or skipped)."""
        return self._poll(_checked_limit(limit), due_only=False)

    def poll_due(self, limit: int = POLL_LIMIT_DEFAULT) -> int:
        """:meth:`poll` for the mailboxes whose interval has passed since their last poll
        (the worker's pass); looks at the database at most once per interval unless a
        mailbox has mail left over from a full batch."""
        now = self._clock.now()
        if not self._behind and self._next_check is not None and now < self._next_check:
            return 0
        return self._poll(_checked_limit(limit), due_only=True)

    # ------------------------------------------------------------ one pass

    def _poll(self, limit: int, due_only: bool) -> int:
        now = self._clock.now()
        interval = timedelta(seconds=self._policy.interval_seconds)
        with self._uow.begin(read_only=True) as tx:
            configs = tx.mail_fetch.list_active()
        next_check = now + interval
        fetched = 0
        for config in configs:
            if due_only and not self._due(config, now):
                if config.polled_at is not None:
                    next_check = min(next_check, config.polled_at + interval)
                continue
            try:
                fetched += self._poll_mailbox(config.mailbox_id, limit, due_only)
            except DependencyUnavailable:
                raise
            except Exception as exc:
                self._behind.discard(config.mailbox_id)
                self._failed(config.mailbox_id, exc)
        self._next_check = next_check
        return fetched

    def _due(self, config: MailboxImap, now: datetime) -> bool:
        if config.mailbox_id in self._behind or config.polled_at is None:
            return True
        return config.polled_at + timedelta(seconds=self._policy.interval_seconds) <= now

    def _poll_mailbox(self, mailbox_id: uuid.UUID, limit: int, due_only: bool) -> int:
        config = self._claim(mailbox_id, due_only)
        if config is None:
            return 0
        password = self._passwords.open(config.password)
        session = self._fetchers.open(config, password)
        try:
            validity = session.uidvalidity()
            after = config.last_uid if config.uidvalidity == validity else 0
            if config.uidvalidity is not None and config.uidvalidity != validity:
                log.warning(
                    "mailbox %s: the folder's UIDVALIDITY changed (%s to %s): reading it from "
                    "the start again; what was stored already is recognized",
                    mailbox_id,
                    config.uidvalidity,
                    validity,
                )
            fetched, received, last_uid = 0, [], after
            for mail in session.fetch(after, limit, self._mail.max_message_bytes):
                fetched += 1
                if self._take(mailbox_id, mail):
                    received.append(mail.uid)
                if not self._advance(config, validity, mail.uid):
                    break  # the settings changed or were cleared meanwhile
                last_uid = mail.uid
            if received:
                session.done(received)
            self._finish(config, validity, last_uid)
        finally:
            session.close()
        if fetched >= limit:
            self._behind.add(mailbox_id)
        else:
            self._behind.discard(mailbox_id)
        if fetched:
            log.info(
                "mailbox %s: fetched %d messages over IMAP (%d taken in)",
                mailbox_id,
                fetched,
                len(received),
            )
        return fetched

    # ------------------------------------------------------------ the steps

    def _claim(self, mailbox_id: uuid.UUID, due_only: bool) -> MailboxImap | None:
        """The mailbox's settings with ``polled_at`` now, stored under the row's lock (so
        the next worker finds it not due); None when they are gone or, for ``due_only``,
        another worker polled it within the interval."""
        now = self._clock.now()
        with self._uow.begin() as tx:
            current = tx.mail_fetch.get(mailbox_id, for_update=True)
            if current is None or (due_only and not self._due(current, now)):
                return None
            resealed = self._resealed(current)
            if resealed is not None:
                tx.mail_fetch.put(resealed)
                current = resealed
            tx.mail_fetch.set_state(
                mailbox_id,
                uidvalidity=current.uidvalidity,
                last_uid=current.last_uid,
                polled_at=now,
                last_error=current.last_error,
            )
            tx.commit()
        return attrs.evolve(current, polled_at=now)

    def _resealed(self, config: MailboxImap) -> MailboxImap | None:
        """``config`` with its password sealed again under the newest key, when an older
        one sealed it (keys rotate: the old one can then be retired); else None."""
        if self._passwords.is_current(config.password):
            return None
        try:
            plaintext = self._passwords.open(config.password)
        except SecretUnreadable:
            return None  # the poll records it
        return attrs.evolve(config, password=self._passwords.seal(plaintext))

    def _take(self, mailbox_id: uuid.UUID, mail: FetchedMail) -> bool:
        """Hand ``mail`` to intake; whether it was taken in (stored, or known already)."""
        if mail.raw is None:
            log.warning(
                "mailbox %s: the message with UID %d is %d bytes, over the limit of %d: "
                "skipped, left on the server",
                mailbox_id,
                mail.uid,
                mail.size,
                self._mail.max_message_bytes,
            )
            return False
        try:
            received = self._intake.receive(mailbox_id, mail.raw, InboundVia.IMAP)
        except ValidationFailed as refused:
            log.warning(
                "mailbox %s: the message with UID %d was refused (%s): skipped, left on the server",
                mailbox_id,
                mail.uid,
                refused.detail,
            )
            return False
        if received.duplicate:
            log.info(
                "mailbox %s: the message with UID %d was stored already (inbound email %s)",
                mailbox_id,
                mail.uid,
                received.email.id,
            )
        return True

    def _advance(self, config: MailboxImap, validity: int, uid: int) -> bool:
        """Record ``uid`` as taken (never moving ``last_uid`` back); False when the settings
        were changed or cleared since the poll began (nothing is recorded)."""
        with self._uow.begin() as tx:
            current = tx.mail_fetch.get(config.mailbox_id, for_update=True)
            if current is None or current.version != config.version:
                return False
            if current.uidvalidity == validity and current.last_uid >= uid:
                return True
            tx.mail_fetch.set_state(
                config.mailbox_id,
                uidvalidity=validity,
                last_uid=uid,
                polled_at=current.polled_at,
                last_error=current.last_error,
            )
            tx.commit()
        return True

    def _finish(self, config: MailboxImap, validity: int, last_uid: int) -> None:
        """The poll went through: the folder's UIDVALIDITY (recorded even when nothing
        came), and no error."""
        with self._uow.begin() as tx:
            current = tx.mail_fetch.get(config.mailbox_id, for_update=True)
            if current is None or current.version != config.version:
                return
            if current.uidvalidity == validity:
                last_uid = max(last_uid, current.last_uid)
            tx.mail_fetch.set_state(
                config.mailbox_id,
                uidvalidity=validity,
                last_uid=last_uid,
                polled_at=current.polled_at,
                last_error=None,
            )
            tx.commit()

    def _failed(self, mailbox_id: uuid.UUID, exc: Exception) -> None:
        """Record why the mailbox's poll failed, and log it (never the password: the
        adapter masks it in what it raises)."""
        if isinstance(exc, MailFetchFailed):
            message = str(exc)
            log.warning("mailbox %s: polling IMAP failed: %s", mailbox_id, message)
        elif isinstance(exc, SecretUnreadable):
            message = (
                "the IMAP password cannot be opened with the configured secret keys "
                "(HELPDESK_SECRET_KEYS changed?): set it again"
            )
            log.warning("mailbox %s: %s", mailbox_id, message)
        elif isinstance(exc, NotFound):
            message = f"the mailbox cannot receive: {exc}"
            log.warning("mailbox %s: polling IMAP stopped: %s", mailbox_id, message)
        else:
            message = f"{type(exc).__name__}: {exc}"
            log.exception("mailbox %s: polling IMAP failed unexpectedly", mailbox_id)
        with self._uow.begin() as tx:
            current = tx.mail_fetch.get(mailbox_id, for_update=True)
            if current is None:
                return
            tx.mail_fetch.set_state(
                mailbox_id,
                uidvalidity=current.uidvalidity,
                last_uid=current.last_uid,
                polled_at=current.polled_at,
                last_error=error_text(message),
            )
            tx.commit()


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= POLL_LIMIT_MAX:
        raise ValidationFailed.field("limit", f"must be a whole number from 1 to {POLL_LIMIT_MAX}")
    return limit
