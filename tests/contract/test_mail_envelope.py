"""The SMTP envelope names the one recipient, never what smtplib reads out of the To header.

Issue 20, finding 6: ``a,b@cust.example.com`` and ``<x>@cust.example.com`` registered, and
their mail went to the envelope recipients ``a``, ``b@cust.example.com`` and ``x``: smtplib's
``send_message`` takes the To header apart when no recipients are given. Addresses are now
refused at input (``values.normalize_email``, tests/unit/test_email_addresses.py); an address
stored before that is refused by the mailer (``Undeliverable``: the event fails that mail at
once) rather than sent to whoever smtplib's parsing makes of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from adapters.mail.mailers import SmtpMailer
from helpdesk_core.ports.events import Undeliverable
from helpdesk_core.ports.notifications import MailMessage
from tests.contract.test_mailers import Collector, free_port


@pytest.fixture
def server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


@pytest.mark.parametrize(
    "stored",
    ["a,b@cust.example.com", "<x>@cust.example.com", "Eve <eve@evil.example>, ann@example.com"],
)
def test_a_stored_address_that_is_no_mailbox_reaches_nobody(
    server: tuple[Collector, int], stored: str
) -> None:
    collector, port = server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5)
    with pytest.raises(Undeliverable):  # the worker fails that mail at once, no retry
        mailer.send(MailMessage(to=stored, subject="Reset your password", body="x"))
    assert [e.rcpt_tos for e in collector.envelopes] == []  # before: ["a"], ["x"], ["eve@..."]


def test_a_valid_address_is_the_envelope_recipient(server: tuple[Collector, int]) -> None:
    collector, port = server
    SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5).send(
        MailMessage(to="o'brien+tag@mail.example.com", subject="Hello", body="x")
    )
    assert [e.rcpt_tos for e in collector.envelopes] == [["o'brien+tag@mail.example.com"]]
