"""Mailboxes, managed by administrators: the addresses mail is received at, where new mail
goes, and what unknown senders get.

Like calendars, an administrator's concern: every method is for administrators only (under
``/admin`` in the API). A change names the version the caller saw (PreconditionRequired
without, StaleVersion with another); the command is checked first, so a bad one is
ValidationFailed whatever version it names; a command that changes nothing stores nothing.
A mailbox is never deleted, only deactivated: the messages received at it keep their meaning.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.errors import (
    NotFound,
    PreconditionRequired,
    ValidationFailed,
    stale_version,
)
from helpdesk_core.domain.mail import (
    REOPEN_DAYS_DEFAULT,
    InboundEmail,
    InboundStatus,
    Mailbox,
    UnknownSenders,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.signatures import new_secret
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.secretbox import SecretBox
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork


@attrs.frozen
class CreateMailbox:
    name: str
    address: str
    department_id: uuid.UUID | None = None
    unknown_senders: str = UnknownSenders.CREATE.value
    reopen_days: int = REOPEN_DAYS_DEFAULT


@attrs.frozen
class UpdateMailbox:
    """Each part given replaces the stored one; None keeps it. ``department_id`` applies only
    with ``change_department`` (as ``UpdateStaff``'s), so "unroute new mail" (None) differs
    from "keep"."""

    name: str | None = None
    address: str | None = None
    department_id: uuid.UUID | None = None
    unknown_senders: str | None = None
    reopen_days: int | None = None
    active: bool | None = None
    change_department: bool = False


@attrs.frozen
class MailboxSecret:
    """A mailbox with its new inbound secret: the only time the secret is shown."""

    mailbox: Mailbox
    secret: str = attrs.field(repr=False)


@attrs.define
class MailboxService:
    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _box: SecretBox

    def create(self, actor: Principal, command: CreateMailbox) -> Mailbox:
        """A new active mailbox; ValidationFailed names the field (an unknown or inactive
        department is ``department_id``), Conflict a taken name or address."""
        require_admin(actor, "create mailboxes")
        mailbox = Mailbox.create(
            self._ids.new_id(),
            self._clock.now(),
            name=command.name,
            address=command.address,
            department_id=command.department_id,
            unknown_senders=command.unknown_senders,
            reopen_days=command.reopen_days,
        )
        with self._uow.begin() as tx:
            _check_department(tx, mailbox.department_id)
            tx.mailboxes.add(mailbox)
            tx.commit()
        return mailbox

    def list(self, actor: Principal, active: bool | None = None) -> Sequence[Mailbox]:
        """Mailboxes by name; ``active`` filters when not None."""
        require_admin(actor, "list mailboxes")
        with self._uow.begin(read_only=True) as tx:
            return tx.mailboxes.list(active)

    def get(self, actor: Principal, mailbox_id: uuid.UUID) -> Mailbox:
        require_admin(actor, "read mailboxes")
        with self._uow.begin(read_only=True) as tx:
            return _mailbox(tx, mailbox_id)

    def update(
        self,
        actor: Principal,
        mailbox_id: uuid.UUID,
        expected_version: int | None,
        command: UpdateMailbox,
    ) -> Mailbox:
        """The mailbox with the command's parts replaced, one version on."""
        require_admin(actor, "change mailboxes")
        with self._uow.begin() as tx:
            current = _mailbox(tx, mailbox_id)
            parts: dict[str, object] = {
                "name": command.name,
                "address": command.address,
                "unknown_senders": command.unknown_senders,
                "reopen_days": command.reopen_days,
                "active": command.active,
            }
            if command.change_department:
                parts["department_id"] = command.department_id
            updated = current.revised(self._clock.now(), **parts)
            if updated.department_id != current.department_id:
                _check_department(tx, updated.department_id)
            if expected_version is None:
                raise PreconditionRequired("send If-Match with the mailbox's ETag to change it")
            if current.version != expected_version:
                raise stale_version("mailbox", expected_version + 1)
            if _same(updated, current):
                return current
            tx.mailboxes.update(updated)
            tx.commit()
        return updated

    def deactivate(
        self, actor: Principal, mailbox_id: uuid.UUID, expected_version: int | None
    ) -> Mailbox:
        """:meth:`update` with ``active`` False: mail to it is then refused at intake."""
        return self.update(actor, mailbox_id, expected_version, UpdateMailbox(active=False))

    def rotate_inbound_secret(self, actor: Principal, mailbox_id: uuid.UUID) -> MailboxSecret:
        """Give the mailbox a new secret for mail POSTed to ``/api/v1/inbound/email``
        (signed as webhooks are), shown once in the result and stored sealed; the old one
        stops working at once. Until a mailbox has one, nothing can be POSTed to it."""
        require_admin(actor, "change mailboxes")
        secret = new_secret()
        with self._uow.begin() as tx:
            current = _mailbox(tx, mailbox_id)
            updated = attrs.evolve(
                current,
                inbound_secret=self._box.seal(secret),
                updated_at=self._clock.now(),
                version=current.version + 1,
            )
            tx.mailboxes.update(updated)
            tx.commit()
        return MailboxSecret(updated, secret)

    def received(
        self,
        actor: Principal,
        *,
        mailbox_id: uuid.UUID | None = None,
        status: InboundStatus | None = None,
        limit: int = 50,
    ) -> Sequence[InboundEmail]:
        """The latest received messages, newest first (of one mailbox, in one status: the
        held ones are what an administrator reviews); ``limit`` from 1 to 200."""
        require_admin(actor, "read received mail")
        if not 1 <= limit <= RECEIVED_LIMIT_MAX:
            raise ValidationFailed.field("limit", f"must be from 1 to {RECEIVED_LIMIT_MAX}")
        with self._uow.begin(read_only=True) as tx:
            if mailbox_id is not None:
                _mailbox(tx, mailbox_id)
            return tx.inbound_emails.list(mailbox_id=mailbox_id, status=status, limit=limit)


RECEIVED_LIMIT_MAX = 200


def _mailbox(tx: Transaction, mailbox_id: uuid.UUID) -> Mailbox:
    mailbox = tx.mailboxes.get(mailbox_id)
    if mailbox is None:
        raise NotFound("no such mailbox")
    return mailbox


def _check_department(tx: Transaction, department_id: uuid.UUID | None) -> None:
    if department_id is None:
        return
    department = tx.departments.get(department_id)
    if department is None or not department.is_active:
        raise ValidationFailed.field("department_id", "no such department")


def _same(updated: Mailbox, current: Mailbox) -> bool:
    ignored = {"updated_at", "version"}
    return all(
        getattr(updated, f.name) == getattr(current, f.name)
        for f in attrs.fields(Mailbox)
        if f.name not in ignored
    )
