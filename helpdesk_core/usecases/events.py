"""Events: publish inside the change's transaction, subscribe, and the worker that delivers.

Publishing is recording: ``publish(tx, ...)`` adds the event to the outbox inside the use case's
transaction, so an event exists if and only if its change committed. The worker claims events
from the outbox (several workers on several hosts never hold one event at once; one ordering
key's events are handled one after another), hands each to its subscribers through the
Dispatcher, and marks it done. Every subscriber runs even when another failed (a mail that
cannot be sent does not keep the event from the webhook fan-out); a failure makes the event
retry with exponential backoff and jitter, and after the configured attempts the event is
marked failed and the next event of its key goes on. A failure no retry can mend (a mail that
cannot be built: ``Undeliverable``) fails the event at once.

Webhooks ride on this: the fan-out subscriber turns an event into one pending delivery per
subscribed endpoint (idempotent, so a retried event adds none twice), and the worker's second
loop sends due deliveries, records every attempt, retries failures on the same schedule and
disables an endpoint after a run of failures. A delivery this worker refuses to send (its URL
guard refuses the address, the URL cannot be encoded, or no key opens the endpoint's secret)
fails at once and disables the endpoint: the same refusal would come at every retry.
An in-process endpoint (url ``python:<name>``) is one whose transport is a Python call: the
worker holding its callable (``in_process``) calls it with the Event instead of POSTing, a
raise is a failed attempt (``raised``), and everything else is the same path; only that
worker claims its deliveries.

Poison-proof: whatever one event, delivery or mail raises (but a lost database) is recorded as
that item's failed attempt, with the error, and the pass goes on with the others; nothing one
item does keeps the other items of a batch leased.

Retention: finished events and deliveries (and their attempts) older than the configured days
are deleted by the worker, a bounded batch per pass; nothing pending, and no event a remaining
delivery refers to.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import one_line, web_url
from helpdesk_core.ports.events import (
    IN_PROCESS_SCHEME,
    AttemptOutcome,
    ClaimedDelivery,
    DeliveryAttempt,
    DeliveryState,
    EventSink,
    OutboxEntry,
    SendResult,
    Undeliverable,
    WebhookDelivery,
    WebhookSender,
)
from helpdesk_core.ports.secretbox import SecretBox, SecretUnreadable
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.dispatch import ERROR_MAX, SubscriberFailures, describe_error
from helpdesk_core.usecases.dispatch import Dispatcher as Dispatcher  # where it used to live
from helpdesk_core.usecases.dispatch import Handler as Handler

log = logging.getLogger("helpdesk.events")
# Webhook secrets begin so ("whsec_" + base64); a stored secret that does is one stored in
# plaintext before secrets were sealed (a sealed value never begins so).
PLAINTEXT_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format's prefix, not a secret
MAIL_IDLE_SECONDS = 1.0  # how long an idle worker waits to look for mail another process stored


def is_plaintext_secret(stored: str) -> bool:
    """Whether a stored webhook secret is plaintext from before secrets were sealed."""
    return stored.startswith(PLAINTEXT_SECRET_PREFIX)


def signing_secret(box: SecretBox, stored: str) -> str:
    """The signing secret of an endpoint from its stored value: opened with ``box``, or as
    stored when it is legacy plaintext (``helpdesk webhooks reseal`` seals those)."""
    return stored if is_plaintext_secret(stored) else box.open(stored)


def publish(
    tx: Transaction,
    ids: IdGenerator,
    now: datetime,
    event_type: str,
    ordering_key: str,
    data: Mapping[str, Any],
    actor_id: uuid.UUID | None = None,
) -> Event:
    """Record an event in ``tx``: it is delivered if and only if ``tx`` commits."""
    if actor_id == SYSTEM_OPERATOR.user_id:  # the terminal's operator is no user
        actor_id = None
    event = Event(
        id=ids.new_id(),
        type=event_type,
        occurred_at=now,
        ordering_key=ordering_key,
        data=data,
        actor_id=actor_id,
    )
    tx.outbox.add(event)
    return event


@attrs.frozen
class WorkerPolicy:
    """The worker's knobs, from configuration."""

    batch_size: int = 50
    lease_seconds: float = 60.0
    max_attempts: int = 10  # handling an event (mail, fan-out) before it is marked failed
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    jitter: float = 0.25  # a retry waits up to this fraction less than its nominal delay
    webhook_batch_size: int = 10
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    webhook_disable_after: int = 20  # consecutive failed attempts of one endpoint
    retention_days: float = 30.0  # finished events and deliveries are kept so long; 0: forever
    retention_batch_size: int = 1000  # rows of each table one retention pass deletes at most
    retention_interval_seconds: float = 300.0  # between retention passes (sooner with backlog)


def backoff(attempt: int, policy: WorkerPolicy, rand: Callable[[], float]) -> float:
    """Seconds before try ``attempt + 1``: base * 2**(attempt-1), capped, minus jitter."""
    nominal = min(policy.retry_max_seconds, policy.retry_base_seconds * 2.0 ** (attempt - 1))
    return nominal * (1.0 - policy.jitter * rand())


class NullSink:
    """An EventSink that records nothing."""

    def batch(self, kind: str, size: int, seconds: float) -> None:
        return None

    def delivery(self, outcome: str) -> None:
        return None

    def deleted(self, table: str, count: int) -> None:
        return None

    def alarm(self, kind: str, department: str) -> None:
        return None


@attrs.define
class WebhookFanout:
    """The subscriber that turns each event into pending deliveries, one per endpoint that
    wants it (a ping goes to its one endpoint only)."""

    _uow: UnitOfWork
    _ids: IdGenerator
    _clock: Clock

    def __call__(self, event: Event) -> None:
        now = self._clock.now()
        with self._uow.begin() as tx:
            entry = tx.outbox.get(event.id)
            if entry is None:  # pragma: no cover - events are never deleted while pending
                return
            if event.type == "webhook.ping":
                target = tx.webhooks.get(uuid.UUID(str(event.data["webhook_id"])))
                targets = [target] if target is not None else []
            else:
                # Only endpoints that existed when it happened: a new endpoint does not
                # receive the backlog recorded before it.
                targets = [
                    w
                    for w in tx.webhooks.list()
                    if w.wants(event.type) and w.created_at <= event.occurred_at
                ]
            for webhook in targets:
                tx.deliveries.enqueue(
                    WebhookDelivery(
                        id=self._ids.new_id(),
                        webhook_id=webhook.id,
                        event_id=event.id,
                        event_type=event.type,
                        event_seq=entry.seq,
                        ordering_key=event.ordering_key,
                        state=DeliveryState.PENDING,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
            tx.commit()


def _in_process_handlers(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """A worker's own copy of its in-process callables, each under a ``python:`` url."""
    for url, handler in handlers.items():
        if not url.startswith(IN_PROCESS_SCHEME) or not callable(handler):
            raise ValueError(
                f"in_process maps {IN_PROCESS_SCHEME}<name> urls to callables, not {url!r}"
            )
    return dict(handlers)


@attrs.define
class EventWorker:
    """One worker's loops: handle outbox events, then send due webhook deliveries."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _dispatcher: Dispatcher
    _sender: WebhookSender
    _policy: WorkerPolicy
    _box: SecretBox
    _sink: EventSink = attrs.field(factory=NullSink)
    _rand: Callable[[], float] = random.random
    name: str = attrs.field(factory=lambda: f"worker-{uuid.uuid4().hex[:12]}")
    # Asked between items: a stopping worker hands its unstarted events back at once.
    stop: Callable[[], bool] = lambda: False
    # The in-process endpoints this worker delivers to: url (``python:<name>``) -> callable.
    # Only a worker that holds an endpoint's callable claims its deliveries.
    in_process: Mapping[str, Handler] = attrs.field(factory=dict, converter=_in_process_handlers)
    # The email channel's pass (``MailProcessor.process_pending``): received mail processed
    # onto tickets in each ``run_once``, before the events, so what it records goes out in
    # the same pass.
    mail: Callable[[], int] | None = None
    # Set when this process stored mail: processed at the next pass, not after the idle wait.
    mail_wakeup: Callable[[], bool] | None = None
    # The IMAP poller's pass (``MailPoller.poll_due``): new mail fetched from the mailboxes'
    # servers into intake, before ``mail`` processes it, so it becomes tickets in the same
    # pass; it polls each mailbox at most once per HELPDESK_MAIL_POLL_INTERVAL.
    poll: Callable[[], int] | None = None
    # Leases (token, id) of a batch cut short because the database went away: handed back
    # as soon as it answers again, instead of holding their keys until the leases end.
    _stranded_events: list[tuple[str, uuid.UUID]] = attrs.field(factory=list, init=False)
    _stranded_deliveries: list[tuple[str, uuid.UUID]] = attrs.field(factory=list, init=False)
    _next_purge_at: datetime | None = attrs.field(default=None, init=False)
    _mail_idle_until: datetime | None = attrs.field(default=None, init=False)

    def run_once(self) -> int:
        """One pass: a batch of events, a batch of deliveries and, when due, a retention
        batch; how many items were handled (deleted rows count).

        Raises DependencyUnavailable while the database is away (the caller backs off and
        calls again); what the cut-short batch still held is handed back on the next pass.
        """
        self._hand_back()
        return (
            self.check_service_levels()
            + self.poll_mail()
            + self.process_mail()
            + self.process_events()
            + self.deliver_webhooks()
            + self.purge_expired()
        )

    def poll_mail(self) -> int:
        """One pass of the IMAP poller: the mailboxes due fetched from their servers (each
        failure recorded on its mailbox); how many messages were fetched."""
        if self.stop() or self.poll is None:
            return 0
        return self.poll()

    def process_mail(self) -> int:
        """One pass of the email channel: pending received messages processed (each in its
        own transaction, exactly once); how many. After a pass that found none, the next
        looks only when this process stored mail meanwhile or ``MAIL_IDLE_SECONDS`` passed:
        a busy worker's passes do not each cost a query of an empty queue."""
        if self.stop() or self.mail is None:
            return 0
        now = self._clock.now()
        woken = self.mail_wakeup() if self.mail_wakeup is not None else False
        if not woken and self._mail_idle_until is not None and now < self._mail_idle_until:
            return 0
        processed = self.mail()
        self._mail_idle_until = None if processed else now + timedelta(seconds=MAIL_IDLE_SECONDS)
        return processed

    def check_service_levels(self) -> int:
        """One pass of the service-level scheduler: warnings and breaches whose time came,
        recorded as events with their clocks (so this pass's events go out in the same
        ``run_once``); how many were raised."""
        if self.stop():
            return 0
        # Imported here: the service-level use cases publish through this module.
        from helpdesk_core.usecases.sla import raise_alarms

        raised = raise_alarms(self._uow, self._ids, self._clock.now())
        for alarm in raised:
            self._sink.alarm(alarm.kind, str(alarm.department_id or "none"))
        return len(raised)

    def _hand_back(self) -> None:
        if not (self._stranded_events or self._stranded_deliveries):
            return
        now = self._clock.now()
        with self._uow.begin() as tx:
            for token, event_id in self._stranded_events:
                tx.outbox.retry(event_id, token, "released: the database went away", now)
            for token, delivery_id in self._stranded_deliveries:
                tx.deliveries.release(delivery_id, token)
            tx.commit()
        log.info(
            "worker %s: the database answers again; handed back %d events and %d deliveries",
            self.name,
            len(self._stranded_events),
            len(self._stranded_deliveries),
        )
        self._stranded_events.clear()
        self._stranded_deliveries.clear()

    # ------------------------------------------------------------ events

    def process_events(self) -> int:
        if self.stop():
            return 0
        token = f"{self.name}:{uuid.uuid4().hex}"
        started = time.monotonic()
        now = self._clock.now()
        lease_until = now + timedelta(seconds=self._policy.lease_seconds)
        with self._uow.begin() as tx:
            entries = tx.outbox.claim(token, self._policy.batch_size, now, lease_until)
            tx.commit()
        for done, entry in enumerate(entries):
            if self.stop():
                self._release(entries[done:], token)
                return done
            try:
                self._handle(entry, token)
            except DependencyUnavailable:
                self._stranded_events = [(token, rest.event.id) for rest in entries[done:]]
                raise
            except Exception:  # recording it failed: its lease runs out, the others go on
                log.exception("event %s: its outcome could not be recorded", entry.event.id)
        if entries:
            self._sink.batch("events", len(entries), time.monotonic() - started)
        return len(entries)

    def _release(self, entries: list[OutboxEntry], token: str) -> None:
        now = self._clock.now()
        with self._uow.begin() as tx:
            for entry in entries:
                tx.outbox.retry(entry.event.id, token, "released: the worker stopped", now)
            tx.commit()

    def _handle(self, entry: OutboxEntry, token: str) -> None:
        try:
            self._dispatcher.dispatch(entry.event)
        except DependencyUnavailable:
            # The database went away under the subscriber: not the event's fault, so no
            # failure is recorded, no backoff delays it and it is never given up for it.
            raise
        except Exception as exc:  # subscribers failed: retry later, or give up
            self._failed(entry, token, exc)
            return
        with self._uow.begin() as tx:
            tx.outbox.complete(entry.event.id, token, self._clock.now())
            tx.commit()

    def _failed(self, entry: OutboxEntry, token: str, exc: Exception) -> None:
        """Record a failed attempt of ``entry``: retried after a backoff, or failed for good
        after the last attempt or when no retry can help (every failure Undeliverable)."""
        now = self._clock.now()
        event = entry.event
        if isinstance(exc, SubscriberFailures):
            error, permanent = one_line(str(exc))[:ERROR_MAX], exc.permanent
        else:  # pragma: no cover - the Dispatcher reports failures so; a stand-in may not
            error, permanent = describe_error(exc), isinstance(exc, Undeliverable)
        with self._uow.begin() as tx:
            if permanent or entry.attempts >= self._policy.max_attempts:
                tx.outbox.fail(event.id, token, error, now)
                log.error(
                    "event %s (%s) could not be handled (attempt %d), giving up%s: %s",
                    event.id,
                    event.type,
                    entry.attempts,
                    ": no retry can help" if permanent else "",
                    error,
                )
            else:
                delay = backoff(entry.attempts, self._policy, self._rand)
                tx.outbox.retry(event.id, token, error, now + timedelta(seconds=delay))
                log.warning(
                    "event %s (%s) could not be handled (attempt %d), retrying in %.1fs: %s",
                    event.id,
                    event.type,
                    entry.attempts,
                    delay,
                    error,
                )
            tx.commit()

    # ------------------------------------------------------------ webhook deliveries

    def deliver_webhooks(self) -> int:
        token = f"{self.name}:{uuid.uuid4().hex}"
        started = time.monotonic()
        now = self._clock.now()
        batch = self._policy.webhook_batch_size
        # The lease outlives a batch of attempts that all time out.
        lease = max(self._policy.lease_seconds, batch * self._policy.webhook_timeout_seconds * 2)
        if self.stop():
            return 0
        urls = frozenset(self.in_process)
        with self._uow.begin() as tx:
            claimed = tx.deliveries.claim(token, batch, now, now + timedelta(seconds=lease), urls)
            tx.commit()
        for done, item in enumerate(claimed):
            if self.stop():  # hand the unstarted rest back at once
                with self._uow.begin() as tx:
                    for rest in claimed[done:]:
                        tx.deliveries.release(rest.delivery.id, token)
                    tx.commit()
                return done
            try:
                self._deliver(item, token)
            except DependencyUnavailable:
                # The one in hand may have been sent: at least once, it is sent again.
                self._stranded_deliveries = [(token, rest.delivery.id) for rest in claimed[done:]]
                raise
            except Exception:  # recording it failed: hand it back, the others go on
                log.exception("delivery %s: its attempt could not be recorded", item.delivery.id)
                self._hand_back_delivery(item, token)
        if claimed:
            self._sink.batch("webhooks", len(claimed), time.monotonic() - started)
        return len(claimed)

    def _hand_back_delivery(self, item: ClaimedDelivery, token: str) -> None:
        try:
            with self._uow.begin() as tx:
                tx.deliveries.release(item.delivery.id, token)
                tx.commit()
        except Exception:  # its lease runs out instead
            log.exception("delivery %s could not be handed back", item.delivery.id)

    def _attempt(self, item: ClaimedDelivery) -> tuple[SendResult, bool]:
        """One attempt of ``item``, whatever building or sending it raises, and whether a
        failure is the endpoint's own (disable it now) rather than this delivery's."""
        webhook, event = item.webhook, item.event
        if webhook.in_process:
            return self._call(item), False
        try:
            body = json.dumps(event.envelope(), separators=(",", ":"), sort_keys=True).encode()
        except Exception as exc:  # the event's data: no other delivery is concerned
            why = f"not sent: the message cannot be built ({describe_error(exc)})"
            return SendResult(AttemptOutcome.REFUSED, 0, error=why), False
        try:
            url = web_url(webhook.url)  # stored before URLs were normalized when saved
        except ValueError as exc:
            why = f"not sent: the URL cannot be encoded ({exc}); give the webhook a valid url"
            return SendResult(AttemptOutcome.REFUSED, 0, error=why), True
        try:
            secret = signing_secret(self._box, webhook.secret)
        except SecretUnreadable:
            why = (
                "not sent: no configured secret key opens the endpoint's signing secret "
                "(restore the old key, or rotate the endpoint's secret)"
            )
            return SendResult(AttemptOutcome.REFUSED, 0, error=why), True
        signing = attrs.evolve(webhook, url=url, secret=secret)
        try:
            result = self._sender.send(signing, str(event.id), body, self._clock.now())
        except DependencyUnavailable:
            raise
        except Undeliverable as exc:
            why = f"not sent: {describe_error(exc)}"
            return SendResult(AttemptOutcome.REFUSED, 0, error=why), False
        except Exception as exc:  # a fault of the sender: recorded, retried like a network one
            log.exception("webhook %s: sending event %s failed", webhook.id, event.id)
            why = f"unexpected error while sending: {describe_error(exc)}"
            return SendResult(AttemptOutcome.NETWORK_ERROR, 0, error=why), False
        # The sender's refusals are its URL guard's verdict on the endpoint's address.
        return result, result.outcome is AttemptOutcome.REFUSED

    def _call(self, item: ClaimedDelivery) -> SendResult:
        """One attempt of a delivery to an in-process endpoint: its callable, called with the
        Event (no body, no URL, no signature: nothing leaves the process). Whatever it raises
        (but a lost database) is this attempt's failure, retried like an HTTP one."""
        webhook, event = item.webhook, item.event
        handler = self.in_process.get(webhook.url)
        if handler is None:  # pragma: no cover - claimed only for the urls it holds
            return SendResult(AttemptOutcome.RAISED, 0, error="this worker holds no callable")
        started = time.monotonic()
        try:
            handler(event)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            log.warning(
                "in-process endpoint %s raised on event %s (%s)",
                webhook.url,
                event.id,
                event.type,
                exc_info=True,
            )
            return SendResult(AttemptOutcome.RAISED, _ms_since(started), error=describe_error(exc))
        return SendResult(AttemptOutcome.SUCCESS, _ms_since(started))

    def _deliver(self, item: ClaimedDelivery, token: str) -> None:
        delivery, webhook, event = item.delivery, item.webhook, item.event
        result, endpoint_refused = self._attempt(item)
        now = self._clock.now()
        attempt_no = delivery.attempts + 1
        attempt = DeliveryAttempt(
            id=self._ids.new_id(),
            delivery_id=delivery.id,
            attempt=attempt_no,
            outcome=result.outcome,
            created_at=now,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=one_line(result.error)[:ERROR_MAX] if result.error else None,
        )
        # A refusal is this worker's own verdict (its URL guard, its keys, a URL or message
        # it cannot encode): every retry would be refused alike, so the delivery fails now
        # and, when the verdict is on the endpoint, the endpoint is disabled at once, saying
        # why, instead of retrying deliveries that can never leave.
        refused = result.outcome is AttemptOutcome.REFUSED
        if result.ok:
            state, next_at = DeliveryState.DELIVERED, None
        elif refused or attempt_no >= self._policy.webhook_max_attempts:
            state, next_at = DeliveryState.FAILED, None
        else:
            delay = backoff(attempt_no, self._policy, self._rand)
            state, next_at = DeliveryState.PENDING, now + timedelta(seconds=delay)
        with self._uow.begin() as tx:
            if tx.deliveries.finish(delivery.id, token, attempt, state, next_at):
                if endpoint_refused:
                    disable_after = 1
                    reason = f"disabled: the worker refused to send to it ({attempt.error})"
                else:
                    disable_after = self._policy.webhook_disable_after
                    reason = (
                        f"disabled after {disable_after} failed attempts in a row "
                        f"(last: {_describe(result.outcome, result.status_code)})"
                    )
                tx.webhooks.record_result(webhook.id, result.ok, disable_after, reason, now)
            tx.commit()
        self._sink.delivery(result.outcome.value)
        if not result.ok:
            log.warning(
                "webhook %s: delivery of event %s, attempt %d: %s%s",
                webhook.id,
                event.id,
                attempt_no,
                _describe(result.outcome, result.status_code),
                f" ({attempt.error})" if attempt.error else "",
            )

    # ------------------------------------------------------------ retention

    def purge_expired(self) -> int:
        """Delete, when due, one bounded batch of what the retention period let expire:
        delivered or failed deliveries with their attempts, then done or failed events no
        delivery refers to any more; how many rows. Never a pending row, never an event a
        remaining delivery refers to. Due at the first pass, then every
        ``retention_interval_seconds``, or at the next pass while a batch came back full."""
        policy = self._policy
        if policy.retention_days <= 0 or self.stop():
            return 0
        now = self._clock.now()
        if self._next_purge_at is not None and now < self._next_purge_at:
            return 0
        cutoff = now - timedelta(days=policy.retention_days)
        limit = policy.retention_batch_size
        with self._uow.begin() as tx:
            deliveries, attempts = tx.deliveries.purge_finished(cutoff, limit)
            events = tx.outbox.purge_finished(cutoff, limit)
            tx.commit()
        backlog = deliveries >= limit or events >= limit
        self._next_purge_at = (
            now if backlog else now + timedelta(seconds=policy.retention_interval_seconds)
        )
        counts = {"webhook_deliveries": deliveries, "webhook_attempts": attempts, "outbox": events}
        for table, count in counts.items():
            if count:
                self._sink.deleted(table, count)
        if any(counts.values()):
            log.info(
                "worker %s: retention deleted %d events, %d deliveries and %d attempts "
                "finished before %s",
                self.name,
                events,
                deliveries,
                attempts,
                cutoff.isoformat(),
            )
        return sum(counts.values())


def _ms_since(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _describe(outcome: AttemptOutcome, status_code: int | None) -> str:
    if outcome is AttemptOutcome.HTTP_ERROR and status_code is not None:
        return f"HTTP {status_code}"
    return outcome.value.replace("_", " ")
