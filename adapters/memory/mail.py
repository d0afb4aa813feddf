"""A mailer that keeps what it was asked to send, for tests and demos."""

from __future__ import annotations

import threading

from helpdesk_core.ports.notifications import MailMessage


class MemoryMailer:
    """Keeps every message in ``sent``; ``fail_with`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def send(self, message: MailMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.sent.append(message)
