"""The users' external ids (the ids an embedding program gives its users), on every store:
found exactly as stored, and naming one account at most. The builders are the repositories'
contract's; the unit of work is built directly (tests/contract/conftest.py)."""

from __future__ import annotations

import pytest

from helpdesk_core.domain.errors import Conflict
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_repositories import add_all, bumped, make_user


def test_a_user_is_found_by_the_external_id_it_was_stored_with(uow: UnitOfWork) -> None:
    host_user = make_user(external_id="shop-42")
    add_all(uow, host_user, make_user())
    with uow.begin(read_only=True) as tx:
        assert tx.users.get_by_external_id("shop-42") == host_user
        assert tx.users.get_by_external_id("SHOP-42") is None  # exact: the host's own id
        assert tx.users.get_by_external_id("shop-43") is None


def test_an_external_id_names_one_account(uow: UnitOfWork) -> None:
    ann = make_user(external_id="shop-42")
    bob = make_user()
    add_all(uow, ann, bob, make_user(), make_user())  # many users without one are fine
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="the external id names another account"):
            tx.users.add(make_user(external_id="shop-42"))
        with pytest.raises(Conflict, match="the external id names another account"):
            tx.users.update(bumped(bob, external_id="shop-42"))
        tx.users.update(bumped(ann, display_name="Ann Again"))  # keeping its own is no clash
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(bob.id) == bob
        found = tx.users.get_by_external_id("shop-42")
    assert found is not None
    assert found.display_name == "Ann Again"
