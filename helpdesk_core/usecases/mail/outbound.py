"""Staff replies by mail, threaded in the customer's mailbox: a subscriber of
``ticket.message_added`` run by the worker (through the outbox: nothing is sent for a change
that rolled back, and a retried event sends the same message again, under the same
Message-ID, so a receiver shows it once).

A public reply of a person of the staff is mailed to the ticket's requester, with its
participants in Cc, from the ticket's mailbox: the one its mail last came in through, else an
active mailbox routed to its department, else the first active mailbox by name; with none at
all it comes from ``HELPDESK_MAIL_FROM`` and carries no reply address (nothing would receive
the answer). The mail carries:

- ``Message-ID: <ticket-<number>.<message id>@<mailbox domain>>``, derived from the reply, and
  recorded before it is sent so that an answer's In-Reply-To finds the ticket;
- ``In-Reply-To`` the ticket's latest known Message-ID and ``References`` its latest twenty;
- ``Reply-To`` (and the envelope sender, where bounces go) the ticket's signed reply address
  (``support+t1042-<signature>@...``), which finds the ticket even when a provider rewrote
  our Message-ID;
- the subject ``Re: [#1042] <subject>`` (the tag counts for the requester and participants);
- ``X-Helpdesk-Loop: <mailbox address>``: if it ever comes back in, it is dropped.

Automatic messages, internal notes and customers' own messages are never mailed. An
address that bounced is still mailed (a bounce may be temporary); the note on the ticket
tells the staff.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from helpdesk_core.domain.events import Event
from helpdesk_core.domain.mail import LOOP_HEADER_NAME, Direction, Mailbox, tagged_subject
from helpdesk_core.domain.values import one_line
from helpdesk_core.ports.notifications import Mailer, MailMessage
from helpdesk_core.ports.security import TokenSigner
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import Dispatcher
from helpdesk_core.usecases.mail.senders import ticket_reply_address
from helpdesk_core.usecases.notifications import NotificationPolicy

REFERENCES_MAX = 20


@attrs.define
class ReplyMail:
    """Mails staff replies (``subscribe`` registers it with a dispatcher)."""

    _uow: UnitOfWork
    _mailer: Mailer
    _clock: Clock
    _policy: NotificationPolicy
    _signer: TokenSigner

    def subscribe(self, dispatcher: Dispatcher) -> None:
        dispatcher.subscribe("ticket.message_added", self.on_message, "mail-requester-reply")

    def on_message(self, event: Event) -> None:
        message, ticket = event.data["message"], event.data["ticket"]
        if message["visibility"] != "public" or not message["author_is_staff"]:
            return
        if message.get("automatic"):
            return
        ticket_id = uuid.UUID(ticket["id"])
        with self._uow.begin() as tx:
            requester = tx.users.get(uuid.UUID(ticket["requester"]["id"]))
            if requester is None or not requester.is_active:
                return
            mailbox = _mailbox_of(tx, ticket_id, ticket)
            cc = tuple(
                p.address
                for p in tx.participants.of_ticket(ticket_id)
                if p.address != requester.email
            )
            thread = list(tx.mail_threads.of_ticket(ticket_id, REFERENCES_MAX))
            domain = mailbox.address.partition("@")[2] if mailbox else "helpdesk.invalid"
            ours = f"ticket-{ticket['number']}.{message['id']}@{domain}"
            if ours in thread:  # a retry: the same thread as the first try
                thread.remove(ours)
            tx.mail_threads.record(ours, ticket_id, Direction.OUTBOUND, self._clock.now())
            tx.commit()
        number = int(ticket["number"])
        reply_to = (
            ticket_reply_address(self._signer, mailbox.address, ticket_id, number)
            if mailbox
            else None
        )
        author = (message.get("author") or {}).get("display_name") or "Support"
        self._mailer.send(
            MailMessage(
                to=requester.email,
                cc=cc,
                subject=one_line(f"Re: {tagged_subject(ticket['subject'], number)}"),
                body=self._body(message, ticket, author, mailbox),
                sender=f"{one_line(mailbox.name)} <{mailbox.address}>" if mailbox else None,
                reply_to=reply_to,
                message_id=ours,
                in_reply_to=thread[-1] if thread else None,
                references=tuple(thread),
                envelope_from=reply_to,
                headers={LOOP_HEADER_NAME: mailbox.address if mailbox else domain},
            )
        )

    def _body(
        self, message: dict[str, Any], ticket: dict[str, Any], author: str, mailbox: Mailbox | None
    ) -> str:
        base = self._policy.public_url.rstrip("/")
        signature = f"{author}, {mailbox.name}" if mailbox else author
        how = (
            "Answer this mail to reply."
            if mailbox
            else "Reply on the ticket's page (mail to this address is not read)."
        )
        return (
            f"{message['body']}\n\n-- \n{signature}\n"
            f"Ticket #{ticket['number']}: {base}/tickets/{ticket['id']}\n{how}\n"
        )


def _mailbox_of(tx: Transaction, ticket_id: uuid.UUID, ticket: dict[str, Any]) -> Mailbox | None:
    """The ticket's mailbox (module docstring), or None."""
    came_in = tx.inbound_emails.mailbox_of_ticket(ticket_id)
    if came_in is not None:
        mailbox = tx.mailboxes.get(came_in)
        if mailbox is not None and mailbox.is_active:
            return mailbox
    active = list(tx.mailboxes.list(active=True))
    department = ticket["department"]["id"] if ticket.get("department") else None
    routed = [m for m in active if department and str(m.department_id) == department]
    found = routed or active
    return found[0] if found else None
