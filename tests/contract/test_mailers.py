"""The mailers: SMTP against a real local server (aiosmtpd), a folder of .eml files, the log."""

from __future__ import annotations

import email
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from adapters.mail.mailers import FolderMailer, LogMailer, SmtpMailer
from adapters.memory.mail import MemoryMailer
from helpdesk_core.ports.notifications import MailMessage

MESSAGE = MailMessage(
    to="ada@example.com",
    subject="Reset your password — helpdesk",
    body="Open http://127.0.0.1:8000/reset?token=abc.def.ghi within the hour.\n",
)
SENDER = "Helpdesk <helpdesk@example.org>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Collector:
    """An aiosmtpd handler keeping each delivered message and the login it came with."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


class Logins:
    """An aiosmtpd authenticator accepting one user, recording every attempt."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = (user.encode(), password.encode())
        self.attempts: list[tuple[bytes, bytes]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == self.expected
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


@pytest.fixture
def smtp_server_with_auth() -> Iterator[tuple[Collector, Logins, int]]:
    collector, logins = Collector(), Logins("mailer@example.org", "p@ss:w/rd")
    port = free_port()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=port,
        authenticator=logins,
        auth_require_tls=False,
    )
    controller.start()
    yield collector, logins, port
    controller.stop()


# ------------------------------------------------------------------ SMTP


def test_smtp_delivers_a_plain_message_without_auth(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    SmtpMailer(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=5).send(MESSAGE)

    assert len(collector.messages) == 1
    received = collector.messages[0]
    assert received["To"] == "ada@example.com"
    assert received["From"] == SENDER
    assert received["Subject"] == "Reset your password — helpdesk"
    assert received["Date"]
    assert received["Message-ID"].endswith("@example.org>")
    assert received.get_content_type() == "text/plain"
    assert received.get_content().replace("\r\n", "\n") == MESSAGE.body
    assert collector.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert collector.envelopes[0].mail_from == "helpdesk@example.org"


def test_smtp_logs_in_with_the_url_decoded_credentials(
    smtp_server_with_auth: tuple[Collector, Logins, int],
) -> None:
    collector, logins, port = smtp_server_with_auth
    url = f"smtp://mailer%40example.org:p%40ss%3Aw%2Frd@127.0.0.1:{port}"
    SmtpMailer(url, sender=SENDER, timeout=5).send(MESSAGE)
    assert logins.attempts == [(b"mailer@example.org", b"p@ss:w/rd")]
    assert len(collector.messages) == 1


def test_smtp_refused_credentials_raise(
    smtp_server_with_auth: tuple[Collector, Logins, int],
) -> None:
    collector, _logins, port = smtp_server_with_auth
    mailer = SmtpMailer(f"smtp://mailer%40example.org:wrong@127.0.0.1:{port}", timeout=5)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        mailer.send(MESSAGE)
    assert collector.messages == []


def test_starttls_is_never_skipped(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server  # a server that offers no STARTTLS
    with pytest.raises(smtplib.SMTPNotSupportedError):
        SmtpMailer(f"smtp+starttls://127.0.0.1:{port}", timeout=5).send(MESSAGE)
    assert collector.messages == []


def test_smtps_speaks_tls_from_the_first_byte(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server  # a plain-text server: the TLS handshake fails
    with pytest.raises((ssl.SSLError, OSError)):
        SmtpMailer(f"smtps://127.0.0.1:{port}", timeout=2).send(MESSAGE)
    assert collector.messages == []


def test_a_dead_port_raises_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(ConnectionRefusedError):
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=1).send(MESSAGE)
    assert time.perf_counter() - started < 1.5


def test_a_silent_server_raises_within_the_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never says hello
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(OSError, match="timed out"):  # smtplib wraps the socket timeout
            SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=0.5).send(MESSAGE)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "url", ["http://mail.example.org", "smtp://", "smtp:///nohost", "mail.example.org:25"]
)
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpMailer(url)


def test_the_password_never_shows_in_the_repr() -> None:
    assert "secret" not in repr(SmtpMailer("smtps://user:secret@mail.example.org"))
    assert "465" in repr(SmtpMailer("smtps://user:secret@mail.example.org"))
    assert "587" in repr(SmtpMailer("smtp+starttls://mail.example.org"))
    assert "25" in repr(SmtpMailer("smtp://mail.example.org"))


def test_a_header_injection_is_refused(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    evil = MailMessage(to="ada@example.com", subject="hi\r\nBcc: eve@example.com", body="x")
    with pytest.raises(ValueError, match="linefeed"):
        SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5).send(evil)
    assert collector.messages == []


# ------------------------------------------------------------------ folder, log, memory


def test_the_folder_mailer_writes_a_readable_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "mail" / "outbox"
    mailer = FolderMailer(outbox, sender=SENDER)
    mailer.send(MESSAGE)
    mailer.send(MailMessage(to="bob@example.com", subject="Second", body="two"))

    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary files left behind
    parsed = [email.message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]
    first = next(m for m in parsed if m["To"] == "ada@example.com")
    assert first["Subject"] == MESSAGE.subject
    assert first["From"] == SENDER
    assert first.get_content() == MESSAGE.body


def test_the_log_mailer_logs_recipient_subject_and_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdesk.mail"):
        LogMailer().send(MESSAGE)
    [record] = [r for r in caplog.records if r.name == "helpdesk.mail"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "ada@example.com" in text
    assert MESSAGE.subject in text
    assert "reset?token=abc.def.ghi" in text


def test_the_memory_mailer_keeps_what_it_sends() -> None:
    mailer = MemoryMailer()
    mailer.send(MESSAGE)
    assert mailer.sent == [MESSAGE]
    mailer.fail_with = OSError("mail server down")
    with pytest.raises(OSError, match="down"):
        mailer.send(MESSAGE)
    assert mailer.sent == [MESSAGE]
