"""Mailboxes' IMAP settings and poll state, on every store: memory, SQLite, PostgreSQL.

One row per mailbox, which must exist; ``put`` replaces the settings whole (keeping when they
were first stored); ``set_state`` writes the poll state alone; ``list_active`` names the
settings of active mailboxes only, by mailbox id; UIDs and UIDVALIDITY take IMAP's whole
unsigned 32-bit range.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.mail import Mailbox
from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_mail_repositories import add_mailboxes, make_mailbox
from tests.contract.test_ticket_repositories import PLUS_TWO, T0

UINT32_MAX = 2**32 - 1


def make_config(mailbox: Mailbox, **changes: Any) -> MailboxImap:
    config = MailboxImap(
        mailbox_id=mailbox.id,
        host="imap.example.com",
        port=993,
        security=ImapSecurity.TLS,
        username="support@example.com",
        password="sealed-gAAAAAB...",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(config, **changes)


def put(uow: UnitOfWork, *configs: MailboxImap) -> None:
    with uow.begin() as tx:
        for config in configs:
            tx.mail_fetch.put(config)
        tx.commit()


def stored(uow: UnitOfWork, mailbox_id: uuid.UUID) -> MailboxImap | None:
    with uow.begin(read_only=True) as tx:
        return tx.mail_fetch.get(mailbox_id)


def active(uow: UnitOfWork) -> list[MailboxImap]:
    with uow.begin(read_only=True) as tx:
        return list(tx.mail_fetch.list_active())


@pytest.fixture
def support(uow: UnitOfWork) -> Mailbox:
    mailbox = make_mailbox("Support", "support@example.com")
    add_mailboxes(uow, mailbox)
    return mailbox


def test_settings_round_trip_with_every_field_in_utc(uow: UnitOfWork, support: Mailbox) -> None:
    config = make_config(
        support,
        host="127.0.0.1",
        port=143,
        security=ImapSecurity.STARTTLS,
        folder="Helpdesk/Inbound mail",
        move_to="Helpdesk/Done",
        uidvalidity=UINT32_MAX,
        last_uid=UINT32_MAX,
        polled_at=datetime(2024, 5, 1, 14, 30, 0, 5, tzinfo=PLUS_TWO),
        last_error="connecting to 127.0.0.1:143 (starttls): Connection refused",
        created_at=T0.astimezone(PLUS_TWO),
        updated_at=(T0 + timedelta(days=1)).astimezone(PLUS_TWO),
        version=4,
    )
    put(uow, config)

    loaded = stored(uow, support.id)
    assert loaded == config
    assert loaded is not None
    assert loaded.security is ImapSecurity.STARTTLS
    assert loaded.polled_at == datetime(2024, 5, 1, 12, 30, 0, 5, tzinfo=UTC)
    for instant in (loaded.created_at, loaded.updated_at, loaded.polled_at):
        assert instant.utcoffset() == timedelta(0), instant
    assert stored(uow, uuid.uuid4()) is None


def test_new_settings_have_an_empty_poll_state(uow: UnitOfWork, support: Mailbox) -> None:
    put(uow, make_config(support))
    loaded = stored(uow, support.id)
    assert loaded is not None
    assert (loaded.folder, loaded.move_to) == ("INBOX", None)
    assert (loaded.uidvalidity, loaded.last_uid, loaded.polled_at, loaded.last_error) == (
        None,
        0,
        None,
        None,
    )


def test_put_replaces_the_settings_and_keeps_when_they_were_first_stored(
    uow: UnitOfWork, support: Mailbox
) -> None:
    put(uow, make_config(support, uidvalidity=7, last_uid=40))
    later = T0 + timedelta(hours=3)
    replaced = make_config(
        support,
        host="mail.example.org",
        username="desk",
        password="sealed-other",
        folder="Support",
        created_at=later,
        updated_at=later,
        version=2,
    )
    put(uow, replaced)

    assert stored(uow, support.id) == attrs.evolve(replaced, created_at=T0)


def test_settings_belong_to_a_stored_mailbox(uow: UnitOfWork, support: Mailbox) -> None:
    orphan = make_config(make_mailbox("Nowhere", "nowhere@example.com"))
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="no such mailbox"):
            tx.mail_fetch.put(orphan)
        tx.mail_fetch.put(make_config(support))  # the transaction goes on
        tx.commit()
    assert stored(uow, orphan.mailbox_id) is None
    assert stored(uow, support.id) is not None


def test_set_state_writes_the_state_alone(uow: UnitOfWork, support: Mailbox) -> None:
    config = make_config(support, version=3)
    put(uow, config)
    polled = T0 + timedelta(minutes=1)
    with uow.begin() as tx:
        assert tx.mail_fetch.set_state(
            support.id, uidvalidity=12, last_uid=9, polled_at=polled, last_error="timed out"
        )
        tx.commit()
    assert stored(uow, support.id) == attrs.evolve(
        config, uidvalidity=12, last_uid=9, polled_at=polled, last_error="timed out"
    )

    with uow.begin() as tx:
        assert tx.mail_fetch.set_state(
            support.id, uidvalidity=None, last_uid=0, polled_at=None, last_error=None
        )
        tx.commit()
    assert stored(uow, support.id) == config


def test_set_state_of_cleared_settings_stores_nothing(uow: UnitOfWork, support: Mailbox) -> None:
    with uow.begin() as tx:
        assert not tx.mail_fetch.set_state(
            support.id, uidvalidity=1, last_uid=1, polled_at=T0, last_error=None
        )
        tx.commit()
    assert stored(uow, support.id) is None


def test_delete_forgets_the_settings(uow: UnitOfWork, support: Mailbox) -> None:
    put(uow, make_config(support))
    with uow.begin() as tx:
        assert tx.mail_fetch.delete(support.id)
        assert not tx.mail_fetch.delete(support.id)
        tx.commit()
    assert stored(uow, support.id) is None


def test_without_a_commit_nothing_is_stored(uow: UnitOfWork, support: Mailbox) -> None:
    with uow.begin() as tx:
        tx.mail_fetch.put(make_config(support))
    assert stored(uow, support.id) is None


def test_the_active_mailboxes_settings_are_listed_by_mailbox_id(uow: UnitOfWork) -> None:
    mailboxes = [make_mailbox(f"Box {n}", f"box{n}@example.com") for n in range(4)]
    resting = attrs.evolve(mailboxes[3], is_active=False)
    add_mailboxes(uow, *mailboxes[:3], resting)
    configs = [make_config(m) for m in (*mailboxes[:2], resting)]  # Box 2 has none
    put(uow, *configs)

    assert active(uow) == sorted(configs[:2], key=lambda c: c.mailbox_id)


def test_a_locked_read_serializes_two_writers(uow: UnitOfWork, support: Mailbox) -> None:
    """Two pollers moving one mailbox's state on, each reading it ``for_update`` first:
    the second reads what the first committed (none of them overwrites blindly)."""
    put(uow, make_config(support))
    read: list[int] = []
    first_holds = threading.Event()

    def advance(to: int, hold: bool) -> None:
        with uow.begin() as tx:
            current = tx.mail_fetch.get(support.id, for_update=True)
            assert current is not None
            read.append(current.last_uid)
            if hold:
                first_holds.set()
                threading.Event().wait(0.2)  # keep the lock a moment
            tx.mail_fetch.set_state(
                support.id,
                uidvalidity=1,
                last_uid=max(current.last_uid, to),
                polled_at=None,
                last_error=None,
            )
            tx.commit()

    first = threading.Thread(target=advance, args=(5, True))
    first.start()
    assert first_holds.wait(10)
    advance(3, False)
    first.join(10)

    assert read == [0, 5]
    loaded = stored(uow, support.id)
    assert loaded is not None
    assert loaded.last_uid == 5
