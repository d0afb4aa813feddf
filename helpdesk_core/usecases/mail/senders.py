"""The email channel's rules about people and text, used by ``processing.py``: who a sender
is, who is on a ticket's thread, which addresses are the helpdesk's own, when a ticket still
takes mail, and what a message's text becomes. Pure reads of the transaction it is given."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from helpdesk_core.domain.entities import NO_PASSWORD, Ticket, User
from helpdesk_core.domain.mail import (
    REPLY_TOKEN_PURPOSE,
    InboundMail,
    Mailbox,
    reply_address,
    reply_token,
    token_signature,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import TicketStatus, prose_of
from helpdesk_core.domain.views import Account
from helpdesk_core.ports.security import TokenSigner
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.tickets.commands import BODY_MAX

MAIL_SYSTEM_EMAIL = "mail-system@helpdesk.invalid"
"""The account the channel's own notes are written by (a bounce's): never active, no
password, made the first time it is needed."""
MAIL_SYSTEM_NAME = "Mail system"
_SHORTENED = "\n\n[shortened: the whole message is kept as it was received]"


def ticket_reply_address(
    signer: TokenSigner, mailbox_address: str, ticket_id: uuid.UUID, number: int
) -> str:
    """The address replies to a ticket go to: the mailbox's, tagged with the ticket's signed
    token (under the newest key), so a reply finds its ticket whatever its headers say
    (FreeScout#5620: a provider rewrote our Message-ID)."""
    derived = signer.derive(REPLY_TOKEN_PURPOSE, str(ticket_id))[0]
    return reply_address(mailbox_address, reply_token(number, token_signature(derived)))


def message_body(mail: InboundMail, note: str = "") -> str:
    text = mail.new_text.strip() or mail.text.strip() or "(no text)"
    if note:
        return prose_of(f"{text}\n\n{note}", BODY_MAX, _SHORTENED)
    return prose_of(text, BODY_MAX, _SHORTENED)


def other_addresses(mail: InboundMail) -> Iterable[str]:
    seen: dict[str, None] = {}
    for address in (*mail.to, *mail.cc):
        seen.setdefault(address.address, None)
    return seen


def is_helpdesk(tx: Transaction, address: str, mailbox: Mailbox) -> bool:
    """Whether ``address`` is one of the helpdesk's (any mailbox, with or without a tag)."""
    local, _, domain = address.partition("@")
    base = f"{local.partition('+')[0]}@{domain}"
    if base == mailbox.address:
        return True
    return tx.mailboxes.by_address(base) is not None


def account_of(tx: Transaction, address: str) -> Account | None:
    user = tx.users.get_by_email(address)
    if user is None:
        return None
    return Account(user, tx.staff.get(user.id))


def user_of(tx: Transaction, user_id: uuid.UUID) -> User:
    user = tx.users.get(user_id)
    assert user is not None  # a foreign key of the ticket
    return user


def principal_of(account: Account) -> Principal:
    staff = account.staff
    return Principal(
        user_id=account.user.id,
        role=account.role,
        department_id=staff.department_id if staff else None,
        team_id=staff.team_id if staff else None,
    )


def on_ticket(tx: Transaction, ticket: Ticket, account: Account) -> bool:
    """Whether ``account`` is the ticket's requester or one of its participants."""
    if account.user.id == ticket.requester_id:
        return True
    return any(p.address == account.user.email for p in tx.participants.of_ticket(ticket.id))


def reopens_by_mail(ticket: Ticket, mailbox: Mailbox, now: datetime) -> bool:
    """Whether mail may still go onto ``ticket``: not closed, and not resolved longer than
    the mailbox's reopen window ago."""
    if ticket.status is TicketStatus.CLOSED:
        return False
    if ticket.status is TicketStatus.RESOLVED:
        return now - ticket.updated_at <= timedelta(days=mailbox.reopen_days)
    return True


def mail_system(tx: Transaction, new_id: uuid.UUID, now: datetime) -> User:
    """The account the channel's own notes are written by, made when first needed."""
    user = tx.users.get_by_email(MAIL_SYSTEM_EMAIL)
    if user is not None:
        return user
    user = User(
        id=new_id,
        email=MAIL_SYSTEM_EMAIL,
        display_name=MAIL_SYSTEM_NAME,
        password_hash=NO_PASSWORD,
        created_at=now,
        updated_at=now,
        is_active=False,
    )
    tx.users.add(user)
    return user
