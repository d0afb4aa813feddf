"""Fetching a mailbox's mail from an IMAP server: the settings, and where the poller stands.

A mailbox's IMAP settings are an entity of their own (:class:`MailboxImap`), not fields of
:class:`~helpdesk_core.domain.mail.Mailbox`: most mailboxes receive through an MTA's pipe or a
provider's POST and have none, the password is a secret kept sealed (the ``SecretBox``), and
the poll state (UIDVALIDITY, the last UID taken, the last error) changes at every poll while
the mailbox itself changes when an administrator edits it.

What the poller remembers is IMAP's own identity of a message: the folder's UIDVALIDITY and
the highest UID whose message the helpdesk stored (RFC 3501 2.3.1.1: UIDs only grow within one
UIDVALIDITY; a new UIDVALIDITY means every UID may now name another message, so the folder is
read from the start again and intake's dedupe key recognizes what was stored already).
"""

from __future__ import annotations

import enum
import ipaddress
import uuid
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.values import clean_text, line_problem

IMAP_TLS_PORT = 993
IMAP_PORT = 143
HOST_MAX = 253
USERNAME_MAX = 320
PASSWORD_MAX = 1000
FOLDER_MAX = 200
FOLDER_DEFAULT = "INBOX"
LAST_ERROR_MAX = 500


class ImapSecurity(enum.StrEnum):
    """How the connection is protected: IMAP over TLS (port 993), a plain connection upgraded
    by STARTTLS (143), or none at all (the password crosses the network readable: for a
    server on the same host or a network the operator trusts)."""

    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


def default_port(security: ImapSecurity) -> int:
    return IMAP_TLS_PORT if security == ImapSecurity.TLS else IMAP_PORT


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware")


@attrs.frozen
class MailboxImap:
    """Where the worker fetches a mailbox's mail, and how far it got.

    ``password`` is sealed (``SecretBox.seal``): only the poller opens it, and no document
    shows it. ``move_to`` None marks a fetched message ``\\Seen`` and leaves it in ``folder``;
    a folder name moves it there. The poll state: ``uidvalidity`` of ``folder`` when it was
    last read (None: never), ``last_uid`` the highest UID taken (stored, or skipped as
    unreceivable), ``polled_at`` when the last poll began, ``last_error`` what made the last
    poll fail (None: it did not). ``version`` grows with every change of the settings, never
    with the poll state: a poll that began before a change records nothing of the old
    settings over the new ones.
    """

    mailbox_id: uuid.UUID
    host: str
    port: int
    security: ImapSecurity
    username: str
    password: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    folder: str = FOLDER_DEFAULT
    move_to: str | None = None
    uidvalidity: int | None = None
    last_uid: int = 0
    polled_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_error: str | None = None
    version: int = 1

    def names_same_folder(self, other: MailboxImap) -> bool:
        """Whether ``other`` reads the same folder of the same account (then what was read
        is still read; else the poll state starts over)."""
        return (self.host, self.port, self.username, self.folder) == (
            other.host,
            other.port,
            other.username,
            other.folder,
        )


@attrs.frozen
class ImapSettings:
    """Checked settings, as an administrator gives them (the password in plaintext, before
    it is sealed)."""

    host: str
    port: int
    security: ImapSecurity
    username: str
    password: str | None = attrs.field(repr=False)
    folder: str
    move_to: str | None


def checked_settings(
    *,
    host: Any,
    port: Any,
    security: Any,
    username: Any,
    password: Any,
    folder: Any,
    move_to: Any,
) -> ImapSettings:
    """The settings, checked; ValidationFailed names every offending field. ``port`` None is
    the port of ``security``; ``password`` None keeps the stored one (the caller checks there
    is one)."""
    errors: list[FieldError] = []

    def check(field: str, rule: Any, value: Any) -> Any:
        try:
            return rule(value)
        except ValidationFailed as failure:
            errors.extend(failure.errors or (FieldError(field, failure.detail),))
            return None

    checked_security = check("security", _security, security)
    checked_host = check("host", _host, host)
    checked_port: Any = None if port is None else check("port", _port, port)
    if port is None and checked_security is not None:
        checked_port = default_port(checked_security)
    if (
        checked_security == ImapSecurity.STARTTLS
        and checked_port == IMAP_TLS_PORT
        and not any(e.field == "port" for e in errors)
    ):
        errors.append(FieldError("port", "993 is IMAP over TLS: use security 'tls' with it"))
    checked_username = check("username", lambda v: _text(v, "username", USERNAME_MAX), username)
    checked_password = None if password is None else check("password", _password, password)
    checked_folder = check("folder", lambda v: _folder(v, "folder"), folder)
    checked_move_to = None if move_to is None else check("move_to", _move_to, move_to)
    if (
        checked_folder is not None
        and checked_move_to is not None
        and checked_folder.casefold() == checked_move_to.casefold()
    ):
        errors.append(FieldError("move_to", "must be another folder than folder"))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors))
    return ImapSettings(
        host=checked_host,
        port=checked_port,
        security=checked_security,
        username=checked_username,
        password=checked_password,
        folder=checked_folder,
        move_to=checked_move_to,
    )


def _security(value: Any) -> ImapSecurity:
    try:
        return ImapSecurity(value)
    except ValueError:
        raise ValidationFailed.field("security", "must be 'tls', 'starttls' or 'none'") from None


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationFailed.field("port", "must be a whole number from 1 to 65535")
    return value


_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _host(value: Any) -> str:
    """A host name (IDNA-encoded, lower case) or an IP address (an IPv6 one without
    brackets)."""
    problem = "must be a host name or an IP address"
    if not isinstance(value, str):
        raise ValidationFailed.field("host", problem)
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise ValidationFailed.field("host", problem) from None
    labels = ascii_host.split(".")
    if not 0 < len(ascii_host) <= HOST_MAX or any(
        not 0 < len(label) <= 63
        or not set(label) <= _LABEL_CHARACTERS
        or label.startswith("-")
        or label.endswith("-")
        for label in labels
    ):
        raise ValidationFailed.field("host", problem)
    return ascii_host


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be text")
    return clean_text(value, field, max_length=max_length)


def _password(value: Any) -> str:
    """Any text of one line, as it is (white space is part of a password)."""
    if not isinstance(value, str) or not value:
        raise ValidationFailed.field("password", "must not be empty")
    if len(value) > PASSWORD_MAX:
        raise ValidationFailed.field("password", f"must be at most {PASSWORD_MAX} characters")
    # IMAP sends it in a quoted string: no line breaks, no NUL, no control characters.
    problem = line_problem(value)
    if problem is not None:
        raise ValidationFailed.field("password", problem)
    return value


def _folder(value: Any, field: str) -> str:
    """A folder name: one line of text, without IMAP's LIST wildcards (``*``, ``%``)."""
    folder = _text(value, field, FOLDER_MAX)
    if "*" in folder or "%" in folder:
        raise ValidationFailed.field(field, "must not contain '*' or '%'")
    return "INBOX" if folder.casefold() == "inbox" else folder


def _move_to(value: Any) -> str:
    return _folder(value, "move_to")


def error_text(message: str, *secrets: str) -> str:
    """``message`` as it may be stored and shown as a poll's ``last_error``: one line, at most
    :data:`LAST_ERROR_MAX` characters, with each of ``secrets`` (the password) masked should a
    server or a library ever repeat it."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    return (flat or "failed")[:LAST_ERROR_MAX]
