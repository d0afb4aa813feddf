"""The service-level policies, on every store: memory, SQLite, PostgreSQL, and the helpers
and fixtures of the clock and list contracts (test_sla_clock_repositories.py,
test_sla_ticket_lists.py).

Policies keep their lists and targets exactly, are listed in the order they match (position,
name key in code-point order, id), have names unique regardless of case and spacing, name a
stored calendar, change under optimistic locking, and come with their calendars when in force.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.sla import Metric, OnReopen, SlaClock, SlaPolicy, Targets
from helpdesk_core.domain.values import TicketPriority, TicketStatus, name_key
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_calendar_repositories import make_calendar
from tests.contract.test_ticket_repositories import (
    PLUS_TWO,
    T0,
    Org,
)

# The ticket contract's organization (Support with its team Tier 1, Billing; agents Ann, Bob,
# Cara; customers Carl, Dora), made through the store-built ``uow`` of tests/contract/conftest.py.
org = repositories.org

NOW = T0 + timedelta(days=10)  # the instant the scheduler and the lists judge at
HOUR = timedelta(hours=1)


def make_policy(name: str = "Standard", **parts: Any) -> SlaPolicy:
    parts.setdefault("targets", {"normal": {"first_response": 60, "resolution": 480}})
    return SlaPolicy.create(uuid.uuid4(), T0, name=name, **parts)


def add_policies(uow: UnitOfWork, *policies: SlaPolicy) -> None:
    with uow.begin() as tx:
        for policy in policies:
            tx.sla_policies.add(policy)
        tx.commit()


def stored_policy(uow: UnitOfWork, policy_id: uuid.UUID) -> SlaPolicy | None:
    with uow.begin(read_only=True) as tx:
        return tx.sla_policies.get(policy_id)


def all_policies(uow: UnitOfWork, active: bool | None = None) -> list[SlaPolicy]:
    with uow.begin(read_only=True) as tx:
        return list(tx.sla_policies.list(active))


def bumped(policy: SlaPolicy, **parts: Any) -> SlaPolicy:
    """``policy`` changed as the use case changes it: a later updated_at, the next version."""
    return policy.revised(policy.updated_at + timedelta(minutes=5), **parts)


def make_clock(
    ticket: Ticket,
    policy: SlaPolicy,
    metric: Metric = Metric.FIRST_RESPONSE,
    cycle: int = 1,
    **changes: Any,
) -> SlaClock:
    """A running clock of an hour, started at T0 (any state: the store keeps what it is given)."""
    values: dict[str, Any] = {
        "ticket_id": ticket.id,
        "metric": metric,
        "cycle": cycle,
        "policy_id": policy.id,
        "started_at": T0,
        "budget": 3600,
        "since": T0,
        "due_at": T0 + HOUR,
        "warn_at": T0 + HOUR / 2,
        "alarm_at": T0 + HOUR / 2,
    }
    values.update(changes)
    return SlaClock(**values)


def add_clocks(uow: UnitOfWork, *clocks: SlaClock) -> None:
    with uow.begin() as tx:
        tx.sla_clocks.add(clocks)
        tx.commit()


def clocks_of(uow: UnitOfWork, ticket: Ticket) -> list[SlaClock]:
    with uow.begin(read_only=True) as tx:
        return list(tx.sla_clocks.of_ticket(ticket.id))


def key(clock: SlaClock) -> tuple[uuid.UUID, Metric, int]:
    return (clock.ticket_id, clock.metric, clock.cycle)


INSTANTS = "started_at since due_at warn_at alarm_at warned_at breached_at met_at cancelled_at"


def instants(clock: SlaClock) -> list[datetime]:
    """The times a clock holds (those set)."""
    return [value for name in INSTANTS.split() if (value := getattr(clock, name)) is not None]


@pytest.fixture
def policy(uow: UnitOfWork) -> SlaPolicy:
    made = make_policy()
    add_policies(uow, made)
    return made


# ---------------------------------------------------------------- policies


def test_a_policy_round_trips_with_its_lists_and_targets_exactly(uow: UnitOfWork, org: Org) -> None:
    calendar = make_calendar()
    with uow.begin() as tx:
        tx.calendars.add(calendar)
        tx.commit()
    policy = attrs.evolve(
        make_policy(
            "Gold Support",
            position=7,
            department_ids=[org.support.id, str(org.billing.id), org.support.id],
            priorities=["urgent", "low"],
            calendar_id=calendar.id,
            targets={
                "urgent": {"first_response": 15},  # the other metrics promise nothing
                "low": {"resolution": 2880, "next_response": None},
                "high": {"first_response": 30, "next_response": 60, "resolution": 240},
                "normal": {},
            },
            pause_statuses=["pending", "open"],
            warn_before=45,
            on_reopen="restart",
        ),
        created_at=datetime(2024, 5, 1, 14, 0, 0, 654321, tzinfo=PLUS_TWO),
        updated_at=T0 + timedelta(days=2, microseconds=7),
        is_active=False,
        version=3,
    )
    bare = make_policy("Everything", targets={}, pause_statuses=[])
    add_policies(uow, policy, bare)

    loaded = stored_policy(uow, policy.id)

    assert loaded == policy
    assert loaded is not None
    assert loaded.department_ids == tuple(sorted((org.support.id, org.billing.id)))
    assert loaded.priorities == (TicketPriority.LOW, TicketPriority.URGENT)
    assert loaded.calendar_id == calendar.id
    assert loaded.targets == {
        TicketPriority.LOW: Targets(resolution=2880),
        TicketPriority.NORMAL: Targets(),
        TicketPriority.HIGH: Targets(first_response=30, next_response=60, resolution=240),
        TicketPriority.URGENT: Targets(first_response=15),
    }
    assert loaded.target(TicketPriority.URGENT, Metric.RESOLUTION) is None
    assert loaded.pause_statuses == (TicketStatus.OPEN, TicketStatus.PENDING)
    assert (loaded.warn_before, loaded.on_reopen) == (45, OnReopen.RESTART)
    assert (loaded.is_active, loaded.version) == (False, 3)
    assert loaded.created_at == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=T0.tzinfo)
    for instant in (loaded.created_at, loaded.updated_at):
        assert instant.utcoffset() == timedelta(0), instant
    assert stored_policy(uow, bare.id) == bare
    assert stored_policy(uow, uuid.uuid4()) is None


def test_an_empty_store_lists_no_policy(uow: UnitOfWork) -> None:
    assert all_policies(uow) == []
    assert all_policies(uow, active=True) == []


def test_policies_are_listed_in_the_order_they_match_and_filtered_by_active(
    uow: UnitOfWork,
) -> None:
    named = [
        ("sales", 1),
        ("Zeta", 0),
        ("Ärger", 0),
        ("a-team", 0),
        ("ab", 0),
        ("Beta", 2),
        ("alpha", 2),
        ("b  2", 0),
    ]
    policies = [
        attrs.evolve(make_policy(name, position=position), is_active=i % 3 != 0)
        for i, (name, position) in enumerate(named)
    ]
    add_policies(uow, *policies)
    expected = sorted(policies, key=lambda p: (p.position, name_key(p.name), p.id))
    assert [p.name for p in expected] == [
        "a-team",
        "ab",
        "b  2",
        "Zeta",
        "Ärger",  # code-point order on every store, not a locale's
        "sales",
        "alpha",
        "Beta",
    ]
    assert all_policies(uow) == expected
    assert all_policies(uow, active=True) == [p for p in expected if p.is_active]
    assert all_policies(uow, active=False) == [p for p in expected if not p.is_active]


@pytest.mark.parametrize(
    "taken", ["Gold Support", "gold support", "  GOLD   support ", "Gold\tSupport"]
)
def test_policy_names_are_unique_regardless_of_case_and_spacing(
    uow: UnitOfWork, taken: str
) -> None:
    add_policies(uow, make_policy("Gold Support"))
    refused = attrs.evolve(make_policy(), name=taken)  # as stored, untrimmed: the key matches
    with (
        uow.begin() as tx,
        pytest.raises(Conflict, match="a policy named 'Gold Support' already exists"),
    ):
        tx.sla_policies.add(refused)


def test_a_refused_policy_leaves_the_transaction_usable(uow: UnitOfWork) -> None:
    first, other = make_policy("Gold"), make_policy("Silver", position=1)
    add_policies(uow, first)
    with uow.begin() as tx:
        with pytest.raises(Conflict):
            tx.sla_policies.add(make_policy("GOLD"))
        with pytest.raises(Conflict, match="a policy with this id already exists"):
            tx.sla_policies.add(attrs.evolve(first, name="Bronze"))
        tx.sla_policies.add(other)
        tx.commit()
    assert all_policies(uow) == [first, other]


def test_a_policy_names_a_stored_calendar(uow: UnitOfWork) -> None:
    calendar = make_calendar()
    with uow.begin() as tx:
        tx.calendars.add(calendar)
        tx.commit()
    policy = make_policy("Office hours", calendar_id=calendar.id)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="no such calendar"):
            tx.sla_policies.add(make_policy("Nowhere", calendar_id=uuid.uuid4()))
        tx.sla_policies.add(policy)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="no such calendar"):
            tx.sla_policies.update(bumped(policy, calendar_id=uuid.uuid4()))
        tx.commit()
    assert all_policies(uow) == [policy]


def test_an_update_replaces_the_parts_and_keeps_the_creation_time(
    uow: UnitOfWork, org: Org
) -> None:
    policy = make_policy("Gold", department_ids=[org.support.id], priorities=["high"])
    add_policies(uow, policy)
    changed = bumped(
        policy,
        name="GOLD",  # its own name, recased: allowed
        position=3,
        department_ids=[],
        priorities=["low", "urgent"],
        targets={"low": {"next_response": 120}},
        pause_statuses=[],
        warn_before=10,
        on_reopen="restart",
        active=False,
    )
    with uow.begin() as tx:
        tx.sla_policies.update(attrs.evolve(changed, created_at=T0 + timedelta(days=9)))
        tx.commit()
    assert stored_policy(uow, policy.id) == changed
    assert all_policies(uow, active=False) == [changed]


def test_a_stale_policy_update_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    policy = make_policy("Gold")
    add_policies(uow, policy)
    first = bumped(policy, warn_before=15)
    with uow.begin() as tx:
        tx.sla_policies.update(first)
        tx.commit()
    with uow.begin() as tx:
        with pytest.raises(StaleVersion, match="the policy was changed meanwhile"):
            tx.sla_policies.update(bumped(policy, name="Stale"))
        with pytest.raises(StaleVersion):  # a version from the future is stale too
            tx.sla_policies.update(attrs.evolve(bumped(first), version=first.version + 2))
        with pytest.raises(StaleVersion):  # and an unknown policy has no version
            tx.sla_policies.update(bumped(make_policy("Unknown")))
        tx.commit()
    assert all_policies(uow) == [first]


def test_renaming_a_policy_to_a_taken_name_is_a_conflict_and_changes_nothing(
    uow: UnitOfWork,
) -> None:
    gold, silver = make_policy("Gold"), make_policy("Silver")
    add_policies(uow, gold, silver)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="a policy named 'Gold' already exists"):
            tx.sla_policies.update(bumped(silver, name=" gold ", warn_before=5))
        tx.commit()
    assert all_policies(uow) == [gold, silver]


def test_the_policies_in_force_come_with_their_calendars_in_matching_order(
    uow: UnitOfWork,
) -> None:
    office = make_calendar(holidays=[(datetime(2026, 12, 24).date(), "Christmas Eve")])
    empty = make_calendar("Weekend desk", intervals=[("sat", "10:00", "14:00")])
    with uow.begin() as tx:
        tx.calendars.add(office)
        tx.calendars.add(empty)
        tx.commit()
    late = make_policy("Late", position=5, calendar_id=office.id)
    early = make_policy("Early", position=1, calendar_id=empty.id)
    anytime = make_policy("Anytime", position=3)
    off = attrs.evolve(make_policy("Off", position=0, calendar_id=office.id), is_active=False)
    add_policies(uow, late, early, anytime, off)
    with uow.begin(read_only=True) as tx:
        found = tx.sla_policies.in_force()
    assert [(policy.id, calendar) for policy, calendar in found] == [
        (early.id, empty),
        (anytime.id, None),
        (late.id, office),
    ]
