"""What a ticket keeps of its clocks, on every store: ``set_sla`` stores it untouched by the
ticket's own updates, and the staff list filters (``sla``) and orders (``sla_due``) by it. The
helpers and fixtures are the policy contract's (test_sla_repositories.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.sla import SlaPolicy, TicketSla
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.ports.tickets import SlaState, TicketSort, sort_key
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_sla_repositories import (
    HOUR,
    NOW,
    org,
    policy,
)
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

__all__ = ["org", "policy"]  # the fixtures this module's tests take


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
