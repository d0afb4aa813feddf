"""What received mail becomes (helpdesk_core/usecases/mail/processing.py), on every store."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from helpdesk_core.domain.errors import NotFound, ValidationFailed
from helpdesk_core.domain.mail import InboundStatus, InboundVia, Outcome, UnknownSenders
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import Channel, MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.usecases.mail.mailboxes import UpdateMailbox
from tests.mail.support import SUPPORT, MailDesk, letter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- intake


def test_a_message_is_stored_once_however_often_it_arrives(desk: MailDesk) -> None:
    raw = letter(message_id="once@customer.example")

    first = desk.receive(raw, InboundVia.PIPE)
    again = desk.receive(raw, InboundVia.IMAP)
    processed = desk.process()
    late = desk.receive(raw, InboundVia.HTTP)

    assert (first.duplicate, again.duplicate, late.duplicate) == (False, True, True)
    assert again.email.id == first.email.id == late.email.id
    assert processed == 1
    assert len(desk.all_tickets()) == 1
    assert desk.stored(first.email.id).status is InboundStatus.PROCESSED


def test_a_message_without_message_id_is_known_by_its_bytes(desk: MailDesk) -> None:
    raw = letter(message_id=None)

    first, again = desk.receive(raw), desk.receive(raw)
    other = desk.receive(letter(message_id=None, body="Something else entirely."))

    assert first.email.message_id is None
    assert first.email.dedupe_key.startswith("sha256:")
    assert again.duplicate
    assert again.email.id == first.email.id
    assert not other.duplicate


def test_intake_refuses_empty_oversized_and_unknown(desk: MailDesk) -> None:
    with pytest.raises(ValidationFailed, match="message: is empty"):
        desk.receive(b"  \r\n")
    limit = desk.services.settings.mail_max_bytes
    with pytest.raises(ValidationFailed, match="the limit is"):
        desk.receive(letter(body="x" * (limit + 10)))
    with pytest.raises(NotFound):
        desk.services.mail_intake.receive(uuid.uuid4(), letter(), InboundVia.PIPE)


def test_a_deactivated_mailbox_takes_no_mail(desk: MailDesk) -> None:
    mailbox = desk.mailbox
    desk.services.mailboxes.deactivate(SYSTEM_OPERATOR, mailbox.id, mailbox.version)

    with pytest.raises(NotFound):
        desk.receive(letter())
    with pytest.raises(NotFound):
        desk.services.mail_intake.mailbox("Support")


def test_intake_finds_a_mailbox_by_name_or_address(desk: MailDesk) -> None:
    assert desk.services.mail_intake.mailbox("  support ").id == desk.mailbox.id
    assert desk.services.mail_intake.mailbox("Support@Support.Example.com").id == desk.mailbox.id
    with pytest.raises(NotFound):
        desk.services.mail_intake.mailbox("sales")


# ---------------------------------------------------------------- new tickets


def test_new_mail_opens_a_ticket_of_the_mailbox_department(desk: MailDesk) -> None:
    email = desk.deliver(letter(subject="Re: Fwd: [#99999] Printer offline"))

    assert email.outcome is Outcome.TICKET_CREATED
    ticket = desk.ticket(email.ticket_id)
    assert ticket.source is Channel.EMAIL
    assert ticket.department_id == desk.billing
    assert ticket.subject == "Printer offline"
    assert "printer on floor 3" in ticket.description
    assert desk.email_of(ticket) == "ann@customer.example"
    assert email.sender == "ann@customer.example"
    types = desk.types()
    assert types.count("user.registered") == 1
    assert "ticket.created" in types
    assert "email.received" in types


def test_an_unknown_sender_is_held_when_the_mailbox_holds_them(desk: MailDesk) -> None:
    mailbox = desk.mailbox
    desk.services.mailboxes.update(
        SYSTEM_OPERATOR, mailbox.id, mailbox.version, UpdateMailbox(unknown_senders="hold")
    )

    email = desk.deliver(letter(sender="stranger@elsewhere.example"))

    assert (email.status, email.outcome) == (InboundStatus.HELD, Outcome.UNKNOWN_SENDER)
    assert desk.all_tickets() == []
    assert desk.types()[-1] == "email.ignored"
    assert UnknownSenders.HOLD.value == "hold"


def test_a_known_customer_opens_a_ticket_as_themselves(desk: MailDesk) -> None:
    ann = desk.services.customers.get(SYSTEM_OPERATOR, desk.ann.user_id)

    email = desk.deliver(letter(sender=f"Ann <{ann.email.upper()}>"))

    assert desk.ticket(email.ticket_id).requester_id == desk.ann.user_id
    assert "user.registered" not in desk.types()


def test_staff_do_not_open_tickets_by_mail(desk: MailDesk) -> None:
    with desk.services.uow.begin(read_only=True) as tx:
        address = tx.users.get(desk.agent.user_id).email  # type: ignore[union-attr]

    email = desk.deliver(letter(sender=address))

    assert (email.status, email.outcome) == (InboundStatus.HELD, Outcome.UNKNOWN_SENDER)
    assert "staff" in email.detail


# ---------------------------------------------------------------- threading


def _opened(desk: MailDesk, **changes: object) -> tuple[uuid.UUID, str]:
    """A ticket opened by mail, and the Message-ID of the helpdesk's (pretend) reply."""
    email = desk.deliver(letter(**changes))  # type: ignore[arg-type]
    ticket = desk.ticket(email.ticket_id)
    ours = f"ticket-{ticket.number}.{uuid.uuid4().hex[:8]}@support.example.com"
    desk.record_sent(ours, ticket)
    return ticket.id, ours


def test_a_reply_finds_its_ticket_by_in_reply_to(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)

    email = desk.deliver(letter(subject="Re: The printer", body="Still offline.", in_reply_to=ours))

    assert (email.outcome, email.ticket_id) == (Outcome.REPLY_ADDED, ticket_id)
    last = desk.messages(desk.ticket(ticket_id))[-1]
    assert (last.body, last.source, last.visibility) == (
        "Still offline.",
        Channel.EMAIL,
        MessageVisibility.PUBLIC,
    )
    assert len(desk.all_tickets()) == 1


def test_references_are_tried_newest_first(desk: MailDesk) -> None:
    first_id, first_ours = _opened(desk, subject="First")
    second_id, second_ours = _opened(desk, subject="Second")

    email = desk.deliver(
        letter(references=f"<{first_ours}> <unknown@x.example> <{second_ours}>", in_reply_to=None)
    )

    assert email.ticket_id == second_id != first_id


def test_the_reply_token_wins_when_a_provider_rewrote_our_message_id(desk: MailDesk) -> None:
    ticket_id, _ = _opened(desk)
    address = desk.reply_address(desk.ticket(ticket_id))

    email = desk.deliver(
        letter(to=address, in_reply_to="rewritten-by-provider@outlook.example", subject="Re: hi")
    )

    assert address.startswith("support+t")
    assert address.endswith("@support.example.com")
    assert (email.outcome, email.ticket_id) == (Outcome.REPLY_ADDED, ticket_id)


def test_a_forged_reply_token_finds_nothing(desk: MailDesk) -> None:
    ticket_id, _ = _opened(desk)
    number = desk.ticket(ticket_id).number

    email = desk.deliver(letter(to=f"support+t{number}-000000000000@support.example.com"))

    assert email.outcome is Outcome.TICKET_CREATED
    assert email.ticket_id != ticket_id


def test_the_subject_tag_counts_only_for_the_requester(desk: MailDesk) -> None:
    ticket_id, _ = _opened(desk)
    number = desk.ticket(ticket_id).number

    own = desk.deliver(letter(subject=f"Re: [#{number}] printer", message_id="own@c.example"))
    stranger = desk.deliver(
        letter(sender="mallory@elsewhere.example", subject=f"Re: [#{number}] refund please")
    )

    assert own.ticket_id == ticket_id
    assert stranger.outcome is Outcome.TICKET_CREATED
    assert stranger.ticket_id != ticket_id
    assert desk.ticket(stranger.ticket_id).subject == "refund please"


def test_reply_all_makes_participants_and_never_changes_the_requester(desk: MailDesk) -> None:
    ticket_id, ours = _opened(
        desk, cc="Carol <carol@customer.example>, support@support.example.com"
    )
    ticket = desk.ticket(ticket_id)

    carol = desk.deliver(
        letter(
            sender="Carol <carol@customer.example>",
            to=f"ann@customer.example, {SUPPORT}",
            cc="dave@customer.example",
            in_reply_to=ours,
            body="Same here on floor 4.",
        )
    )

    assert carol.ticket_id == ticket_id
    assert desk.ticket(ticket_id).requester_id == ticket.requester_id
    assert desk.email_of(desk.ticket(ticket_id)) == "ann@customer.example"
    assert desk.participants(ticket) == ["carol@customer.example", "dave@customer.example"]
    assert len(desk.all_tickets()) == 1


def test_a_stranger_in_bcc_answering_becomes_a_participant_not_the_requester(
    desk: MailDesk,
) -> None:
    ticket_id, _ = _opened(desk)
    address = desk.reply_address(desk.ticket(ticket_id))

    desk.deliver(letter(sender="eve@elsewhere.example", to=address, body="I was in Bcc."))

    ticket = desk.ticket(ticket_id)
    assert desk.email_of(ticket) == "ann@customer.example"
    assert desk.participants(ticket) == ["eve@elsewhere.example"]


# ---------------------------------------------------------------- status and reopening


def test_a_reply_reopens_a_resolved_ticket_within_the_window(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)
    desk.set_status(desk.ticket(ticket_id), TicketStatus.RESOLVED)
    desk.clock.current += timedelta(days=13)

    email = desk.deliver(letter(in_reply_to=ours, body="It broke again."))

    assert email.outcome is Outcome.REOPENED
    assert desk.ticket(ticket_id).status is TicketStatus.OPEN


def test_past_the_window_a_reply_opens_a_ticket_that_names_the_old_one(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)
    old = desk.set_status(desk.ticket(ticket_id), TicketStatus.RESOLVED)
    desk.clock.current += timedelta(days=15)

    email = desk.deliver(letter(in_reply_to=ours, body="It broke again."))

    assert email.outcome is Outcome.TICKET_CREATED
    assert desk.ticket(ticket_id).status is TicketStatus.RESOLVED
    follow_up = desk.ticket(email.ticket_id)
    assert follow_up.description.startswith(f"Follow-up to #{old.number}.")


def test_a_closed_ticket_is_never_reopened_by_mail(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)
    desk.set_status(desk.ticket(ticket_id), TicketStatus.CLOSED)

    email = desk.deliver(letter(in_reply_to=ours))

    assert email.outcome is Outcome.TICKET_CREATED
    assert desk.ticket(ticket_id).status is TicketStatus.CLOSED


def test_a_staff_members_mail_on_a_ticket_is_an_internal_note(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)
    with desk.services.uow.begin(read_only=True) as tx:
        address = tx.users.get(desk.lead.user_id).email  # type: ignore[union-attr]

    email = desk.deliver(letter(sender=address, in_reply_to=ours, body="Checking with IT."))

    last = desk.messages(desk.ticket(ticket_id))[-1]
    assert (email.outcome, last.visibility, last.author_id) == (
        Outcome.REPLY_ADDED,
        MessageVisibility.INTERNAL,
        desk.lead.user_id,
    )


# ---------------------------------------------------------------- loops and noise

OUT_OF_OFFICE = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}


def test_an_out_of_office_reply_is_stored_and_changes_nothing(desk: MailDesk) -> None:
    desk.policy_pausing_pending()
    ticket_id, ours = _opened(desk)
    pending = desk.set_status(desk.ticket(ticket_id), TicketStatus.PENDING)
    before = desk.types()

    email = desk.deliver(
        letter(subject="Out of Office: printer", in_reply_to=ours, headers=OUT_OF_OFFICE)
    )

    after = desk.ticket(ticket_id)
    assert (email.outcome, after.status) == (Outcome.AUTOMATIC, TicketStatus.PENDING)
    assert after.sla_paused is True
    assert after.sla_due_at is None
    assert after.sla_paused == pending.sla_paused
    last = desk.messages(after)[-1]
    assert last.automatic is True
    new_types = desk.types()[len(before) :]
    assert "ticket.status_changed" not in new_types
    assert not any(t.startswith("sla.") for t in new_types)


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"List-Id": "<news.example.com>"},
        {"X-Autoreply": "yes"},
        {"Return-Path": "<>"},
    ],
)
def test_automatic_mail_without_a_ticket_opens_none(
    desk: MailDesk, headers: dict[str, str]
) -> None:
    email = desk.deliver(letter(headers=headers))

    assert (email.status, email.outcome) == (InboundStatus.IGNORED, Outcome.AUTOMATIC)
    assert desk.all_tickets() == []


def test_mail_from_a_no_reply_sender_is_automatic(desk: MailDesk) -> None:
    email = desk.deliver(letter(sender="no-reply@shop.example"))

    assert email.outcome is Outcome.AUTOMATIC


def test_the_helpdesks_own_mail_is_dropped(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)

    looped = desk.deliver(letter(headers={"X-Helpdesk-Loop": SUPPORT}))
    echoed = desk.deliver(letter(message_id=f"x{ours}"))
    desk.record_sent("sent-by-us@support.example.com", desk.ticket(ticket_id))
    ours_again = desk.deliver(letter(message_id="sent-by-us@support.example.com"))

    assert looped.outcome is Outcome.LOOP
    assert echoed.outcome is Outcome.TICKET_CREATED  # another id is another message
    assert ours_again.outcome is Outcome.LOOP


def test_a_flood_from_one_sender_is_ignored(desk: MailDesk) -> None:
    limit = desk.services.settings.mail_per_sender_per_hour
    outcomes = [desk.deliver(letter(subject=f"n{i}")).outcome for i in range(limit + 2)]

    assert outcomes[:limit] == [Outcome.TICKET_CREATED] * limit
    assert outcomes[limit:] == [Outcome.FLOOD] * 2
    desk.clock.current += timedelta(hours=1, seconds=1)
    assert desk.deliver(letter()).outcome is Outcome.TICKET_CREATED


# ---------------------------------------------------------------- bounces and failures


def _bounce(to: str, failed: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example\r\nTo: {to}\r\nReturn-Path: <>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B--\r\n"
    ).encode()


def test_a_delivery_report_marks_the_address_and_notes_the_ticket(desk: MailDesk) -> None:
    ticket_id, _ = _opened(desk)
    ticket = desk.ticket(ticket_id)

    email = desk.deliver(_bounce(desk.reply_address(ticket), "ann@customer.example"))

    assert (email.outcome, email.ticket_id) == (Outcome.BOUNCE, ticket_id)
    with desk.services.uow.begin(read_only=True) as tx:
        bounce = tx.mail_threads.bounce_of("ann@customer.example")
    assert bounce is not None
    assert bounce.status == "5.1.1"
    note = desk.messages(desk.ticket(ticket_id))[-1]
    assert note.visibility is MessageVisibility.INTERNAL
    assert note.automatic
    assert "ann@customer.example" in note.body
    assert "5.1.1" in note.body
    assert desk.ticket(ticket_id).status is ticket.status
    assert desk.types()[-1] == "email.bounced"


def test_a_message_that_cannot_be_processed_fails_alone(desk: MailDesk) -> None:
    bad = desk.receive(letter(subject="first"))
    desk.blobs.delete(bad.email.raw_key)  # its bytes lost from the blob store
    good = desk.receive(letter(subject="second"))

    assert desk.process() == 2
    assert desk.stored(bad.email.id).status is InboundStatus.FAILED
    assert desk.stored(good.email.id).outcome is Outcome.TICKET_CREATED


def test_two_workers_at_once_process_each_message_once(desk: MailDesk) -> None:
    for i in range(8):
        desk.receive(letter(subject=f"m{i}"))
    workers = [desk.services.new_worker(f"w{i}") for i in range(2)]
    start = threading.Barrier(2)
    counts: list[int] = []

    def work(index: int) -> None:
        start.wait()
        counts.append(workers[index].process_mail())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 8
    assert sorted(t.subject for t in desk.all_tickets()) == [f"m{i}" for i in range(8)]
    assert desk.types().count("email.received") == 8
    assert desk.process() == 0


def test_changing_a_ticket_keeps_its_source(desk: MailDesk) -> None:
    ticket_id, _ = _opened(desk)

    desk.change(desk.lead, desk.ticket(ticket_id), priority=TicketPriority.HIGH)

    assert desk.ticket(ticket_id).source is Channel.EMAIL


def test_an_out_of_office_reply_to_a_closed_ticket_stays_on_it(desk: MailDesk) -> None:
    ticket_id, ours = _opened(desk)
    closed = desk.set_status(desk.ticket(ticket_id), TicketStatus.CLOSED)
    desk.clock.current += timedelta(days=30)

    email = desk.deliver(letter(in_reply_to=ours, headers=OUT_OF_OFFICE))

    after = desk.ticket(ticket_id)
    assert (email.outcome, email.ticket_id) == (Outcome.AUTOMATIC, ticket_id)
    assert len(desk.all_tickets()) == 1  # no follow-up for a program's answer
    assert (after.status, after.version, after.updated_at) == (
        TicketStatus.CLOSED,
        closed.version,
        closed.updated_at,
    )  # not a change of the ticket: the reopen window does not move either


def test_staff_never_become_participants(desk: MailDesk) -> None:
    with desk.services.uow.begin(read_only=True) as tx:
        lead = tx.users.get(desk.lead.user_id).email  # type: ignore[union-attr]
        agent = tx.users.get(desk.agent.user_id).email  # type: ignore[union-attr]
    ticket_id, ours = _opened(desk, cc=f"{agent}, carol@customer.example")

    desk.deliver(letter(sender=lead, in_reply_to=ours, cc="outsider@elsewhere.example"))

    assert desk.participants(desk.ticket(ticket_id)) == ["carol@customer.example"]


def test_an_idle_worker_looks_for_mail_when_woken_or_after_its_wait(desk: MailDesk) -> None:
    worker = desk.services.new_worker("idle")
    assert worker.process_mail() == 0

    desk.receive(letter(subject="woken"))  # stored by this process: the worker is woken
    assert worker.process_mail() == 1
    assert worker.process_mail() == 0  # idle again

    desk.receive(letter(subject="elsewhere"))
    desk.services.mail_intake._wakeup.take()  # as if another process had stored it
    assert worker.process_mail() == 0  # within the wait: not looked for
    desk.clock.current += timedelta(seconds=1)
    assert worker.process_mail() == 1
