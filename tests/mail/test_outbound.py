"""Staff replies by mail (usecases/mail/outbound.py) through a real SMTP server the test runs,
answered by the test, back onto the same ticket: on every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from adapters.mail.mailers import SmtpMailer
from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.mail import InboundStatus, Outcome
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketStatus
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.tickets import PostMessage
from tests.conftest import make_settings
from tests.contract.test_mailers import Collector, free_port
from tests.mail.support import SUPPORT, MailDesk, letter
from tests.support.clock import SettableClock


@pytest.fixture
def smtp() -> Iterator[Collector]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    collector.port = controller.port  # type: ignore[attr-defined]
    yield collector
    controller.stop()


@pytest.fixture
def desk(backend_url: str, smtp: Collector) -> Iterator[MailDesk]:
    """A desk whose mail goes to the test's SMTP server."""
    mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp.port}", "helpdesk@support.example.com")  # type: ignore[attr-defined]
    services = bootstrap(
        make_settings(database_url=backend_url), {Clock: SettableClock(), Mailer: mailer}
    )
    desk = MailDesk.build(services, services.clock)  # type: ignore[arg-type]
    desk.setup_mailbox()
    desk.listen()
    desk.types()
    desk.seen.clear()
    yield desk
    services.close()


def _bare(header: object) -> str:
    """A one-id header's id (a long one comes folded: its value starts with a space)."""
    return str(header).strip().strip("<>")


def _mailed(desk: MailDesk, smtp: Collector) -> EmailMessage:
    desk.types()  # the worker hands the events out: the reply's mail is sent
    assert len(smtp.messages) == 1, [m["Subject"] for m in smtp.messages]
    return smtp.messages.pop()


def test_a_staff_reply_threads_in_the_customers_mailbox_and_the_answer_comes_back(
    desk: MailDesk, smtp: Collector
) -> None:
    first = desk.deliver(
        letter(
            message_id="first@customer.example",
            cc="Carol <carol@customer.example>",
            subject="Printer offline",
        )
    )
    ticket = desk.ticket(first.ticket_id)

    desk.tickets.post_message(desk.lead, ticket.id, PostMessage("Please restart it."))
    sent = _mailed(desk, smtp)

    ours = _bare(sent["Message-ID"])
    message = desk.conversation(desk.lead, ticket)[-1]
    assert sent["To"] == "ann@customer.example"
    assert sent["Cc"] == "carol@customer.example"
    assert sent["From"] == f"Support <{SUPPORT}>"
    assert sent["Subject"] == f"Re: [#{ticket.number}] Printer offline"
    assert sent["In-Reply-To"] == "<first@customer.example>"
    assert sent["References"] == "<first@customer.example>"
    assert ours == f"ticket-{ticket.number}.{message.id}@support.example.com"
    reply_to = sent["Reply-To"]
    assert reply_to == desk.reply_address(ticket)
    assert sent["X-Helpdesk-Loop"] == SUPPORT
    assert sent["Auto-Submitted"] is None  # a person wrote it
    assert "Please restart it." in sent.get_content()
    envelope = smtp.envelopes[-1]
    assert envelope.mail_from == reply_to  # bounces come back with the token
    assert sorted(envelope.rcpt_tos) == ["ann@customer.example", "carol@customer.example"]

    answer = desk.deliver(
        letter(
            to=reply_to,
            subject=f"Re: {sent['Subject']}",
            in_reply_to=ours,
            references=f"<first@customer.example> <{ours}>",
            body=(
                "Restarted, it works. Thanks!\n\nOn Mon, 7 Dec 2026 at 10:00, Support"
                f" <{SUPPORT}> wrote:\n> Please restart it.\n"
            ),
        )
    )

    assert (answer.outcome, answer.ticket_id) == (Outcome.REPLY_ADDED, ticket.id)
    last = desk.conversation(desk.lead, ticket)[-1]
    assert last.body == "Restarted, it works. Thanks!"
    assert len(desk.all_tickets()) == 1


def test_the_next_reply_names_the_whole_thread(desk: MailDesk, smtp: Collector) -> None:
    first = desk.deliver(letter(message_id="m1@customer.example"))
    ticket = desk.ticket(first.ticket_id)
    desk.clock.current += timedelta(minutes=1)
    desk.tickets.post_message(desk.agent, ticket.id, PostMessage("One."))
    one = _mailed(desk, smtp)
    desk.clock.current += timedelta(minutes=1)
    desk.deliver(letter(message_id="m2@customer.example", in_reply_to=_bare(one["Message-ID"])))

    desk.clock.current += timedelta(minutes=1)
    desk.tickets.post_message(desk.agent, ticket.id, PostMessage("Two."))
    two = _mailed(desk, smtp)

    assert two["In-Reply-To"] == "<m2@customer.example>"
    references = str(two["References"]).split()
    assert references == [
        "<m1@customer.example>",
        f"<{_bare(one['Message-ID'])}>",
        "<m2@customer.example>",
    ]


def test_notes_customers_and_automatic_messages_are_never_mailed(
    desk: MailDesk, smtp: Collector
) -> None:
    first = desk.deliver(letter())
    ticket = desk.ticket(first.ticket_id)

    desk.tickets.post_message(
        desk.lead, ticket.id, PostMessage("internal", MessageVisibility.INTERNAL)
    )
    desk.deliver(letter(in_reply_to=None, subject=f"[#{ticket.number}] more"))
    desk.deliver(
        letter(subject=f"[#{ticket.number}] away", headers={"Auto-Submitted": "auto-replied"})
    )
    desk.types()

    assert smtp.messages == []
    assert desk.current(ticket).status is TicketStatus.NEW


def test_without_a_mailbox_a_reply_comes_from_the_configured_sender(
    desk: MailDesk, smtp: Collector
) -> None:
    ticket = desk.open(desk.ann, subject="Web ticket")
    mailbox = desk.mailbox
    desk.services.mailboxes.deactivate(SYSTEM_OPERATOR, mailbox.id, mailbox.version)

    desk.tickets.post_message(desk.lead, ticket.id, PostMessage("Hello from the web."))
    sent = _mailed(desk, smtp)

    assert sent["From"] == "helpdesk@support.example.com"
    assert sent["Reply-To"] is None
    assert "mail to this address is not read" in sent.get_content()


def test_automatic_mail_says_so_and_is_dropped_when_it_comes_back(
    desk: MailDesk, smtp: Collector
) -> None:
    ticket = desk.ticket(desk.deliver(letter()).ticket_id)

    desk.set_status(ticket, TicketStatus.PENDING)
    sent = _mailed(desk, smtp)
    back = desk.deliver(sent.as_bytes())

    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Helpdesk-Loop"] == "notification"
    assert (back.status, back.outcome) == (InboundStatus.IGNORED, Outcome.LOOP)
