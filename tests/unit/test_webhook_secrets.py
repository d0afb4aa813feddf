"""Webhook secrets at rest and the worker's refusals, in the core on the in-memory store.

A secret is stored sealed (never as the plaintext the receiver holds), signs every delivery
after the secret keys rotate, and is sealed again under the newest key by ``reseal_secrets``
(also the legacy plaintext rows of versions that stored it so). A delivery the worker refuses
(its URL guard, or no key opens the secret) fails at once and disables the endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import attrs
import pytest

from adapters.memory.uow import MemoryUnitOfWork
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import PermissionDenied
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryState,
    SendResult,
    UrlGuard,
    Webhook,
    WebhookSender,
)
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.webhooks import CreateWebhook, UpdateWebhook, new_secret
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain

K1 = "first-key-0123456789-abcdefghijklmnopqrstuvwxyz"
K2 = "second-key-0123456789-abcdefghijklmnopqrstuvwxyz"
URL = "https://hooks.example.com/in"


@attrs.define
class RecordingSender:
    """Succeeds (or answers the queued results), keeping the secret each call was signed with."""

    results: list[SendResult] = attrs.Factory(list)
    secrets: list[str] = attrs.Factory(list)

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        self.secrets.append(webhook.secret)
        if self.results:
            return self.results.pop(0)
        return SendResult(AttemptOutcome.SUCCESS, 2, 200)


class AllowAll:
    def check(self, url: str) -> str | None:
        return None


@attrs.define
class Desk:
    """One store; each ``services(keys)`` is a process configured with those keys."""

    uow: MemoryUnitOfWork = attrs.Factory(MemoryUnitOfWork)
    clock: SettableClock = attrs.Factory(SettableClock)
    sender: RecordingSender = attrs.Factory(RecordingSender)

    def services(self, keys: Sequence[str] = (K1,)) -> Services:
        return bootstrap(
            make_settings(secret_keys=tuple(keys)),
            {
                UnitOfWork: self.uow,
                Clock: self.clock,
                WebhookSender: self.sender,
                UrlGuard: AllowAll(),
            },
        )

    def stored(self, webhook_id: uuid.UUID) -> Webhook:
        stored: Webhook = self.uow.state.webhooks[webhook_id]
        return stored

    def ping(self, services: Services, webhook_id: uuid.UUID) -> None:
        services.webhooks.ping(SYSTEM_OPERATOR, webhook_id)
        drain(services)


def test_the_secret_is_stored_sealed_and_signs_in_plaintext() -> None:
    desk = Desk()
    services = desk.services()
    created = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    stored = desk.stored(created.webhook.id).secret
    assert created.secret.startswith("whsec_")
    assert created.secret not in stored
    assert created.secret.removeprefix("whsec_") not in stored
    desk.ping(services, created.webhook.id)
    assert desk.sender.secrets == [created.secret]


def test_signing_survives_a_key_rotation_and_reseal_moves_to_the_newest_key() -> None:
    desk = Desk()
    created = desk.services([K1]).webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    hook_id = created.webhook.id
    rotated = desk.services([K2, K1])
    desk.ping(rotated, hook_id)
    assert desk.sender.secrets == [created.secret]

    before = desk.stored(hook_id)
    report = rotated.webhooks.reseal_secrets(SYSTEM_OPERATOR)
    assert (report.resealed, report.current, report.unreadable) == (1, 0, ())
    after = desk.stored(hook_id)
    assert after.secret != before.secret
    assert after.version == before.version + 1
    assert after.updated_at == before.updated_at  # nobody edited the endpoint
    assert rotated.webhooks.reseal_secrets(SYSTEM_OPERATOR).current == 1  # nothing left

    newest_only = desk.services([K2])  # the old key removed: still signs
    desk.ping(newest_only, hook_id)
    assert desk.sender.secrets[-1] == created.secret


def test_a_secret_no_key_opens_fails_the_delivery_and_disables_the_endpoint() -> None:
    desk = Desk()
    created = desk.services([K1]).webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    other = desk.services([K2])  # K1 removed before the secret was sealed again
    assert other.webhooks.reseal_secrets(SYSTEM_OPERATOR).unreadable == (created.webhook.id,)
    desk.ping(other, created.webhook.id)
    assert desk.sender.secrets == []  # nothing was sent unsigned or signed wrongly
    (delivery,) = other.webhooks.deliveries(SYSTEM_OPERATOR, created.webhook.id, 10)
    assert delivery.state is DeliveryState.FAILED
    assert [a.outcome for a in delivery.attempt_log] == [AttemptOutcome.REFUSED]
    hook = other.webhooks.get(SYSTEM_OPERATOR, created.webhook.id)
    assert not hook.is_active
    assert "secret key" in (hook.disabled_reason or "")

    # Rotating the endpoint's secret and re-enabling it repairs it.
    fresh = other.webhooks.rotate_secret(SYSTEM_OPERATOR, created.webhook.id)
    other.webhooks.update(SYSTEM_OPERATOR, created.webhook.id, UpdateWebhook(active=True))
    desk.ping(other, created.webhook.id)
    assert desk.sender.secrets == [fresh.secret]


def test_legacy_plaintext_secrets_still_sign_and_reseal_seals_them() -> None:
    desk = Desk()
    services = desk.services()
    legacy = new_secret()
    now = desk.clock.now()
    hook = Webhook(
        id=uuid.uuid4(), url=URL, events=("*",), secret=legacy, created_at=now, updated_at=now
    )
    with desk.uow.begin() as tx:  # as a version that stored secrets in plaintext left it
        tx.webhooks.add(hook)
        tx.commit()
    desk.ping(services, hook.id)
    assert desk.sender.secrets == [legacy]

    report = services.webhooks.reseal_secrets(SYSTEM_OPERATOR)
    assert report.resealed == 1
    assert legacy not in desk.stored(hook.id).secret
    desk.ping(services, hook.id)
    assert desk.sender.secrets == [legacy, legacy]


def test_rotating_a_secret_shows_the_new_one_once_and_signs_with_it() -> None:
    desk = Desk()
    services = desk.services()
    created = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    rotated = services.webhooks.rotate_secret(SYSTEM_OPERATOR, created.webhook.id)
    assert rotated.secret.startswith("whsec_")
    assert rotated.secret != created.secret
    assert rotated.webhook.version == created.webhook.version + 1
    assert rotated.secret not in desk.stored(created.webhook.id).secret
    desk.ping(services, created.webhook.id)
    assert desk.sender.secrets == [rotated.secret]


def test_only_administrators_rotate_or_reseal_secrets() -> None:
    desk = Desk()
    services = desk.services()
    created = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    agent = Principal(user_id=uuid.uuid4(), role=Role.AGENT)
    before = desk.stored(created.webhook.id)
    with pytest.raises(PermissionDenied):
        services.webhooks.rotate_secret(agent, created.webhook.id)
    with pytest.raises(PermissionDenied):
        services.webhooks.reseal_secrets(agent)
    assert desk.stored(created.webhook.id) == before


def test_a_delivery_the_worker_refuses_fails_at_once_and_disables_the_endpoint() -> None:
    """The API admitted the URL, this worker's guard refuses it: no retries, a clear reason."""
    desk = Desk()
    services = desk.services()
    created = services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(URL, ("*",)))
    desk.sender.results = [
        SendResult(AttemptOutcome.REFUSED, 0, None, "resolves to 10.0.0.5, a private address")
    ]
    desk.ping(services, created.webhook.id)
    (delivery,) = services.webhooks.deliveries(SYSTEM_OPERATOR, created.webhook.id, 10)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempts == 1
    hook = services.webhooks.get(SYSTEM_OPERATOR, created.webhook.id)
    assert not hook.is_active
    assert "10.0.0.5, a private address" in (hook.disabled_reason or "")
