"""The mailers: SMTP against a real local server (aiosmtpd), a folder of .eml files, the log."""

from __future__ import annotations

import base64
import email
import logging
import smtplib
import socket
import ssl
import time
import traceback
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from adapters.mail.mailers import FolderMailer, LogMailer, SmtpMailer
from adapters.memory.mail import MemoryMailer
from helpdesk_core.ports.events import Undeliverable
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


@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\u2028", "\u2029", "\x85", "\x0b"])
def test_a_line_break_in_a_subject_cannot_add_a_header_or_a_recipient(
    smtp_server: tuple[Collector, int], brk: str
) -> None:
    """Issue 20, finding 3: a subject stored with a line break (before subjects had to be one
    line) used to fail its mail ("Header values may not contain linefeed") at every retry;
    it is made one line, so the mail goes, to its one recipient, with no header added."""
    collector, port = smtp_server
    evil = MailMessage(to="ada@example.com", subject=f"hi{brk}Bcc: eve@example.com", body="x")
    SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5).send(evil)
    (received,) = collector.messages
    assert received["Subject"] == "hi Bcc: eve@example.com"
    assert received["Bcc"] is None
    assert collector.envelopes[0].rcpt_tos == ["ada@example.com"]


def test_a_mail_that_cannot_be_built_is_undeliverable_and_never_sent(
    smtp_server: tuple[Collector, int], tmp_path: Path
) -> None:
    """No retry builds it either: Undeliverable, so the worker fails it at once."""
    collector, port = smtp_server
    broken = MailMessage(to="ada@example.com", subject="hi", body="half \udce9 a character")
    for mailer in (SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5), FolderMailer(tmp_path)):
        with pytest.raises(Undeliverable, match="cannot be built"):
            mailer.send(broken)
    assert collector.messages == []
    assert list(tmp_path.iterdir()) == []


def rendered(exc: BaseException) -> str:
    """Everything an operator could see of an exception: message, repr, args, traceback."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


def password_forms(password: str) -> list[str]:
    """The password as it may travel: plain, URL-encoded, base64 (AUTH LOGIN, AUTH PLAIN)."""
    return [
        password,
        quote(password, safe=""),
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(b"\0mailer@example.org\0" + password.encode()).decode(),
    ]


def test_a_refused_login_never_shows_the_password(
    smtp_server_with_auth: tuple[Collector, Logins, int],
) -> None:
    collector, logins, port = smtp_server_with_auth
    password = "Wr0ng-s3cret!"
    url = f"smtp://mailer%40example.org:{quote(password, safe='')}@127.0.0.1:{port}"
    with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
        SmtpMailer(url, timeout=5).send(MESSAGE)
    assert raised.value.smtp_code == 535  # the server's refusal, as the server said it
    assert logins.attempts  # it did try, with the password
    text = rendered(raised.value)
    for form in password_forms(password):
        assert form not in text
    assert collector.messages == []


def test_credentials_for_a_server_without_auth_are_not_ignored(
    smtp_server: tuple[Collector, int],
) -> None:
    collector, port = smtp_server  # offers no AUTH: sending anonymously would hide a mistake
    mailer = SmtpMailer(f"smtp://mailer:hunter2@127.0.0.1:{port}", timeout=5)
    with pytest.raises(smtplib.SMTPNotSupportedError, match="AUTH") as raised:
        mailer.send(MESSAGE)
    assert "hunter2" not in rendered(raised.value)
    assert collector.messages == []


def test_unreachable_servers_never_show_the_password(
    smtp_server: tuple[Collector, int],
) -> None:
    _collector, port = smtp_server
    password = "hunter2-Secret"
    failures: list[BaseException] = []
    with socket.socket() as silent:  # accepts connections, never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        cases: list[tuple[str, float, type[BaseException], str]] = [
            (f"smtp://{free_port()}", 1.0, ConnectionRefusedError, "refused"),  # nobody listens
            (f"smtp://{silent.getsockname()[1]}", 0.5, smtplib.SMTPServerDisconnected, "timed out"),
            (f"smtp+starttls://{port}", 5.0, smtplib.SMTPNotSupportedError, "STARTTLS"),
            (f"smtps://{port}", 2.0, ssl.SSLError, "SSL"),  # a plain server: no TLS at all
        ]
        for spec, timeout, kind, words in cases:
            scheme, _, where = spec.partition("://")
            url = f"{scheme}://mailer:{password}@127.0.0.1:{where}"
            with pytest.raises(kind, match=words) as raised:
                SmtpMailer(url, timeout=timeout).send(MESSAGE)
            failures.append(raised.value)
    for failure in failures:
        for form in password_forms(password):
            assert form not in rendered(failure)


def test_a_malformed_url_never_shows_the_password() -> None:
    for url in ["smtp://user:hunter2@mail.example.org:notaport", "http://user:hunter2@x"]:
        with pytest.raises(ValueError, match=r"[Pp]ort|smtp://") as raised:
            SmtpMailer(url).send(MESSAGE)
        assert "hunter2" not in rendered(raised.value)


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
