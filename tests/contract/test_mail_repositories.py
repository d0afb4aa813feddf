"""The email channel's storage, on every store: memory, SQLite, PostgreSQL (the received
messages in test_inbound_email_repositories.py).

Mailboxes have names unique regardless of case and spacing and unique addresses, name a stored
department, are listed by name key in code-point order and change under optimistic locking.
Message-IDs keep the first ticket they were recorded for; a bounced address counts its
bounces; a ticket's participants are one per address, listed by when they were added.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.mail import Bounce, Direction, Mailbox, Participant, UnknownSenders
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_ticket_repositories import PLUS_TWO, T0, Org, open_ticket

# The ticket contract's organization (Support with its team Tier 1, Billing; agents Ann, Bob,
# Cara; customers Carl, Dora), made through the store-built ``uow`` of tests/contract/conftest.py.
org = repositories.org


def make_mailbox(name: str = "Support", address: str | None = None, **changes: Any) -> Mailbox:
    address = address or f"{name_key(name).replace(' ', '-')}@example.com"
    made = Mailbox.create(uuid.uuid4(), T0, name=name, address=address)
    return attrs.evolve(made, **changes)


def add_mailboxes(uow: UnitOfWork, *mailboxes: Mailbox) -> None:
    with uow.begin() as tx:
        for mailbox in mailboxes:
            tx.mailboxes.add(mailbox)
        tx.commit()


def stored(uow: UnitOfWork, mailbox_id: uuid.UUID) -> Mailbox | None:
    with uow.begin(read_only=True) as tx:
        return tx.mailboxes.get(mailbox_id)


def listed(uow: UnitOfWork, active: bool | None = None) -> list[Mailbox]:
    with uow.begin(read_only=True) as tx:
        return list(tx.mailboxes.list(active))


def bumped(mailbox: Mailbox, **parts: Any) -> Mailbox:
    """``mailbox`` changed as a use case changes it: a later updated_at, the next version."""
    return mailbox.revised(mailbox.updated_at + timedelta(minutes=5), **parts)


@attrs.define
class Statements:
    """The SQL statements any engine of this process sends while it is held."""

    sent: list[str] = attrs.Factory(list)

    def __call__(self, *args: Any) -> None:
        self.sent.append(str(args[2]))


@pytest.fixture
def statements() -> Iterator[Statements]:
    seen = Statements()
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)


# ---------------------------------------------------------------- mailboxes


def test_a_mailbox_round_trips_with_every_field_in_utc(uow: UnitOfWork, org: Org) -> None:
    mailbox = make_mailbox(
        "Billing Desk",
        "billing@example.com",
        department_id=org.billing.id,
        unknown_senders=UnknownSenders.HOLD,
        reopen_days=0,
        created_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
        updated_at=(T0 + timedelta(days=2, microseconds=7)).astimezone(PLUS_TWO),
        is_active=False,
        version=3,
    )
    add_mailboxes(uow, mailbox)

    with uow.begin(read_only=True) as tx:
        loaded = tx.mailboxes.get(mailbox.id)
        assert tx.mailboxes.by_address("billing@example.com") == loaded
        assert tx.mailboxes.by_address("support@example.com") is None
        assert tx.mailboxes.by_address("billing+t1-abc@example.com") is None
        assert tx.mailboxes.get(uuid.uuid4()) is None

    assert loaded == mailbox
    assert loaded is not None
    assert loaded.created_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    for instant in (loaded.created_at, loaded.updated_at):
        assert instant.utcoffset() == timedelta(0), instant
    assert loaded.unknown_senders is UnknownSenders.HOLD
    assert (loaded.department_id, loaded.reopen_days) == (org.billing.id, 0)
    assert (loaded.is_active, loaded.version) == (False, 3)


def test_an_unrouted_mailbox_round_trips(uow: UnitOfWork) -> None:
    mailbox = make_mailbox("Help", "help@example.com")
    add_mailboxes(uow, mailbox)
    assert stored(uow, mailbox.id) == mailbox
    assert mailbox.department_id is None
    assert mailbox.unknown_senders is UnknownSenders.CREATE


def test_a_mailbox_id_is_stored_once(uow: UnitOfWork) -> None:
    mailbox = make_mailbox("Help")
    add_mailboxes(uow, mailbox)
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a mailbox with this id already exists"),
    ):
        tx.mailboxes.add(attrs.evolve(mailbox, name="Other", address="other@example.com"))


@pytest.mark.parametrize("taken", ["Help Desk", "help desk", "  HELP   desk ", "HeLP\tDesk"])
def test_mailbox_names_are_unique_regardless_of_case_and_spacing(
    uow: UnitOfWork, taken: str
) -> None:
    add_mailboxes(uow, make_mailbox("Help Desk", "help@example.com"))
    refused = attrs.evolve(make_mailbox("Other", "other@example.com"), name=taken)
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a mailbox named 'Help Desk' already exists"),
    ):
        tx.mailboxes.add(refused)


def test_mailbox_addresses_are_unique(uow: UnitOfWork) -> None:
    add_mailboxes(uow, make_mailbox("Help", "help@example.com"))
    with (
        uow.begin() as tx,
        pytest.raises(
            Conflict, match=r"a mailbox with the address 'help@example\.com' already exists"
        ),
    ):
        tx.mailboxes.add(make_mailbox("Other", "help@example.com"))


def test_a_mailbox_names_a_stored_department(uow: UnitOfWork, org: Org) -> None:
    with uow.begin() as tx, pytest.raises(Conflict, match="no such department"):
        tx.mailboxes.add(make_mailbox("Help", department_id=uuid.uuid4()))
    assert listed(uow) == []


def test_a_refused_mailbox_leaves_the_transaction_usable(uow: UnitOfWork, org: Org) -> None:
    first = make_mailbox("Help", "help@example.com")
    other = make_mailbox("Sales", "sales@example.com", department_id=org.billing.id)
    add_mailboxes(uow, first)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="named 'Help'"):
            tx.mailboxes.add(make_mailbox("HELP", "new@example.com"))
        with pytest.raises(Conflict, match=r"the address 'help@example\.com'"):
            tx.mailboxes.add(make_mailbox("New", "help@example.com"))
        with pytest.raises(Conflict, match="no such department"):
            tx.mailboxes.add(make_mailbox("New", "new@example.com", department_id=uuid.uuid4()))
        tx.mailboxes.add(other)
        tx.commit()
    assert listed(uow) == [first, other]


def test_the_name_is_refused_before_the_address_and_the_department(uow: UnitOfWork) -> None:
    add_mailboxes(uow, make_mailbox("Help", "help@example.com"))
    both = make_mailbox("help", "help@example.com", department_id=uuid.uuid4())
    with uow.begin() as tx, pytest.raises(Conflict, match="a mailbox named 'Help'"):
        tx.mailboxes.add(both)
    address = make_mailbox("New", "help@example.com", department_id=uuid.uuid4())
    with uow.begin() as tx, pytest.raises(Conflict, match=r"the address 'help@example\.com'"):
        tx.mailboxes.add(address)


def test_an_update_stores_every_change_and_keeps_the_creation_time(
    uow: UnitOfWork, org: Org
) -> None:
    mailbox = make_mailbox("Help", "help@example.com")
    add_mailboxes(uow, mailbox)
    changed = bumped(
        mailbox,
        name="HELP",  # its own name, recased: allowed
        address="desk@example.com",
        department_id=org.support.id,
        unknown_senders="hold",
        reopen_days=30,
        active=False,
    )
    with uow.begin() as tx:
        tx.mailboxes.update(attrs.evolve(changed, created_at=T0 + timedelta(days=9)))
        tx.commit()

    assert stored(uow, mailbox.id) == changed
    with uow.begin(read_only=True) as tx:
        assert tx.mailboxes.by_address("desk@example.com") == changed
        assert tx.mailboxes.by_address("help@example.com") is None
    unrouted = bumped(changed, department_id=None, active=True)
    with uow.begin() as tx:
        tx.mailboxes.update(unrouted)
        tx.commit()
    assert stored(uow, mailbox.id) == unrouted
    assert listed(uow, active=True) == [unrouted]


def test_a_stale_mailbox_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    mailbox = make_mailbox("Help", "help@example.com")
    add_mailboxes(uow, mailbox)
    first = bumped(mailbox, reopen_days=1)
    with uow.begin() as tx:
        tx.mailboxes.update(first)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(StaleVersion, match="the mailbox was changed meanwhile"):
            tx.mailboxes.update(bumped(mailbox, name="Stale"))
        with pytest.raises(StaleVersion):  # a version from the future is stale too
            tx.mailboxes.update(attrs.evolve(bumped(first), version=first.version + 2))
        with pytest.raises(StaleVersion):  # and an unknown mailbox has no version
            tx.mailboxes.update(bumped(make_mailbox("Unknown")))
        tx.commit()
    assert listed(uow) == [first]


def test_an_update_to_a_taken_name_address_or_missing_department_changes_nothing(
    uow: UnitOfWork,
) -> None:
    help_desk = make_mailbox("Help", "help@example.com")
    sales = make_mailbox("Sales", "sales@example.com")
    add_mailboxes(uow, help_desk, sales)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="a mailbox named 'Help' already exists"):
            tx.mailboxes.update(bumped(sales, name=" help ", reopen_days=3))
        with pytest.raises(
            Conflict, match=r"a mailbox with the address 'help@example\.com' already exists"
        ):
            tx.mailboxes.update(bumped(sales, address="HELP@example.com"))
        with pytest.raises(Conflict, match="no such department"):
            tx.mailboxes.update(bumped(sales, department_id=uuid.uuid4()))
        tx.commit()
    assert listed(uow) == [help_desk, sales]


def test_mailboxes_are_listed_by_name_in_code_point_order_and_filtered_by_active(
    uow: UnitOfWork,
) -> None:
    names = ["sales", "Berlin", "Ärger", "asia", "Zeta", "berlin 2", "a-team", "ab"]
    mailboxes = [
        make_mailbox(name, f"box{i}@example.com", is_active=i % 3 != 0)
        for i, name in enumerate(names)
    ]
    add_mailboxes(uow, *mailboxes)
    expected = sorted(mailboxes, key=lambda m: (name_key(m.name), m.id))
    assert [m.name for m in expected][:3] == ["a-team", "ab", "asia"]
    assert expected[-1].name == "Ärger"  # code-point order on every store, not a locale's
    assert listed(uow) == expected
    assert listed(uow, active=True) == [m for m in expected if m.is_active]
    assert listed(uow, active=False) == [m for m in expected if not m.is_active]


def test_an_empty_store_has_no_mailbox(uow: UnitOfWork) -> None:
    assert listed(uow) == []
    assert listed(uow, active=True) == []
    with uow.begin(read_only=True) as tx:
        assert tx.mailboxes.by_address("help@example.com") is None


# ---------------------------------------------------------------- Message-IDs


def test_message_ids_find_their_tickets(uow: UnitOfWork, org: Org) -> None:
    first, second = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    long_id = "x" * 980 + "@example.com"
    with uow.begin() as tx:
        tx.mail_threads.record("a1@example.com", first.id, Direction.OUTBOUND, T0)
        tx.mail_threads.record("a2@example.com", first.id, Direction.INBOUND, T0)
        tx.mail_threads.record(long_id, second.id, Direction.INBOUND, T0.astimezone(PLUS_TWO))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        found = tx.mail_threads.tickets_of(
            ["unknown@example.com", "a2@example.com", long_id, "a1@example.com", "a2@example.com"]
        )
        assert found == {"a1@example.com": first.id, "a2@example.com": first.id, long_id: second.id}
        assert tx.mail_threads.tickets_of(["unknown@example.com"]) == {}
        assert tx.mail_threads.tickets_of(["A1@example.com"]) == {}  # ids are exact


def test_an_id_already_known_keeps_its_ticket_and_direction(uow: UnitOfWork, org: Org) -> None:
    first, second = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    with uow.begin() as tx:
        tx.mail_threads.record("m@example.com", first.id, Direction.OUTBOUND, T0)
        tx.commit()
    with uow.begin() as tx:
        tx.mail_threads.record("m@example.com", second.id, Direction.INBOUND, T0)
        tx.mail_threads.record("m@example.com", first.id, Direction.INBOUND, T0)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.mail_threads.tickets_of(["m@example.com"]) == {"m@example.com": first.id}
        assert tx.mail_threads.sent("m@example.com") is True


def test_a_tickets_latest_ids_come_oldest_first(uow: UnitOfWork, org: Org) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    with uow.begin() as tx:
        for minute, mid in ((3, "c@x"), (1, "a@x"), (2, "b2@x"), (2, "b1@x"), (4, "d@x")):
            tx.mail_threads.record(
                mid, ticket.id, Direction.INBOUND, T0 + timedelta(minutes=minute)
            )
        tx.mail_threads.record("other@x", other.id, Direction.OUTBOUND, T0)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.mail_threads.of_ticket(ticket.id) == ["a@x", "b1@x", "b2@x", "c@x", "d@x"]
        assert tx.mail_threads.of_ticket(ticket.id, limit=2) == ["c@x", "d@x"]
        assert tx.mail_threads.of_ticket(other.id) == ["other@x"]
        assert tx.mail_threads.of_ticket(uuid.uuid4()) == []


def test_sent_is_only_what_the_helpdesk_sent(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    with uow.begin() as tx:
        tx.mail_threads.record("out@example.com", ticket.id, Direction.OUTBOUND, T0)
        tx.mail_threads.record("in@example.com", ticket.id, Direction.INBOUND, T0)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.mail_threads.sent("out@example.com") is True
        assert tx.mail_threads.sent("in@example.com") is False
        assert tx.mail_threads.sent("unknown@example.com") is False


def test_a_message_id_is_recorded_for_a_stored_ticket(uow: UnitOfWork, org: Org) -> None:
    with uow.begin() as tx, pytest.raises(Conflict, match="no such ticket"):
        tx.mail_threads.record("m@example.com", uuid.uuid4(), Direction.INBOUND, T0)
    with uow.begin(read_only=True) as tx:
        assert tx.mail_threads.tickets_of(["m@example.com"]) == {}


@pytest.mark.parametrize(
    "backend_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_no_ids_asked_reads_nothing(uow: UnitOfWork, org: Org, statements: Statements) -> None:
    ticket = open_ticket(uow, org.carl)
    with uow.begin() as tx:
        tx.mail_threads.record("m@example.com", ticket.id, Direction.INBOUND, T0)
        assert tx.mail_threads.tickets_of(["m@example.com"]) == {"m@example.com": ticket.id}
        before = len(statements.sent)
        assert before > 0  # the listener hears this store's statements
        assert tx.mail_threads.tickets_of([]) == {}
        assert len(statements.sent) == before


# ---------------------------------------------------------------- bounces


def test_a_bounce_is_stored_and_counted_again(uow: UnitOfWork) -> None:
    first = Bounce("gone@example.com", "5.1.1", "user unknown", T0.astimezone(PLUS_TWO))
    later = Bounce("gone@example.com", "5.2.2", "mailbox full", T0 + timedelta(hours=2))
    with uow.begin() as tx:
        answered = tx.mail_threads.bounced(first)
        tx.commit()
    assert answered == first
    assert answered.bounced_at.utcoffset() == timedelta(0)
    with uow.begin() as tx:
        again = tx.mail_threads.bounced(later)
        assert tx.mail_threads.bounce_of("gone@example.com") == again
        tx.commit()
    assert again == attrs.evolve(later, count=2)
    with uow.begin() as tx:
        third = tx.mail_threads.bounced(first)  # an older report: as told, counted
        tx.commit()
    assert third == attrs.evolve(first, count=3)
    with uow.begin(read_only=True) as tx:
        loaded = tx.mail_threads.bounce_of("gone@example.com")
        assert loaded == third
        assert loaded is not None
        assert loaded.bounced_at.utcoffset() == timedelta(0)
        assert tx.mail_threads.bounce_of("other@example.com") is None


def test_bounces_are_counted_per_address(uow: UnitOfWork) -> None:
    with uow.begin() as tx:
        tx.mail_threads.bounced(Bounce("a@example.com", "5.1.1", "", T0))
        tx.mail_threads.bounced(Bounce("b@example.com", "4.4.1", "timeout", T0))
        tx.mail_threads.bounced(Bounce("a@example.com", "5.1.1", "", T0))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.mail_threads.bounce_of("a@example.com") == Bounce(
            "a@example.com", "5.1.1", "", T0, count=2
        )
        assert tx.mail_threads.bounce_of("b@example.com") == Bounce(
            "b@example.com", "4.4.1", "timeout", T0
        )


# ---------------------------------------------------------------- participants


def participants_of(uow: UnitOfWork, ticket_id: uuid.UUID) -> list[Participant]:
    with uow.begin(read_only=True) as tx:
        return list(tx.participants.of_ticket(ticket_id))


def test_participants_are_listed_by_when_they_were_added_then_address(
    uow: UnitOfWork, org: Org
) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    later = (T0 + timedelta(minutes=1)).astimezone(PLUS_TWO)
    people = [
        Participant(ticket.id, "zed@example.com", later),
        Participant(ticket.id, "ärger@example.com", T0, user_id=org.ann.id),
        Participant(ticket.id, "abe@example.com", T0),
        Participant(ticket.id, "bob@example.com", T0 + timedelta(minutes=2)),
        Participant(ticket.id, "zoe@example.com", T0.astimezone(PLUS_TWO)),
    ]
    with uow.begin() as tx:
        assert [tx.participants.add(p) for p in people] == [True] * len(people)
        assert tx.participants.add(Participant(other.id, "zed@example.com", T0)) is True
        tx.commit()

    loaded = participants_of(uow, ticket.id)

    assert [p.address for p in loaded] == [
        "abe@example.com",  # added at T0: by address in code-point order, "ä" after "z"
        "zoe@example.com",
        "ärger@example.com",
        "zed@example.com",  # a minute later
        "bob@example.com",
    ]
    assert loaded == [people[2], people[4], people[1], people[0], people[3]]
    assert loaded[2].user_id == org.ann.id
    for participant in loaded:
        assert participant.added_at.utcoffset() == timedelta(0), participant
    assert participants_of(uow, other.id) == [Participant(other.id, "zed@example.com", T0)]
    assert participants_of(uow, uuid.uuid4()) == []


def test_an_address_is_a_participant_of_a_ticket_once(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    first = Participant(ticket.id, "ann@example.com", T0)
    with uow.begin() as tx:
        assert tx.participants.add(first) is True
        tx.commit()
    with uow.begin() as tx:
        again = Participant(ticket.id, "ann@example.com", T0 + timedelta(days=1), org.ann.id)
        assert tx.participants.add(again) is False
        tx.commit()
    assert participants_of(uow, ticket.id) == [first]


def test_participants_are_removed_by_address(uow: UnitOfWork, org: Org) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    kept = Participant(ticket.id, "kept@example.com", T0)
    with uow.begin() as tx:
        tx.participants.add(kept)
        tx.participants.add(Participant(ticket.id, "gone@example.com", T0))
        tx.participants.add(Participant(other.id, "gone@example.com", T0))
        tx.commit()
    with uow.begin() as tx:
        assert tx.participants.remove(ticket.id, "gone@example.com") is True
        assert tx.participants.remove(ticket.id, "gone@example.com") is False
        assert tx.participants.remove(uuid.uuid4(), "kept@example.com") is False
        tx.commit()
    assert participants_of(uow, ticket.id) == [kept]
    assert [p.address for p in participants_of(uow, other.id)] == ["gone@example.com"]


@pytest.mark.parametrize(
    ("refers", "message"), [("ticket_id", "no such ticket"), ("user_id", "no such user")]
)
def test_a_participant_refers_to_a_stored_ticket_and_user(
    uow: UnitOfWork, org: Org, refers: str, message: str
) -> None:
    ticket = open_ticket(uow, org.carl)
    parts: dict[str, Any] = {"ticket_id": ticket.id, "user_id": org.ann.id, refers: uuid.uuid4()}
    refused = Participant(address="ann@example.com", added_at=T0, **parts)
    with uow.begin() as tx, pytest.raises(Conflict, match=message):
        tx.participants.add(refused)
    assert participants_of(uow, ticket.id) == []
