"""The repositories' contract, run over every store: memory, SQLite, PostgreSQL.

One suite, every backend: the memory store is a shipped backend and keeps the same rules as the
database (uniqueness regardless of case, foreign keys, optimistic locking, orderings).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import attrs
import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.entities import (
    Department,
    PasswordResetToken,
    Session,
    StaffMember,
    Team,
    User,
)
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.values import StaffRole, name_key
from helpdesk_core.ports.repositories import SessionAccount, StaffFilter
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from tests.conftest import make_settings

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def services(backend_url: str) -> Iterator[Services]:
    services = bootstrap(make_settings(database_url=backend_url, db_pool_size=8))
    yield services
    services.close()


@pytest.fixture
def uow(services: Services) -> UnitOfWork:
    return services.uow


# ---------------------------------------------------------------- builders


def make_user(email: str | None = None, **changes: object) -> User:
    user_id = uuid.uuid4()
    values: dict[str, object] = {
        "id": user_id,
        "email": email or f"user-{user_id.hex[:12]}@example.com",
        "display_name": "Ann Example",
        "password_hash": "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return User(**values)  # type: ignore[arg-type]


def make_department(name: str, **changes: object) -> Department:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "name": name,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Department(**values)  # type: ignore[arg-type]


def make_team(department: Department, name: str, **changes: object) -> Team:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "department_id": department.id,
        "name": name,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Team(**values)  # type: ignore[arg-type]


def make_staff(user: User, role: StaffRole = StaffRole.AGENT, **changes: object) -> StaffMember:
    values: dict[str, object] = {
        "user_id": user.id,
        "role": role,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return StaffMember(**values)  # type: ignore[arg-type]


def make_session(user: User, **changes: object) -> Session:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
    }
    values.update(changes)
    return Session(**values)  # type: ignore[arg-type]


def make_token(user: User, **changes: object) -> PasswordResetToken:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "token_hash": uuid.uuid4().hex * 2,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
    }
    values.update(changes)
    return PasswordResetToken(**values)  # type: ignore[arg-type]


E = TypeVar("E", User, StaffMember, Department, Team)


def bumped(entity: E, **changes: object) -> E:
    """``entity`` changed as a use case changes it: a later updated_at, the next version."""
    values: dict[str, object] = {
        "updated_at": entity.updated_at + timedelta(minutes=5),
        "version": entity.version + 1,
    }
    values.update(changes)
    return attrs.evolve(entity, **values)  # type: ignore[arg-type]


def store(uow: UnitOfWork, write: Callable[[Transaction], object]) -> None:
    """Run ``write`` in its own transaction and commit."""
    with uow.begin() as tx:
        write(tx)
        tx.commit()


def add_all(uow: UnitOfWork, *entities: object) -> None:
    """Store entities of any kind in one committed transaction, in the given order."""
    with uow.begin() as tx:
        for entity in entities:
            match entity:
                case User():
                    tx.users.add(entity)
                case StaffMember():
                    tx.staff.add(entity)
                case Department():
                    tx.departments.add(entity)
                case Team():
                    tx.teams.add(entity)
                case Session():
                    tx.sessions.add(entity)
                case PasswordResetToken():
                    tx.password_resets.add(entity)
                case _:
                    raise TypeError(entity)
        tx.commit()


def assert_utc(*values: datetime | None) -> None:
    for value in values:
        assert value is not None
        assert value.utcoffset() == timedelta(0), value


# ---------------------------------------------------------------- users


def test_a_user_round_trips_with_every_field(uow: UnitOfWork) -> None:
    user = make_user(
        "ann@example.com",
        display_name="Ann Ödegård",
        created_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
        updated_at=T0 + timedelta(days=2, microseconds=7),
        is_active=False,
        version=3,
    )
    add_all(uow, user)
    with uow.begin(read_only=True) as tx:
        loaded = tx.users.get(user.id)
        by_email = tx.users.get_by_email("ann@example.com")
    assert loaded == user
    assert by_email == user
    assert loaded is not None
    assert isinstance(loaded.id, uuid.UUID)
    assert loaded.is_active is False
    assert loaded.password_hash == user.password_hash
    assert loaded.created_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    assert_utc(loaded.created_at, loaded.updated_at)


def test_unknown_users_are_none(uow: UnitOfWork) -> None:
    add_all(uow, make_user("ann@example.com"))
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(uuid.uuid4()) is None
        assert tx.users.get_by_email("bob@example.com") is None


def test_emails_are_stored_and_looked_up_lower_cased(uow: UnitOfWork) -> None:
    user = make_user("Ann.Example@Example.COM")
    add_all(uow, user)
    with uow.begin(read_only=True) as tx:
        found = tx.users.get_by_email("ANN.example@example.com")
    assert found is not None
    assert found.id == user.id
    assert found.email == "ann.example@example.com"


@pytest.mark.parametrize("taken", ["ann@example.com", "ANN@Example.com", " Ann@example.com "])
def test_an_email_is_registered_once_regardless_of_case(uow: UnitOfWork, taken: str) -> None:
    add_all(uow, make_user("ann@example.com"))
    with uow.begin() as tx, pytest.raises(Conflict, match="the email is already registered"):
        tx.users.add(make_user(taken))


def test_adding_a_user_twice_is_a_conflict(uow: UnitOfWork) -> None:
    user = make_user()
    add_all(uow, user)
    with uow.begin() as tx, pytest.raises(Conflict, match="a user with this id already exists"):
        tx.users.add(user)


def test_updating_a_user_with_the_next_version_persists_it(uow: UnitOfWork) -> None:
    user = make_user("ann@example.com")
    add_all(uow, user)
    changed = bumped(
        user, email="anne@example.com", display_name="Anne", password_hash="new", is_active=False
    )
    store(uow, lambda tx: tx.users.update(changed))
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(user.id) == changed
        assert tx.users.get_by_email("anne@example.com") == changed
        assert tx.users.get_by_email("ann@example.com") is None


def test_a_stale_user_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    user = make_user()
    add_all(uow, user)
    first = bumped(user, display_name="First")
    store(uow, lambda tx: tx.users.update(first))
    with uow.begin() as tx:
        with pytest.raises(StaleVersion):
            tx.users.update(bumped(user, display_name="Second"))  # based on version 1 too
        with pytest.raises(StaleVersion):
            tx.users.update(bumped(make_user()))  # never stored
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(user.id) == first


def test_changing_an_email_to_a_taken_one_is_a_conflict(uow: UnitOfWork) -> None:
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    add_all(uow, ann, bob)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="the email is already registered"):
            tx.users.update(bumped(bob, email="ANN@example.com"))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(bob.id) == bob


def test_get_many_returns_the_known_users_by_id(uow: UnitOfWork) -> None:
    known = [make_user() for _ in range(3)]
    add_all(uow, *known)
    unknown = [uuid.uuid4() for _ in range(2)]
    with uow.begin(read_only=True) as tx:
        found = tx.users.get_many([known[0].id, unknown[0], known[2].id, known[0].id])
        assert tx.users.get_many([]) == {}
        assert tx.users.get_many(iter(unknown)) == {}
    assert found == {known[0].id: known[0], known[2].id: known[2]}


def test_display_names_are_those_of_the_known_users(uow: UnitOfWork) -> None:
    known = [make_user() for _ in range(3)]
    add_all(uow, *known)
    with uow.begin(read_only=True) as tx:
        names = tx.users.display_names([known[1].id, uuid.uuid4(), known[2].id, known[1].id])
        assert tx.users.display_names([]) == {}
    assert names == {u.id: u.display_name for u in (known[1], known[2])}


def test_get_many_takes_more_ids_than_one_query_may_bind(uow: UnitOfWork) -> None:
    known = [make_user() for _ in range(3)]
    add_all(uow, *known)
    ids = [uuid.uuid4() for _ in range(1200)]
    ids[10], ids[700], ids[1199] = (u.id for u in known)
    with uow.begin(read_only=True) as tx:
        found = tx.users.get_many(ids)
    assert found == {u.id: u for u in known}


# ---------------------------------------------------------------- departments


def test_a_department_round_trips_with_every_field(uow: UnitOfWork) -> None:
    department = make_department(
        "Technical Support",
        auto_assign=True,
        is_active=False,
        version=4,
        created_at=datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=PLUS_TWO),
        updated_at=T0 + timedelta(days=1),
    )
    add_all(uow, department)
    with uow.begin(read_only=True) as tx:
        loaded = tx.departments.get(department.id)
        assert tx.departments.get(uuid.uuid4()) is None
    assert loaded == department
    assert loaded is not None
    assert loaded.auto_assign is True
    assert loaded.is_active is False
    assert loaded.name == "Technical Support"
    assert_utc(loaded.created_at, loaded.updated_at)


@pytest.mark.parametrize("taken", ["Billing", "billing", "  BILLING ", "BiLLiNG"])
def test_department_names_are_unique_regardless_of_case_and_spacing(
    uow: UnitOfWork, taken: str
) -> None:
    add_all(uow, make_department("Billing"))
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a department named 'Billing' already exists"),
    ):
        tx.departments.add(make_department(taken))


def test_inner_spacing_does_not_make_a_department_name_new(uow: UnitOfWork) -> None:
    add_all(uow, make_department("Tech Support"))
    with uow.begin() as tx, pytest.raises(Conflict, match="'Tech Support' already exists"):
        tx.departments.add(make_department("tech \t  SUPPORT"))


def test_updating_a_department_persists_it(uow: UnitOfWork) -> None:
    department = make_department("Billing")
    add_all(uow, department)
    renamed = bumped(department, name="BILLING", auto_assign=True, is_active=False)
    store(uow, lambda tx: tx.departments.update(renamed))  # its own name, recased: allowed
    with uow.begin(read_only=True) as tx:
        assert tx.departments.get(department.id) == renamed


def test_renaming_a_department_to_a_taken_name_is_a_conflict(uow: UnitOfWork) -> None:
    billing, sales = make_department("Billing"), make_department("Sales")
    add_all(uow, billing, sales)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="a department named 'Billing' already exists"):
            tx.departments.update(bumped(sales, name="billing"))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.departments.get(sales.id) == sales


def test_a_stale_department_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    department = make_department("Billing")
    add_all(uow, department)
    first = bumped(department, name="Billing and Payments")
    store(uow, lambda tx: tx.departments.update(first))
    with uow.begin() as tx:
        with pytest.raises(StaleVersion):
            tx.departments.update(bumped(department, name="Accounts"))
        with pytest.raises(StaleVersion):  # a version from the future is stale too
            tx.departments.update(bumped(first, version=first.version + 2))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.departments.get(department.id) == first
        assert [d.name for d in tx.departments.list()] == ["Billing and Payments"]


def test_departments_are_listed_by_name_regardless_of_case(uow: UnitOfWork) -> None:
    names = ["sales", "Billing", "Ärger", "accounts", "Zeta", "billing 2", "a-team", "ab"]
    departments = [make_department(name, is_active=i % 3 != 0) for i, name in enumerate(names)]
    add_all(uow, *departments)
    expected = sorted(departments, key=lambda d: name_key(d.name))
    with uow.begin(read_only=True) as tx:
        assert list(tx.departments.list()) == expected
        assert list(tx.departments.list(active=True)) == [d for d in expected if d.is_active]
        assert list(tx.departments.list(active=False)) == [d for d in expected if not d.is_active]
    assert [d.name for d in expected][:3] == ["a-team", "ab", "accounts"]


# ---------------------------------------------------------------- teams


def test_a_team_round_trips_with_every_field(uow: UnitOfWork) -> None:
    department = make_department("Billing")
    team = make_team(
        department,
        "Tier 1",
        is_active=False,
        version=2,
        created_at=datetime(2024, 3, 3, 23, 59, 59, 999999, tzinfo=PLUS_TWO),
    )
    add_all(uow, department, team)
    with uow.begin(read_only=True) as tx:
        loaded = tx.teams.get(team.id)
        assert tx.teams.get(uuid.uuid4()) is None
    assert loaded == team
    assert loaded is not None
    assert loaded.department_id == department.id
    assert loaded.is_active is False
    assert_utc(loaded.created_at, loaded.updated_at)


def test_team_names_are_unique_within_their_department(uow: UnitOfWork) -> None:
    billing, sales = make_department("Billing"), make_department("Sales")
    add_all(uow, billing, sales, make_team(billing, "Tier 1"))
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="the department has a team named 'Tier 1'"):
            tx.teams.add(make_team(billing, " tier  1"))
        other = make_team(sales, "Tier 1")  # the same name in another department is fine
        tx.teams.add(other)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.teams.get(other.id) == other


def test_a_team_of_an_unknown_department_is_a_conflict(uow: UnitOfWork) -> None:
    ghost = make_department("Ghost")
    with uow.begin() as tx, pytest.raises(Conflict, match="no such department"):
        tx.teams.add(make_team(ghost, "Tier 1"))


def test_updating_a_team_persists_it(uow: UnitOfWork) -> None:
    department = make_department("Billing")
    team = make_team(department, "Tier 1")
    add_all(uow, department, team)
    changed = bumped(team, name="Tier One", is_active=False)
    store(uow, lambda tx: tx.teams.update(changed))
    with uow.begin(read_only=True) as tx:
        assert tx.teams.get(team.id) == changed


def test_renaming_a_team_to_a_taken_name_is_a_conflict(uow: UnitOfWork) -> None:
    billing, sales = make_department("Billing"), make_department("Sales")
    tier1, tier2 = make_team(billing, "Tier 1"), make_team(billing, "Tier 2")
    elsewhere = make_team(sales, "Tier 3")
    add_all(uow, billing, sales, tier1, tier2, elsewhere)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="the department has a team named 'Tier 1'"):
            tx.teams.update(bumped(tier2, name="TIER 1"))
        tx.teams.update(bumped(elsewhere, name="Tier 1"))  # free in its own department
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.teams.get(tier2.id) == tier2
        assert tx.teams.get(elsewhere.id) == bumped(elsewhere, name="Tier 1")


def test_a_stale_team_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    department = make_department("Billing")
    team = make_team(department, "Tier 1")
    add_all(uow, department, team)
    first = bumped(team, name="First line")
    store(uow, lambda tx: tx.teams.update(first))
    with uow.begin() as tx:
        with pytest.raises(StaleVersion):
            tx.teams.update(bumped(team, name="Second line"))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.teams.get(team.id) == first


def test_teams_are_listed_by_department_then_name(uow: UnitOfWork) -> None:
    billing, sales, accounts = (make_department(n) for n in ("billing", "Sales", "Accounts"))
    teams = [
        make_team(sales, "escalations"),
        make_team(billing, "Tier 2"),
        make_team(billing, "tier 1", is_active=False),
        make_team(accounts, "Ledger"),
        make_team(sales, "Deals"),
        make_team(billing, "Äpfel"),
    ]
    add_all(uow, billing, sales, accounts, *teams)
    order = {accounts.id: 0, billing.id: 1, sales.id: 2}
    expected = sorted(teams, key=lambda t: (order[t.department_id], name_key(t.name)))
    with uow.begin(read_only=True) as tx:
        assert list(tx.teams.list()) == expected
        assert list(tx.teams.list(department_id=billing.id)) == [
            t for t in expected if t.department_id == billing.id
        ]
        assert list(tx.teams.list(active=True)) == [t for t in expected if t.is_active]
        assert list(tx.teams.list(department_id=billing.id, active=False)) == [teams[2]]
        assert list(tx.teams.list(department_id=uuid.uuid4())) == []
    assert [t.name for t in expected] == [
        "Ledger",
        "tier 1",
        "Tier 2",
        "Äpfel",
        "Deals",
        "escalations",
    ]


# ---------------------------------------------------------------- staff


@pytest.fixture
def org(uow: UnitOfWork) -> dict[str, Department | Team]:
    """Two departments with two teams each, stored."""
    billing, sales = make_department("Billing"), make_department("Sales")
    parts: dict[str, Department | Team] = {
        "billing": billing,
        "sales": sales,
        "billing-1": make_team(billing, "Tier 1"),
        "billing-2": make_team(billing, "Tier 2"),
        "sales-1": make_team(sales, "Tier 1"),
    }
    add_all(uow, *parts.values())
    return parts


def test_a_staff_member_round_trips_with_every_field(
    uow: UnitOfWork, org: dict[str, Department | Team]
) -> None:
    user = make_user()
    staff = make_staff(
        user,
        StaffRole.LEAD,
        department_id=org["billing"].id,
        team_id=org["billing-2"].id,
        is_active=False,
        version=5,
        created_at=datetime(2024, 2, 29, 1, 2, 3, 4, tzinfo=PLUS_TWO),
    )
    admin_user = make_user()
    admin = make_staff(admin_user, StaffRole.ADMIN)
    add_all(uow, user, staff, admin_user, admin)
    with uow.begin(read_only=True) as tx:
        loaded = tx.staff.get(user.id)
        assert tx.staff.get(admin_user.id) == admin
        assert tx.staff.get(uuid.uuid4()) is None
    assert loaded == staff
    assert loaded is not None
    assert loaded.role is StaffRole.LEAD
    assert loaded.team_id == org["billing-2"].id
    assert loaded.is_active is False
    assert_utc(loaded.created_at, loaded.updated_at)


def test_a_customer_has_no_staff_profile(uow: UnitOfWork) -> None:
    customer = make_user()
    add_all(uow, customer)
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(customer.id) is None


def test_a_user_has_one_staff_profile(uow: UnitOfWork, org: dict[str, Department | Team]) -> None:
    user = make_user()
    add_all(uow, user, make_staff(user, department_id=org["billing"].id))
    with uow.begin() as tx, pytest.raises(Conflict, match="the user already has a staff profile"):
        tx.staff.add(make_staff(user, StaffRole.ADMIN))


@pytest.mark.parametrize(
    ("placement", "message"),
    [
        ({"department_id": "unknown"}, "no such department"),
        ({"department_id": "billing", "team_id": "unknown"}, "no such team"),
        ({"department_id": "billing", "team_id": "sales-1"}, "team belongs to another department"),
        ({"department_id": "sales", "team_id": "billing-1"}, "team belongs to another department"),
    ],
)
def test_the_store_refuses_a_staff_member_placed_where_nothing_is(
    uow: UnitOfWork,
    org: dict[str, Department | Team],
    placement: dict[str, str],
    message: str,
) -> None:
    user = make_user()
    add_all(uow, user)
    ids = {k: org[v].id if v in org else uuid.uuid4() for k, v in placement.items()}
    with uow.begin() as tx:
        with pytest.raises(Conflict, match=message):
            tx.staff.add(make_staff(user, **ids))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(user.id) is None


def test_a_staff_profile_needs_a_user(uow: UnitOfWork) -> None:
    with uow.begin() as tx, pytest.raises(Conflict, match="no such user"):
        tx.staff.add(make_staff(make_user(), StaffRole.ADMIN))


def test_updating_a_staff_member_persists_it(
    uow: UnitOfWork, org: dict[str, Department | Team]
) -> None:
    user = make_user()
    staff = make_staff(user, department_id=org["billing"].id, team_id=org["billing-1"].id)
    add_all(uow, user, staff)
    moved = bumped(
        staff,
        role=StaffRole.LEAD,
        department_id=org["sales"].id,
        team_id=org["sales-1"].id,
        is_active=False,
    )
    store(uow, lambda tx: tx.staff.update(moved))
    out_of_teams = bumped(moved, team_id=None, department_id=None, role=StaffRole.ADMIN)
    store(uow, lambda tx: tx.staff.update(out_of_teams))
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(user.id) == out_of_teams


def test_moving_a_staff_member_into_a_foreign_team_is_refused(
    uow: UnitOfWork, org: dict[str, Department | Team]
) -> None:
    user = make_user()
    staff = make_staff(user, department_id=org["billing"].id, team_id=org["billing-1"].id)
    add_all(uow, user, staff)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="the team belongs to another department"):
            tx.staff.update(bumped(staff, department_id=org["sales"].id))  # keeps billing-1
        with pytest.raises(Conflict, match="the team belongs to another department"):
            tx.staff.update(bumped(staff, team_id=org["sales-1"].id))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(user.id) == staff


def test_a_stale_staff_update_is_refused_and_changes_nothing(
    uow: UnitOfWork, org: dict[str, Department | Team]
) -> None:
    user = make_user()
    staff = make_staff(user, department_id=org["billing"].id)
    add_all(uow, user, staff)
    first = bumped(staff, role=StaffRole.LEAD)
    store(uow, lambda tx: tx.staff.update(first))
    with uow.begin() as tx:
        with pytest.raises(StaleVersion):
            tx.staff.update(bumped(staff, is_active=False))
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.staff.get(user.id) == first


def test_staff_lists_filter_and_put_the_oldest_first(
    uow: UnitOfWork, org: dict[str, Department | Team]
) -> None:
    billing, sales = org["billing"].id, org["sales"].id
    tier1, tier2, sales1 = org["billing-1"].id, org["billing-2"].id, org["sales-1"].id
    users = [make_user() for _ in range(7)]
    at = [T0 + timedelta(minutes=m) for m in (5, 1, 3, 3, 0, 2, 3)]
    placements: list[dict[str, object]] = [
        {"role": StaffRole.AGENT, "department_id": billing, "team_id": tier1},
        {"role": StaffRole.LEAD, "department_id": billing},
        {"role": StaffRole.AGENT, "department_id": billing, "team_id": tier2, "is_active": False},
        {"role": StaffRole.AGENT, "department_id": sales, "team_id": sales1},
        {"role": StaffRole.ADMIN},
        {"role": StaffRole.AGENT, "department_id": billing, "team_id": tier1},
        {"role": StaffRole.LEAD, "department_id": sales, "is_active": False},
    ]
    members = [
        make_staff(u, created_at=t, updated_at=t, **p)  # type: ignore[arg-type]
        for u, t, p in zip(users, at, placements, strict=True)
    ]
    add_all(uow, *users, *members[::-1])
    oldest_first = sorted(members, key=lambda s: (s.created_at, s.user_id))

    def expect(where: StaffFilter, predicate: Callable[[StaffMember], bool]) -> None:
        with uow.begin(read_only=True) as tx:
            listed = list(tx.staff.list(where))
            counted = tx.staff.count(where)
        assert listed == [s for s in oldest_first if predicate(s)], where
        assert counted == len(listed), where

    expect(StaffFilter(), lambda s: True)
    expect(StaffFilter(department_id=billing), lambda s: s.department_id == billing)
    expect(StaffFilter(team_id=tier1), lambda s: s.team_id == tier1)
    expect(StaffFilter(role=StaffRole.AGENT), lambda s: s.role is StaffRole.AGENT)
    expect(StaffFilter(active=True), lambda s: s.is_active)
    expect(StaffFilter(active=False), lambda s: not s.is_active)
    expect(
        StaffFilter(department_id=sales, role=StaffRole.LEAD, active=False),
        lambda s: s.department_id == sales and s.role is StaffRole.LEAD and not s.is_active,
    )
    expect(StaffFilter(team_id=uuid.uuid4()), lambda s: False)
    # Three members share a created_at: the user id orders them.
    same_time = [s for s in oldest_first if s.created_at == T0 + timedelta(minutes=3)]
    assert [s.user_id for s in same_time] == sorted(s.user_id for s in same_time)


# ---------------------------------------------------------------- sessions


def test_a_session_round_trips_with_every_field(uow: UnitOfWork) -> None:
    user = make_user()
    live = make_session(user, created_at=datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO))
    ended = make_session(user, revoked_at=T0 + timedelta(minutes=30))
    add_all(uow, user, live, ended)
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get(live.id) == live
        assert tx.sessions.get(ended.id) == ended
        assert tx.sessions.get(uuid.uuid4()) is None
        loaded = tx.sessions.get(ended.id)
    assert loaded is not None
    assert_utc(loaded.created_at, loaded.expires_at, loaded.revoked_at)


def test_a_session_is_found_with_its_user_and_staff_profile(uow: UnitOfWork) -> None:
    customer, agent = make_user(), make_user()
    profile = make_staff(agent, StaffRole.LEAD)
    own, theirs = make_session(customer), make_session(agent, revoked_at=T0)
    add_all(uow, customer, agent, profile, own, theirs)
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get_with_account(own.id) == SessionAccount(own, customer, None)
        assert tx.sessions.get_with_account(theirs.id) == SessionAccount(theirs, agent, profile)
        assert tx.sessions.get_with_account(uuid.uuid4()) is None


def test_a_session_needs_a_user_and_a_new_id(uow: UnitOfWork) -> None:
    user = make_user()
    session = make_session(user)
    add_all(uow, user, session)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="a session with this id already exists"):
            tx.sessions.add(session)
        with pytest.raises(Conflict, match="no such user"):
            tx.sessions.add(make_session(make_user()))


def test_revoking_ends_a_session_once(uow: UnitOfWork) -> None:
    user = make_user()
    session = make_session(user)
    add_all(uow, user, session)
    at = T0 + timedelta(minutes=10)
    with uow.begin() as tx:
        assert tx.sessions.revoke(session.id, at) is True
        assert tx.sessions.revoke(session.id, at + timedelta(minutes=1)) is False
        assert tx.sessions.revoke(uuid.uuid4(), at) is False
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get(session.id) == attrs.evolve(session, revoked_at=at)


def test_revoke_all_ends_every_live_session_of_the_user_but_the_kept_one(
    uow: UnitOfWork,
) -> None:
    ann, bob = make_user(), make_user()
    earlier = T0 + timedelta(minutes=1)
    kept, second, third = (make_session(ann) for _ in range(3))
    already = make_session(ann, revoked_at=earlier)
    bobs = make_session(bob)
    add_all(uow, ann, bob, kept, second, third, already, bobs)
    at = T0 + timedelta(minutes=20)
    with uow.begin() as tx:
        assert tx.sessions.revoke_all(ann.id, at, keep=kept.id) == 2
        assert tx.sessions.revoke_all(ann.id, at, keep=kept.id) == 0
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get(kept.id) == kept
        assert tx.sessions.get(second.id) == attrs.evolve(second, revoked_at=at)
        assert tx.sessions.get(third.id) == attrs.evolve(third, revoked_at=at)
        assert tx.sessions.get(already.id) == already  # its first end stays recorded
        assert tx.sessions.get(bobs.id) == bobs
    later = at + timedelta(minutes=1)
    with uow.begin() as tx:
        assert tx.sessions.revoke_all(ann.id, later) == 1  # no keep: the kept one ends too
        assert tx.sessions.revoke_all(uuid.uuid4(), later) == 0
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.sessions.get(kept.id) == attrs.evolve(kept, revoked_at=later)
        assert tx.sessions.get(bobs.id) == bobs


# ---------------------------------------------------------------- password reset tokens


def test_a_reset_token_round_trips_with_every_field(uow: UnitOfWork) -> None:
    user = make_user()
    token = make_token(user, created_at=datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO))
    used = make_token(user, used_at=T0 + timedelta(minutes=2))
    add_all(uow, user, token, used)
    with uow.begin(read_only=True) as tx:
        assert tx.password_resets.get_by_hash(token.token_hash) == token
        loaded = tx.password_resets.get_by_hash(used.token_hash)
        assert tx.password_resets.get_by_hash("0" * 64) is None
    assert loaded == used
    assert_utc(loaded.created_at, loaded.expires_at, loaded.used_at)


def test_a_reset_token_needs_a_user_and_a_new_hash(uow: UnitOfWork) -> None:
    user = make_user()
    token = make_token(user)
    add_all(uow, user, token)
    # Each in a transaction of its own: on PostgreSQL a refused reset ends its transaction
    # (no savepoint: a reset's transaction records nothing else worth keeping).
    for refused, why in (
        (make_token(user, token_hash=token.token_hash), "a reset token with this hash already"),
        (attrs.evolve(token, token_hash="f" * 64), "a reset token with this id already exists"),
        (make_token(make_user()), "no such user"),
    ):
        with uow.begin() as tx, pytest.raises(Conflict, match=why):
            tx.password_resets.add(refused)


def test_a_reset_token_is_used_once_only(uow: UnitOfWork) -> None:
    user = make_user()
    token = make_token(user)
    add_all(uow, user, token)
    at = T0 + timedelta(minutes=3)
    with uow.begin() as tx:
        assert tx.password_resets.mark_used(token.id, at) is True
        assert tx.password_resets.mark_used(token.id, at + timedelta(seconds=1)) is False
        assert tx.password_resets.mark_used(uuid.uuid4(), at) is False
        tx.commit()
    with uow.begin() as tx:
        assert tx.password_resets.mark_used(token.id, at) is False
        assert tx.password_resets.get_by_hash(token.token_hash) == attrs.evolve(token, used_at=at)


def test_invalidate_all_uses_up_every_open_token_of_the_user(uow: UnitOfWork) -> None:
    ann, bob = make_user(), make_user()
    earlier = T0 + timedelta(minutes=1)
    open_tokens = [make_token(ann), make_token(ann, expires_at=T0 - timedelta(hours=1))]
    used = make_token(ann, used_at=earlier)
    bobs = make_token(bob)
    add_all(uow, ann, bob, *open_tokens, used, bobs)
    at = T0 + timedelta(minutes=5)
    with uow.begin() as tx:
        assert tx.password_resets.invalidate_all(ann.id, at) == 2
        assert tx.password_resets.invalidate_all(ann.id, at) == 0
        tx.commit()
    with uow.begin(read_only=True) as tx:
        for token in open_tokens:
            assert tx.password_resets.get_by_hash(token.token_hash) == attrs.evolve(
                token, used_at=at
            )
        assert tx.password_resets.get_by_hash(used.token_hash) == used
        assert tx.password_resets.get_by_hash(bobs.token_hash) == bobs


def test_racing_resets_use_a_token_once(uow: UnitOfWork) -> None:
    user = make_user()
    token = make_token(user)
    add_all(uow, user, token)
    outcomes = race(
        uow, 4, lambda tx: tx.password_resets.mark_used(token.id, T0 + timedelta(minutes=1))
    )
    assert sorted(outcomes, key=str) == [False, False, False, True]


# ---------------------------------------------------------------- transactions


def race(uow: UnitOfWork, threads: int, write: Callable[[Transaction], object]) -> list[object]:
    """Run ``write`` in ``threads`` transactions at once; each one's result or exception."""
    outcomes: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        outcome: object
        try:
            with uow.begin() as tx:
                outcome = write(tx)
                tx.commit()
        except Exception as exc:  # the outcome under test
            outcome = exc
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def test_racing_adds_of_one_name_store_one_and_refuse_the_rest(uow: UnitOfWork) -> None:
    outcomes = race(uow, 4, lambda tx: tx.departments.add(make_department("Billing")))
    assert [o for o in outcomes if o is not None and not isinstance(o, Conflict)] == []
    assert sum(1 for o in outcomes if o is None) == 1
    with uow.begin(read_only=True) as tx:
        assert [d.name for d in tx.departments.list()] == ["Billing"]


def test_a_conflict_leaves_the_transaction_usable(uow: UnitOfWork) -> None:
    """On PostgreSQL a failed statement would abort the transaction: each write is guarded."""
    ann = make_user("ann@example.com")
    billing = make_department("Billing")
    add_all(uow, ann, billing)
    bob = make_user("bob@example.com")
    sales = make_department("Sales")
    tier1 = make_team(sales, "Tier 1")
    staff = make_staff(bob, department_id=sales.id, team_id=tier1.id)
    with uow.begin() as tx:
        tx.departments.add(sales)
        with pytest.raises(Conflict):
            tx.departments.add(make_department("BILLING"))
        with pytest.raises(Conflict):
            tx.users.add(make_user("Ann@example.com"))
        tx.users.add(bob)
        tx.teams.add(tier1)
        with pytest.raises(Conflict):
            tx.teams.add(make_team(sales, "tier 1"))
        with pytest.raises(Conflict):
            tx.staff.add(make_staff(bob, department_id=billing.id, team_id=tier1.id))
        tx.staff.add(staff)
        with pytest.raises(Conflict):
            tx.departments.update(bumped(sales, name="billing"))
        with pytest.raises(StaleVersion):
            tx.departments.update(bumped(billing, version=5))
        renamed = bumped(billing, name="Billing and Payments")
        tx.departments.update(renamed)
        tx.counters.next_value("after-conflicts")
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert list(tx.departments.list()) == [renamed, sales]
        assert tx.users.get(bob.id) == bob
        assert tx.teams.get(tier1.id) == tier1
        assert tx.staff.get(bob.id) == staff
        assert tx.counters.current_value("after-conflicts") == 1


def test_leaving_without_commit_discards_every_add(uow: UnitOfWork) -> None:
    user = make_user()
    department = make_department("Billing")
    with uow.begin() as tx:
        tx.users.add(user)
        tx.departments.add(department)
        tx.sessions.add(make_session(user))
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(user.id) is None
        assert tx.departments.get(department.id) is None
        assert list(tx.departments.list()) == []


def test_rollback_discards_adds_and_the_transaction_goes_on_afresh(uow: UnitOfWork) -> None:
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    kept = make_user("kept@example.com")
    add_all(uow, kept)
    with uow.begin() as tx:
        tx.users.add(ann)
        tx.departments.add(make_department("Billing"))
        tx.rollback()
        assert tx.users.get(ann.id) is None
        assert tx.users.get(kept.id) == kept
        tx.users.add(bob)
        tx.departments.add(make_department("billing"))  # the rolled-back name is free again
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(ann.id) is None
        assert tx.users.get(bob.id) == bob
        assert [d.name for d in tx.departments.list()] == ["billing"]


def test_a_commit_publishes_at_once_and_a_later_rollback_keeps_it(uow: UnitOfWork) -> None:
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    with uow.begin() as tx:
        tx.users.add(ann)
        tx.commit()
        tx.users.add(bob)
        tx.rollback()
    with uow.begin(read_only=True) as tx:
        assert tx.users.get(ann.id) == ann
        assert tx.users.get(bob.id) is None


def test_an_uncommitted_change_is_invisible_to_other_transactions(uow: UnitOfWork) -> None:
    user = make_user()
    add_all(uow, user)
    with uow.begin() as tx:
        tx.users.update(bumped(user, display_name="Changed"))
        with uow.begin(read_only=True) as reader:
            assert reader.users.get(user.id) == user
