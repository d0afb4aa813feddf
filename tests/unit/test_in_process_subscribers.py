"""In-process subscribers: Python callables that are webhook endpoints (url ``python:<name>``).

A program that embeds the helpdesk subscribes a callable under a name and runs a worker that
holds it; the callable then gets the events of its types from the outbox like an HTTP endpoint
gets them: at least once, in order per ordering key (per ticket), retried after a backoff, every
attempt recorded, disabled after a run of failures, and never holding up the mail, the other
endpoints, or other keys. The store is the in-memory one; clock, mailer and HTTP sender are the
fakes of tests/unit/test_events.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

import attrs
import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.errors import PermissionDenied, ValidationFailed
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import EventWorker, Handler, is_plaintext_secret
from helpdesk_core.usecases.tickets import Assign, OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook, UpdateWebhook, in_process_id
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk
from tests.support.events import drain
from tests.unit.test_events import World as EventsWorld
from tests.unit.test_events import built_world

PASSWORD = "correct horse battery"
DISABLE_AFTER = 3


class World(EventsWorld):
    """The world of tests/unit/test_events.py, with what these tests do in it."""

    @property
    def agent_id(self) -> uuid.UUID:
        return self.agent.user_id

    def open(self, subject: str = "Printer on fire") -> uuid.UUID:
        command = OpenTicket(subject, "It is on fire", department_id=self.department)
        return self.services.tickets.open_ticket(self.customer, command).ticket.id

    def assign(self, ticket_id: uuid.UUID) -> None:
        """Assign the ticket to the agent: an event, and a mail to the agent."""
        self.services.tickets.assign(self.lead, ticket_id, Assign("agent", agent_id=self.agent_id))

    def reply(self, ticket_id: uuid.UUID, body: str) -> None:
        self.services.tickets.post_message(self.customer, ticket_id, PostMessage(body))

    def subscribe(self, name: str, events: tuple[str, ...] = ("*",)) -> Webhook:
        return self.services.webhooks.subscribe_in_process(SYSTEM_OPERATOR, name, events)

    def run(self, handlers: dict[str, Handler], passes: int = 100) -> None:
        """Run a worker holding ``handlers`` (url -> callable) until nothing due is left."""
        worker = self.services.new_worker("embedded", in_process=handlers)
        for _ in range(passes):
            if not worker.run_once():
                return
        raise AssertionError(f"still busy after {passes} passes")

    def deliveries(self, webhook: Webhook) -> list[WebhookDelivery]:
        """The endpoint's deliveries, oldest event first."""
        found = self.services.webhooks.deliveries(SYSTEM_OPERATOR, webhook.id, 100)
        return sorted(found, key=lambda d: d.event_seq)

    def webhook(self, webhook: Webhook) -> Webhook:
        return self.services.webhooks.get(SYSTEM_OPERATOR, webhook.id)


@attrs.define
class Recorder:
    """A subscriber that keeps what it got; it raises for the keys in ``failing``."""

    got: list[Event] = attrs.Factory(list)
    failing: set[str] = attrs.Factory(set)
    calls: int = 0

    def __call__(self, event: Event) -> None:
        self.calls += 1
        if event.ordering_key in self.failing:
            raise RuntimeError(f"cannot handle {event.type}")
        self.got.append(event)

    def of(self, ticket_id: uuid.UUID) -> list[str]:
        return [e.type for e in self.got if e.ordering_key == f"ticket:{ticket_id}"]


@pytest.fixture
def world() -> Iterator[World]:
    settings = attrs.evolve(
        make_settings(),
        retry_base_seconds=10.0,
        webhook_max_attempts=DISABLE_AFTER + 2,  # the endpoint is disabled before it gives up
        webhook_disable_after=DISABLE_AFTER,
    )
    with built_world(settings, World) as built:
        built.clock.current += timedelta(seconds=1)  # the set-up's events came before any
        yield built  # subscription


# ---------------------------------------------------------------- delivery


def test_a_subscribed_callable_gets_each_tickets_events_in_order(world: World) -> None:
    audit = world.subscribe("audit", ("ticket.created", "ticket.assigned", "ticket.message_added"))
    got = Recorder()
    one = world.open("One")
    two = world.open("Two")
    world.assign(two)
    world.assign(one)
    world.reply(one, "any news?")
    world.reply(two, "hello?")

    world.run({audit.url: got})

    assert audit.url == "python:audit"
    expected = ["ticket.created", "ticket.assigned", "ticket.message_added"]
    assert got.of(one) == got.of(two) == expected
    assert {e.type for e in got.got} <= set(audit.events)  # nothing it did not subscribe to
    assert got.got[0].data["ticket"]["subject"] == "One"
    deliveries = world.deliveries(audit)
    assert [d.state for d in deliveries] == [DeliveryState.DELIVERED] * 6
    assert {a.outcome for d in deliveries for a in d.attempt_log} == {AttemptOutcome.SUCCESS}
    world.run({audit.url: got})
    assert len(got.got) == 6  # each once


def test_a_raising_subscriber_is_retried_and_holds_up_only_its_own_key(world: World) -> None:
    """One ticket's events wait behind the one that raised, for that subscriber only: the
    other subscriber, the HTTP endpoint, the mail and the other ticket's events go on."""
    flaky, steady = world.subscribe("flaky"), world.subscribe("steady")
    world.services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example.com", ("*",)))
    broken, fine = world.open("Broken"), world.open("Fine")
    world.assign(broken)  # mails the agent
    world.assign(fine)
    flaky_got, steady_got = Recorder(failing={f"ticket:{broken}"}), Recorder()
    handlers: dict[str, Handler] = {flaky.url: flaky_got, steady.url: steady_got}
    start = world.clock.current

    world.run(handlers)

    both = ["ticket.created", "ticket.assigned"]
    assert steady_got.of(broken) == steady_got.of(fine) == both
    assert flaky_got.of(fine) == both  # another key goes on
    assert flaky_got.of(broken) == []
    assert flaky_got.calls == 3  # broken's creation raised once; its assignment waits
    assert len(world.sender.calls) == 4  # the HTTP endpoint got everything
    assert [m.to for m in world.mailbox.sent] == ["agent@example.com"] * 2
    created, assigned = (d for d in world.deliveries(flaky) if d.ordering_key == f"ticket:{broken}")
    (attempt,) = created.attempt_log
    assert (attempt.outcome, attempt.error) == (
        AttemptOutcome.RAISED,
        "RuntimeError: cannot handle ticket.created",
    )
    assert created.state is DeliveryState.PENDING
    # retry base 10 s, jitter taking off at most a quarter
    assert timedelta(seconds=7.5) <= created.next_attempt_at - start <= timedelta(seconds=10)
    assert (assigned.state, assigned.attempts) == (DeliveryState.PENDING, 0)
    assert world.webhook(flaky).consecutive_failures == 0  # the other ticket's went through

    flaky_got.failing.clear()  # mended, but not due yet
    world.run(handlers)
    assert flaky_got.of(broken) == []
    world.clock.current = created.next_attempt_at
    world.run(handlers)

    assert flaky_got.of(broken) == both  # in order, after the retry
    assert [len(d.attempt_log) for d in world.deliveries(flaky)] == [2, 1, 1, 1]
    assert steady_got.of(broken) == both  # nothing twice for the one that did not fail


def test_after_a_run_of_failures_the_subscriber_is_disabled_until_subscribed_again(
    world: World,
) -> None:
    hook = world.subscribe("fragile")
    got = Recorder()
    ticket_id = world.open()
    got.failing.add(f"ticket:{ticket_id}")
    for _ in range(DISABLE_AFTER):
        world.run({hook.url: got})
        (delivery,) = world.deliveries(hook)
        world.clock.current = delivery.next_attempt_at

    disabled = world.webhook(hook)
    assert not disabled.is_active
    assert disabled.disabled_reason == (
        f"disabled after {DISABLE_AFTER} failed attempts in a row (last: raised)"
    )
    (delivery,) = world.deliveries(hook)
    assert delivery.state is DeliveryState.PENDING  # kept, not given up
    assert [a.outcome for a in delivery.attempt_log] == [AttemptOutcome.RAISED] * DISABLE_AFTER
    world.clock.current += timedelta(hours=1)
    world.run({hook.url: got})
    assert got.calls == DISABLE_AFTER  # a disabled endpoint is not called

    got.failing.clear()
    again = world.subscribe("fragile")  # the program starts again, mended
    assert (again.is_active, again.consecutive_failures, again.disabled_reason) == (True, 0, None)
    world.run({hook.url: got})
    assert got.of(ticket_id) == ["ticket.created"]


def test_a_worker_without_the_callable_never_claims_its_deliveries(world: World) -> None:
    hook = world.subscribe("reports")
    ticket_id = world.open()
    for _ in range(3):
        drain(world.services)  # `helpdesk worker`, a server's worker: a plain new_worker()
        world.run({"python:someone-else": Recorder()})  # another program's subscriber
        world.clock.current += timedelta(hours=1)

    (delivery,) = world.deliveries(hook)
    assert (delivery.state, delivery.attempts, delivery.attempt_log) == (
        DeliveryState.PENDING,
        0,
        (),
    )
    got = Recorder()
    world.run({hook.url: got})
    assert got.of(ticket_id) == ["ticket.created"]


def test_events_recorded_before_the_subscription_are_not_delivered_to_it(world: World) -> None:
    """The fan-out's rule: an endpoint gets the events that occurred at or after its
    ``created_at``, pending or not when it was made. Subscribing again keeps ``created_at``:
    what was recorded while the program was down is delivered when it runs again."""
    before = world.open("Before")  # still pending in the outbox when the subscription comes
    world.clock.current += timedelta(seconds=1)
    hook = world.subscribe("late")
    after = world.open("After")
    drain(world.services)  # the program is down: another worker fans the events out
    world.clock.current += timedelta(minutes=5)
    world.subscribe("late")  # it starts again
    got = Recorder()

    world.run({hook.url: got})

    assert got.of(before) == []
    assert got.of(after) == ["ticket.created"]


def test_a_worker_holds_only_in_process_urls() -> None:
    services = bootstrap(make_settings())
    try:
        with pytest.raises(ValueError, match="python:<name>"):
            services.new_worker(in_process={"https://h.example.com": Recorder()})
        worker = services.new_worker("mine", in_process={"python:a": Recorder()})
        assert isinstance(worker, EventWorker)
        assert (worker.name, set(worker.in_process)) == ("mine", {"python:a"})
        assert services.new_worker().in_process == {}
    finally:
        services.close()


# ---------------------------------------------------------------- subscribing


def test_subscribing_is_idempotent_and_changes_only_what_differs(world: World) -> None:
    first = world.subscribe("billing", ("ticket.created", "ticket.created", "ticket.closed"))
    assert (first.url, first.events, first.is_active) == (
        "python:billing",
        ("ticket.created", "ticket.closed"),
        True,
    )
    assert first.id == in_process_id("python:billing")
    assert first.secret != ""
    assert not is_plaintext_secret(first.secret)  # sealed, as create does

    world.clock.current += timedelta(minutes=1)
    assert world.subscribe("billing", ("ticket.created", "ticket.closed")) == first  # no write
    changed = world.subscribe("billing", ("*",))
    assert (changed.events, changed.version, changed.created_at) == (
        ("*",),
        first.version + 1,
        first.created_at,
    )
    assert changed.updated_at == world.clock.current
    other = world.subscribe("billing.v2-eu_1", ("ticket.closed",))
    assert [w.url for w in world.services.webhooks.list(SYSTEM_OPERATOR)] == [
        "python:billing",
        "python:billing.v2-eu_1",
    ]
    assert other.id != first.id


@pytest.mark.parametrize(
    ("name", "events", "field"),
    [
        ("", ("*",), "name"),
        ("   ", ("*",), "name"),
        ("a b", ("*",), "name"),
        ("a/b", ("*",), "name"),
        ("billing:eu", ("*",), "name"),
        ("bïlling", ("*",), "name"),
        ("x" * 201, ("*",), "name"),
        ("billing", (), "events"),
        ("billing", ("ticket.exploded",), "events"),
        ("billing", ("webhook.ping",), "events"),
    ],
)
def test_a_subscription_is_validated(
    world: World, name: str, events: tuple[str, ...], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        world.subscribe(name, events)
    assert [e.field for e in refused.value.errors] == [field]
    assert world.services.webhooks.list(SYSTEM_OPERATOR) == []


def test_a_name_of_200_characters_is_admitted(world: World) -> None:
    assert world.subscribe("x" * 200).url == "python:" + "x" * 200


def test_only_administrators_subscribe(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.services.webhooks.subscribe_in_process(world.lead, "billing", ("*",))


def test_a_subscription_that_lost_a_race_updates_the_endpoint_the_other_made(
    world: World,
) -> None:
    """Two processes subscribe one name at once: both find nothing, both add the endpoint of
    the one id its url gives; the second add is refused, and that subscription goes on with
    the endpoint the first made (tests/contract/test_events_contract.py races for real)."""
    winner = world.subscribe("billing", ("ticket.created",))
    racing = attrs.evolve(world.services.webhooks, uow=BlindFirstLook(world.services.uow))

    late = racing.subscribe_in_process(SYSTEM_OPERATOR, "billing", ("ticket.closed",))

    assert (late.id, late.events, late.version) == (winner.id, ("ticket.closed",), 2)
    assert world.services.webhooks.list(SYSTEM_OPERATOR) == [late]


@attrs.define
class BlindFirstLook:
    """A unit of work whose first transaction does not see the stored endpoints: what a
    subscription sees when another one commits between its look and its insert."""

    inner: UnitOfWork
    looked: bool = False

    def scope(self) -> Any:
        return self.inner.scope()

    @contextmanager
    def begin(self, read_only: bool = False) -> Iterator[Transaction]:
        with self.inner.begin(read_only) as tx:
            if self.looked:
                yield tx
                return
            self.looked = True
            yield cast(Transaction, _Unseeing(tx))


class _Unseeing:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    @property
    def webhooks(self) -> Any:
        return _NoEndpoints(self._tx.webhooks)


class _NoEndpoints:
    def __init__(self, webhooks: Any) -> None:
        self._webhooks = webhooks

    def get(self, webhook_id: uuid.UUID) -> Webhook | None:
        return None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return cast(Callable[..., Any], getattr(self._webhooks, name))


# ---------------------------------------------------------------- the admin routes


def test_only_the_library_makes_in_process_endpoints_and_admins_see_them(world: World) -> None:
    webhooks = world.services.webhooks
    for url in ("python:billing", "python:x", "PYTHON:x"):
        with pytest.raises(ValidationFailed) as refused:
            webhooks.create(SYSTEM_OPERATOR, CreateWebhook(url, ("*",)))
        assert [e.field for e in refused.value.errors] == ["url"]
    http = webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example.com", ("*",)))
    with pytest.raises(ValidationFailed):
        webhooks.update(SYSTEM_OPERATOR, http.webhook.id, UpdateWebhook(url="python:billing"))
    hook = world.subscribe("billing")
    with pytest.raises(ValidationFailed, match="in-process"):
        webhooks.update(SYSTEM_OPERATOR, hook.id, UpdateWebhook(url="https://h.example.com"))
    # An administrator may still pause it, change its events, or delete it.
    paused = webhooks.update(SYSTEM_OPERATOR, hook.id, UpdateWebhook(active=False))
    assert (paused.url, paused.is_active) == ("python:billing", False)

    desk = Helpdesk(world.services, falcon.testing.TestClient(create_app(world.services)))
    admin = desk.staff("admin")
    refused_post = desk.client.simulate_post(
        "/api/v1/admin/webhooks",
        headers=admin.headers,
        json={"url": "python:billing", "events": ["*"]},
    )
    assert refused_post.status_code == 422, refused_post.text
    patch = desk.client.simulate_patch(
        f"/api/v1/admin/webhooks/{http.webhook.id}",
        headers=admin.headers,
        json={"url": "python:billing"},
    )
    assert patch.status_code == 422, patch.text

    webhooks.update(SYSTEM_OPERATOR, hook.id, UpdateWebhook(active=True))
    ticket_id = world.open()
    got = Recorder(failing={f"ticket:{ticket_id}"})
    world.run({hook.url: got})
    listed = desk.client.simulate_get("/api/v1/admin/webhooks", headers=admin.headers)
    assert "python:billing" in [w["url"] for w in listed.json["items"]]
    deliveries = desk.client.simulate_get(
        f"/api/v1/admin/webhooks/{hook.id}/deliveries", headers=admin.headers
    )
    assert deliveries.status_code == 200, deliveries.text
    (attempt,) = deliveries.json["items"][0]["attempt_log"]
    assert (attempt["outcome"], attempt["status_code"]) == ("raised", None)
    assert attempt["error"] == "RuntimeError: cannot handle ticket.created"
