"""The customer-administration parts of the repositories, on every store: memory, SQLite,
PostgreSQL (the list of customers, and deleting a user's sessions and reset tokens)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.entities import User
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.ports.uow import UnitOfWork
from tests.conftest import make_settings
from tests.contract.test_repositories import (
    PLUS_TWO,
    T0,
    make_session,
    make_staff,
    make_token,
    make_user,
)


@pytest.fixture
def services(backend_url: str) -> Iterator[Services]:
    services = bootstrap(make_settings(database_url=backend_url, db_pool_size=4))
    yield services
    services.close()


@pytest.fixture
def uow(services: Services) -> UnitOfWork:
    return services.uow


def _add(uow: UnitOfWork, *users: User, staff: tuple[User, ...] = ()) -> None:
    with uow.begin() as tx:
        for user in users:
            tx.users.add(user)
        for user in staff:
            tx.staff.add(make_staff(user))
        tx.commit()


def _list(
    uow: UnitOfWork,
    where: CustomerFilter | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 100,
) -> list[User]:
    with uow.begin(read_only=True) as tx:
        found = tx.users.list_customers(where or CustomerFilter(), after, limit)
        return list(found)


def test_customers_are_users_without_a_staff_profile_oldest_first(uow: UnitOfWork) -> None:
    later = make_user("later@example.com", created_at=T0 + timedelta(minutes=5))
    first = make_user("first@example.com", created_at=T0)
    agent = make_user("agent@example.com", created_at=T0 - timedelta(minutes=5))
    _add(uow, later, first, agent, staff=(agent,))
    assert [u.email for u in _list(uow)] == ["first@example.com", "later@example.com"]
    listed = _list(uow)[0]
    assert listed == first  # every field read back, the created_at in UTC
    assert listed.created_at.utcoffset() == timedelta(0)


def test_equal_creation_times_are_ordered_by_id_and_pages_follow_the_keyset(
    uow: UnitOfWork,
) -> None:
    same = [make_user(created_at=T0) for _ in range(5)]
    other_zone = make_user(created_at=(T0 + timedelta(seconds=1)).astimezone(PLUS_TWO))
    _add(uow, *same, other_zone)
    expected = sorted(same, key=lambda u: u.id)
    assert [u.id for u in _list(uow)] == [u.id for u in expected] + [other_zone.id]
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = _list(uow, after=after, limit=2)
        if not page:
            break
        seen.extend(u.id for u in page)
        after = (page[-1].created_at, page[-1].id)
    assert seen == [u.id for u in expected] + [other_zone.id]


def test_the_active_filter(uow: UnitOfWork) -> None:
    on = make_user("on@example.com")
    off = make_user("off@example.com", is_active=False, created_at=T0 + timedelta(seconds=1))
    _add(uow, on, off)
    assert [u.email for u in _list(uow, CustomerFilter(active=True))] == ["on@example.com"]
    assert [u.email for u in _list(uow, CustomerFilter(active=False))] == ["off@example.com"]
    assert len(_list(uow, CustomerFilter(active=None))) == 2


def test_the_email_filter_matches_a_part_and_wildcards_are_plain(uow: UnitOfWork) -> None:
    plain = make_user("annabel@example.com")
    underscore = make_user("ann_b@example.org", created_at=T0 + timedelta(seconds=1))
    percent = make_user("100%ann@example.net", created_at=T0 + timedelta(seconds=2))
    _add(uow, plain, underscore, percent)

    def emails(needle: str) -> list[str]:
        return [u.email for u in _list(uow, CustomerFilter(email_contains=needle))]

    assert emails("ann") == [plain.email, underscore.email, percent.email]
    assert emails("ANN") == [plain.email, underscore.email, percent.email]
    # As a wildcard, "_" would match annabel's "nab" too.
    assert emails("n_b") == [underscore.email]
    assert emails("%") == [percent.email]  # "%" is no wildcard either
    assert emails("example.org") == [underscore.email]


def test_the_limit_is_kept(uow: UnitOfWork) -> None:
    _add(uow, *(make_user(created_at=T0 + timedelta(seconds=n)) for n in range(4)))
    assert len(_list(uow, limit=3)) == 3
    assert _list(uow, limit=0) == []


def test_delete_all_sessions_removes_one_users_sessions_only(uow: UnitOfWork) -> None:
    ann, bob = make_user(), make_user()
    _add(uow, ann, bob)
    ann_sessions = [make_session(ann), make_session(ann, revoked_at=T0)]
    bob_session = make_session(bob)
    with uow.begin() as tx:
        for session in (*ann_sessions, bob_session):
            tx.sessions.add(session)
        tx.commit()
    with uow.begin() as tx:
        assert tx.sessions.delete_all(ann.id) == 2
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert all(tx.sessions.get(s.id) is None for s in ann_sessions)
        assert tx.sessions.get(bob_session.id) is not None
        assert tx.sessions.delete_all(uuid.uuid4()) == 0


def test_delete_all_reset_tokens_removes_one_users_tokens_only(uow: UnitOfWork) -> None:
    ann, bob = make_user(), make_user()
    _add(uow, ann, bob)
    ann_tokens = [make_token(ann), make_token(ann, used_at=T0)]
    bob_token = make_token(bob)
    with uow.begin() as tx:
        for token in (*ann_tokens, bob_token):
            tx.password_resets.add(token)
        tx.commit()
    with uow.begin() as tx:
        assert tx.password_resets.delete_all(ann.id) == 2
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert all(tx.password_resets.get_by_hash(t.token_hash) is None for t in ann_tokens)
        assert tx.password_resets.get_by_hash(bob_token.token_hash) is not None


def test_a_rolled_back_delete_keeps_the_sessions(uow: UnitOfWork) -> None:
    ann = make_user()
    _add(uow, ann)
    session = make_session(ann)
    with uow.begin() as tx:
        tx.sessions.add(session)
        tx.commit()
    with uow.begin() as tx:
        tx.sessions.delete_all(ann.id)
        tx.rollback()
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get(session.id) is not None
