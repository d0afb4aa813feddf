"""Mail to people, as subscribers of events (run by the worker, never inside a request).

- the requester, when staff change the status of their ticket (not for their own changes,
  nor for the reopening a staff reply brings about: the reply's mail says enough; the reply
  itself is mailed, threaded, by ``usecases/mail/outbound.py``);
- the assignee, when a ticket is assigned to them by someone else;
- the staff who follow a ticket (``usecases/tickets/followers.py``), its assignee and, for an
  internal note, the staff it mentions, on every public reply and internal note: one mail
  per person and message whatever the reasons, never to its author or to the requester (whose
  reply mail is ``usecases/mail/outbound.py``'s), nor to anyone inactive or who can no longer
  see the ticket; automatic messages (an out-of-office answer, a bounce's note) mail nobody;
- the assignee, when a service-level clock of their ticket breaches; for an unassigned
  ticket, the active leads of its department (the active administrators when it has none:
  an unrouted ticket, a department without leads);
- the user, with a single-use reset link, when a password reset is requested.
- the owner of an address, when someone tries to register it again (the registration
  answers as for a new address, so only the owner learns it was taken).

Mail is read back from the database when the event is handled, so it names people as they are
now; an event whose recipient is gone or deactivated sends nothing. A subject is made one line
(``values.one_line``) whatever the stored text it quotes holds; a mail that still cannot be
built fails its event at once (``Undeliverable``), and a mail that fails never keeps the
event from its other subscribers (the webhook fan-out). The reset link's token is
never stored anywhere: the database keeps its SHA-256, and the worker derives the token again
from the reset's id with the secret keys (``TokenSigner.derive``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import attrs

from helpdesk_core.domain.entities import User
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.mail import LOOP_HEADER_NAME
from helpdesk_core.domain.values import MessageVisibility, StaffRole, one_line
from helpdesk_core.ports.notifications import Mailer, MailMessage
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.security import TokenSigner
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.auth import RESET_PURPOSE, hash_reset_token
from helpdesk_core.usecases.events import Dispatcher
from helpdesk_core.usecases.tickets.followers import sees

AUTOMATIC_MAIL_HEADERS = {"Auto-Submitted": "auto-generated", LOOP_HEADER_NAME: "notification"}


@attrs.frozen
class NotificationPolicy:
    public_url: str = "http://127.0.0.1:8000"
    password_reset_ttl: int = 3600


@attrs.define
class NotificationService:
    """The mail subscribers; ``subscribe`` registers them with a dispatcher."""

    _uow: UnitOfWork
    _mailer: Mailer
    _signer: TokenSigner
    _clock: Clock
    _policy: NotificationPolicy

    def subscribe(self, dispatcher: Dispatcher) -> None:
        dispatcher.subscribe("ticket.status_changed", self.on_status, "mail-requester-status")
        dispatcher.subscribe("ticket.assigned", self.on_assigned, "mail-assignee")
        dispatcher.subscribe("ticket.message_added", self.on_message, "mail-followers")
        dispatcher.subscribe("sla.breached", self.on_breached, "mail-sla-breach")
        dispatcher.subscribe(
            "user.password_reset_requested", self.on_reset_requested, "mail-reset-link"
        )
        dispatcher.subscribe(
            "user.registration_attempted", self.on_registration_attempted, "mail-already-registered"
        )

    # ------------------------------------------------------------ tickets

    def on_status(self, event: Event) -> None:
        ticket = event.data["ticket"]
        if _same(event.actor_id, ticket["requester"]["id"]):
            return
        if event.data.get("cause") == "reply":  # the reply's own mail says enough
            return
        self._to_user(
            ticket["requester"]["id"],
            f"[#{ticket['number']}] Your ticket is now {event.data['to']}",
            lambda name: (
                f"Hello {name},\n\nyour ticket #{ticket['number']} ({ticket['subject']}) "
                f"moved from {event.data['from']} to {event.data['to']}.\n\n"
                f"{self._ticket_link(ticket)}\n"
            ),
        )

    def on_assigned(self, event: Event) -> None:
        ticket = event.data["ticket"]
        assignee = ticket["assignee"]["id"] if ticket["assignee"] is not None else None
        if assignee is None or assignee == event.data.get("previous_assignee_id"):
            return
        if _same(event.actor_id, assignee):
            return
        self._to_user(
            assignee,
            f"[#{ticket['number']}] Assigned to you: {ticket['subject']}",
            lambda name: (
                f"Hello {name},\n\nticket #{ticket['number']} ({ticket['subject']}, "
                f"priority {ticket['priority']}) is now assigned to you.\n\n"
                f"{self._ticket_link(ticket, staff=True)}\n"
            ),
        )

    def on_message(self, event: Event) -> None:
        """Followers, the assignee and the mentioned staff (module docstring), each once, read
        in one transaction when the event is handled."""
        message, ticket = event.data["message"], event.data["ticket"]
        if message.get("automatic"):
            return
        note = message["visibility"] == MessageVisibility.INTERNAL.value
        ticket_id = uuid.UUID(ticket["id"])
        with self._uow.begin(read_only=True) as tx:
            # Why each one is told; a later reason is more particular and wins.
            reasons = dict.fromkeys(tx.followers.of_ticket(ticket_id), "you follow the ticket")
            if ticket["assignee"] is not None:
                reasons[uuid.UUID(ticket["assignee"]["id"])] = "the ticket is assigned to you"
            for mentioned in event.data.get("mentions", []) if note else []:
                reasons[uuid.UUID(mentioned)] = "you were mentioned in it"
            for excluded in (message["author"], ticket["requester"]):
                if excluded is not None:
                    reasons.pop(uuid.UUID(excluded["id"]), None)
            recipients = _staff_who_see(tx, reasons, ticket)
            if not recipients:
                return
            text = _body_of(tx, ticket_id, message["id"]) if note else message["body"]
        author = (message["author"] or {}).get("display_name") or "Someone"
        number, subject = ticket["number"], ticket["subject"]
        kind, what = ("Note", "left an internal note on") if note else ("Reply", "replied to")
        for user in recipients:
            body = (
                f"Hello {user.display_name},\n\n{author} {what} ticket #{number} ({subject}):"
                f"\n\n{text}\n\n{self._ticket_link(ticket, staff=True)}\n\n"
                f"You receive this because {reasons[user.id]}.\n"
            )
            self._mailer.send(
                MailMessage(
                    to=user.email,
                    subject=one_line(f"[#{number}] {kind} from {author}: {subject}"),
                    body=body,
                    headers=AUTOMATIC_MAIL_HEADERS,
                )
            )

    def on_breached(self, event: Event) -> None:
        ticket, metric = event.data["ticket"], event.data["metric"]
        what = metric["name"].replace("_", " ")
        for user_id in self._breach_recipients(ticket):
            self._to_user(
                user_id,
                f"[#{ticket['number']}] Overdue: {what} of {ticket['subject']}",
                lambda name: (
                    f"Hello {name},\n\nthe {what} of ticket #{ticket['number']} "
                    f"({ticket['subject']}, priority {ticket['priority']}) was due at "
                    f"{metric['due_at']} and is not met.\n\n"
                    f"{self._ticket_link(ticket, staff=True)}\n"
                ),
            )

    def _breach_recipients(self, ticket: dict[str, Any]) -> list[uuid.UUID]:
        if ticket["assignee"] is not None:
            return [uuid.UUID(ticket["assignee"]["id"])]
        with self._uow.begin(read_only=True) as tx:
            leads: list[uuid.UUID] = []
            if ticket["department"] is not None:
                department = uuid.UUID(ticket["department"]["id"])
                where = StaffFilter(department_id=department, role=StaffRole.LEAD, active=True)
                leads = [staff.user_id for staff in tx.staff.list(where)]
            if not leads:
                where = StaffFilter(role=StaffRole.ADMIN, active=True)
                leads = [staff.user_id for staff in tx.staff.list(where)]
        return sorted(leads)

    # ------------------------------------------------------------ accounts

    def on_reset_requested(self, event: Event) -> None:
        reset_id = uuid.UUID(str(event.data["reset_id"]))
        with self._uow.begin(read_only=True) as tx:
            found = None
            for candidate in self._signer.derive(RESET_PURPOSE, str(reset_id)):
                stored = tx.password_resets.get_by_hash(hash_reset_token(candidate))
                if stored is not None and stored.id == reset_id:
                    found = (candidate, stored)
                    break
            if found is None:  # keys rotated away, or the request is gone: nothing to send
                return
            token, stored = found
            user = tx.users.get(stored.user_id)
        if user is None or not user.is_active or not stored.is_usable(self._clock.now()):
            return
        minutes = self._policy.password_reset_ttl // 60
        link = f"{self._policy.public_url.rstrip('/')}/reset-password?token={token}"
        self._mailer.send(
            MailMessage(
                to=user.email,
                subject="Reset your helpdesk password",
                body=(
                    f"Hello {user.display_name},\n\nsomeone asked to reset the password of your "
                    f"helpdesk account. To choose a new one, open this link within {minutes} "
                    f"minutes:\n\n{link}\n\nIf it was not you, ignore this message: your "
                    "password stays as it is.\n"
                ),
                headers=AUTOMATIC_MAIL_HEADERS,
            )
        )

    def on_registration_attempted(self, event: Event) -> None:
        # The registration answered as for a new address; the owner alone learns it was not.
        base = self._policy.public_url.rstrip("/")
        self._to_user(
            event.data["user"]["id"],
            "Someone tried to register with your address",
            lambda name: (
                f"Hello {name},\n\nsomeone tried to register a helpdesk account with this "
                "address, which already has one: no new account was made. If it was you, log "
                f"in at {base}/ with your password (forgotten? ask there for a reset link).\n\n"
                "If it was not you, ignore this message: nothing has changed.\n"
            ),
        )

    # ------------------------------------------------------------ helpers

    def _to_user(self, user_id: Any, subject: str, body: Any) -> None:
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(uuid.UUID(str(user_id)))
        if user is None or not user.is_active:
            return
        # A subject quotes stored text (a ticket's subject, stored before subjects had to be
        # one line, may hold a line break): one line, whatever it holds.
        # Written by a program: Auto-Submitted keeps autoresponders from answering it (RFC
        # 3834), and the loop header has it dropped should it ever come back in.
        message = MailMessage(
            to=user.email,
            subject=one_line(subject),
            body=body(user.display_name),
            headers=AUTOMATIC_MAIL_HEADERS,
        )
        self._mailer.send(message)

    def _ticket_link(self, ticket: dict[str, Any], staff: bool = False) -> str:
        base = self._policy.public_url.rstrip("/")
        return f"{base}/{'staff/' if staff else ''}tickets/{ticket['id']}"


def _staff_who_see(
    tx: Transaction, user_ids: Iterable[uuid.UUID], ticket: dict[str, Any]
) -> list[User]:
    """The users among ``user_ids`` who are active members of the staff and see the ticket
    now, by email."""
    department = uuid.UUID(ticket["department"]["id"]) if ticket["department"] else None
    found = []
    for user in tx.users.get_many(user_ids).values():
        staff = tx.staff.get(user.id)
        if user.is_active and staff is not None and staff.is_active and sees(staff, department):
            found.append(user)
    return sorted(found, key=lambda user: user.email)


def _body_of(tx: Transaction, ticket_id: uuid.UUID, message_id: str) -> str:
    """The text of a message of the ticket (an internal note's: events never carry it)."""
    for shown in tx.messages.list(ticket_id, include_internal=True, with_attachments=False):
        if str(shown.message.id) == message_id:
            return shown.message.body
    return ""


def _same(actor_id: uuid.UUID | None, user_id: Any) -> bool:
    return actor_id is not None and str(actor_id) == str(user_id)
