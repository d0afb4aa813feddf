"""Retention by the worker (the core on the in-memory store): finished events and deliveries
older than HELPDESK_EVENT_RETENTION_DAYS go, a bounded batch per pass, counted in the sink;
pending and retried ones stay."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import attrs

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.observability.metrics import PrometheusEventSink, render_metrics
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    EventSink,
    OutboxState,
    SendResult,
    UrlGuard,
    Webhook,
    WebhookSender,
)
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.events import NullSink
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain


@attrs.define
class Sender:
    results: list[SendResult] = attrs.Factory(list)

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        return self.results.pop(0) if self.results else SendResult(AttemptOutcome.SUCCESS, 1, 200)


class AllowAll:
    def check(self, url: str) -> str | None:
        return None


class CountingSink(NullSink):
    def __init__(self) -> None:
        self.deleted_rows: Counter[str] = Counter()

    def deleted(self, table: str, count: int) -> None:
        self.deleted_rows[table] += count


def world(**settings: object) -> tuple[Services, SettableClock, Sender, CountingSink]:
    clock, sender, sink = SettableClock(), Sender(), CountingSink()
    services = bootstrap(
        make_settings(retry_base_seconds=60.0, **settings),
        {Clock: clock, WebhookSender: sender, UrlGuard: AllowAll(), EventSink: sink},
    )
    return services, clock, sender, sink


def rows(services: Services) -> tuple[int, int, int]:
    state = services.uow.state  # type: ignore[attr-defined]
    return len(state.outbox), len(state.deliveries), len(state.attempts)


def test_the_worker_deletes_what_finished_before_the_retention_period() -> None:
    services, clock, sender, sink = world(event_retention_days=30)
    hook = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example", ("*",)))
    services.webhooks.ping(SYSTEM_OPERATOR, hook.webhook.id)  # delivered at once
    drain(services)
    sender.results = [SendResult(AttemptOutcome.HTTP_ERROR, 1, 503)]
    services.webhooks.ping(SYSTEM_OPERATOR, hook.webhook.id)  # fails once, retried later
    drain(services)
    assert rows(services) == (2, 2, 2)

    clock.current += timedelta(days=29)
    sender.results = [SendResult(AttemptOutcome.TIMEOUT, 1, None, "timed out")]
    drain(services)  # the retried delivery fails again; nothing has expired yet
    assert rows(services) == (2, 2, 3)
    assert not sink.deleted_rows

    # 31 days on: the delivered one goes with its event and attempt; the retried one stays
    # with its attempts, and so does its event, however old (a pending delivery refers to it).
    clock.current += timedelta(days=2)
    sender.results = [SendResult(AttemptOutcome.TIMEOUT, 1, None, "timed out")]
    drain(services)
    assert rows(services) == (1, 1, 3)
    assert sink.deleted_rows == {"outbox": 1, "webhook_deliveries": 1, "webhook_attempts": 1}
    state = services.uow.state  # type: ignore[attr-defined]
    (row,) = state.deliveries.values()
    assert row.delivery.state is DeliveryState.PENDING
    (entry,) = (r.entry for r in state.outbox.values())
    assert entry.event.id == row.delivery.event_id


def test_a_pending_event_is_never_deleted_however_old() -> None:
    services, clock, _sender, _sink = world(event_retention_days=1, event_max_attempts=100)
    services.dispatcher.subscribe("webhook.ping", _always_fails, "broken")
    hook = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example", ("*",)))
    services.webhooks.ping(SYSTEM_OPERATOR, hook.webhook.id)
    for _ in range(5):
        clock.current += timedelta(days=10)
        drain(services)
    state = services.uow.state  # type: ignore[attr-defined]
    (entry,) = (r.entry for r in state.outbox.values())
    assert entry.state is OutboxState.PENDING


def _always_fails(_event: object) -> None:
    raise RuntimeError("subscriber down")


def test_a_pass_is_bounded_and_the_backlog_goes_on_the_next_passes() -> None:
    services, clock, _sender, sink = world(event_retention_days=1)
    hook = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example", ("*",)))
    for _ in range(5):
        services.webhooks.ping(SYSTEM_OPERATOR, hook.webhook.id)
    drain(services)
    assert rows(services) == (5, 5, 5)
    worker = services.new_worker("retention")
    policy = worker._policy
    worker._policy = attrs.evolve(policy, retention_batch_size=2)
    clock.current += timedelta(days=2)
    # A full batch (2 deliveries, their 2 attempts, 2 events) makes the next pass due at
    # once; the last, short one waits for the interval.
    assert [worker.purge_expired() for _ in range(4)] == [6, 6, 3, 0]
    assert rows(services) == (0, 0, 0)
    assert sink.deleted_rows == {"outbox": 5, "webhook_deliveries": 5, "webhook_attempts": 5}


def test_zero_days_keeps_everything() -> None:
    services, clock, _sender, _sink = world(event_retention_days=0)
    hook = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook("https://h.example", ("*",)))
    services.webhooks.ping(SYSTEM_OPERATOR, hook.webhook.id)
    drain(services)
    clock.current += timedelta(days=3650)
    drain(services)
    assert rows(services) == (1, 1, 1)


def test_the_metric_counts_deleted_rows_by_table() -> None:
    PrometheusEventSink().deleted("webhook_attempts", 3)
    text = render_metrics()[0].decode()
    assert 'helpdesk_retention_deleted_total{table="webhook_attempts"}' in text
