"""The clocks of tickets, on every store: one per ticket, metric and cycle, referring to a
stored ticket, read per ticket, latest per metric, due (earliest alarm first, on PostgreSQL
skipping what another transaction holds) and as the tickets still owed something. The
helpers and fixtures are the policy contract's (test_sla_repositories.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import attrs
import pytest

from helpdesk_core.domain.errors import Conflict, NotFound
from helpdesk_core.domain.sla import Metric, SlaPolicy
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_sla_repositories import (
    HOUR,
    NOW,
    add_clocks,
    add_policies,
    clocks_of,
    instants,
    key,
    make_clock,
    make_policy,
    org,
    policy,
)
from tests.contract.test_ticket_repositories import (
    PLUS_TWO,
    T0,
    Org,
    open_ticket,
)

__all__ = ["org", "policy"]  # the fixtures this module's tests take


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
