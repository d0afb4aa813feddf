"""Webhook endpoints, managed by administrators: subscribe, inspect deliveries, ping.

An endpoint's secret is made here and shown once, in the result of ``create`` (or of
``rotate_secret``, which replaces it); nothing else returns it. It is stored sealed by the
SecretBox (encrypted under the newest secret key), never in plaintext; ``reseal_secrets`` seals
every stored secret again under the newest key, including those stored in plaintext before
secrets were sealed. A URL is stored as it goes on the wire (``values.web_url``: an IDNA
host name, a percent-encoded path and query), and refused (ValidationFailed on ``url``) when
it has no such form or the UrlGuard does not admit it: a URL that reaches loopback, private,
link-local or metadata addresses needs the configured allowlist (the worker checks again
before every attempt, with its own).

In-process endpoints (url ``python:<name>``, see ``ports.events.IN_PROCESS_SCHEME``) are made
only by ``subscribe_in_process``, for a program that embeds the helpdesk: ``create`` and
``update`` admit http(s) URLs only, and an in-process endpoint's url cannot be changed. Such an
endpoint's id is derived from its url, so two processes subscribing one name at once make one
endpoint (the second insert is refused on the primary key, and that subscriber updates the
endpoint the first made).
"""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from helpdesk_core.domain.events import ALL_EVENTS, EVENT_TYPES, Event
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.signatures import new_secret as new_secret
from helpdesk_core.domain.values import clean_text, web_url
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.events import (
    IN_PROCESS_SCHEME,
    DeliveryCursor,
    OutboxStats,
    UrlGuard,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.secretbox import SecretBox, SecretUnreadable
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import is_plaintext_secret, publish

DESCRIPTION_MAX = 500
EVENTS_MAX = 50
SUBSCRIBABLE = tuple(t for t in EVENT_TYPES if t != "webhook.ping")
SUBSCRIBER_NAME_MAX = 200
# An in-process subscriber's name: ASCII letters, digits, ".", "_" and "-" (no look-alikes,
# nothing that needs escaping in a URL, a log line or a metric label).
_SUBSCRIBER_NAME = re.compile(r"[A-Za-z0-9._-]+")
_SUBSCRIBE_TRIES = 5  # a subscription that lost a race to another one reads it and goes on


def in_process_id(url: str) -> uuid.UUID:
    """The id of the in-process endpoint ``url``: one url, one id, in every process."""
    return uuid.uuid5(uuid.NAMESPACE_URL, url)


@attrs.frozen
class CreateWebhook:
    url: str
    events: tuple[str, ...]
    description: str = ""


@attrs.frozen
class UpdateWebhook:
    """Only the fields given change; ``active=True`` re-enables a disabled endpoint."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    active: bool | None = None


@attrs.frozen
class CreatedWebhook:
    """The new endpoint and its signing secret: the only time the secret is shown."""

    webhook: Webhook
    secret: str = attrs.field(repr=False)


@attrs.frozen
class ResealReport:
    """What ``reseal_secrets`` did: secrets sealed again under the newest key (``resealed``,
    plaintext ones among them), those already current, and the endpoints whose secret no
    configured key opens (rotate their secret: the old one is lost)."""

    resealed: int
    current: int
    unreadable: tuple[uuid.UUID, ...]


@attrs.define
class WebhookService:
    """Every webhook use case; administrators only."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _guard: UrlGuard
    _box: SecretBox

    def create(self, actor: Principal, command: CreateWebhook) -> CreatedWebhook:
        require_admin(actor, "manage webhooks")
        url = self._url(command.url)
        events = _events(command.events)
        description = _description(command.description)
        secret = new_secret()
        webhook = self._new_webhook(self._ids.new_id(), url, events, secret, description)
        with self._uow.begin() as tx:
            tx.webhooks.add(webhook)
            tx.commit()
        return CreatedWebhook(webhook, secret)

    def subscribe_in_process(self, actor: Principal, name: str, events: Sequence[str]) -> Webhook:
        """The in-process endpoint ``python:<name>``, made or brought up to date: it receives
        ``events`` (validated as ``create`` does) and is active.

        Idempotent: subscribing again with the same events writes nothing; other events
        replace the stored ones, and a disabled endpoint (after a run of failures, or by an
        administrator) is enabled again with its run of failures cleared, as ``update`` does.
        A new endpoint receives the events recorded from now on (the fan-out's rule); one
        subscribed before keeps its ``created_at``, so what was recorded while its program was
        down is delivered. Safe when several processes subscribe one name at once. ``name``:
        1 to 200 ASCII letters, digits, ".", "_" and "-" (ValidationFailed on ``name``).
        """
        require_admin(actor, "manage webhooks")
        url = IN_PROCESS_SCHEME + _subscriber_name(name)
        wanted = _events(events)
        for _ in range(_SUBSCRIBE_TRIES - 1):
            try:
                return self._subscribe(url, wanted)
            except (Conflict, StaleVersion):  # another subscription of the name came first
                continue
        return self._subscribe(url, wanted)

    def unsubscribe_in_process(self, actor: Principal, name: str) -> bool:
        """Delete the in-process endpoint ``python:<name>`` with its deliveries, as ``delete``
        does; False when there is none."""
        url = IN_PROCESS_SCHEME + _subscriber_name(name)
        try:
            self.delete(actor, in_process_id(url))
        except NotFound:
            return False
        return True

    def _subscribe(self, url: str, events: tuple[str, ...]) -> Webhook:
        webhook_id = in_process_id(url)
        with self._uow.begin() as tx:
            current = tx.webhooks.get(webhook_id)
            if current is None:
                webhook = self._new_webhook(webhook_id, url, events, new_secret())
                tx.webhooks.add(webhook)
                tx.commit()
                return webhook
            if current.url != url:  # pragma: no cover - such a url cannot be stored or changed
                raise Conflict(f"the endpoint of {url} has another url: {current.url}")
            wanted = attrs.evolve(current, events=events)
            if not current.is_active:
                wanted = attrs.evolve(
                    wanted, is_active=True, consecutive_failures=0, disabled_reason=None
                )
            if wanted == current:
                return current
            updated = attrs.evolve(
                wanted, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.webhooks.update(updated)
            tx.commit()
        return updated

    def _new_webhook(
        self,
        webhook_id: uuid.UUID,
        url: str,
        events: tuple[str, ...],
        secret: str,
        description: str = "",
    ) -> Webhook:
        now = self._clock.now()
        return Webhook(
            id=webhook_id,
            url=url,
            events=events,
            secret=self._box.seal(secret),
            description=description,
            created_at=now,
            updated_at=now,
        )

    def list(self, actor: Principal) -> builtins.list[Webhook]:
        require_admin(actor, "manage webhooks")
        with self._uow.begin(read_only=True) as tx:
            return tx.webhooks.list()

    def get(self, actor: Principal, webhook_id: uuid.UUID) -> Webhook:
        require_admin(actor, "manage webhooks")
        with self._uow.begin(read_only=True) as tx:
            return _webhook(tx, webhook_id)

    def update(self, actor: Principal, webhook_id: uuid.UUID, command: UpdateWebhook) -> Webhook:
        require_admin(actor, "manage webhooks")
        changes: dict[str, object] = {}
        if command.url is not None:
            changes["url"] = self._url(command.url)
        if command.events is not None:
            changes["events"] = _events(command.events)
        if command.description is not None:
            changes["description"] = _description(command.description)
        with self._uow.begin() as tx:
            current = _webhook(tx, webhook_id)
            if current.in_process and changes.get("url", current.url) != current.url:
                raise ValidationFailed.field(
                    "url", "an in-process endpoint's url names its subscriber: it cannot change"
                )
            if command.active is True and not current.is_active:
                changes.update(is_active=True, consecutive_failures=0, disabled_reason=None)
            elif command.active is False and current.is_active:
                changes.update(is_active=False, disabled_reason="disabled by an administrator")
            updated = attrs.evolve(current, **changes)  # type: ignore[arg-type]
            if updated == current:
                return current
            updated = attrs.evolve(
                updated, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.webhooks.update(updated)
            tx.commit()
        return updated

    def disable(self, actor: Principal, webhook_id: uuid.UUID) -> Webhook:
        return self.update(actor, webhook_id, UpdateWebhook(active=False))

    def delete(self, actor: Principal, webhook_id: uuid.UUID) -> None:
        require_admin(actor, "manage webhooks")
        with self._uow.begin() as tx:
            if not tx.webhooks.delete(webhook_id):
                raise NotFound("no such webhook")
            tx.commit()

    def rotate_secret(self, actor: Principal, webhook_id: uuid.UUID) -> CreatedWebhook:
        """Give the endpoint a new signing secret, shown once in the result; the old one
        signs nothing from now on (deliveries not yet sent are signed with the new one)."""
        require_admin(actor, "manage webhooks")
        secret = new_secret()
        sealed = self._box.seal(secret)
        with self._uow.begin() as tx:
            current = _webhook(tx, webhook_id)
            updated = attrs.evolve(
                current,
                secret=sealed,
                updated_at=self._clock.now(),
                version=current.version + 1,
            )
            tx.webhooks.update(updated)
            tx.commit()
        return CreatedWebhook(updated, secret)

    def reseal_secrets(self, actor: Principal) -> ResealReport:
        """Seal every endpoint's secret again under the newest key: after a key rotation
        (before the old key is removed), and for secrets stored in plaintext by a version
        that did not seal them. The secrets themselves do not change."""
        require_admin(actor, "manage webhooks")
        resealed = current_count = 0
        unreadable: builtins.list[uuid.UUID] = []
        with self._uow.begin() as tx:
            for webhook in tx.webhooks.list():
                stored = webhook.secret
                if is_plaintext_secret(stored):
                    plaintext = stored
                elif self._box.is_current(stored):
                    current_count += 1
                    continue
                else:
                    try:
                        plaintext = self._box.open(stored)
                    except SecretUnreadable:
                        unreadable.append(webhook.id)
                        continue
                # Not an edit an administrator made: updated_at stays, the version moves on
                # (an edit of the version read before this fails as stale, as it should).
                tx.webhooks.update(
                    attrs.evolve(
                        webhook, secret=self._box.seal(plaintext), version=webhook.version + 1
                    )
                )
                resealed += 1
            tx.commit()
        return ResealReport(resealed, current_count, tuple(unreadable))

    def deliveries(
        self,
        actor: Principal,
        webhook_id: uuid.UUID,
        limit: int,
        after: DeliveryCursor | None = None,
    ) -> builtins.list[WebhookDelivery]:
        """The endpoint's deliveries, newest first, each with every attempt."""
        require_admin(actor, "manage webhooks")
        with self._uow.begin(read_only=True) as tx:
            _webhook(tx, webhook_id)
            return tx.deliveries.list(webhook_id, limit, after)

    def ping(self, actor: Principal, webhook_id: uuid.UUID) -> Event:
        """Queue a ``webhook.ping`` event for this one endpoint (even a disabled one is not
        sent to: re-enable it first); its delivery shows in the deliveries list."""
        require_admin(actor, "manage webhooks")
        with self._uow.begin() as tx:
            webhook = _webhook(tx, webhook_id)
            if not webhook.is_active:
                raise ValidationFailed.field("active", "the webhook is disabled: enable it first")
            event = publish(
                tx,
                self._ids,
                self._clock.now(),
                "webhook.ping",
                f"webhook:{webhook.id}",
                {"webhook_id": str(webhook.id), "url": webhook.url},
                actor.user_id,
            )
            tx.commit()
        return event

    def outbox_status(self, actor: Principal) -> tuple[OutboxStats, int]:
        """The outbox's pending and failed events, and the deliveries waiting."""
        require_admin(actor, "read the outbox status")
        with self._uow.begin(read_only=True) as tx:
            return tx.outbox.stats(), tx.deliveries.count_pending()

    def _url(self, raw: str) -> str:
        """The URL as it will be sent to (``values.web_url``: IDNA host, percent-encoded
        path and query), if the guard admits it."""
        try:
            url = web_url(raw.strip())
        except ValueError as exc:
            raise ValidationFailed.field("url", str(exc)) from None
        reason = self._guard.check(url)
        if reason is not None:
            raise ValidationFailed.field("url", reason)
        return url


def _webhook(tx: Transaction, webhook_id: uuid.UUID) -> Webhook:
    webhook = tx.webhooks.get(webhook_id)
    if webhook is None:
        raise NotFound("no such webhook")
    return webhook


def _events(raw: Sequence[str]) -> tuple[str, ...]:
    if not raw:
        raise ValidationFailed.field("events", 'name at least one event type, or "*"')
    if len(raw) > EVENTS_MAX:
        raise ValidationFailed.field("events", f"at most {EVENTS_MAX} event types")
    unknown = [t for t in raw if t != ALL_EVENTS and t not in SUBSCRIBABLE]
    if unknown:
        raise ValidationFailed.field(
            "events", f"unknown event type {unknown[0]!r}; known: {', '.join(SUBSCRIBABLE)}"
        )
    if ALL_EVENTS in raw:
        return (ALL_EVENTS,)
    return tuple(dict.fromkeys(raw))


def _subscriber_name(raw: str) -> str:
    name = clean_text(raw, "name", max_length=SUBSCRIBER_NAME_MAX)
    if not _SUBSCRIBER_NAME.fullmatch(name):
        raise ValidationFailed.field(
            "name", 'may hold only ASCII letters, digits, ".", "_" and "-"'
        )
    return name


def _description(raw: str) -> str:
    if not raw.strip() and len(raw) <= DESCRIPTION_MAX:
        return ""
    return clean_text(raw, "description", max_length=DESCRIPTION_MAX)
