"""The service-level repositories, on every store: memory, SQLite, PostgreSQL.

Policies keep their lists and targets exactly, are listed in the order they match (position,
name key in code-point order, id), have names unique regardless of case and spacing, name a
stored calendar and change under optimistic locking. Clocks are one per ticket, metric and
cycle, refer to a stored ticket and policy, and are read per ticket, latest per metric, due
(earliest alarm first, on PostgreSQL skipping what another transaction holds) and as the
tickets still owed something. A ticket keeps what its clocks come to (``set_sla``), untouched
by its own updates, and the staff list filters and orders by it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import Conflict, NotFound, StaleVersion
from helpdesk_core.domain.sla import Metric, OnReopen, SlaClock, SlaPolicy, Targets, TicketSla
from helpdesk_core.domain.values import TicketPriority, TicketStatus, name_key
from helpdesk_core.ports.tickets import SlaState, TicketSort, sort_key
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract import test_ticket_repositories as repositories
from tests.contract.test_calendar_repositories import make_calendar
from tests.contract.test_ticket_repositories import (
    PLUS_TWO,
    T0,
    Org,
    ids,
    listed,
    make_ticket,
    open_ticket,
    read,
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


# ---------------------------------------------------------------- clocks: writes


def test_clocks_added_at_once_are_read_by_metric_then_cycle_in_utc(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    ticket, other = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    later = (T0 + timedelta(minutes=3, microseconds=1)).astimezone(PLUS_TWO)
    clocks = [
        make_clock(ticket, policy, Metric.RESOLUTION, 2, spent=7200, since=None, due_at=None),
        make_clock(ticket, policy, Metric.NEXT_RESPONSE, 2, started_at=later, since=later),
        make_clock(
            ticket,
            policy,
            Metric.FIRST_RESPONSE,
            met_at=later,
            since=None,
            due_at=None,
            warn_at=None,
            alarm_at=None,
            spent=183,
        ),
        make_clock(ticket, policy, Metric.RESOLUTION, 1, cancelled_at=later, since=None),
        make_clock(
            ticket,
            policy,
            Metric.NEXT_RESPONSE,
            1,
            warned_at=later,
            breached_at=later + HOUR,
            alarm_at=None,
            budget=0,
        ),
        make_clock(other, policy, Metric.RESOLUTION),
    ]
    add_clocks(uow, *clocks)

    loaded = clocks_of(uow, ticket)

    order = {Metric.FIRST_RESPONSE: 0, Metric.NEXT_RESPONSE: 1, Metric.RESOLUTION: 2}
    assert [(c.metric, c.cycle) for c in loaded] == [
        (Metric.FIRST_RESPONSE, 1),
        (Metric.NEXT_RESPONSE, 1),
        (Metric.NEXT_RESPONSE, 2),
        (Metric.RESOLUTION, 1),
        (Metric.RESOLUTION, 2),
    ]
    mine = [c for c in clocks if c.ticket_id == ticket.id]
    assert loaded == sorted(mine, key=lambda c: (order[c.metric], c.cycle))
    for clock in loaded:
        for instant in instants(clock):
            assert instant.utcoffset() == timedelta(0), (clock.metric, clock.cycle, instant)
    assert loaded[2].started_at == datetime(2024, 5, 1, 12, 3, 0, 123457, tzinfo=T0.tzinfo)
    with uow.begin() as tx:  # read locked: the same clocks
        assert list(tx.sla_clocks.of_ticket(ticket.id, for_update=True)) == loaded
        assert list(tx.sla_clocks.of_ticket(other.id)) == [clocks[-1]]
        assert list(tx.sla_clocks.of_ticket(uuid.uuid4())) == []


def test_a_clock_is_stored_once_per_ticket_metric_and_cycle(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    ticket = open_ticket(uow, org.carl)
    first = make_clock(ticket, policy)
    add_clocks(uow, first)
    fresh = make_clock(ticket, policy, Metric.RESOLUTION)
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="this ticket already has that clock"):
            tx.sla_clocks.add([fresh, attrs.evolve(first, budget=60)])
        with pytest.raises(Conflict, match="this ticket already has that clock"):
            tx.sla_clocks.add([fresh, make_clock(ticket, policy, Metric.RESOLUTION, spent=5)])
        tx.sla_clocks.add([make_clock(ticket, policy, cycle=2)])  # still usable
        tx.commit()
    assert [(c.metric, c.cycle) for c in clocks_of(uow, ticket)] == [
        (Metric.FIRST_RESPONSE, 1),
        (Metric.FIRST_RESPONSE, 2),
    ]
    assert clocks_of(uow, ticket)[0] == first


def test_a_clock_refers_to_a_stored_ticket(uow: UnitOfWork, org: Org, policy: SlaPolicy) -> None:
    ticket = open_ticket(uow, org.carl)
    good = make_clock(ticket, policy)
    bad = attrs.evolve(make_clock(ticket, policy, Metric.RESOLUTION), ticket_id=uuid.uuid4())
    with uow.begin() as tx:
        with pytest.raises(Conflict, match="no such ticket"):
            tx.sla_clocks.add([good, bad])
        tx.commit()
    assert clocks_of(uow, ticket) == []  # nothing of the refused batch
    with uow.begin(read_only=True) as tx:
        assert list(tx.sla_clocks.of_ticket(bad.ticket_id)) == []


def test_an_update_stores_the_new_state_of_a_clock(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    ticket = open_ticket(uow, org.carl)
    other_policy = make_policy("Other")
    add_policies(uow, other_policy)
    clock = make_clock(ticket, policy)
    neighbour = make_clock(ticket, policy, Metric.RESOLUTION)
    add_clocks(uow, clock, neighbour)
    met = (T0 + timedelta(minutes=20)).astimezone(PLUS_TWO)
    changed = attrs.evolve(
        clock,
        policy_id=other_policy.id,
        budget=1800,
        spent=1200,
        since=None,
        due_at=None,
        warn_at=None,
        alarm_at=None,
        warned_at=met,
        met_at=met,
    )
    with uow.begin() as tx:
        tx.sla_clocks.update(changed)
        tx.commit()
    loaded = clocks_of(uow, ticket)
    assert loaded == [changed, neighbour]
    assert [i.utcoffset() for i in instants(loaded[0])] == [timedelta(0)] * 3


def test_an_update_of_an_unknown_clock_is_refused(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    ticket = open_ticket(uow, org.carl)
    clock = make_clock(ticket, policy)
    add_clocks(uow, clock)
    with uow.begin() as tx:
        with pytest.raises(NotFound, match="no such clock"):
            tx.sla_clocks.update(attrs.evolve(clock, cycle=2, spent=5))
        with pytest.raises(NotFound, match="no such clock"):
            tx.sla_clocks.update(attrs.evolve(clock, metric=Metric.RESOLUTION))
        tx.commit()
    assert clocks_of(uow, ticket) == [clock]


# ---------------------------------------------------------------- clocks: reads


def test_latest_gives_the_latest_cycle_of_each_metric_of_tickets_with_clocks(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    first, second, bare = (open_ticket(uow, org.carl) for _ in range(3))
    clocks = [
        make_clock(first, policy, Metric.RESOLUTION, 1, cancelled_at=T0),
        make_clock(first, policy, Metric.NEXT_RESPONSE, 3),
        make_clock(first, policy, Metric.RESOLUTION, 2),
        make_clock(first, policy, Metric.NEXT_RESPONSE, 1, met_at=T0),
        make_clock(first, policy, Metric.FIRST_RESPONSE, 1, met_at=T0),
        make_clock(first, policy, Metric.NEXT_RESPONSE, 2, met_at=T0),
        make_clock(second, policy, Metric.RESOLUTION, 1),
    ]
    add_clocks(uow, *clocks)
    with uow.begin(read_only=True) as tx:
        found = tx.sla_clocks.latest([bare.id, second.id, first.id, uuid.uuid4(), first.id])
        assert tx.sla_clocks.latest([]) == {}
        assert tx.sla_clocks.latest([bare.id]) == {}
    assert set(found) == {first.id, second.id}
    assert list(found[first.id]) == [clocks[4], clocks[1], clocks[2]]
    assert list(found[second.id]) == [clocks[6]]


def test_due_gives_the_clocks_whose_alarm_has_come_earliest_first(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    a, b = sorted((open_ticket(uow, org.carl) for _ in range(2)), key=lambda t: t.id)
    at = {
        (a, Metric.FIRST_RESPONSE): NOW - HOUR,
        (a, Metric.NEXT_RESPONSE): NOW - 2 * HOUR,
        (a, Metric.RESOLUTION): NOW,  # exactly now: due
        (b, Metric.FIRST_RESPONSE): (NOW - HOUR).astimezone(PLUS_TWO),  # a tie with a's
        (b, Metric.NEXT_RESPONSE): NOW + timedelta(microseconds=1),  # not yet
        (b, Metric.RESOLUTION): None,  # nothing pending
    }
    clocks = {
        (ticket.id, metric): make_clock(ticket, policy, metric, alarm_at=alarm)
        for (ticket, metric), alarm in at.items()
    }
    add_clocks(uow, *clocks.values())
    expected = [
        (a.id, Metric.NEXT_RESPONSE),
        (a.id, Metric.FIRST_RESPONSE),  # the tie: by ticket id
        (b.id, Metric.FIRST_RESPONSE),
        (a.id, Metric.RESOLUTION),
    ]
    with uow.begin() as tx:
        found = list(tx.sla_clocks.due(NOW, 10))
        assert found == [clocks[k] for k in expected]
        assert {i.utcoffset() for c in found for i in instants(c)} == {timedelta(0)}
        assert list(tx.sla_clocks.due(NOW, 2)) == [clocks[k] for k in expected[:2]]
        assert list(tx.sla_clocks.due(NOW - 2 * HOUR - timedelta(microseconds=1), 10)) == []
        later = tx.sla_clocks.due(NOW + HOUR, 10)
        assert [key(c) for c in later] == [key(clocks[k]) for k in expected] + [
            (b.id, Metric.NEXT_RESPONSE, 1)
        ]


def test_open_tickets_pages_the_tickets_still_owed_something_in_id_order(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    other = make_policy("Other")
    add_policies(uow, other)
    tickets = sorted((open_ticket(uow, org.carl) for _ in range(6)), key=lambda t: t.id)
    t0, t1, t2, t3, t4, _ = tickets
    add_clocks(
        uow,
        make_clock(t0, policy),
        make_clock(t0, policy, Metric.RESOLUTION, met_at=NOW),
        make_clock(t1, policy, met_at=NOW),  # met: owes nothing
        make_clock(t1, policy, Metric.RESOLUTION, cancelled_at=NOW),  # cancelled: nothing
        make_clock(t2, policy, since=None, due_at=None),  # paused: still owed
        make_clock(t3, other),
        make_clock(t4, other, met_at=NOW),
        make_clock(t4, policy, Metric.RESOLUTION, breached_at=NOW),  # breached: still owed
        # t5 has no clock
    )
    with uow.begin(read_only=True) as tx:
        clocks = tx.sla_clocks
        assert list(clocks.open_tickets(None, None, 10)) == [t0.id, t2.id, t3.id, t4.id]
        assert list(clocks.open_tickets([policy.id], None, 10)) == [t0.id, t2.id, t4.id]
        assert list(clocks.open_tickets([other.id], None, 10)) == [t3.id]
        assert list(clocks.open_tickets([policy.id, other.id], None, 2)) == [t0.id, t2.id]
        assert list(clocks.open_tickets([policy.id, other.id], t2.id, 2)) == [t3.id, t4.id]
        assert list(clocks.open_tickets(None, t1.id, 1)) == [t2.id]
        assert list(clocks.open_tickets(None, t4.id, 10)) == []
        assert list(clocks.open_tickets([], None, 10)) == []
        assert list(clocks.open_tickets([uuid.uuid4()], None, 10)) == []


@pytest.mark.parametrize(
    "backend_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_two_schedulers_never_take_the_same_clock(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    """Two transactions open at once (two connections): the second skips what the first
    holds instead of waiting for it (or taking it too); held clocks are free once the
    transaction holding them ends."""
    a, b = sorted((open_ticket(uow, org.carl) for _ in range(2)), key=lambda t: t.id)
    pairs = [(a, Metric.FIRST_RESPONSE), (b, Metric.FIRST_RESPONSE)]
    pairs += [(a, Metric.RESOLUTION), (b, Metric.RESOLUTION)]
    clocks = [  # in the order they fell due
        make_clock(ticket, policy, metric, alarm_at=NOW - (len(pairs) - i) * HOUR)
        for i, (ticket, metric) in enumerate(pairs)
    ]
    add_clocks(uow, *clocks)
    earliest = [key(c) for c in clocks]
    with uow.begin() as first:
        assert [key(c) for c in first.sla_clocks.due(NOW, 2)] == earliest[:2]
        with uow.begin() as second:
            assert [key(c) for c in second.sla_clocks.due(NOW, 10)] == earliest[2:]
            with uow.begin() as third:
                assert list(third.sla_clocks.due(NOW, 10)) == []
        with uow.begin() as fourth:  # the second ended: what it held is free again
            assert [key(c) for c in fourth.sla_clocks.due(NOW, 10)] == earliest[2:]
    with uow.begin() as tx:
        assert [key(c) for c in tx.sla_clocks.due(NOW, 10)] == earliest


# ---------------------------------------------------------------- the ticket's sla fields


def test_set_sla_stores_what_the_clocks_come_to_and_an_update_keeps_it(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    ticket = open_ticket(uow, org.carl, department_id=org.support.id)
    due = (T0 + 2 * HOUR).astimezone(PLUS_TWO)
    sla = TicketSla(policy.id, due, due - timedelta(minutes=30), False)
    with uow.begin() as tx:
        assert tx.tickets.get(ticket.id, for_update=True) is not None
        tx.tickets.set_sla(ticket.id, sla)
        tx.tickets.set_sla(uuid.uuid4(), sla)  # no such ticket: nothing to write
        tx.commit()
    expected = attrs.evolve(
        ticket,
        sla_policy_id=policy.id,
        sla_due_at=sla.due_at,
        sla_warn_at=sla.warn_at,
        sla_paused=False,
    )
    with uow.begin(read_only=True) as tx:
        stored = read(tx, ticket.id)
        by_number = tx.tickets.get_by_number(ticket.number)
    assert stored == expected
    assert stored is not None
    assert stored.version == ticket.version  # not an edit of the ticket
    assert by_number is not None
    assert by_number.ticket == expected
    assert [v.ticket for v in listed(uow, limit=10).items] == [expected]
    for instant in (stored.sla_due_at, stored.sla_warn_at):
        assert instant is not None
        assert instant.utcoffset() == timedelta(0), instant

    # The ticket's own update (a status change) writes its fields, never the sla ones, even
    # from a ticket read before set_sla.
    moved = ticket.with_status(TicketStatus.PENDING, T0 + HOUR)
    with uow.begin() as tx:
        tx.tickets.update(moved)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert read(tx, ticket.id) == attrs.evolve(
            moved,
            sla_policy_id=policy.id,
            sla_due_at=sla.due_at,
            sla_warn_at=sla.warn_at,
            sla_paused=False,
        )

    for later in (TicketSla(policy.id, None, None, True), TicketSla()):
        with uow.begin() as tx:
            tx.tickets.set_sla(ticket.id, later)
            tx.commit()
        with uow.begin(read_only=True) as tx:
            now_stored = read(tx, ticket.id)
        assert now_stored == attrs.evolve(
            moved,
            sla_policy_id=later.policy_id,
            sla_due_at=None,
            sla_warn_at=None,
            sla_paused=later.paused,
        )


def test_a_new_ticket_is_stored_with_its_sla_fields(
    uow: UnitOfWork, org: Org, policy: SlaPolicy
) -> None:
    due = (T0 + HOUR).astimezone(PLUS_TWO)
    with uow.begin() as tx:
        ticket = make_ticket(
            tx, org.carl, sla_policy_id=policy.id, sla_due_at=due, sla_warn_at=due, sla_paused=True
        )
        tx.tickets.add(ticket)
        tx.commit()
    with uow.begin(read_only=True) as tx:
        stored = read(tx, ticket.id)
    assert stored == ticket
    assert stored is not None
    assert stored.sla_due_at is not None
    assert stored.sla_due_at.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- the staff list by sla


# (department, due, warn, paused) as offsets from NOW; None: not set. Ties on the due time
# (and on the creation time) leave the order to the id.
SLA_QUEUE: list[tuple[str | None, timedelta | None, timedelta | None, bool]] = [
    ("support", -2 * HOUR, -3 * HOUR, False),  # breached
    ("billing", -2 * HOUR, -3 * HOUR, False),  # breached, the same due time
    (None, timedelta(0), -HOUR / 2, False),  # breached at exactly now
    ("support", timedelta(0), -HOUR / 2, False),
    ("support", HOUR / 6, -HOUR / 3, False),  # at risk
    ("billing", HOUR / 2, timedelta(0), False),  # at risk: warned exactly now
    (None, HOUR / 2, timedelta(0), False),
    ("support", HOUR, HOUR / 2, False),  # due later, not warned yet
    ("billing", HOUR, HOUR / 2, False),
    (None, 30 * HOUR, 29 * HOUR, False),
    ("support", None, None, True),  # paused
    (None, None, None, True),
    ("billing", None, None, True),
    ("support", None, None, False),  # governed, but owes nothing now
    ("billing", None, None, False),  # never governed
    (None, None, None, False),
]


@pytest.fixture
def sla_queue(uow: UnitOfWork, org: Org, policy: SlaPolicy) -> list[Ticket]:
    """Tickets of every service-level state, in each place, created three at an instant,
    with what their clocks come to written by ``set_sla`` (the last two never governed)."""
    places = {"support": org.support.id, "billing": org.billing.id, None: None}
    tickets = []
    with uow.begin() as tx:
        for i, (place, due, warn, paused) in enumerate(SLA_QUEUE):
            ticket = make_ticket(
                tx,
                org.carl,
                subject=f"Ticket {i}",
                department_id=places[place],
                created_at=T0 + timedelta(minutes=i // 3),
            )
            tx.tickets.add(ticket)
            governed = i < len(SLA_QUEUE) - 2
            sla = TicketSla(
                policy.id if governed else None,
                None if due is None else (NOW + due).astimezone(PLUS_TWO),
                None if warn is None else NOW + warn,
                paused,
            )
            tx.tickets.set_sla(ticket.id, sla)
            tickets.append(
                attrs.evolve(
                    ticket,
                    sla_policy_id=sla.policy_id,
                    sla_due_at=sla.due_at,
                    sla_warn_at=sla.warn_at,
                    sla_paused=sla.paused,
                )
            )
        tx.commit()
    return tickets


def in_state(ticket: Ticket, state: SlaState | None, now: datetime) -> bool:
    """The port's reading of ``sla`` (ports/tickets.py, SlaState)."""
    due, warn = ticket.sla_due_at, ticket.sla_warn_at
    if state is SlaState.BREACHED:
        return due is not None and due <= now
    if state is SlaState.AT_RISK:
        return due is not None and warn is not None and warn <= now < due
    if state is SlaState.PAUSED:
        return ticket.sla_paused
    return True


def sla_oracle(
    tickets: list[Ticket], keep: Callable[[Ticket], bool], sort: TicketSort
) -> list[uuid.UUID]:
    if sort is TicketSort.SLA_DUE:
        chosen = sorted(
            (t for t in tickets if keep(t) and t.sla_due_at is not None),
            key=lambda t: (t.sla_due_at, t.id),
        )
    else:
        chosen = sorted((t for t in tickets if keep(t)), key=lambda t: (t.created_at, t.id))
        chosen.reverse()
    return [t.id for t in chosen]


def walk(uow: UnitOfWork, limit: int, **query: Any) -> list[uuid.UUID]:
    """Every page, following next_after through JSON as a client's cursor does."""
    seen: list[uuid.UUID] = []
    after = None
    for _ in range(50):
        page = listed(uow, limit=limit, after=after, **query)
        seen.extend(ids(page))
        if page.next_after is None:
            return seen
        assert len(page.items) == limit
        sort = query.get("sort", TicketSort.CREATED_DESC)
        assert page.next_after == sort_key(page.items[-1].ticket, sort)
        after = tuple(json.loads(json.dumps(list(page.next_after))))
    raise AssertionError("more pages than tickets")


SLA_CASES = [
    pytest.param(state, sort, id=f"{state.value if state else 'any'}-{sort.value}")
    for state in (SlaState.BREACHED, SlaState.AT_RISK, SlaState.PAUSED, None)
    for sort in (TicketSort.SLA_DUE, TicketSort.CREATED_DESC)
]


@pytest.mark.parametrize(("state", "sort"), SLA_CASES)
@pytest.mark.parametrize("scoped", [False, True], ids=["admin", "agent scope"])
def test_the_staff_list_filters_and_orders_by_service_level(
    uow: UnitOfWork,
    org: Org,
    sla_queue: list[Ticket],
    state: SlaState | None,
    sort: TicketSort,
    scoped: bool,
) -> None:
    """Every page of every page size, keyset pages after ``sort_key``, on each store."""
    scope = (org.support.id, None)
    query: dict[str, Any] = {"sla": state, "now": NOW, "sort": sort}
    if scoped:
        query["visible_departments"] = scope

    def keep(ticket: Ticket) -> bool:
        return in_state(ticket, state, NOW) and (not scoped or ticket.department_id in scope)

    expected = sla_oracle(sla_queue, keep, sort)
    for limit in (1, 2, 100):
        assert walk(uow, limit, **query) == expected, limit
    if state is SlaState.PAUSED and sort is TicketSort.SLA_DUE:
        assert expected == []  # a ticket whose clocks all stand owes nothing now
    else:
        assert expected, "the queue should hold tickets for this case"


def test_the_sla_states_are_judged_at_the_given_instant(
    uow: UnitOfWork, sla_queue: list[Ticket]
) -> None:
    breached = [t.id for t in sla_queue[:4]]
    at_risk = [t.id for t in sla_queue[4:7]]
    by_due = sorted(
        (t for t in sla_queue if t.sla_due_at is not None), key=lambda t: (t.sla_due_at, t.id)
    )
    assert [t.id for t in by_due][:4] == sorted(breached[:2]) + sorted(breached[2:])

    def found(state: SlaState, now: datetime) -> set[uuid.UUID]:
        return set(ids(listed(uow, sla=state, now=now, limit=100)))

    assert found(SlaState.BREACHED, NOW) == set(breached)
    assert found(SlaState.AT_RISK, NOW) == set(at_risk)
    # A microsecond earlier the two due exactly now are not breached yet, but at risk, and
    # the two warned exactly now are not at risk yet.
    before = NOW - timedelta(microseconds=1)
    assert found(SlaState.BREACHED, before) == set(breached[:2])
    assert found(SlaState.AT_RISK, before) == set(breached[2:]) | {at_risk[0]}
    # An instant given in another zone is the same instant.
    assert found(SlaState.AT_RISK, NOW.astimezone(PLUS_TWO)) == set(at_risk)
    assert found(SlaState.PAUSED, NOW) == {t.id for t in sla_queue if t.sla_paused}


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
