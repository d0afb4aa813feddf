"""The followers of tickets (``FollowerRepository``), on every store: memory, SQLite, PostgreSQL.

One row per ticket and user, the first one kept: adding a follower twice, even from two
transactions at once, stores one row and answers False the second time. Rows name a stored
ticket and users (else Conflict), are listed with their display names by when they were
added, then by user id, and are removed one by one.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest

from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.followers import Follower, FollowerView
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_ticket_repositories import PLUS_TWO, T0, Org, open_ticket

# The ticket contract's organization (agents Ann, Bob, Cara; customers Carl, Dora).
org = repositories.org


def listed(uow: UnitOfWork, ticket_id: uuid.UUID) -> list[FollowerView]:
    with uow.begin(read_only=True) as tx:
        return list(tx.followers.list(ticket_id))


def test_followers_are_listed_with_their_names_by_when_they_began(
    uow: UnitOfWork, org: Org
) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    later = T0 + timedelta(minutes=5)
    low, high = sorted((org.ann.id, org.bob.id))
    with uow.begin() as tx:
        assert tx.followers.add(ticket.id, org.cara.id, org.ann.id, later) is True
        assert tx.followers.add(ticket.id, high, None, T0.astimezone(PLUS_TWO)) is True
        assert tx.followers.add(ticket.id, low, org.cara.id, T0) is True
        assert tx.followers.add(other.id, org.cara.id, None, T0) is True
        tx.commit()
    names = {org.ann.id: "Ann", org.bob.id: "Bob", org.cara.id: "Cara"}
    expected = [
        FollowerView(Follower(ticket.id, low, T0, org.cara.id), names[low]),
        FollowerView(Follower(ticket.id, high, T0, None), names[high]),
        FollowerView(Follower(ticket.id, org.cara.id, later, org.ann.id), "Cara"),
    ]
    assert listed(uow, ticket.id) == expected
    for view in listed(uow, ticket.id):
        assert view.follower.created_at.utcoffset() == timedelta(0), view
    assert listed(uow, uuid.uuid4()) == []
    with uow.begin(read_only=True) as tx:
        assert tx.followers.of_ticket(ticket.id) == {org.ann.id, org.bob.id, org.cara.id}
        assert tx.followers.of_ticket(other.id) == {org.cara.id}
        assert tx.followers.of_ticket(uuid.uuid4()) == frozenset()


def test_a_follower_is_added_once_and_the_first_row_is_kept(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    with uow.begin() as tx:
        assert tx.followers.add(ticket.id, org.ann.id, org.bob.id, T0) is True
        assert tx.followers.add(ticket.id, org.ann.id, None, T0 + timedelta(days=1)) is False
        tx.commit()
    with uow.begin() as tx:
        assert tx.followers.add(ticket.id, org.ann.id, org.cara.id, T0 + timedelta(days=2)) is False
        tx.commit()
    assert [v.follower for v in listed(uow, ticket.id)] == [
        Follower(ticket.id, org.ann.id, T0, org.bob.id)
    ]


def test_followers_are_removed_one_by_one(uow: UnitOfWork, org: Org) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    with uow.begin() as tx:
        for ticket_id in (ticket.id, other.id):
            tx.followers.add(ticket_id, org.ann.id, None, T0)
        tx.followers.add(ticket.id, org.bob.id, None, T0)
        tx.commit()
    with uow.begin() as tx:
        assert tx.followers.remove(ticket.id, org.ann.id) is True
        assert tx.followers.remove(ticket.id, org.ann.id) is False
        assert tx.followers.remove(ticket.id, org.cara.id) is False
        tx.commit()
    assert [v.follower.user_id for v in listed(uow, ticket.id)] == [org.bob.id]
    assert [v.follower.user_id for v in listed(uow, other.id)] == [org.ann.id]


def test_a_rolled_back_follow_leaves_no_row(uow: UnitOfWork, org: Org) -> None:
    ticket = open_ticket(uow, org.carl)
    with uow.begin() as tx:
        tx.followers.add(ticket.id, org.ann.id, None, T0)
    assert listed(uow, ticket.id) == []


@pytest.mark.parametrize(
    ("missing", "says"),
    [("ticket", "no such ticket"), ("user", "no such user"), ("added_by", "no such user")],
)
def test_a_follower_names_a_stored_ticket_and_users(
    uow: UnitOfWork, org: Org, missing: str, says: str
) -> None:
    ticket = open_ticket(uow, org.carl)
    nobody = uuid.uuid4()
    args = {
        "ticket": (nobody, org.ann.id, None),
        "user": (ticket.id, nobody, None),
        "added_by": (ticket.id, org.ann.id, nobody),
    }[missing]
    with uow.begin() as tx, pytest.raises(Conflict, match=says):
        tx.followers.add(*args, T0)
    assert listed(uow, ticket.id) == []


def test_two_transactions_following_at_once_store_one_row(uow: UnitOfWork, org: Org) -> None:
    """The second waits for the first's row and matches none (ON CONFLICT DO NOTHING): no
    error, no second row, False."""
    ticket = open_ticket(uow, org.carl)
    answers: list[bool] = []
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with uow.begin() as tx:
                answers.append(tx.followers.add(ticket.id, org.ann.id, None, T0))
                tx.commit()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    with uow.begin() as tx:
        answers.append(tx.followers.add(ticket.id, org.ann.id, org.bob.id, T0))
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.2)  # the second transaction is waiting on the first by now
        tx.commit()
    racer.join(10)
    assert not racer.is_alive()
    assert failures == []
    assert answers == [True, False]
    assert [v.follower for v in listed(uow, ticket.id)] == [
        Follower(ticket.id, org.ann.id, T0, org.bob.id)
    ]
