"""Received messages, on every store: memory, SQLite, PostgreSQL.

A message is stored once per ``dedupe_key`` (adding it again answers the stored one, also from
two PostgreSQL connections at once), claimed oldest first while pending (two PostgreSQL
transactions claim disjoint messages), updated with what processing made of it, listed newest
first and counted per sender and per ticket for the flood limits.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters.sql.uow import SqlUnitOfWork
from helpdesk_core.domain.errors import Conflict, NotFound
from helpdesk_core.domain.mail import (
    InboundEmail,
    InboundStatus,
    InboundVia,
    Mailbox,
    Outcome,
    dedupe_key,
)
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_mail_repositories import Statements, add_mailboxes, make_mailbox
from tests.contract.test_mail_repositories import statements as statements
from tests.contract.test_ticket_repositories import PLUS_TWO, T0, Org, open_ticket

org = repositories.org  # the ticket contract's organization (tickets need a requester)

SECOND = timedelta(seconds=1)
ON_POSTGRES = pytest.mark.parametrize(
    "backend_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@attrs.frozen
class Boxes:
    help: Mailbox
    sales: Mailbox


@pytest.fixture
def boxes(uow: UnitOfWork) -> Boxes:
    made = Boxes(make_mailbox("Help", "help@example.com"), make_mailbox("Sales"))
    add_mailboxes(uow, made.help, made.sales)
    return made


def make_email(mailbox: Mailbox, received_at: datetime = T0, **changes: Any) -> InboundEmail:
    message_id = changes.pop("message_id", f"{uuid.uuid4().hex}@mail.example.com")
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "mailbox_id": mailbox.id,
        "dedupe_key": dedupe_key(message_id, b""),
        "message_id": message_id,
        "raw_key": uuid.uuid4().hex * 2,
        "size": 1234,
        "via": InboundVia.PIPE,
        "received_at": received_at,
    }
    values.update(changes)
    return InboundEmail(**values)


def add_emails(uow: UnitOfWork, *emails: InboundEmail) -> list[InboundEmail]:
    with uow.begin() as tx:
        answered = [tx.inbound_emails.add(email) for email in emails]
        tx.commit()
    return answered


def stored(uow: UnitOfWork, email_id: uuid.UUID) -> InboundEmail | None:
    with uow.begin(read_only=True) as tx:
        return tx.inbound_emails.get(email_id)


def listed(uow: UnitOfWork, **query: Any) -> list[InboundEmail]:
    with uow.begin(read_only=True) as tx:
        return list(tx.inbound_emails.list(**query))


def processed(email: InboundEmail, at: datetime, **changes: Any) -> InboundEmail:
    values: dict[str, Any] = {
        "status": InboundStatus.PROCESSED,
        "outcome": Outcome.REPLY_ADDED,
        "processed_at": at,
        "sender": "carl@example.com",
        "subject": "Re: printer",
    }
    return attrs.evolve(email, **{**values, **changes})


# ---------------------------------------------------------------- adding


def test_a_message_round_trips_with_every_field_in_utc(
    uow: UnitOfWork, org: Org, boxes: Boxes
) -> None:
    ticket = open_ticket(uow, org.carl)
    email = make_email(
        boxes.help,
        received_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
        message_id="x" * 995,
        dedupe_key="mid:" + "x" * 995,
        size=2**40,
        via=InboundVia.IMAP,
        status=InboundStatus.FAILED,
        outcome=Outcome.UNKNOWN_SENDER,
        sender="carl@example.com",
        subject="Printer on fire",
        ticket_id=ticket.id,
        ticket_message_id=uuid.uuid4(),
        detail="it raised",
        processed_at=(T0 + timedelta(microseconds=7)).astimezone(PLUS_TWO),
    )
    (answered,) = add_emails(uow, email)

    loaded = stored(uow, email.id)

    assert answered == email
    assert loaded == email
    assert loaded is not None
    assert loaded.received_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    assert loaded.processed_at is not None
    for instant in (answered.received_at, loaded.received_at, loaded.processed_at):
        assert instant.utcoffset() == timedelta(0), instant
    assert (loaded.via, loaded.status, loaded.outcome) == (
        InboundVia.IMAP,
        InboundStatus.FAILED,
        Outcome.UNKNOWN_SENDER,
    )
    assert type(loaded.status) is InboundStatus
    assert stored(uow, uuid.uuid4()) is None


def test_a_new_message_is_pending_with_nothing_processed(uow: UnitOfWork, boxes: Boxes) -> None:
    email = make_email(boxes.help, message_id=None, dedupe_key=dedupe_key(None, b"raw bytes"))
    add_emails(uow, email)
    loaded = stored(uow, email.id)
    assert loaded == email
    assert loaded is not None
    assert (loaded.status, loaded.outcome, loaded.processed_at) == (
        InboundStatus.PENDING,
        None,
        None,
    )
    assert (loaded.message_id, loaded.sender, loaded.subject, loaded.detail) == (None, None, "", "")


def test_a_message_arriving_again_answers_the_stored_one(uow: UnitOfWork, boxes: Boxes) -> None:
    first = make_email(boxes.help, via=InboundVia.PIPE)
    add_emails(uow, first)
    again = make_email(
        boxes.sales,  # by another way, to another mailbox, later: the same message
        T0 + SECOND,
        message_id=first.message_id,
        via=InboundVia.IMAP,
    )
    with uow.begin() as tx:
        assert tx.inbound_emails.add(again) == first
        assert tx.inbound_emails.add(first) == first  # the very same one too
        tx.commit()
    assert stored(uow, again.id) is None
    assert listed(uow) == [first]


def test_a_message_arriving_twice_in_one_transaction_is_stored_once(
    uow: UnitOfWork, boxes: Boxes
) -> None:
    first = make_email(boxes.help)
    twin = attrs.evolve(make_email(boxes.help), dedupe_key=first.dedupe_key)
    with uow.begin() as tx:
        assert tx.inbound_emails.add(first) == first
        assert tx.inbound_emails.add(twin) == first
        tx.commit()
    assert listed(uow) == [first]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mailbox_id": uuid.uuid4()}, "no such mailbox"),
        ({"ticket_id": uuid.uuid4()}, "no such ticket"),
    ],
)
def test_a_message_refers_to_a_stored_mailbox_and_ticket(
    uow: UnitOfWork, boxes: Boxes, change: dict[str, Any], message: str
) -> None:
    with uow.begin() as tx, pytest.raises(Conflict, match=message):
        tx.inbound_emails.add(make_email(boxes.help, **change))
    assert listed(uow) == []


def test_a_message_id_is_stored_once(uow: UnitOfWork, boxes: Boxes) -> None:
    email = make_email(boxes.help)
    add_emails(uow, email)
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="an inbound email with this id already exists"),
    ):
        tx.inbound_emails.add(attrs.evolve(make_email(boxes.help), id=email.id))
    assert listed(uow) == [email]


@ON_POSTGRES
def test_two_connections_adding_one_message_at_once_store_it_once(
    uow: UnitOfWork, boxes: Boxes
) -> None:
    """The second insert waits for the first transaction's row (unique index), then answers
    it: one row, whichever way the message came."""
    first = make_email(boxes.help, via=InboundVia.PIPE)
    second = attrs.evolve(make_email(boxes.help, via=InboundVia.IMAP), dedupe_key=first.dedupe_key)
    answers: list[InboundEmail] = []
    errors: list[BaseException] = []

    def add_second() -> None:
        try:
            with uow.begin() as tx:
                answers.append(tx.inbound_emails.add(second))
                tx.commit()
        except BaseException as exc:  # asserted on below
            errors.append(exc)

    with uow.begin() as tx:
        assert tx.inbound_emails.add(first) == first
        racer = threading.Thread(target=add_second)
        racer.start()
        _wait_until_blocked(uow)  # the second insert waits on the first's row
        tx.commit()
    racer.join(timeout=60)

    assert errors == []
    assert answers == [first]
    assert listed(uow) == [first]


def _wait_until_blocked(uow: UnitOfWork) -> None:
    """Until a connection of this test's database waits for a lock (polled: no timing is
    asserted; a generous bound only keeps a broken test from hanging)."""
    assert isinstance(uow, SqlUnitOfWork)
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    engine = uow._engine
    for _ in range(6000):
        with engine.connect() as connection:
            if connection.execute(query).scalar_one():
                return
        threading.Event().wait(0.01)
    raise AssertionError("the second insert never waited for the first")


# ---------------------------------------------------------------- claiming and processing


def test_pending_messages_are_claimed_oldest_first(uow: UnitOfWork, boxes: Boxes) -> None:
    a, b = sorted((uuid.uuid4(), uuid.uuid4()))
    tie_a = make_email(boxes.help, T0 + SECOND, id=a)
    tie_b = make_email(boxes.sales, (T0 + SECOND).astimezone(PLUS_TWO), id=b)
    oldest = make_email(boxes.sales, T0)
    newest = make_email(boxes.help, T0 + 5 * SECOND)
    done = make_email(boxes.help, T0 - SECOND, status=InboundStatus.PROCESSED)
    held = make_email(boxes.help, T0 - SECOND, status=InboundStatus.HELD)
    failed = make_email(boxes.help, T0 - SECOND, status=InboundStatus.FAILED)
    add_emails(uow, newest, tie_b, done, held, oldest, failed, tie_a)
    with uow.begin() as tx:
        assert list(tx.inbound_emails.claim(T0, 10)) == [oldest, tie_a, tie_b, newest]
        assert list(tx.inbound_emails.claim(T0, 2)) == [oldest, tie_a]
        assert list(tx.inbound_emails.claim(T0, 0)) == []


def test_a_processed_message_is_claimed_no_more(uow: UnitOfWork, boxes: Boxes) -> None:
    first, second = make_email(boxes.help, T0), make_email(boxes.help, T0 + SECOND)
    add_emails(uow, first, second)
    with uow.begin() as tx:
        (claimed,) = tx.inbound_emails.claim(T0, 1)
        tx.inbound_emails.update(processed(claimed, T0 + SECOND))
        tx.commit()
    with uow.begin() as tx:
        assert list(tx.inbound_emails.claim(T0, 10)) == [second]


@ON_POSTGRES
def test_two_workers_claim_disjoint_messages(uow: UnitOfWork, boxes: Boxes) -> None:
    """Two transactions open at once (two connections): the second skips what the first holds
    instead of waiting for it; held messages are free once the transaction holding them ends."""
    emails = [make_email(boxes.help, T0 + i * SECOND) for i in range(4)]
    add_emails(uow, *reversed(emails))
    with uow.begin() as first:
        assert list(first.inbound_emails.claim(T0, 2)) == emails[:2]
        with uow.begin() as second:
            assert list(second.inbound_emails.claim(T0, 10)) == emails[2:]
            with uow.begin() as third:
                assert list(third.inbound_emails.claim(T0, 10)) == []
        with uow.begin() as fourth:  # the second ended: what it held is free again
            assert list(fourth.inbound_emails.claim(T0, 10)) == emails[2:]
    with uow.begin() as tx:
        assert list(tx.inbound_emails.claim(T0, 10)) == emails


@ON_POSTGRES
def test_the_claim_can_use_the_partial_index_of_pending_messages(
    uow: UnitOfWork, boxes: Boxes, statements: Statements
) -> None:
    """The claim compares the status with a literal: PostgreSQL proves the partial index's
    predicate from it (a bound value would not let a generic plan use the index)."""
    add_emails(uow, make_email(boxes.help))
    with uow.begin() as tx:
        before = len(statements.sent)
        tx.inbound_emails.claim(T0, 10)
        (claim,) = statements.sent[before:]
    assert "'pending'" in claim
    assert "SKIP LOCKED" in claim
    assert isinstance(uow, SqlUnitOfWork)
    with uow._engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = connection.exec_driver_sql("EXPLAIN " + claim, {"limit": 10}).scalars().all()
    assert any("ix_inbound_emails_pending" in line for line in plan), plan


def test_an_update_stores_what_processing_made_of_a_message(
    uow: UnitOfWork, org: Org, boxes: Boxes
) -> None:
    ticket = open_ticket(uow, org.carl)
    email = make_email(boxes.help)
    untouched = make_email(boxes.help)
    add_emails(uow, email, untouched)
    done = processed(
        email,
        (T0 + SECOND).astimezone(PLUS_TWO),
        ticket_id=ticket.id,
        ticket_message_id=uuid.uuid4(),
        detail="added to #1",
    )
    with uow.begin() as tx:
        # What arrived stays as it arrived: only the processing fields are written.
        tx.inbound_emails.update(
            attrs.evolve(
                done, raw_key="other", size=1, via=InboundVia.HTTP, received_at=T0 + SECOND
            )
        )
        tx.commit()

    loaded = stored(uow, email.id)
    assert loaded == done
    assert loaded is not None
    assert loaded.processed_at is not None
    assert loaded.processed_at.utcoffset() == timedelta(0)
    assert stored(uow, untouched.id) == untouched
    failed = attrs.evolve(
        done,
        status=InboundStatus.FAILED,
        outcome=None,
        sender=None,
        ticket_id=None,
        ticket_message_id=None,
        processed_at=None,
    )
    with uow.begin() as tx:
        tx.inbound_emails.update(failed)
        tx.commit()
    assert stored(uow, email.id) == failed


def test_an_update_of_an_unknown_message_or_to_an_unknown_ticket_is_refused(
    uow: UnitOfWork, boxes: Boxes
) -> None:
    email = make_email(boxes.help)
    add_emails(uow, email)
    with uow.begin() as tx, pytest.raises(NotFound, match="no such inbound email"):
        tx.inbound_emails.update(processed(make_email(boxes.help), T0))
    with uow.begin() as tx, pytest.raises(Conflict, match="no such ticket"):
        tx.inbound_emails.update(processed(email, T0, ticket_id=uuid.uuid4()))
    assert stored(uow, email.id) == email


# ---------------------------------------------------------------- lists and counts


def test_messages_are_listed_newest_first_and_filtered(uow: UnitOfWork, boxes: Boxes) -> None:
    a, b = sorted((uuid.uuid4(), uuid.uuid4()))
    emails = [
        make_email(boxes.help, T0, status=InboundStatus.PROCESSED),
        make_email(boxes.sales, T0 + SECOND),
        make_email(boxes.help, T0 + 2 * SECOND, id=a),
        make_email(boxes.sales, (T0 + 2 * SECOND).astimezone(PLUS_TWO), id=b),
        make_email(boxes.help, T0 + 3 * SECOND, status=InboundStatus.HELD),
    ]
    add_emails(uow, *emails)
    newest_first = [emails[4], emails[3], emails[2], emails[1], emails[0]]
    assert listed(uow) == newest_first
    assert listed(uow, limit=2) == newest_first[:2]
    assert listed(uow, mailbox_id=boxes.help.id) == [emails[4], emails[2], emails[0]]
    assert listed(uow, status=InboundStatus.PENDING) == [emails[3], emails[2], emails[1]]
    assert listed(uow, mailbox_id=boxes.sales.id, status=InboundStatus.PENDING, limit=1) == [
        emails[3]
    ]
    assert listed(uow, mailbox_id=boxes.sales.id, status=InboundStatus.HELD) == []
    assert listed(uow, mailbox_id=uuid.uuid4()) == []


def test_processed_messages_are_counted_per_sender_and_ticket_since_an_instant(
    uow: UnitOfWork, org: Org, boxes: Boxes
) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    since = T0 + 10 * SECOND
    emails = [
        processed(make_email(boxes.help), since - SECOND, ticket_id=ticket.id),  # before
        processed(make_email(boxes.help), since.astimezone(PLUS_TWO), ticket_id=ticket.id),
        processed(make_email(boxes.sales), since + SECOND, ticket_id=ticket.id),
        processed(make_email(boxes.help), since + SECOND, ticket_id=other.id),
        processed(make_email(boxes.help), since + SECOND, sender="dora@example.com"),
        make_email(boxes.help, since + SECOND, sender="carl@example.com"),  # not processed
    ]
    add_emails(uow, *emails)
    with uow.begin(read_only=True) as tx:
        messages = tx.inbound_emails
        assert messages.count_from("carl@example.com", since) == 3
        assert messages.count_from("carl@example.com", since - SECOND) == 4
        assert messages.count_from("dora@example.com", since) == 1
        assert messages.count_from("nobody@example.com", since) == 0
        assert messages.count_on_ticket(ticket.id, since) == 2
        assert messages.count_on_ticket(ticket.id, since - SECOND) == 3
        assert messages.count_on_ticket(other.id, since + SECOND) == 1
        assert messages.count_on_ticket(other.id, since + 2 * SECOND) == 0
        assert messages.count_on_ticket(uuid.uuid4(), T0) == 0
