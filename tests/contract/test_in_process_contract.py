"""The in-process endpoints' contract (url ``python:<name>``), on every store: only a worker
holding the callable claims their deliveries, a raise is recorded as an attempt, concurrent
subscriptions of one name make one endpoint, and migration 0008 admits the ``raised`` outcome
and takes it back. The fixtures and builders are the events contract's.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from adapters.sql.engine import create_engine
from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import AttemptOutcome, DeliveryState, Webhook
from helpdesk_core.ports.uow import UnitOfWork
from tests.conftest import make_settings
from tests.contract.test_events_contract import (
    NOW,
    add_webhooks,
    claim_deliveries,
    delivery,
    enqueue,
    make_attempt,
    make_delivery,
    make_event,
    make_webhook,
    record,
    run,
)


def test_in_process_deliveries_go_only_to_a_worker_holding_their_callable(
    uow: UnitOfWork,
) -> None:
    """A worker claims an in-process endpoint's deliveries only when it names its url; every
    worker claims the HTTP ones (a url merely holding "python:" is one)."""
    hook = make_webhook()
    billing = make_webhook(url="python:billing")
    audit = make_webhook(url="python:audit_log")
    look_alike = make_webhook(url="https://hooks.example.com/python:billing")
    add_webhooks(uow, hook, billing, audit, look_alike)
    assert (billing.in_process, audit.in_process, look_alike.in_process, hook.in_process) == (
        True,
        True,
        False,
        False,
    )
    (stored,) = record(uow, make_event())
    to_hook, to_billing, to_audit, to_look_alike = (
        make_delivery(w, stored) for w in (hook, billing, audit, look_alike)
    )
    enqueue(uow, to_hook, to_billing, to_audit, to_look_alike)

    plain = claim_deliveries(uow, "plain")
    assert {c.delivery.id for c in plain} == {to_hook.id, to_look_alike.id}
    assert claim_deliveries(uow, "other", in_process=frozenset({"python:nobody"})) == []
    (mine,) = claim_deliveries(uow, "billing", in_process=frozenset({"python:billing"}))
    assert (mine.delivery.id, mine.webhook, mine.event) == (to_billing.id, billing, stored.event)
    both = frozenset({"python:billing", "python:audit_log"})
    assert [c.delivery.id for c in claim_deliveries(uow, "both", in_process=both)] == [to_audit.id]
    with uow.begin(read_only=True) as tx:
        assert tx.deliveries.count_pending() == 4


def test_an_attempt_that_raised_is_recorded_with_its_error(uow: UnitOfWork) -> None:
    subscriber = make_webhook(url="python:billing")
    add_webhooks(uow, subscriber)
    (stored,) = record(uow, make_event())
    d = make_delivery(subscriber, stored)
    enqueue(uow, d)
    claim_deliveries(uow, "w1", in_process=frozenset({subscriber.url}))
    raised = make_attempt(
        d, outcome=AttemptOutcome.RAISED, status_code=None, error="KeyError: 'ticket'"
    )
    retry_at = NOW + timedelta(seconds=10)
    assert run(
        uow, lambda tx: tx.deliveries.finish(d.id, "w1", raised, DeliveryState.PENDING, retry_at)
    )
    loaded = delivery(uow, d.id)
    assert loaded is not None
    assert loaded.attempt_log == (raised,)
    assert loaded.next_attempt_at == retry_at


def test_concurrent_in_process_subscriptions_make_one_endpoint(backend_url: str) -> None:
    """Processes that subscribe one name at once make one endpoint: its id comes from its url,
    so the insert that loses the race is refused and that subscription updates the winner's."""
    services = bootstrap(make_settings(database_url=backend_url))
    subscribers = 6
    barrier = threading.Barrier(subscribers)
    made: list[Webhook] = []
    errors: list[BaseException] = []

    def subscribe(n: int) -> None:
        events = ("ticket.created",) if n % 2 else ("ticket.closed",)
        barrier.wait()
        try:
            made.append(services.webhooks.subscribe_in_process(SYSTEM_OPERATOR, "billing", events))
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(subscribers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert len(made) == subscribers
        (stored,) = services.webhooks.list(SYSTEM_OPERATOR)
        assert {w.id for w in made} == {stored.id}
        assert stored.url == "python:billing"
        assert stored.events in {("ticket.created",), ("ticket.closed",)}
    finally:
        services.close()


# ---------------------------------------------------------------- migration 0008


@pytest.mark.parametrize(
    "backend_url",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,  # the SQL stores only: a migration has nothing to do in memory
)
def test_migration_0008_admits_raised_and_its_downgrade_keeps_the_attempts(
    backend_url: str, uow: UnitOfWork
) -> None:
    """Downgraded, a ``raised`` attempt becomes the ``network_error`` the older version knows
    (its error stays), under the older CHECK; upgraded again, ``raised`` is admitted again."""
    from adapters.sql import migrate

    subscriber = make_webhook(url="python:billing")
    add_webhooks(uow, subscriber)
    (stored,) = record(uow, make_event())
    d = make_delivery(subscriber, stored)
    enqueue(uow, d)
    claim_deliveries(uow, "w1", in_process=frozenset({subscriber.url}))
    raised = make_attempt(d, outcome=AttemptOutcome.RAISED, status_code=None, error="boom")
    run(uow, lambda tx: tx.deliveries.finish(d.id, "w1", raised, DeliveryState.FAILED, None))

    migrate.downgrade(backend_url, "0007_retention_indexes")
    engine = create_engine(backend_url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT outcome, error FROM webhook_attempts")
            assert [tuple(row) for row in rows] == [("network_error", "boom")]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.exec_driver_sql("UPDATE webhook_attempts SET outcome = 'raised'")
    finally:
        engine.dispose()
    migrate.upgrade(backend_url)
    assert migrate.check(backend_url) == []
    (later,) = record(uow, make_event())
    d2 = make_delivery(subscriber, later)
    enqueue(uow, d2)
    claim_deliveries(uow, "w2", in_process=frozenset({subscriber.url}))
    again = make_attempt(d2, outcome=AttemptOutcome.RAISED, status_code=None, error="again")
    assert run(uow, lambda tx: tx.deliveries.finish(d2.id, "w2", again, DeliveryState.FAILED, None))
    loaded = delivery(uow, d2.id)
    assert loaded is not None
    assert loaded.attempt_log == (again,)
