"""Outgoing messages to people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from helpdesk_core.domain.mail import MailAttachment


@attrs.frozen
class MailMessage:
    """A plain-text e-mail, and what threads it in the recipient's mail program.

    Only ``to``, ``subject`` and ``body`` are needed. ``sender`` is the From (None: the
    mailer's configured sender); ``message_id`` is ours without angle brackets (None: the
    mailer makes one); ``in_reply_to`` and ``references`` name the thread; ``envelope_from``
    is the Return-Path, where bounces go (None: the sender); ``headers`` are added as given
    (``Auto-Submitted``, the loop header)."""

    to: str
    subject: str
    body: str = attrs.field(repr=False)
    cc: tuple[str, ...] = ()
    sender: str | None = None
    reply_to: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    envelope_from: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    attachments: tuple[MailAttachment, ...] = ()


class Mailer(Protocol):
    """Sends e-mail (SMTP in production, a log or folder in the embedded default)."""

    def send(self, message: MailMessage) -> None:
        """Deliver ``message`` or raise: ``Undeliverable`` (``ports.events``) when it can
        never be sent as it is, anything else when a later try may succeed."""
        ...
