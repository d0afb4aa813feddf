"""Processing a received message onto a ticket: the worker's part of the email channel.

Each stored message is claimed and processed in one transaction with everything it changes
(the ticket, its message, participants, the Message-IDs it brings, its own row), so a message
is processed exactly once: a worker killed mid-way changes nothing and the message is claimed
again; two workers never hold one message (``InboundEmailRepository.claim``).

What a message becomes, in this order:

1. **The helpdesk's own mail** (it carries our loop header, or its Message-ID is one we sent)
   is ignored: nothing answers it.
2. **A delivery report** (RFC 3464) marks each failed address as bouncing, and an internal
   note on the ticket it is about (found like a reply's) names the failure.
3. **Its ticket** is found, in this order: a signed reply token in an address it was
   delivered to (``support+t1042-<signature>@...``, see ``domain/mail.py``); a Message-ID of
   In-Reply-To, then of References (newest first), that the helpdesk sent or received; the
   subject tag ``[#1042]``, only when the sender is the ticket's requester or one of its
   participants (a stranger guessing a number opens a ticket of their own).
4. **Automatic mail** (an out-of-office reply, a list's mail, a no-reply sender) on a ticket
   is stored on it, flagged ``automatic``, and changes no status and no clock; without a
   ticket it is ignored. Nothing ever answers it.
5. **Floods**: past the policy's messages per sender, or per ticket, in an hour, the rest
   are ignored.
6. **The sender** is an account found by address; an unknown one gets a customer account
   (without a password: it may set one by a reset) when the mailbox creates them, or the
   message is held for review when it holds them. A staff member's mail on a ticket they may
   see is an internal note; staff do not open tickets by mail (held).
7. **A reply** goes onto the ticket as a public message of its sender, moving the status as a
   reply through the API does (a resolved ticket reopens). Who writes never changes the
   requester: any other sender, and every Cc and To besides the helpdesk's own addresses,
   becomes a **participant**. A closed ticket, or a resolved one last changed more than the
   mailbox's ``reopen_days`` ago, is not reopened: the mail opens a new ticket that names it.
8. **Otherwise** a new ticket of the mailbox's department, ``source: "email"``.

A message whose processing raises anything but ``DependencyUnavailable`` is marked failed with
the error, and the next one is processed (one bad message never stalls the mailbox).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import attrs

from helpdesk_core.documents import inbound_email_document, user_document
from helpdesk_core.domain.entities import NO_PASSWORD, Ticket, User
from helpdesk_core.domain.errors import Conflict, DependencyUnavailable, ValidationFailed
from helpdesk_core.domain.mail import (
    LOOP_HEADER,
    REPLY_TOKEN_PURPOSE,
    Bounce,
    Direction,
    InboundEmail,
    InboundMail,
    InboundStatus,
    Mailbox,
    Outcome,
    Participant,
    UnknownSenders,
    automatic_reason,
    reply_tokens_in,
    tagged_number,
    ticket_subject,
    token_signature,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import (
    Channel,
    MessageVisibility,
    Role,
    TicketStatus,
    one_line,
    prose_of,
)
from helpdesk_core.domain.views import Account, TicketView
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.mail import MailParser
from helpdesk_core.ports.security import TokenSigner
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.auth import DISPLAY_NAME_MAX
from helpdesk_core.usecases.events import publish
from helpdesk_core.usecases.mail.intake import MailPolicy
from helpdesk_core.usecases.mail.senders import (
    account_of,
    is_helpdesk,
    mail_system,
    message_body,
    on_ticket,
    other_addresses,
    principal_of,
    reopens_by_mail,
    ticket_reply_address,
    user_of,
)
from helpdesk_core.usecases.sla import with_clocks
from helpdesk_core.usecases.tickets.commands import BODY_MAX, SUBJECT_MAX
from helpdesk_core.usecases.tickets.conversation import Conversation
from helpdesk_core.usecases.tickets.files import StoredFile
from helpdesk_core.usecases.tickets.opening import Opening
from helpdesk_core.usecases.tickets.scope import can_see

log = logging.getLogger("helpdesk.mail")

_HOUR = timedelta(hours=1)


@attrs.define
class MailProcessor(Opening, Conversation):
    """Processes stored messages (``process_pending``); the ticket steps are the ticket use
    cases' own (``_open``, ``_post``), run in the message's transaction."""

    _blobs: BlobStore
    _parser: MailParser
    _signer: TokenSigner
    _mail: MailPolicy

    def process_pending(self, limit: int = 20) -> int:
        """Process up to ``limit`` pending messages, oldest first, each in a transaction of
        its own; how many were processed (failed ones included)."""
        count = 0
        while count < limit and self._process_next():
            count += 1
        return count

    def _process_next(self) -> bool:
        """Claim and process one pending message; False when none is pending. A Conflict
        (a concurrent worker made the same sender's account first) is tried once more in a
        new transaction, which sees what the other committed; any other error marks the
        message failed."""
        for attempt in (1, 2):
            failed: tuple[uuid.UUID, Exception] | None = None
            with self._uow.begin() as tx:
                claimed = tx.inbound_emails.claim(self._clock.now(), 1)
                if not claimed:
                    return False
                email = claimed[0]
                try:
                    self._process(tx, email)
                    tx.commit()
                    return True
                except DependencyUnavailable:
                    raise
                except Conflict as exc:
                    tx.rollback()
                    if attempt == 2:
                        failed = (email.id, exc)
                except Exception as exc:  # one bad message never stalls the others
                    log.exception("inbound mail %s failed", email.id)
                    tx.rollback()
                    failed = (email.id, exc)
            if failed is not None:
                self._mark_failed(*failed)
                return True
        return True

    def _mark_failed(self, email_id: uuid.UUID, exc: Exception) -> None:
        now = self._clock.now()
        with self._uow.begin() as tx:
            email = tx.inbound_emails.get(email_id)
            if email is None or email.status is not InboundStatus.PENDING:
                return
            detail = one_line(f"{type(exc).__name__}: {exc}")
            email = email.done(InboundStatus.FAILED, Outcome.UNREADABLE, now, detail=detail)
            tx.inbound_emails.update(email)
            self._announce(tx, email, now)
            tx.commit()

    # ------------------------------------------------------------ one message

    def _process(self, tx: Transaction, email: InboundEmail) -> InboundEmail:
        now = self._clock.now()
        raw = self._blobs.get(email.raw_key)
        if raw is None:
            return self._done(
                tx, email, now, InboundStatus.FAILED, Outcome.UNREADABLE, "its bytes are missing"
            )
        mail = self._parser.parse(raw)
        email = attrs.evolve(
            email,
            sender=mail.sender.address if mail.sender else None,
            subject=prose_of(one_line(mail.subject), SUBJECT_MAX),
        )
        mailbox = tx.mailboxes.get(email.mailbox_id)
        assert mailbox is not None  # a foreign key: mailboxes are never deleted
        if LOOP_HEADER in mail.headers or (
            mail.message_id is not None and tx.mail_threads.sent(mail.message_id)
        ):
            return self._done(
                tx, email, now, InboundStatus.IGNORED, Outcome.LOOP, "the helpdesk sent it"
            )
        if mail.report is not None:
            return self._bounce(tx, email, mail, mailbox, now)
        if mail.sender is None:
            return self._done(
                tx, email, now, InboundStatus.IGNORED, Outcome.NO_SENDER, "no From address"
            )
        automatic = automatic_reason(mail)
        account = account_of(tx, mail.sender.address)
        view = self._thread(tx, mail, mailbox, account)
        if tx.inbound_emails.count_from(mail.sender.address, now - _HOUR) >= (
            self._mail.per_sender_per_hour
        ):
            return self._done(
                tx, email, now, InboundStatus.IGNORED, Outcome.FLOOD, "too many from its sender"
            )
        if view is not None and tx.inbound_emails.count_on_ticket(view.ticket.id, now - _HOUR) >= (
            self._mail.per_ticket_per_hour
        ):
            return self._done(
                tx, email, now, InboundStatus.IGNORED, Outcome.FLOOD, "too many on its ticket"
            )
        if automatic is not None and (view is None or account is None):
            return self._done(tx, email, now, InboundStatus.IGNORED, Outcome.AUTOMATIC, automatic)
        if account is None:
            if mailbox.unknown_senders is UnknownSenders.HOLD:
                return self._done(
                    tx, email, now, InboundStatus.HELD, Outcome.UNKNOWN_SENDER, "unknown sender"
                )
            account = Account(self._new_customer(tx, mail, now))
        if not account.is_active:
            return self._done(
                tx, email, now, InboundStatus.HELD, Outcome.UNKNOWN_SENDER, "account deactivated"
            )
        actor = principal_of(account)
        # Automatic mail stays on its ticket, closed or not: it never opens a follow-up.
        if (
            view is not None
            and automatic is None
            and not reopens_by_mail(view.ticket, mailbox, now)
        ):
            follow_up = view.ticket.number
            view = None
        else:
            follow_up = None
        if view is not None:
            return self._reply(tx, email, mail, mailbox, view, account, actor, automatic, now)
        if account.staff is not None:
            return self._done(
                tx,
                email,
                now,
                InboundStatus.HELD,
                Outcome.UNKNOWN_SENDER,
                "staff do not open tickets by mail",
            )
        return self._new_ticket(tx, email, mail, mailbox, actor, follow_up, now)

    def _thread(
        self, tx: Transaction, mail: InboundMail, mailbox: Mailbox, account: Account | None
    ) -> TicketView | None:
        """The ticket ``mail`` answers (read locked, with its clocks), or None."""
        for token in reply_tokens_in(mail.addressed_to(), mailbox.address):
            view = tx.tickets.get_by_number(token.number)
            if view is not None and self._signed(view.ticket, token.signature):
                return self._locked(tx, view.ticket.id)
        ids = mail.thread_ids()
        if ids:
            known = tx.mail_threads.tickets_of(ids)
            for message_id in ids:
                if message_id in known:
                    return self._locked(tx, known[message_id])
        number = tagged_number(mail.subject)
        if number is not None and account is not None:
            view = tx.tickets.get_by_number(number)
            if view is not None and on_ticket(tx, view.ticket, account):
                return self._locked(tx, view.ticket.id)
        return None

    def reply_address(self, mailbox_address: str, ticket: Ticket) -> str:
        """The address replies to ``ticket`` go to (:func:`ticket_reply_address`)."""
        return ticket_reply_address(self._signer, mailbox_address, ticket.id, ticket.number)

    def _signed(self, ticket: Ticket, signature: str) -> bool:
        """Whether ``signature`` is the ticket's under any configured key (rotation)."""
        derived = self._signer.derive(REPLY_TOKEN_PURPOSE, str(ticket.id))
        return any(token_signature(value) == signature for value in derived)

    @staticmethod
    def _locked(tx: Transaction, ticket_id: uuid.UUID) -> TicketView | None:
        view = tx.tickets.get(ticket_id, for_update=True)
        return None if view is None else with_clocks(tx, view, lock=True)

    # ------------------------------------------------------------ outcomes

    def _reply(
        self,
        tx: Transaction,
        email: InboundEmail,
        mail: InboundMail,
        mailbox: Mailbox,
        view: TicketView,
        account: Account,
        actor: Principal,
        automatic: str | None,
        now: datetime,
    ) -> InboundEmail:
        ticket = view.ticket
        visibility = MessageVisibility.PUBLIC
        if account.staff is not None:
            if not can_see(actor, ticket):
                return self._done(
                    tx,
                    email,
                    now,
                    InboundStatus.HELD,
                    Outcome.UNKNOWN_SENDER,
                    f"the staff member may not see ticket #{ticket.number}",
                )
            visibility = MessageVisibility.INTERNAL
        files, note = self._stored_files(mail)
        posted, updated = self._post(
            tx,
            actor,
            view,
            message_body(mail, note),
            visibility,
            files,
            now,
            source=Channel.EMAIL,
            automatic=automatic is not None,
        )
        if automatic is None and account.staff is None:  # a staff member's Cc stays theirs
            self._add_participants(tx, ticket, mail, mailbox, account, now)
        self._remember(tx, mail, ticket.id, now)
        if automatic is not None:
            outcome = Outcome.AUTOMATIC
        elif ticket.status is TicketStatus.RESOLVED and updated.ticket.status is TicketStatus.OPEN:
            outcome = Outcome.REOPENED
        else:
            outcome = Outcome.REPLY_ADDED
        return self._done(
            tx,
            email,
            now,
            InboundStatus.PROCESSED,
            outcome,
            automatic or "",
            ticket_id=ticket.id,
            message_id=posted.message.id,
        )

    def _new_ticket(
        self,
        tx: Transaction,
        email: InboundEmail,
        mail: InboundMail,
        mailbox: Mailbox,
        actor: Principal,
        follow_up: int | None,
        now: datetime,
    ) -> InboundEmail:
        department = None
        if mailbox.department_id is not None:
            department = tx.departments.get(mailbox.department_id)
            if department is not None and not department.is_active:
                department = None
        files, note = self._stored_files(mail)
        description = message_body(mail, note)
        if follow_up is not None:
            description = prose_of(f"Follow-up to #{follow_up}.\n\n{description}", BODY_MAX)
        ticket = Ticket(
            id=self._ids.new_id(),
            number=tx.tickets.next_number(),
            subject=prose_of(ticket_subject(one_line(mail.subject)), SUBJECT_MAX),
            description=description,
            requester_id=actor.user_id,
            department_id=department.id if department is not None else None,
            created_at=now,
            updated_at=now,
            source=Channel.EMAIL,
        )
        self._open(tx, actor, ticket, department, files, now)
        account = Account(user_of(tx, actor.user_id))
        self._add_participants(tx, ticket, mail, mailbox, account, now)
        self._remember(tx, mail, ticket.id, now)
        detail = f"follow-up to #{follow_up}" if follow_up is not None else ""
        return self._done(
            tx,
            email,
            now,
            InboundStatus.PROCESSED,
            Outcome.TICKET_CREATED,
            detail,
            ticket_id=ticket.id,
        )

    def _bounce(
        self,
        tx: Transaction,
        email: InboundEmail,
        mail: InboundMail,
        mailbox: Mailbox,
        now: datetime,
    ) -> InboundEmail:
        report = mail.report
        assert report is not None
        for address in report.recipients:
            tx.mail_threads.bounced(
                Bounce(
                    address=address,
                    status=report.status[:32],
                    diagnostic=prose_of(one_line(report.diagnostic), 500),
                    bounced_at=now,
                )
            )
        view = self._thread(tx, mail, mailbox, None)
        if view is None:
            return self._done(
                tx,
                email,
                now,
                InboundStatus.PROCESSED,
                Outcome.BOUNCE,
                f"no ticket: {', '.join(report.recipients)}",
            )
        system = mail_system(tx, self._ids.new_id(), now)
        names = ", ".join(report.recipients) or "an address"
        note = f"Mail to {names} could not be delivered ({report.action}, {report.status})." + (
            f"\n\nThe receiving server said: {report.diagnostic}" if report.diagnostic else ""
        )
        actor = Principal(user_id=system.id, role=Role.CUSTOMER)
        posted, _ = self._post(
            tx,
            actor,
            view,
            prose_of(note, BODY_MAX),
            MessageVisibility.INTERNAL,
            (),
            now,
            source=Channel.EMAIL,
            automatic=True,
        )
        self._remember(tx, mail, view.ticket.id, now)
        return self._done(
            tx,
            email,
            now,
            InboundStatus.PROCESSED,
            Outcome.BOUNCE,
            names,
            ticket_id=view.ticket.id,
            message_id=posted.message.id,
        )

    def _done(
        self,
        tx: Transaction,
        email: InboundEmail,
        now: datetime,
        status: InboundStatus,
        outcome: Outcome,
        detail: str = "",
        *,
        ticket_id: uuid.UUID | None = None,
        message_id: uuid.UUID | None = None,
    ) -> InboundEmail:
        email = email.done(
            status,
            outcome,
            now,
            detail=prose_of(one_line(detail), 500),
            ticket_id=ticket_id,
            ticket_message_id=message_id,
        )
        tx.inbound_emails.update(email)
        self._announce(tx, email, now)
        return email

    def _announce(self, tx: Transaction, email: InboundEmail, now: datetime) -> None:
        """``email.bounced`` for a delivery report, ``email.received`` for what became a
        ticket or a message, ``email.ignored`` for the rest (held and failed included)."""
        if email.outcome is Outcome.BOUNCE:
            kind = "email.bounced"
        elif email.status is InboundStatus.PROCESSED:
            kind = "email.received"
        else:
            kind = "email.ignored"
        key = f"ticket:{email.ticket_id}" if email.ticket_id else f"mailbox:{email.mailbox_id}"
        publish(tx, self._ids, now, kind, key, {"email": inbound_email_document(email)})

    # ------------------------------------------------------------ people

    def _new_customer(self, tx: Transaction, mail: InboundMail, now: datetime) -> User:
        assert mail.sender is not None
        address = mail.sender.address
        name = prose_of(one_line(mail.sender.name), DISPLAY_NAME_MAX).strip()
        user = User(
            id=self._ids.new_id(),
            email=address,
            display_name=name or address.partition("@")[0][:DISPLAY_NAME_MAX],
            password_hash=NO_PASSWORD,
            created_at=now,
            updated_at=now,
        )
        tx.users.add(user)
        publish(
            tx,
            self._ids,
            now,
            "user.registered",
            f"user:{user.id}",
            {"user": user_document(user), "via": "email"},
            user.id,
        )
        return user

    def _add_participants(
        self,
        tx: Transaction,
        ticket: Ticket,
        mail: InboundMail,
        mailbox: Mailbox,
        sender: Account,
        now: datetime,
    ) -> None:
        """The sender (unless the requester or staff) and every To and Cc besides the
        helpdesk's own addresses and the requester become participants."""
        requester = user_of(tx, ticket.requester_id).email
        candidates: list[tuple[str, uuid.UUID | None]] = []
        if sender.staff is None and sender.user.id != ticket.requester_id:
            candidates.append((sender.user.email, sender.user.id))
        for address in other_addresses(mail):
            candidates.append((address, None))
        for address, user_id in candidates:
            if address == requester or is_helpdesk(tx, address, mailbox):
                continue
            known = account_of(tx, address) if user_id is None else None
            if known is not None and known.staff is not None:
                continue  # the staff read the ticket in the helpdesk, not by Cc
            if known is not None:
                user_id = known.user.id
            tx.participants.add(Participant(ticket.id, address, now, user_id))

    def _stored_files(self, mail: InboundMail) -> tuple[list[StoredFile], str]:
        """The mail's attachments (inline images too) kept in the blob store, up to the
        number a message may carry; and a line naming each one not kept and why (its type,
        its size, one too many: the whole message is kept as received all the same)."""
        files: list[StoredFile] = []
        refused: list[str] = []
        for attachment in mail.attachments:
            if len(files) == self._policy.max_attachments:
                refused.append(f"{attachment.filename}: more than {len(files)} files")
                continue
            try:
                files.append(
                    self._files.store(
                        attachment.filename or "attachment",
                        attachment.content_type,
                        attachment.data,
                    )
                )
            except ValidationFailed as exc:
                refused.append(exc.errors[0].message if exc.errors else exc.detail)
        note = "; ".join(refused)
        return files, f"[not kept: {note}]" if note else ""

    def _remember(
        self, tx: Transaction, mail: InboundMail, ticket_id: uuid.UUID, now: datetime
    ) -> None:
        if mail.message_id is not None:
            tx.mail_threads.record(mail.message_id, ticket_id, Direction.INBOUND, now)
