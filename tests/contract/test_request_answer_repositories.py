"""The stored answers of idempotent bulk requests, on every store: a key is claimed once (a
second claim sees the first, answer or not), per user; the answer stored reads back."""

from __future__ import annotations

import uuid

from helpdesk_core.ports.requests import StoredAnswer
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_ticket_repositories import T0, Org, org, services, uow

__all__ = ["org", "services", "uow"]  # the fixtures this module's tests take


def claim(uow: UnitOfWork, user: uuid.UUID, key: str, fingerprint: str) -> StoredAnswer | None:
    with uow.begin() as tx:
        found = tx.request_answers.claim(user, key, fingerprint, T0)
        tx.commit()
    return found


def test_a_key_is_claimed_once_per_user_and_keeps_its_answer(uow: UnitOfWork, org: Org) -> None:
    carl, dora = org.carl.id, org.dora.id
    assert claim(uow, carl, "key-1", "a" * 64) is None
    assert claim(uow, carl, "key-1", "b" * 64) == StoredAnswer("a" * 64, None)
    assert claim(uow, dora, "key-1", "b" * 64) is None  # another user's key is another key
    answer = {"items": [{"ticket_id": str(uuid.uuid4()), "ok": True, "error": None}]}
    with uow.begin() as tx:
        tx.request_answers.store(carl, "key-1", answer)
        tx.commit()
    assert claim(uow, carl, "key-1", "a" * 64) == StoredAnswer("a" * 64, answer)
    assert claim(uow, dora, "key-1", "b" * 64) == StoredAnswer("b" * 64, None)


def test_a_claim_rolled_back_is_no_claim(uow: UnitOfWork, org: Org) -> None:
    with uow.begin() as tx:
        assert tx.request_answers.claim(org.carl.id, "key-2", "c" * 64, T0) is None
        tx.rollback()
    assert claim(uow, org.carl.id, "key-2", "d" * 64) is None
