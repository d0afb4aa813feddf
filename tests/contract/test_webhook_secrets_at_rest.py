"""Webhook secrets at rest on SQLite and PostgreSQL, through the composition root with the real
SecretBox, sender and URL guard: the column holds no readable secret, signatures verify
(with the reference implementation) after the secret keys rotate, legacy plaintext rows keep
working until sealed, and a worker whose allowlist refuses what the API admitted fails the
delivery at once, naming HELPDESK_WEBHOOK_ALLOWLIST."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import AttemptOutcome, DeliveryState
from helpdesk_core.usecases.webhooks import CreateWebhook, new_secret
from tests.conftest import make_settings
from tests.contract.test_webhook_sender import Receiver, serve
from tests.support.events import drain

K1 = "first-key-0123456789-abcdefghijklmnopqrstuvwxyz"
K2 = "second-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_db_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def processes(db_url: str) -> Iterator[list[Services]]:
    made: list[Services] = []
    yield made
    for services in made:
        services.close()


def process(
    made: list[Services], db_url: str, keys: Sequence[str], allowlist: Sequence[str]
) -> Services:
    """One process's services: its keys and its allowlist, the shared database."""
    settings = make_settings(
        database_url=db_url,
        secret_keys=tuple(keys),
        webhook_allowlist=tuple(allowlist),
        webhook_timeout=5.0,
    )
    services = bootstrap(settings)
    made.append(services)
    return services


def raw_secrets(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sa.text("SELECT secret FROM webhooks"))]
    finally:
        engine.dispose()


def set_raw_secret(db_url: str, value: str) -> None:
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE webhooks SET secret = :s"), {"s": value})
    finally:
        engine.dispose()


def test_the_secret_column_holds_nothing_readable(
    db_url: str, processes: list[Services], receiver: Receiver
) -> None:
    api = process(processes, db_url, [K1], ["127.0.0.1"])
    created = api.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook(f"http://127.0.0.1:{receiver.port}/ok", ("*",))
    )
    (stored,) = raw_secrets(db_url)
    assert not stored.startswith("whsec_")
    assert created.secret not in stored
    assert created.secret.removeprefix("whsec_") not in stored


def test_signatures_verify_after_the_secret_keys_rotate(
    db_url: str, processes: list[Services], receiver: Receiver
) -> None:
    api = process(processes, db_url, [K1], ["127.0.0.1"])
    created = api.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook(f"http://127.0.0.1:{receiver.port}/ok", ("*",))
    )
    hook_id = created.webhook.id
    verifier = ReferenceWebhook(created.secret)

    # HELPDESK_SECRET_KEYS becomes "K2,K1": the worker still opens the secret sealed with K1.
    rotated = process(processes, db_url, [K2, K1], ["127.0.0.1"])
    rotated.webhooks.ping(SYSTEM_OPERATOR, hook_id)
    drain(rotated)
    (first,) = receiver.received
    assert verifier.verify(first.body, first.headers)["type"] == "webhook.ping"

    # Sealed again under K2, K1 can go: "K2" alone still signs with the same secret.
    before = raw_secrets(db_url)
    assert rotated.webhooks.reseal_secrets(SYSTEM_OPERATOR).resealed == 1
    assert raw_secrets(db_url) != before
    newest = process(processes, db_url, [K2], ["127.0.0.1"])
    newest.webhooks.ping(SYSTEM_OPERATOR, hook_id)
    drain(newest)
    assert len(receiver.received) == 2
    second = receiver.received[1]
    assert verifier.verify(second.body, second.headers)["type"] == "webhook.ping"


def test_a_legacy_plaintext_secret_signs_until_resealed(
    db_url: str, processes: list[Services], receiver: Receiver
) -> None:
    services = process(processes, db_url, [K1], ["127.0.0.1"])
    created = services.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook(f"http://127.0.0.1:{receiver.port}/ok", ("*",))
    )
    legacy = new_secret()
    set_raw_secret(db_url, legacy)  # as a version that stored plaintext left the row

    services.webhooks.ping(SYSTEM_OPERATOR, created.webhook.id)
    drain(services)
    ReferenceWebhook(legacy).verify(receiver.received[0].body, receiver.received[0].headers)

    report = services.webhooks.reseal_secrets(SYSTEM_OPERATOR)
    assert (report.resealed, report.unreadable) == (1, ())
    (stored,) = raw_secrets(db_url)
    assert legacy not in stored
    assert not stored.startswith("whsec_")
    services.webhooks.ping(SYSTEM_OPERATOR, created.webhook.id)
    drain(services)
    ReferenceWebhook(legacy).verify(receiver.received[1].body, receiver.received[1].headers)


def test_a_worker_without_the_apis_allowlist_fails_the_delivery_once_naming_it(
    db_url: str, processes: list[Services], receiver: Receiver
) -> None:
    api = process(processes, db_url, [K1], ["127.0.0.1"])
    worker = process(processes, db_url, [K1], [])  # this process was not given the allowlist
    created = api.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook(f"http://127.0.0.1:{receiver.port}/ok", ("*",))
    )
    api.webhooks.ping(SYSTEM_OPERATOR, created.webhook.id)
    drain(worker)
    assert receiver.received == []  # never connected
    (delivery,) = api.webhooks.deliveries(SYSTEM_OPERATOR, created.webhook.id, 10)
    assert delivery.state is DeliveryState.FAILED  # not retried for ever
    (attempt,) = delivery.attempt_log
    assert attempt.outcome is AttemptOutcome.REFUSED
    assert "HELPDESK_WEBHOOK_ALLOWLIST" in (attempt.error or "")
    hook = api.webhooks.get(SYSTEM_OPERATOR, created.webhook.id)
    assert not hook.is_active
    assert "HELPDESK_WEBHOOK_ALLOWLIST" in (hook.disabled_reason or "")
