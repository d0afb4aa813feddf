"""Outgoing messages to people."""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class MailMessage:
    """A plain-text e-mail."""

    to: str
    subject: str
    body: str = attrs.field(repr=False)


class Mailer(Protocol):
    """Sends e-mail (SMTP in production, a log or folder in the embedded default)."""

    def send(self, message: MailMessage) -> None:
        """Deliver ``message`` or raise: ``Undeliverable`` (``ports.events``) when it can
        never be sent as it is, anything else when a later try may succeed."""
        ...
