"""Sending mail off the request thread: a reply never waits on (or reveals) the SMTP server.

Forgot-password must answer as fast for an unknown address as for a known one; handing the
message to a queue keeps an SMTP round trip out of the response time. The queue is bounded
and in-process: durable delivery (the outbox) belongs to the events capability.
"""

from __future__ import annotations

import logging
import queue
import threading

from helpdesk_core.ports.notifications import Mailer, MailMessage

log = logging.getLogger("helpdesk.mail")


class BackgroundMailer:
    """Queues messages for one daemon thread that hands them to ``inner``."""

    def __init__(self, inner: Mailer, capacity: int = 1000) -> None:
        self._inner = inner
        self._queue: queue.Queue[MailMessage | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, message: MailMessage) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            log.error("mail queue full: dropped a message", extra={"subject": message.subject})

    def _ensure_thread(self) -> None:
        # Started lazily, so a forked gunicorn worker starts its own.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="helpdesk-mail", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                if message is None:
                    return
                self._inner.send(message)
            except Exception:
                log.exception("sending mail failed", extra={"subject": message and message.subject})
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued message was handed on (tests, shutdown); True if done."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Deliver what is queued, then stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
