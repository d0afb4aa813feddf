"""The event worker when its database goes away mid-batch (issue 7).

A store that can be switched off (``OutageStore``: the in-memory unit of work, whose
``begin()`` raises DependencyUnavailable while ``down``) stands for PostgreSQL going away. The
clock stands still, so no lease ever runs out here: whatever the worker finishes after the
outage, it finishes because it handed its cut-short batch back, not because a lease ended.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs
import pytest

from adapters.memory.uow import MemoryUnitOfWork
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    OutboxState,
    SendResult,
    UrlGuard,
    Webhook,
    WebhookSender,
)
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.tickets import OpenTicket
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain

GONE = "the database is unavailable"


class OutageStore:
    """The in-memory unit of work, unreachable while ``down`` (as SqlUnitOfWork reports it)."""

    def __init__(self) -> None:
        self.inner = MemoryUnitOfWork()
        self.down = False

    @property
    def state(self) -> Any:
        return self.inner.state

    def scope(self) -> contextlib.AbstractContextManager[None]:
        return self.inner.scope()

    @contextlib.contextmanager
    def begin(self, read_only: bool = False) -> Iterator[Any]:
        if self.down:
            raise DependencyUnavailable(GONE, "database")
        with self.inner.begin(read_only) as tx:
            yield tx


@attrs.define
class Endpoint:
    """A webhook sender that answers 200 and records each message id; ``on_send`` runs
    after the request 'arrived' (e.g. to take the database away before the result is saved)."""

    sent: list[str] = attrs.Factory(list)
    on_send: Any = None

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        self.sent.append(message_id)
        if self.on_send is not None:
            self.on_send(len(self.sent))
        return SendResult(AttemptOutcome.SUCCESS, 1, 200)


class AllowAll:
    def check(self, url: str) -> str | None:
        return None


@attrs.define
class World:
    services: Services
    store: OutageStore
    endpoint: Endpoint
    customer: Principal

    def open_tickets(self, count: int) -> list[uuid.UUID]:
        return [
            self.services.tickets.open_ticket(self.customer, OpenTicket(f"T{n}", "x")).ticket.id
            for n in range(count)
        ]

    def outbox(self) -> list[Any]:
        return sorted((row.entry for row in self.store.state.outbox.values()), key=lambda e: e.seq)

    def deliveries(self) -> list[Any]:
        rows = self.store.state.deliveries.values()
        return sorted((row.delivery for row in rows), key=lambda d: d.event_seq)


@pytest.fixture
def world() -> Iterator[World]:
    store, endpoint = OutageStore(), Endpoint()
    # Long leases and a long backoff: neither may be what lets the work finish here.
    settings = attrs.evolve(make_settings(), worker_lease=600.0, retry_base_seconds=600.0)
    services = bootstrap(
        settings,
        {
            UnitOfWork: store,
            Clock: SettableClock(),
            WebhookSender: endpoint,
            UrlGuard: AllowAll(),
        },
    )
    customer = services.auth.register(Register("c@example.com", "a long password 1", "Cora"))
    drain(services)
    yield World(services, store, endpoint, Principal(customer.user.id, Role.CUSTOMER))
    services.close()


def test_a_batch_cut_short_by_the_database_is_handed_back_when_it_returns(world: World) -> None:
    world.open_tickets(4)
    seen: list[uuid.UUID] = []

    def database_goes_at_the_second(event: Event) -> None:
        seen.append(event.id)
        if len(seen) == 2:
            world.store.down = True
            raise DependencyUnavailable(GONE, "database")

    world.services.dispatcher.subscribe("ticket.created", database_goes_at_the_second)
    worker = world.services.new_worker("cut-short")
    with pytest.raises(DependencyUnavailable):
        worker.run_once()
    with pytest.raises(DependencyUnavailable):
        worker.run_once()  # still away: it keeps what it must hand back
    world.store.down = False

    states = [(entry.state, entry.attempts) for entry in world.outbox()[-4:]]
    assert states[0] == (OutboxState.DONE, 1)
    assert all(state is OutboxState.PENDING for state, _ in states[1:]), "three still leased"
    other = world.services.new_worker("other")
    assert other.process_events() == 0, "the leases hold: no other worker may take them"

    assert drain(world.services) == 0, "another worker still finds nothing"
    assert worker.run_once() == 3
    outbox = world.outbox()
    assert {entry.state for entry in outbox} == {OutboxState.DONE}
    # The event the database failed under was handed back, not retried after a backoff.
    assert seen[1] in seen[2:], "the event in hand was handled again"
    assert [entry.attempts for entry in outbox[-3:]] == [2, 2, 2]


def test_a_database_error_in_a_subscriber_is_no_failed_attempt_of_the_event(
    world: World,
) -> None:
    (ticket,) = world.open_tickets(1)
    failures = [DependencyUnavailable(GONE, "database")]

    def connection_lost_once(event: Event) -> None:
        if failures:
            raise failures.pop()

    world.services.dispatcher.subscribe("ticket.created", connection_lost_once)
    worker = world.services.new_worker("blip")
    with pytest.raises(DependencyUnavailable):
        worker.run_once()
    # The store never went down: the blip was inside the subscriber's transaction. No backoff
    # (600 s here) was recorded, so the next pass handles the event at the same moment.
    entry = next(e for e in world.outbox() if e.event.ordering_key == f"ticket:{ticket}")
    assert entry.state is OutboxState.PENDING
    assert entry.last_error is None, "no failed attempt was recorded"
    worker.run_once()
    entry = next(e for e in world.outbox() if e.event.id == entry.event.id)
    assert entry.state is OutboxState.DONE


def test_deliveries_cut_short_by_the_database_are_handed_back_and_sent_again(
    world: World,
) -> None:
    world.services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://hooks.test/h", ("*",)))
    drain(world.services)
    world.endpoint.sent.clear()
    world.open_tickets(3)
    worker = world.services.new_worker("sender")
    assert worker.process_events() == 3  # fanned out: three pending deliveries

    def database_goes_after_the_second_arrived(count: int) -> None:
        if count == 2:
            world.store.down = True

    world.endpoint.on_send = database_goes_after_the_second_arrived
    with pytest.raises(DependencyUnavailable):
        worker.deliver_webhooks()
    world.endpoint.on_send = None
    world.store.down = False
    assert drain(world.services) == 0, "the second and third are still leased to 'sender'"

    worker.run_once()
    deliveries = [d for d in world.deliveries() if d.event_type == "ticket.created"]
    assert [d.state for d in deliveries] == [DeliveryState.DELIVERED] * 3
    first, second, third = (str(d.event_id) for d in deliveries)
    # The second reached the endpoint before the database went: sent again (same id).
    assert world.endpoint.sent == [first, second, second, third]
