"""Mailers over the standard library: the log, a folder of .eml files, and SMTP."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from email import errors as email_errors
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import normalize_email, one_line
from helpdesk_core.ports.events import Undeliverable
from helpdesk_core.ports.notifications import MailMessage

logger = logging.getLogger("helpdesk.mail")

DEFAULT_SENDER = "helpdesk@localhost"


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    """The RFC 5322 message for ``message``: From, To, Subject, Date, Message-ID, plain text.

    No stored text can break a header: every header value is made one line first
    (``values.one_line``: line breaks, controls and invisible formatting become spaces), so a
    subject holding CR LF or U+2028 cannot end the header or add another. A message that
    still cannot be built raises ``Undeliverable``: no retry would build it either.
    """
    try:
        email = EmailMessage()
        sender = message.sender or sender
        email["From"] = one_line(sender)
        email["To"] = one_line(message.to)
        if message.cc:
            email["Cc"] = ", ".join(one_line(address) for address in message.cc)
        if message.reply_to:
            email["Reply-To"] = one_line(message.reply_to)
        email["Subject"] = one_line(message.subject)
        email["Date"] = formatdate(localtime=False, usegmt=True)
        if message.message_id:
            email["Message-ID"] = f"<{one_line(message.message_id)}>"
        else:
            domain = sender.rpartition("@")[2].strip("<> ") or "localhost"
            email["Message-ID"] = make_msgid(domain=one_line(domain))
        if message.in_reply_to:
            email["In-Reply-To"] = f"<{one_line(message.in_reply_to)}>"
        if message.references:
            email["References"] = " ".join(f"<{one_line(ref)}>" for ref in message.references)
        for name, value in message.headers.items():
            email[one_line(name)] = one_line(value)
        email.set_content(message.body)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=one_line(attachment.filename),
            )
        email.as_bytes()  # what a header or the body cannot encode fails here, not mid-send
    except (ValueError, TypeError, LookupError, email_errors.MessageError) as exc:
        # UnicodeError and the header errors are ValueErrors; MessageError: parse errors
        raise Undeliverable(f"the mail cannot be built: {type(exc).__name__}: {exc}") from exc
    return email


class LogMailer:
    """Writes each message to the ``helpdesk.mail`` log at INFO.

    The embedded default: in development the password-reset link must be readable somewhere,
    so the body is logged. With ``include_body=False`` (production without SMTP, where logs are
    shipped and kept) only recipient and subject are, so no reset token reaches a log.
    """

    def __init__(self, include_body: bool = True) -> None:
        self._include_body = include_body

    def send(self, message: MailMessage) -> None:
        body = message.body if self._include_body else "(body withheld: set HELPDESK_SMTP_URL)"
        logger.info(
            "mail to %s, subject %r:\n%s",
            message.to,
            message.subject,
            body,
            extra={"mail_to": message.to, "mail_subject": message.subject},
        )


class FolderMailer:
    """Writes each message as an .eml file in ``path`` (created on first use)."""

    def __init__(self, path: str | os.PathLike[str], sender: str = DEFAULT_SENDER) -> None:
        self._path = Path(path)
        self._sender = sender

    def send(self, message: MailMessage) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        data = build_email(message, self._sender).as_bytes()
        # Write beside the target, then rename: a reader never sees half a message.
        fd, temporary = tempfile.mkstemp(dir=self._path, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, self._path / f"{uuid.uuid4().hex}.eml")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpMailer:
    """Sends through an SMTP server; one connection per message, errors propagate.

    ``url`` is ``smtp://[user:pass@]host[:port]`` (plain, port 25), ``smtp+starttls://`` (port
    587) or ``smtps://`` (implicit TLS, port 465); credentials are URL-decoded, and a login is
    made only when they are present.
    """

    def __init__(self, url: str, sender: str = DEFAULT_SENDER, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "an SMTP URL looks like smtp://[user:pass@]host[:port] "
                "(or smtp+starttls://, smtps://)"
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else ""
        self._sender = sender
        self._timeout = timeout

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer({self._scheme}://{self._host}:{self._port})"

    def _connect(self) -> smtplib.SMTP:
        if self._scheme == "smtps":
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                timeout=self._timeout,
                context=ssl.create_default_context(),
            )
        client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        if self._scheme == "smtp+starttls":
            try:
                client.starttls(context=ssl.create_default_context())
            except BaseException:
                client.close()
                raise
        return client

    def send(self, message: MailMessage) -> None:
        """Deliver ``message``; raises ``smtplib.SMTPException`` or ``OSError`` on failure,
        ``Undeliverable`` for a recipient that is not one plain mailbox."""
        email = build_email(message, self._sender)
        recipients = [envelope_recipient(a) for a in dict.fromkeys((message.to, *message.cc))]
        envelope_from = message.envelope_from
        with self._connect() as client:
            if self._username is not None:
                client.login(self._username, self._password)
            # The envelope names the addresses themselves, never what smtplib would read out
            # of the To header (it takes a list or a display name apart).
            if envelope_from:
                client.send_message(
                    email, from_addr=envelope_recipient(envelope_from), to_addrs=recipients
                )
            else:
                client.send_message(email, to_addrs=recipients)


def envelope_recipient(address: str) -> str:
    """``address`` when it is one plain mailbox (the rule every address passes at input,
    ``values.normalize_email``); Undeliverable otherwise: one stored before that rule (say
    ``a,b@x.example``) would reach whoever smtplib's parsing makes of it."""
    try:
        normalize_email(address)
    except ValidationFailed:
        raise Undeliverable("the recipient is not one plain e-mail address") from None
    return address.strip()
