"""A mailbox's IMAP settings, managed by administrators: where the worker fetches its mail.

The password is sealed (``ImapPasswordBox``, a purpose of its own) before any store sees it,
and nothing returns it: the entity holds it sealed and its document leaves it out. Settings
are replaced whole by ``set``, except the password, which is kept when none is given (so a
folder can be changed without typing it again; the first settings of a mailbox need one).

Settings that name another folder of another account (host, port, user name or folder) start
the poll state over: the old UIDs mean nothing there. Any change clears the last error and
makes the mailbox due at once, so the next pass of a worker tries the new settings.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from helpdesk_core.domain.errors import NotFound, ValidationFailed
from helpdesk_core.domain.mail_fetch import (
    FOLDER_DEFAULT,
    ImapSecurity,
    MailboxImap,
    checked_settings,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.mail_fetch import ImapPasswordBox
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import Transaction, UnitOfWork


@attrs.frozen
class SetMailboxImap:
    """The settings, whole. ``port`` None: 993 for ``tls``, 143 otherwise. ``password``
    None keeps the stored one."""

    host: str
    username: str
    password: str | None = attrs.field(default=None, repr=False)
    port: int | None = None
    security: str = ImapSecurity.TLS.value
    folder: str = FOLDER_DEFAULT
    move_to: str | None = None


@attrs.define
class MailboxImapService:
    _uow: UnitOfWork
    _clock: Clock
    _passwords: ImapPasswordBox

    def get(self, actor: Principal, mailbox_id: uuid.UUID) -> MailboxImap:
        """The mailbox's settings and poll state; NotFound when the mailbox does not exist
        or has no IMAP settings."""
        require_admin(actor, "read mailboxes")
        with self._uow.begin(read_only=True) as tx:
            _mailbox(tx, mailbox_id)
            config = tx.mail_fetch.get(mailbox_id)
        if config is None:
            raise NotFound("the mailbox has no IMAP settings")
        return config

    def set(self, actor: Principal, mailbox_id: uuid.UUID, command: SetMailboxImap) -> MailboxImap:
        """Store the settings (ValidationFailed names every offending field, ``password``
        when the mailbox has none yet); a command that changes nothing stores nothing."""
        require_admin(actor, "change mailboxes")
        settings = checked_settings(
            host=command.host,
            port=command.port,
            security=command.security,
            username=command.username,
            password=command.password,
            folder=command.folder,
            move_to=command.move_to,
        )
        sealed = None if settings.password is None else self._passwords.seal(settings.password)
        now = self._clock.now()
        with self._uow.begin() as tx:
            _mailbox(tx, mailbox_id)
            current = tx.mail_fetch.get(mailbox_id, for_update=True)
            parts: dict[str, Any] = {
                "host": settings.host,
                "port": settings.port,
                "security": settings.security,
                "username": settings.username,
                "folder": settings.folder,
                "move_to": settings.move_to,
            }
            if current is None:
                if sealed is None:
                    raise ValidationFailed.field(
                        "password", "is required: the mailbox has none yet"
                    )
                config = MailboxImap(
                    mailbox_id=mailbox_id,
                    password=sealed,
                    created_at=now,
                    updated_at=now,
                    **parts,
                )
            else:
                unchanged = all(getattr(current, name) == value for name, value in parts.items())
                if unchanged and sealed is None:
                    return current
                revised = attrs.evolve(current, **parts)
                config = attrs.evolve(
                    revised,
                    password=current.password if sealed is None else sealed,
                    updated_at=now,
                    version=current.version + 1,
                    polled_at=None,
                    last_error=None,
                )
                if not revised.names_same_folder(current):
                    config = attrs.evolve(config, uidvalidity=None, last_uid=0)
            tx.mail_fetch.put(config)
            tx.commit()
        return config

    def clear(self, actor: Principal, mailbox_id: uuid.UUID) -> bool:
        """Forget the mailbox's IMAP settings (its mail is no longer fetched); whether it had
        any. NotFound when the mailbox does not exist."""
        require_admin(actor, "change mailboxes")
        with self._uow.begin() as tx:
            _mailbox(tx, mailbox_id)
            cleared = tx.mail_fetch.delete(mailbox_id)
            tx.commit()
        return cleared


def _mailbox(tx: Transaction, mailbox_id: uuid.UUID) -> None:
    if tx.mailboxes.get(mailbox_id) is None:
        raise NotFound("no such mailbox")
