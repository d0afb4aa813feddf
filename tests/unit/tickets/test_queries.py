"""Reading tickets (``list_tickets``, ``get_ticket``, ``get_ticket_by_number``, ``history``,
``queue_counts``): customers see their own tickets, agents and leads those of their department
and the unrouted ones, administrators all. Outside the scope a ticket does not exist: the
NotFound of a ticket that never was, never PermissionDenied."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

from adapters.memory.cache import MemoryQueueCountsCache
from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.errors import NotFound, PermissionDenied, ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import TicketPriority, TicketStatus
from helpdesk_core.ports.assignment import QueueCountsCache
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.tickets import QueueCounts
from helpdesk_core.usecases.tickets import TICKET_NUMBER_MAX
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.unit.tickets.support import Desk, entry_of


@attrs.frozen
class Tickets:
    """Ann's tickets in Billing, Tech and none; Bob's in Billing and none."""

    ann_billing: uuid.UUID
    ann_tech: uuid.UUID
    ann_unrouted: uuid.UUID
    bob_billing: uuid.UUID
    bob_unrouted: uuid.UUID


@pytest.fixture
def tickets(desk: Desk) -> Tickets:
    return Tickets(
        desk.open(desk.ann, desk.billing, "Refund for order 1042").id,
        desk.open(desk.ann, desk.tech, "Printer on fire").id,
        desk.open(desk.ann, None, "Where do I ask?").id,
        desk.open(desk.bob, desk.billing, "Charged twice").id,
        desk.open(desk.bob, None, "Hello").id,
    )


def _ids(desk: Desk, who: str, **query: object) -> set[uuid.UUID]:
    actor = SYSTEM_OPERATOR if who == "operator" else getattr(desk, who)
    return {ticket.id for ticket in desk.listed(actor, **query)}


# ---------------------------------------------------------------- lists


def test_a_customer_lists_only_her_own_tickets(desk: Desk, tickets: Tickets) -> None:
    anns = {tickets.ann_billing, tickets.ann_tech, tickets.ann_unrouted}
    assert _ids(desk, "ann") == anns
    assert _ids(desk, "bob") == {tickets.bob_billing, tickets.bob_unrouted}
    # whatever the query says: the requester and the scope are the customer's
    assert _ids(desk, "ann", requester_id=desk.bob.user_id, visible_departments=None) == anns


@pytest.mark.parametrize("who", ["agent", "lead"])
def test_staff_list_their_departments_and_the_unrouted_tickets(
    desk: Desk, tickets: Tickets, who: str
) -> None:
    expected = {
        tickets.ann_billing,
        tickets.bob_billing,
        tickets.ann_unrouted,
        tickets.bob_unrouted,
    }
    assert _ids(desk, who) == expected
    tech = {tickets.ann_tech, tickets.ann_unrouted, tickets.bob_unrouted}
    assert _ids(desk, f"tech_{who}") == tech


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_administrators_list_every_ticket(desk: Desk, tickets: Tickets, who: str) -> None:
    assert _ids(desk, who) == set(attrs.astuple(tickets))


def test_a_query_cannot_widen_the_scope(desk: Desk, tickets: Tickets) -> None:
    assert _ids(desk, "tech_agent", visible_departments=None) == _ids(desk, "tech_agent")
    assert _ids(desk, "tech_agent", visible_departments=(desk.billing,)) == _ids(desk, "tech_agent")
    assert _ids(desk, "tech_agent", department_id=desk.billing) == set()


def test_filters_narrow_the_list_within_the_scope(desk: Desk, tickets: Tickets) -> None:
    assert _ids(desk, "agent", requester_id=desk.bob.user_id) == {
        tickets.bob_billing,
        tickets.bob_unrouted,
    }
    assert _ids(desk, "agent", statuses=frozenset({TicketStatus.CLOSED})) == set()


def test_search_text_is_trimmed_and_blank_text_filters_nothing(
    desk: Desk, tickets: Tickets
) -> None:
    assert _ids(desk, "agent", text="  refund  ") == {tickets.ann_billing}
    assert _ids(desk, "agent", text="printer") == set()  # Tech's ticket, outside the scope
    assert _ids(desk, "agent", text=" \t ") == _ids(desk, "agent")


def test_search_text_is_at_most_200_characters_once_trimmed(desk: Desk, tickets: Tickets) -> None:
    assert _ids(desk, "agent", text="  " + "x" * 200 + "  ") == set()
    with desk.refuses(ValidationFailed, "q", match="must be at most 200 characters"):
        desk.listed(desk.agent, text="x" * 201)


@pytest.mark.parametrize("text", ["print\x00er", "x\ud800"], ids=["nul", "lone-surrogate"])
def test_search_text_no_store_can_hold_is_refused(desk: Desk, text: str) -> None:
    with desk.refuses(ValidationFailed, "q"):
        desk.listed(desk.agent, text=text)


# ---------------------------------------------------------------- one ticket

# (who, whose ticket): outside the scope of who
OUTSIDE = [
    ("bob", "ann_billing"),
    ("ann", "bob_unrouted"),  # unrouted tickets are the staff's, not every customer's
    ("agent", "ann_tech"),
    ("lead", "ann_tech"),
    ("tech_agent", "bob_billing"),
]


@pytest.mark.parametrize(("who", "whose"), OUTSIDE)
def test_a_ticket_outside_the_scope_does_not_exist(
    desk: Desk, tickets: Tickets, who: str, whose: str
) -> None:
    actor, ticket_id = getattr(desk, who), getattr(tickets, whose)
    number = desk.current(ticket_id).number
    reads = [
        lambda i: desk.tickets.get_ticket(actor, i),
        lambda i: desk.tickets.messages(actor, i),
    ]
    if actor.is_staff:
        reads.append(lambda i: desk.tickets.history(actor, i))
    for read in reads:
        with pytest.raises(NotFound) as outside:
            read(ticket_id)
        with pytest.raises(NotFound) as unknown:
            read(uuid.uuid4())
        assert outside.value.detail == unknown.value.detail == "no such ticket"
    with pytest.raises(NotFound, match="no such ticket"):
        desk.tickets.get_ticket_by_number(actor, number)


@pytest.mark.parametrize("who", ["agent", "tech_agent", "lead", "tech_lead", "admin"])
def test_staff_of_every_department_see_an_unrouted_ticket(
    desk: Desk, tickets: Tickets, who: str
) -> None:
    detail = desk.tickets.get_ticket(getattr(desk, who), tickets.ann_unrouted)
    assert detail.ticket.id == tickets.ann_unrouted


def test_the_number_finds_what_the_id_finds(desk: Desk, tickets: Tickets) -> None:
    number = desk.current(tickets.ann_billing).number
    for actor in (desk.ann, desk.agent, desk.admin, SYSTEM_OPERATOR):
        by_number = desk.tickets.get_ticket_by_number(actor, number)
        assert by_number == desk.tickets.get_ticket(actor, tickets.ann_billing)


@pytest.mark.parametrize("number", [0, -1, TICKET_NUMBER_MAX + 1, 10**6])
def test_a_number_no_ticket_has_is_not_found(desk: Desk, tickets: Tickets, number: int) -> None:
    with pytest.raises(NotFound, match="no such ticket"):
        desk.tickets.get_ticket_by_number(SYSTEM_OPERATOR, number)


# ---------------------------------------------------------------- history


def test_the_history_is_for_staff_only(desk: Desk, tickets: Tickets) -> None:
    with pytest.raises(PermissionDenied, match="only staff may read a ticket's history"):
        desk.tickets.history(desk.ann, tickets.ann_billing)


def test_the_history_comes_oldest_first(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.clock.current += timedelta(minutes=1)
    desk.change(desk.agent, ticket, priority=TicketPriority.HIGH)
    entries = [entry_of(e) for e in desk.tickets.history(desk.lead, ticket.id)]
    assert [(e.field, e.created_at) for e in entries] == [
        ("ticket", desk.clock.current - timedelta(minutes=1)),
        ("priority", desk.clock.current),
    ]
    assert {e.ticket_id for e in entries} == {ticket.id}


# ---------------------------------------------------------------- queue counts


def test_customers_may_not_see_queue_counts(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        desk.tickets.queue_counts(desk.ann, desk.billing)


@pytest.mark.parametrize("who", ["agent", "lead"])
def test_another_departments_counts_do_not_exist_for_its_staff(desk: Desk, who: str) -> None:
    actor = getattr(desk, who)
    with pytest.raises(NotFound) as other:
        desk.tickets.queue_counts(actor, desk.tech)
    with pytest.raises(NotFound) as unknown:
        desk.tickets.queue_counts(actor, uuid.uuid4())
    assert other.value.detail == unknown.value.detail == "no such department"
    assert desk.tickets.queue_counts(actor, desk.billing).by_status["new"] == 0
    assert desk.tickets.queue_counts(actor, None).by_status["new"] == 0


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_administrators_see_every_departments_counts_but_no_unknown_ones(
    desk: Desk, who: str
) -> None:
    actor = SYSTEM_OPERATOR if who == "operator" else desk.admin
    assert desk.tickets.queue_counts(actor, desk.tech).by_status["new"] == 0
    with pytest.raises(NotFound, match="no such department"):
        desk.tickets.queue_counts(actor, uuid.uuid4())


def test_counts_count_a_departments_tickets(desk: Desk, tickets: Tickets) -> None:
    urgent = desk.open(department=desk.billing, priority=TicketPriority.URGENT)
    desk.assign(desk.agent, urgent, "self")
    desk.tickets.close(desk.bob, tickets.bob_billing)
    counts = desk.tickets.queue_counts(desk.lead, desk.billing)
    assert counts == QueueCounts(
        by_status={"new": 2, "open": 0, "pending": 0, "resolved": 0, "closed": 1},
        open_by_priority={"low": 0, "normal": 1, "high": 0, "urgent": 1},
        open_unassigned=1,
        open_by_assignee={str(desk.agent.user_id): 1},
    )
    assert desk.tickets.queue_counts(desk.lead, None).by_status["new"] == 2  # the unrouted


# ---------------------------------------------------------------- cached, never stale


@attrs.define
class SpyCache:
    """The in-memory cache, counting what it answered."""

    inner: MemoryQueueCountsCache = attrs.Factory(MemoryQueueCountsCache)
    answers: list[str] = attrs.Factory(list)  # "hit" or "miss", in order

    def get_counts(self, department_id: uuid.UUID | None, generation: int) -> QueueCounts | None:
        counts = self.inner.get_counts(department_id, generation)
        self.answers.append("miss" if counts is None else "hit")
        return counts

    def set_counts(
        self, department_id: uuid.UUID | None, generation: int, counts: QueueCounts
    ) -> None:
        self.inner.set_counts(department_id, generation, counts)


@pytest.fixture
def spy() -> SpyCache:
    return SpyCache()


@pytest.fixture
def cached(spy: SpyCache) -> Iterator[Desk]:
    clock = SettableClock()
    services = bootstrap(make_settings(), {Clock: clock, QueueCountsCache: spy})
    yield Desk.build(services, clock)
    services.close()


def test_counts_are_answered_from_the_cache_until_the_queue_changes(
    cached: Desk, spy: SpyCache
) -> None:
    desk = cached
    ticket = desk.open(department=desk.billing)

    def new_tickets() -> int:
        return desk.tickets.queue_counts(desk.lead, desk.billing).by_status["new"]

    assert (new_tickets(), new_tickets()) == (1, 1)
    assert spy.answers == ["miss", "hit"]
    desk.open(department=desk.billing)  # a change of the queue: counted again
    assert new_tickets() == 2
    desk.reply(desk.ann, ticket)  # a reply that leaves the status: the counts stand
    desk.open(department=desk.tech)  # another department's queue
    assert new_tickets() == 2
    desk.reply(desk.agent, ticket)  # the first answer opens the ticket
    assert new_tickets() == 1
    assert spy.answers == ["miss", "hit", "miss", "hit", "miss"]


@pytest.mark.parametrize(
    "change",
    ["close", "reopen", "priority", "assign", "move-out", "move-in", "customer-reply"],
)
def test_every_change_of_a_queue_is_seen_at_once(cached: Desk, change: str) -> None:
    desk = cached
    ticket = desk.open(department=desk.billing)
    if change == "reopen":
        desk.tickets.close(desk.ann, ticket.id)
    elif change == "move-in":
        ticket = desk.change(desk.lead, ticket, department_id=desk.tech)
    elif change == "customer-reply":
        desk.set_status(ticket, TicketStatus.PENDING)
    before = desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.billing)
    if change in {"close", "reopen"}:
        getattr(desk.tickets, change)(desk.ann, ticket.id)
    elif change == "priority":
        desk.change(desk.agent, ticket, priority=TicketPriority.HIGH)
    elif change == "assign":
        desk.assign(desk.agent, ticket, "self")
    elif change == "customer-reply":
        desk.reply(desk.ann, ticket)
    else:
        target = desk.tech if change == "move-out" else desk.billing
        desk.change(SYSTEM_OPERATOR, ticket, department_id=target)
    after = desk.tickets.queue_counts(SYSTEM_OPERATOR, desk.billing)
    assert after != before
    with desk.services.uow.begin(read_only=True) as tx:  # counted afresh from the store
        assert after == tx.tickets.queue_counts(desk.billing)
