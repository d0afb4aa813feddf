"""The canned responses' repository, and the staff signature, on every store: memory, SQLite,
PostgreSQL.

A response is stored with the holder its scope names; lists answer only what a reach admits,
by title in code-point order then id; an update names the version it read and never touches
the scope, the holder or the usage count, which a rendering adds to in the store itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.canned import CannedResponse, CannedScope
from helpdesk_core.domain.entities import Department, Team, User
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.canned import CannedReach
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_repositories import (
    add_all,
    make_department,
    make_session,
    make_staff,
    make_team,
    make_user,
)

T0 = datetime(2026, 3, 2, 8, 30, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
BODY = 'Hi {{ customer.first_name | default("there") }},\n\nRegards,\n{{ agent.signature }}'


@attrs.frozen
class Org:
    """Two people, two departments, a team in each."""

    ann: User
    bob: User
    sales: Department
    support: Department
    sales_team: Team
    support_team: Team


@pytest.fixture
def org(uow: UnitOfWork) -> Org:
    sales, support = make_department("Sales"), make_department("Support")
    made = Org(
        make_user(), make_user(), sales, support, make_team(sales, "A"), make_team(support, "B")
    )
    add_all(uow, made.ann, made.bob, sales, support, made.sales_team, made.support_team)
    return made


def response(
    scope: CannedScope, holder: uuid.UUID | None, title: str = "Refund", **changes: Any
) -> CannedResponse:
    made = CannedResponse.create(uuid.uuid4(), title, BODY, scope, T0, holder=holder)
    return attrs.evolve(made, **changes)


def store(uow: UnitOfWork, *responses: CannedResponse) -> None:
    with uow.begin() as tx:
        for each in responses:
            tx.canned_responses.add(each)
        tx.commit()


def stored(uow: UnitOfWork, response_id: uuid.UUID) -> CannedResponse | None:
    with uow.begin(read_only=True) as tx:
        return tx.canned_responses.get(response_id)


def listed(uow: UnitOfWork, reach: CannedReach) -> list[str]:
    with uow.begin(read_only=True) as tx:
        return [r.title for r in tx.canned_responses.list(reach)]


# ---------------------------------------------------------------- round trip


def test_a_response_of_each_scope_round_trips(uow: UnitOfWork, org: Org) -> None:
    made = [
        response(
            CannedScope.PERSONAL,
            org.ann.id,
            "Mine",
            shortcut="mine",
            created_by=org.ann.id,
            created_at=datetime(2026, 3, 2, 10, 30, 0, 654321, tzinfo=PLUS_TWO),
            updated_at=T0 + timedelta(days=1, microseconds=7),
            usage_count=12,
            is_active=False,
            version=4,
        ),
        response(CannedScope.TEAM, org.sales_team.id, "Team's"),
        response(CannedScope.DEPARTMENT, org.support.id, "Department's"),
        response(CannedScope.EVERYONE, None, "Everyone's", body="Ünïcode ✓ {{ ticket.number }}"),
    ]
    store(uow, *made)
    for each in made:
        loaded = stored(uow, each.id)
        assert loaded == each
        assert loaded is not None
        assert loaded.created_at.utcoffset() == loaded.updated_at.utcoffset() == timedelta(0)
    first = stored(uow, made[0].id)
    assert first is not None
    assert first.created_at == datetime(2026, 3, 2, 8, 30, 0, 654321, tzinfo=UTC)
    assert (first.shortcut, first.usage_count, first.is_active, first.version) == (
        "mine",
        12,
        False,
        4,
    )


def test_unknown_responses_are_none_and_an_empty_store_lists_none(uow: UnitOfWork) -> None:
    with uow.begin(read_only=True) as tx:
        assert tx.canned_responses.get(uuid.uuid4()) is None
        assert list(tx.canned_responses.list(CannedReach(team_ids=None))) == []
        assert tx.canned_responses.count_use(uuid.uuid4()) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner_id": uuid.uuid4()}, "no such user"),
        ({"created_by": uuid.uuid4()}, "no such user"),
    ],
)
def test_a_personal_response_of_nobody_is_refused(
    uow: UnitOfWork, org: Org, change: dict[str, Any], message: str
) -> None:
    refused = response(CannedScope.PERSONAL, org.ann.id, **change)
    with uow.begin() as tx, pytest.raises(Conflict, match=message):
        tx.canned_responses.add(refused)


@pytest.mark.parametrize(
    ("scope", "message"),
    [(CannedScope.TEAM, "no such team"), (CannedScope.DEPARTMENT, "no such department")],
)
def test_a_response_of_an_unknown_team_or_department_is_refused_and_the_transaction_goes_on(
    uow: UnitOfWork, org: Org, scope: CannedScope, message: str
) -> None:
    kept = response(CannedScope.EVERYONE, None, "Kept")
    with uow.begin() as tx:
        with pytest.raises(Conflict, match=message):
            tx.canned_responses.add(response(scope, uuid.uuid4()))
        tx.canned_responses.add(kept)
        tx.commit()
    assert stored(uow, kept.id) == kept


def test_an_id_is_stored_once(uow: UnitOfWork, org: Org) -> None:
    first = response(CannedScope.EVERYONE, None)
    store(uow, first)
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a canned response with this id already exists"),
    ):
        tx.canned_responses.add(attrs.evolve(first, title="Another"))


# ---------------------------------------------------------------- what a reach admits


def test_a_list_answers_exactly_what_the_reach_admits(uow: UnitOfWork, org: Org) -> None:
    store(
        uow,
        response(CannedScope.PERSONAL, org.ann.id, "Ann's"),
        response(CannedScope.PERSONAL, org.bob.id, "Bob's"),
        response(CannedScope.TEAM, org.sales_team.id, "Sales team"),
        response(CannedScope.TEAM, org.support_team.id, "Support team"),
        response(CannedScope.DEPARTMENT, org.sales.id, "Sales"),
        response(CannedScope.DEPARTMENT, org.support.id, "Support"),
        response(CannedScope.EVERYONE, None, "All"),
        response(CannedScope.EVERYONE, None, "Retired", is_active=False),
    )
    nothing_but_everyone = CannedReach()
    assert listed(uow, nothing_but_everyone) == ["All"]
    ann_in_sales = CannedReach(
        owner_id=org.ann.id,
        team_ids=frozenset({org.sales_team.id}),
        department_ids=frozenset({org.sales.id}),
    )
    assert listed(uow, ann_in_sales) == ["All", "Ann's", "Sales", "Sales team"]
    every_team = CannedReach(owner_id=org.bob.id, team_ids=None)
    assert listed(uow, every_team) == ["All", "Bob's", "Sales team", "Support team"]
    every_department = CannedReach(department_ids=None)
    assert listed(uow, every_department) == ["All", "Sales", "Support"]
    admin = CannedReach(owner_id=org.ann.id, team_ids=None, department_ids=None)
    assert listed(uow, admin) == ["All", "Ann's", "Sales", "Sales team", "Support", "Support team"]
    assert listed(uow, attrs.evolve(admin, scope=CannedScope.TEAM)) == [
        "Sales team",
        "Support team",
    ]
    assert listed(uow, attrs.evolve(admin, active=False)) == ["Retired"]
    assert len(listed(uow, attrs.evolve(admin, active=None))) == 7


def test_titles_list_in_code_point_order_then_by_id(uow: UnitOfWork, org: Org) -> None:
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    store(
        uow,
        response(CannedScope.EVERYONE, None, "apple"),
        response(CannedScope.EVERYONE, None, "Zebra"),
        response(CannedScope.EVERYONE, None, "Banana", id=high),
        response(CannedScope.EVERYONE, None, "Banana", id=low),
        response(CannedScope.EVERYONE, None, "Äpfel"),
    )
    with uow.begin(read_only=True) as tx:
        found = [(r.title, r.id) for r in tx.canned_responses.list(CannedReach())]
    assert [title for title, _ in found] == ["Banana", "Banana", "Zebra", "apple", "Äpfel"]
    assert [found[0][1], found[1][1]] == [low, high]


# ---------------------------------------------------------------- updates and uses


def test_an_update_changes_the_text_and_keeps_the_scope_holder_and_uses(
    uow: UnitOfWork, org: Org
) -> None:
    original = response(CannedScope.TEAM, org.sales_team.id, shortcut="ref", created_by=org.ann.id)
    store(uow, original)
    with uow.begin() as tx:
        assert tx.canned_responses.count_use(original.id) == 1  # a rendering meanwhile
        tx.commit()
    changed = original.revised(
        T0 + timedelta(hours=1), title="Refund sent", body="Done.", clear_shortcut=True
    )
    # Whatever else it carries, an update writes only what a person edits.
    sneaky = attrs.evolve(changed, created_by=org.bob.id, created_at=T0 + timedelta(days=3))
    with uow.begin() as tx:
        tx.canned_responses.update(sneaky)
        tx.commit()
    loaded = stored(uow, original.id)
    assert loaded == attrs.evolve(changed, usage_count=1)


def test_an_update_of_a_version_no_longer_stored_is_stale_and_changes_nothing(
    uow: UnitOfWork, org: Org
) -> None:
    original = response(CannedScope.EVERYONE, None)
    store(uow, original)
    first = original.revised(T0 + timedelta(minutes=1), title="First")
    with uow.begin() as tx:
        tx.canned_responses.update(first)
        tx.commit()
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.canned_responses.update(original.revised(T0 + timedelta(minutes=2), title="Second"))
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.canned_responses.update(attrs.evolve(first, id=uuid.uuid4(), version=2))
    assert stored(uow, original.id) == first


def test_each_use_counts_once_without_touching_the_version(uow: UnitOfWork, org: Org) -> None:
    counted = response(CannedScope.EVERYONE, None)
    store(uow, counted)
    for expected in (1, 2, 3):
        with uow.begin() as tx:
            assert tx.canned_responses.count_use(counted.id) == expected
            tx.commit()
    with uow.begin() as tx:
        tx.canned_responses.count_use(counted.id)  # rolled back: not counted
    loaded = stored(uow, counted.id)
    assert loaded == attrs.evolve(counted, usage_count=3)


# ---------------------------------------------------------------- the staff signature


def test_a_staff_members_signature_round_trips(uow: UnitOfWork, org: Org) -> None:
    signed = make_staff(org.ann, signature="Ann\nSales — Europe")
    unsigned = make_staff(org.bob, StaffRole.LEAD)
    session = make_session(org.ann)
    add_all(uow, signed, unsigned, session)
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(org.ann.id) == signed
        assert tx.staff.get(org.bob.id) == unsigned
        assert unsigned.signature is None
        found = tx.sessions.get_with_account(session.id)
        assert found is not None
        assert found.staff == signed
    resigned = attrs.evolve(
        unsigned, signature="Bob", updated_at=T0 + timedelta(hours=1), version=2
    )
    with uow.begin() as tx:
        tx.staff.update(resigned)
        tx.staff.update(attrs.evolve(signed, signature=None, version=2))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(org.bob.id) == resigned
        staff = tx.staff.get(org.ann.id)
        assert staff is not None
        assert staff.signature is None
