"""The rules of a ticket's service-level clocks: when each metric starts, stands, runs on, is
met or is cancelled, applied to the latest clock of each metric by ``TicketClocks``, one
method per kind of change (the clocks and policies themselves: ``domain/sla.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.business_time import BusinessCalendar
from helpdesk_core.domain.sla import (
    Metric,
    MetricStatus,
    OnReopen,
    SlaClock,
    SlaPolicy,
    TicketSla,
    latest,
)
from helpdesk_core.domain.values import TicketPriority, TicketStatus


@attrs.define
class TicketClocks:
    """The latest clock of each metric of one ticket, and what a change did to them: the
    rules of when each metric starts, stands, runs on, is met or is cancelled.

    Each method applies one kind of change at ``now``; :meth:`added`, :meth:`updated` and
    :meth:`transitions` tell the caller what to store and which ``sla.met`` and
    ``sla.cancelled`` facts to publish.
    """

    ticket_id: uuid.UUID
    clocks: dict[Metric, SlaClock]
    _stored: dict[tuple[Metric, int], SlaClock] = attrs.field(factory=dict)

    @classmethod
    def of(cls, ticket_id: uuid.UUID, clocks: Iterable[SlaClock]) -> TicketClocks:
        found = list(clocks)
        return cls(
            ticket_id, latest(found), {(clock.metric, clock.cycle): clock for clock in found}
        )

    # ------------------------------------------------------------ what changed

    def added(self) -> list[SlaClock]:
        return [c for c in self.clocks.values() if (c.metric, c.cycle) not in self._stored]

    def updated(self) -> list[SlaClock]:
        return [
            c
            for c in self.clocks.values()
            if (old := self._stored.get((c.metric, c.cycle))) is not None and old != c
        ]

    def transitions(self) -> list[tuple[str, SlaClock]]:
        """``("met" | "cancelled", clock)`` for each clock this change met or cancelled."""
        found = []
        for clock in self.clocks.values():
            before = self._stored.get((clock.metric, clock.cycle))
            was = before.status if before is not None else None
            if clock.status is MetricStatus.MET and was is not MetricStatus.MET:
                found.append(("met", clock))
            elif clock.status is MetricStatus.CANCELLED and was is not MetricStatus.CANCELLED:
                found.append(("cancelled", clock))
        return found

    def summary(self, policy_id: uuid.UUID | None) -> TicketSla:
        return TicketSla.of(policy_id, self.clocks.values())

    def _open(self) -> list[SlaClock]:
        return [c for c in self.clocks.values() if c.is_open]

    def _put(self, clock: SlaClock) -> None:
        self.clocks[clock.metric] = clock

    def _start(
        self,
        metric: Metric,
        policy: SlaPolicy,
        priority: TicketPriority,
        calendar: BusinessCalendar | None,
        running: bool,
        now: datetime,
        **carried: Any,
    ) -> None:
        minutes = policy.target(priority, metric)
        if minutes is None:
            return
        previous = self.clocks.get(metric)
        cycle = 1 if previous is None else previous.cycle + 1
        self._put(
            SlaClock.start(
                self.ticket_id,
                metric,
                cycle,
                policy,
                minutes,
                calendar,
                now,
                running=running,
                **carried,
            )
        )

    # ------------------------------------------------------------ the rules

    def opened(
        self,
        policy: SlaPolicy,
        priority: TicketPriority,
        status: TicketStatus,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        """A new ticket: its first response and its resolution start now."""
        running = not policy.pauses(status)
        for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
            self._start(metric, policy, priority, calendar, running, now)

    def staff_replied(self, calendar: BusinessCalendar | None, now: datetime) -> None:
        """A public reply by a person of the staff: it meets the first response, and the
        next response the customer is waiting for. Notes and automatic messages never
        come here."""
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
            clock = self.clocks.get(metric)
            if clock is not None and clock.is_open:
                self._put(clock.met(calendar, now))

    def customer_wrote(
        self,
        policy: SlaPolicy,
        priority: TicketPriority,
        status: TicketStatus,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        """A public message by the customer: once the first response is met, the first
        message after the last public staff reply starts a next response (a later one, while
        it runs, changes nothing)."""
        first = self.clocks.get(Metric.FIRST_RESPONSE)
        if first is None or first.status is not MetricStatus.MET:
            return
        waiting = self.clocks.get(Metric.NEXT_RESPONSE)
        if waiting is not None and waiting.is_open:
            return
        running = not policy.pauses(status)
        self._start(Metric.NEXT_RESPONSE, policy, priority, calendar, running, now)

    def status_changed(
        self,
        before: TicketStatus,
        after: TicketStatus,
        policy: SlaPolicy,
        priority: TicketPriority,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        """Resolved or closed: the resolution is met, responses still owed are cancelled.
        Reopened: the resolution runs again, from the time it had left (``continue``) or
        from its whole target (``restart``). Otherwise the clocks stand in a status the
        policy pauses and run in any other."""
        ending = {TicketStatus.RESOLVED, TicketStatus.CLOSED}
        if after in ending and before not in ending:
            for clock in self._open():
                if clock.metric is Metric.RESOLUTION:
                    self._put(clock.met(calendar, now))
                else:
                    self._put(clock.cancelled(now))
            return
        if before in ending and after not in ending:
            self._reopened(policy, priority, after, calendar, now)
            return
        self._stand_or_run(policy, after, calendar, now)

    def _reopened(
        self,
        policy: SlaPolicy,
        priority: TicketPriority,
        status: TicketStatus,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        last = self.clocks.get(Metric.RESOLUTION)
        running = not policy.pauses(status)
        carried: dict[str, Any] = {}
        if last is not None and policy.on_reopen is OnReopen.CONTINUE:
            # The time it took counts on; a breach it made stays its breach (no second event).
            carried = {"spent": last.spent, "breached_at": last.breached_at}
        self._start(Metric.RESOLUTION, policy, priority, calendar, running, now, **carried)

    def _stand_or_run(
        self,
        policy: SlaPolicy,
        status: TicketStatus,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        for clock in self._open():
            if policy.pauses(status):
                self._put(clock.paused(calendar, now))
            else:
                self._put(clock.resumed(calendar, policy.warn_before, now))

    def governed(
        self,
        policy: SlaPolicy | None,
        priority: TicketPriority,
        status: TicketStatus,
        was_on: BusinessCalendar | None,
        calendar: BusinessCalendar | None,
        now: datetime,
    ) -> None:
        """The ticket now falls under ``policy`` (None: under none) at ``priority``, after a
        change of its department or priority, or of a policy or calendar. Time already spent
        is kept (counted up to now on the calendar it ran on, ``was_on``); each open clock
        counts on under the new target on the new calendar, or is cancelled when the policy
        sets none. A resolution the ticket has no open clock for (none yet, or one cancelled
        when a policy was switched off) starts now, in a new cycle; a first response is never
        started late."""
        ending = {TicketStatus.RESOLVED, TicketStatus.CLOSED}
        running = policy is not None and status not in ending and not policy.pauses(status)
        for clock in self._open():
            minutes = None if policy is None else policy.target(priority, clock.metric)
            if policy is None or minutes is None:
                self._put(clock.cancelled(now))
                continue
            folded = clock.folded(was_on, now)
            self._put(folded.retargeted(policy, minutes, calendar, now, running=running))
        resolution = self.clocks.get(Metric.RESOLUTION)
        if (
            policy is not None
            and status not in ending
            and (resolution is None or not resolution.is_open)
        ):
            self._start(Metric.RESOLUTION, policy, priority, calendar, running, now)

    def switched_off(self, now: datetime) -> None:
        """The policy was deactivated: every open clock is cancelled."""
        for clock in self._open():
            self._put(clock.cancelled(now))

    def alarm(self, metric: Metric, now: datetime) -> str | None:
        """The scheduler's look at ``metric``'s clock: ``"breached"``, ``"warning"`` or
        None (see :meth:`SlaClock.alarmed`)."""
        clock = self.clocks.get(metric)
        if clock is None:
            return None
        changed, what = clock.alarmed(now)
        self._put(changed)
        return what
