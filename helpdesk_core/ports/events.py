"""The outbox, webhook endpoints and their deliveries; and the ports that reach the outside.

Repositories work inside the caller's transaction (``tx.outbox``, ``tx.webhooks``,
``tx.deliveries``). Work is handed out by *claims*: a claim leases rows to one claim token until
``lease_until``; a row whose lease expired (its worker died) is claimable again, so nothing is
lost, and every completion names its token, so a worker whose lease was taken over changes
nothing. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``; SQLite's writers are serialized.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Protocol

import attrs

from helpdesk_core.domain.events import Event

# ---------------------------------------------------------------- outbox


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # waiting, or leased to a worker
    DONE = "done"
    FAILED = "failed"  # gave up after the configured attempts


@attrs.frozen
class OutboxEntry:
    """An event as the outbox holds it."""

    event: Event
    seq: int  # the recording order: increasing, unique
    state: OutboxState
    attempts: int  # claims so far (a claim whose worker died counts)
    available_at: datetime
    last_error: str | None = None
    processed_at: datetime | None = None


@attrs.frozen
class OutboxStats:
    pending: int
    failed: int
    oldest_pending_at: datetime | None  # occurred_at of the oldest pending event


class OutboxRepository(Protocol):
    def add(self, event: Event) -> None:
        """Record ``event`` (pending, available now) in this transaction; after a Conflict
        the transaction must end (no savepoint is taken for this hot insert)."""
        ...

    def get(self, event_id: uuid.UUID) -> OutboxEntry | None:
        """The entry of one event, or None."""
        ...

    def claim(
        self, token: str, limit: int, now: datetime, lease_until: datetime
    ) -> list[OutboxEntry]:
        """Lease up to ``limit`` events to ``token``, in ``seq`` order, and count an attempt.

        Claimable: pending, ``available_at <= now``, not leased (or the lease ended before
        ``now``), and the oldest unfinished (pending) event of its ordering key, so one key's
        events are handled one after another in recording order, never side by side.
        """
        ...

    def complete(self, event_id: uuid.UUID, token: str, now: datetime) -> bool:
        """Mark done; False (nothing changed) unless the event is leased to ``token``."""
        ...

    def retry(self, event_id: uuid.UUID, token: str, error: str, available_at: datetime) -> bool:
        """Release the lease and try again at ``available_at``; False unless leased to token."""
        ...

    def fail(self, event_id: uuid.UUID, token: str, error: str, now: datetime) -> bool:
        """Give up on the event (state failed); False unless leased to ``token``."""
        ...

    def stats(self) -> OutboxStats:
        """How many events are pending and failed, and since when the oldest pending waits."""
        ...

    def purge_finished(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` done or failed events processed before ``before`` that no
        delivery refers to, oldest first; how many. Pending events are never deleted."""
        ...


# ---------------------------------------------------------------- webhooks

# The URL scheme of an in-process endpoint: ``python:<name>`` names a Python callable that a
# program embedding the helpdesk subscribed under ``name``; the worker that program runs calls
# it with the Event instead of POSTing the event (see ``Webhook.in_process``).
IN_PROCESS_SCHEME = "python:"


@attrs.frozen
class Webhook:
    """An endpoint that receives the events it subscribes to (``"*"``: all).

    Its transport is an HTTP POST to ``url``, or, for an in-process endpoint (``url``
    ``python:<name>``), a call of the callable the embedding program's worker holds for that
    url: the same deliveries, order per key, retries, attempt log and disabling either way.
    """

    id: uuid.UUID
    url: str
    events: tuple[str, ...]
    secret: str = attrs.field(repr=False)  # "whsec_" + base64; shown once, at creation
    created_at: datetime
    updated_at: datetime
    description: str = ""
    is_active: bool = True
    consecutive_failures: int = 0  # failed attempts since the last success
    disabled_reason: str | None = None
    version: int = 1

    def wants(self, event_type: str) -> bool:
        return self.is_active and ("*" in self.events or event_type in self.events)

    @property
    def in_process(self) -> bool:
        """Whether a Python callable, not an HTTP endpoint, receives the deliveries."""
        return self.url.startswith(IN_PROCESS_SCHEME)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed


class AttemptOutcome(enum.StrEnum):
    SUCCESS = "success"  # a 2xx answer
    HTTP_ERROR = "http_error"  # any other status
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"  # refused, reset, DNS, TLS
    REFUSED = "refused"  # the address is not allowed (private, loopback, metadata)
    RAISED = "raised"  # an in-process endpoint's callable raised (its error is recorded)


@attrs.frozen
class DeliveryAttempt:
    """One try of one delivery."""

    id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int  # 1, 2, ...
    outcome: AttemptOutcome
    created_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None


@attrs.frozen
class WebhookDelivery:
    """One event on its way to one endpoint, and every attempt so far."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    event_seq: int  # the event's outbox seq: deliveries of one key go in this order
    ordering_key: str
    state: DeliveryState
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    completed_at: datetime | None = None
    attempt_log: tuple[DeliveryAttempt, ...] = ()


@attrs.frozen
class ClaimedDelivery:
    """A delivery leased to a worker, with what it needs to send it."""

    delivery: WebhookDelivery
    webhook: Webhook
    event: Event


@attrs.frozen
class DeliveryCursor:
    """Keyset position in a webhook's deliveries (newest first)."""

    created_at: datetime
    id: uuid.UUID


class WebhookRepository(Protocol):
    def add(self, webhook: Webhook) -> None: ...

    def get(self, webhook_id: uuid.UUID) -> Webhook | None: ...

    def update(self, webhook: Webhook) -> None:
        """Store ``webhook`` (its version already advanced by the caller)."""
        ...

    def delete(self, webhook_id: uuid.UUID) -> bool:
        """Remove the endpoint with its deliveries; False when there was none."""
        ...

    def list(self) -> list[Webhook]:
        """Every endpoint, oldest first."""
        ...

    def record_result(
        self, webhook_id: uuid.UUID, success: bool, disable_after: int, reason: str, now: datetime
    ) -> Webhook | None:
        """Count one attempt's result atomically: success resets the run of failures; a
        failure extends it and, when it reaches ``disable_after``, disables the endpoint with
        ``reason``. Returns the endpoint as stored after the change."""
        ...


class DeliveryRepository(Protocol):
    def enqueue(self, delivery: WebhookDelivery) -> bool:
        """Add a pending delivery; False (nothing added) when this webhook already has one for
        this event (the dispatcher may run twice for one event)."""
        ...

    def claim(
        self,
        token: str,
        limit: int,
        now: datetime,
        lease_until: datetime,
        in_process: frozenset[str] = frozenset(),
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries of active endpoints, oldest event first.

        Claimable: pending, ``next_attempt_at <= now``, not leased (or lease ended), its
        webhook active, and no pending delivery of the same webhook and ordering key with a
        smaller ``event_seq`` (per-ticket order per endpoint). A delivery to an in-process
        endpoint only when its url is in ``in_process`` (the callables this worker holds):
        no other worker can deliver it, so none takes it.
        """
        ...

    def finish(
        self,
        delivery_id: uuid.UUID,
        token: str,
        attempt: DeliveryAttempt,
        state: DeliveryState,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Record ``attempt`` and move the delivery to ``state`` (pending: retried at
        ``next_attempt_at``), releasing the lease; False (nothing stored) unless leased to
        ``token``."""
        ...

    def release(self, delivery_id: uuid.UUID, token: str) -> bool:
        """Hand a leased, unattempted delivery back (claimable at once, no attempt counted);
        False (nothing changed) unless leased to ``token``."""
        ...

    def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """One delivery with its attempts."""
        ...

    def list(
        self, webhook_id: uuid.UUID, limit: int, after: DeliveryCursor | None = None
    ) -> list[WebhookDelivery]:
        """A webhook's deliveries, newest first, each with its attempts (oldest first)."""
        ...

    def count_pending(self) -> int:
        """Deliveries waiting to be attempted (all endpoints)."""
        ...

    def purge_finished(self, before: datetime, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` delivered or failed deliveries completed before ``before``,
        oldest first, with their attempts; how many (deliveries, attempts). Pending
        deliveries, retried ones included, and their attempts are never deleted."""
        ...


# ---------------------------------------------------------------- the outside


@attrs.frozen
class SendResult:
    """What happened to one HTTP delivery attempt."""

    outcome: AttemptOutcome
    duration_ms: int
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is AttemptOutcome.SUCCESS


class Undeliverable(Exception):
    """This mail or delivery can never be sent as it is: it cannot be built (a header no
    encoding holds, a URL no encoding reaches), so every retry would fail alike.

    A Mailer or WebhookSender raises it; the event worker then fails that one mail or
    delivery at once, with this error, instead of retrying it (any other exception is
    retried)."""


class WebhookSender(Protocol):
    """Signs (Standard Webhooks) and POSTs one event to one endpoint."""

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        """One attempt; never raises for the endpoint's failures, it reports them (an
        exception it raises anyway is recorded as that delivery's failed attempt, and
        :class:`Undeliverable` fails the delivery at once)."""
        ...


class UrlGuard(Protocol):
    """Decides whether a webhook may reach a URL (SSRF protection)."""

    def check(self, url: str) -> str | None:
        """None when allowed, else why not (e.g. "resolves to a private address 10.0.0.1")."""
        ...


class EventSink(Protocol):
    """Where the worker reports what it did (metrics); the core never imports a metrics lib."""

    def batch(self, kind: str, size: int, seconds: float) -> None: ...

    def delivery(self, outcome: str) -> None: ...

    def deleted(self, table: str, count: int) -> None:
        """Retention deleted ``count`` rows of ``table``."""
        ...

    def alarm(self, kind: str, department: str) -> None:
        """The scheduler raised a service-level ``kind`` ("warning" or "breached") on a
        ticket of ``department`` (its id, or "none" for an unrouted ticket)."""
        ...
