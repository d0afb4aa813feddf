"""Service levels: the policies administrators keep, the clocks each ticket write moves, and
the scheduler that raises warnings and breaches.

The rules of the clocks are the domain's (``TicketClocks``); here they meet the store. A
ticket's write reads its clocks locked, applies the change, stores what changed, writes what
the clocks come to on the ticket (``set_sla``, only when that changed) and publishes
``sla.met`` and ``sla.cancelled`` in the same transaction. The scheduler (``raise_alarms``,
run by the event worker) takes the clocks whose alarm time has come, locked and skipping those
another worker holds, and publishes ``sla.warning`` and ``sla.breached`` exactly once per
ticket, metric and cycle: the fact is stored on the clock in the transaction that records the
event.

A policy or calendar change recomputes the open tickets it governs after it commits, in
batches of their own transactions (``recompute``): a process stopped half-way leaves the rest
for ``helpdesk sla recalc``, which re-matches every ticket still owed something, and every open
ticket without a policy, against the policies in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.documents import clock_document, ticket_document
from helpdesk_core.domain.business_time import BusinessCalendar
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import (
    NotFound,
    PreconditionRequired,
    ValidationFailed,
    stale_version,
)
from helpdesk_core.domain.events import ticket_key
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.sla import (
    Metric,
    SlaClock,
    SlaPolicy,
    TicketSla,
    governing,
)
from helpdesk_core.domain.sla_rules import TicketClocks
from helpdesk_core.domain.values import OPEN_STATUSES, TicketPriority
from helpdesk_core.domain.views import TicketView
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.tickets import TicketQuery, TicketSort
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import publish

RECOMPUTE_BATCH = 200  # tickets per transaction when a change recomputes many
ALARM_BATCH = 100  # clocks one scheduler pass takes at most


# ---------------------------------------------------------------- reading


def policy_in_force(
    tx: Transaction, department_id: uuid.UUID | None, priority: TicketPriority
) -> tuple[SlaPolicy | None, BusinessCalendar | None]:
    """The active policy that governs a ticket in ``department_id`` at ``priority`` and the
    business calendar it counts on (None: around the clock), read in one query."""
    in_force = tx.sla_policies.in_force()
    policy = governing((p for p, _ in in_force), department_id, priority)
    if policy is None:
        return None, None
    calendar = next(c for p, c in in_force if p is policy)
    return policy, None if calendar is None else calendar.business


def calendar_of(tx: Transaction, policy: SlaPolicy | None) -> BusinessCalendar | None:
    """The business calendar ``policy`` counts on (None: around the clock). A deactivated
    calendar still counts for the policies that name it."""
    if policy is None or policy.calendar_id is None:
        return None
    calendar = tx.calendars.get(policy.calendar_id)
    return None if calendar is None else calendar.business


def with_clocks(tx: Transaction, view: TicketView, lock: bool = False) -> TicketView:
    """``view`` with its ticket's latest clocks (none read when no policy ever governed it);
    ``lock`` holds them until the transaction ends."""
    if view.ticket.sla_policy_id is None:
        return view
    clocks = TicketClocks.of(view.ticket.id, tx.sla_clocks.of_ticket(view.ticket.id, lock))
    return attrs.evolve(view, sla=tuple(clocks.clocks.values()))


def with_clocks_all(tx: Transaction, views: Sequence[TicketView]) -> tuple[TicketView, ...]:
    """Each view with its ticket's latest clocks, read in one query (none when no ticket
    in ``views`` ever had a policy)."""
    governed = [view.ticket.id for view in views if view.ticket.sla_policy_id is not None]
    if not governed:
        return tuple(views)
    found = tx.sla_clocks.latest(governed)
    return tuple(
        attrs.evolve(view, sla=tuple(found.get(view.ticket.id, ())))
        if view.ticket.id in found
        else view
        for view in views
    )


# ---------------------------------------------------------------- a ticket's write


@attrs.frozen
class OldCalendar:
    """A calendar as it was before a change: the time spent up to the change counts on it."""

    calendar_id: uuid.UUID
    business: BusinessCalendar


@attrs.define
class ClockChange:
    """One ticket write's work on its clocks: start from the view read (locked), apply the
    change's rules, then :meth:`store`."""

    tx: Transaction
    ticket: Ticket
    clocks: TicketClocks
    policy: SlaPolicy | None  # the active policy governing the ticket, or None
    calendar: BusinessCalendar | None
    policy_id: uuid.UUID | None  # what the ticket row names (kept after a switch-off)

    @classmethod
    def of(cls, tx: Transaction, view: TicketView) -> ClockChange:
        ticket = view.ticket
        policy = None
        if ticket.sla_policy_id is not None:
            stored = tx.sla_policies.get(ticket.sla_policy_id)
            policy = stored if stored is not None and stored.is_active else None
        return cls(
            tx,
            ticket,
            TicketClocks.of(ticket.id, view.sla),
            policy,
            calendar_of(tx, policy),
            ticket.sla_policy_id,
        )

    @classmethod
    def starting(cls, tx: Transaction, ticket: Ticket, now: datetime) -> ClockChange | None:
        """The clocks of a new ticket under the policy in force, or None when none is."""
        policy, calendar = policy_in_force(tx, ticket.department_id, ticket.priority)
        if policy is None:
            return None
        change = cls(tx, ticket, TicketClocks(ticket.id, {}), policy, calendar, policy.id)
        change.clocks.opened(policy, ticket.priority, ticket.status, change.calendar, now)
        return change

    def message(self, staff_reply: bool, customer_message: bool, now: datetime) -> None:
        if self.policy is None:
            return
        if staff_reply:
            self.clocks.staff_replied(self.calendar, now)
        elif customer_message:
            ticket = self.ticket
            self.clocks.customer_wrote(
                self.policy, ticket.priority, ticket.status, self.calendar, now
            )

    def changed(self, before: Ticket, after: Ticket, now: datetime) -> None:
        """A change of status, priority or department: a new priority or department
        re-matches the policy first, then the status moves the clocks."""
        self.ticket = after
        if (before.department_id, before.priority) != (after.department_id, after.priority):
            self.rematch(policy_in_force(self.tx, after.department_id, after.priority), now)
        if before.status is not after.status and self.policy is not None:
            self.clocks.status_changed(
                before.status, after.status, self.policy, after.priority, self.calendar, now
            )

    def rematch(
        self,
        found: tuple[SlaPolicy | None, BusinessCalendar | None],
        now: datetime,
        was_on: OldCalendar | None = None,
    ) -> None:
        """Under the policy ``found`` (None: no policy) on its calendar from now on, the time
        spent kept: counted on the calendar the clocks ran on (``was_on``: a calendar as it
        was before a change)."""
        policy, calendar = found
        previous = self.calendar
        if (
            was_on is not None
            and self.policy is not None
            and self.policy.calendar_id == was_on.calendar_id
        ):
            previous = was_on.business
        self.clocks.governed(
            policy, self.ticket.priority, self.ticket.status, previous, calendar, now
        )
        self.policy, self.calendar = policy, calendar
        if policy is not None:
            self.policy_id = policy.id

    def switched_off(self, now: datetime) -> None:
        self.clocks.switched_off(now)
        self.policy = None

    def summary(self) -> TicketSla:
        return self.clocks.summary(self.policy_id)

    def apply_to(self, ticket: Ticket) -> Ticket:
        """``ticket`` with the ``sla_*`` fields its clocks come to (for a new ticket's row)."""
        sla = self.summary()
        return attrs.evolve(
            ticket,
            sla_policy_id=sla.policy_id,
            sla_due_at=sla.due_at,
            sla_warn_at=sla.warn_at,
            sla_paused=sla.paused,
        )

    def store(
        self,
        view: TicketView,
        *,
        new_ticket: bool = False,
    ) -> TicketView:
        """Store what changed (new clocks, changed clocks, the ticket's ``sla_*`` fields) and
        answer ``view`` as it now stands. A ``new_ticket``'s row and first clocks were written
        by ``tickets.add``."""
        if new_ticket:  # its row (from apply_to) and its clocks were stored with it
            return attrs.evolve(view, sla=tuple(self.clocks.clocks.values()))
        added, updated = self.clocks.added(), self.clocks.updated()
        if added:
            self.tx.sla_clocks.add(added)
        for clock in updated:
            self.tx.sla_clocks.update(clock)
        ticket = self.apply_to(view.ticket)
        if _sla_of(ticket) != _sla_of(view.ticket):
            self.tx.tickets.set_sla(ticket.id, self.summary())
        return attrs.evolve(view, ticket=ticket, sla=tuple(self.clocks.clocks.values()))

    def announce(
        self, ids: IdGenerator, view: TicketView, actor_id: uuid.UUID | None, now: datetime
    ) -> None:
        """Publish ``sla.met`` and ``sla.cancelled`` for what this change met or cancelled
        (after the ticket's own events: the change came first)."""
        for what, clock in self.clocks.transitions():
            publish_clock(self.tx, ids, now, f"sla.{what}", view, clock, actor_id)


def _sla_of(ticket: Ticket) -> tuple[Any, ...]:
    return (ticket.sla_policy_id, ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_paused)


def publish_clock(
    tx: Transaction,
    ids: IdGenerator,
    now: datetime,
    event_type: str,
    view: TicketView,
    clock: SlaClock,
    actor_id: uuid.UUID | None = None,
) -> None:
    """An ``sla.*`` event: the ticket, the metric (its name and where it stands) and the
    policy's id."""
    data = {
        "ticket": ticket_document(view),
        "metric": {"name": clock.metric.value, **(clock_document(clock) or {})},
        "policy_id": str(clock.policy_id),
    }
    publish(tx, ids, now, event_type, ticket_key(view.ticket.id), data, actor_id)


# ---------------------------------------------------------------- the scheduler


@attrs.frozen
class Alarm:
    """One warning or breach the scheduler raised."""

    kind: str  # "warning" or "breached"
    ticket_id: uuid.UUID
    metric: Metric
    department_id: uuid.UUID | None


def raise_alarms(
    uow: UnitOfWork, ids: IdGenerator, now: datetime, limit: int = ALARM_BATCH
) -> list[Alarm]:
    """One pass of the scheduler: the clocks whose alarm time has come (locked, skipping
    what another worker holds), each warned or breached once, its event recorded with it."""
    raised: list[Alarm] = []
    with uow.begin() as tx:
        for clock in tx.sla_clocks.due(now, limit):
            changed, what = clock.alarmed(now)
            if changed == clock:
                continue
            tx.sla_clocks.update(changed)
            if what is None:
                continue
            view = tx.tickets.get(clock.ticket_id)
            if view is None:  # pragma: no cover - tickets are never deleted
                continue
            view = with_clocks(tx, view)
            publish_clock(tx, ids, now, f"sla.{what}", view, changed)
            raised.append(Alarm(what, clock.ticket_id, clock.metric, view.ticket.department_id))
        tx.commit()
    return raised


# ---------------------------------------------------------------- policies


@attrs.frozen
class SlaPolicyInput:
    """A policy as a request gives it: each part None keeps (or, creating, defaults) it.
    Lists and targets come as the JSON shape (``{"urgent": {"first_response": 30}}``)."""

    name: str | None = None
    position: int | None = None
    department_ids: Sequence[Any] | None = None
    priorities: Sequence[Any] | None = None
    calendar_id: uuid.UUID | None = None
    clear_calendar: bool = False  # an update that sets ``calendar_id`` to null
    targets: Any = None
    pause_statuses: Sequence[Any] | None = None
    warn_before: int | None = None
    on_reopen: str | None = None
    active: bool | None = None

    def parts(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "name",
                "position",
                "department_ids",
                "priorities",
                "calendar_id",
                "targets",
                "pause_statuses",
                "warn_before",
                "on_reopen",
            )
            if getattr(self, name) is not None
        }


@attrs.define
class SlaPolicyService:
    """Creating, reading, changing and deactivating policies (administrators), and
    recomputing the clocks they govern."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator

    def create(self, actor: Principal, command: SlaPolicyInput) -> SlaPolicy:
        """A new active policy; ValidationFailed names each bad field (an unknown
        department or calendar too), Conflict a taken name. It governs tickets opened or
        re-routed from now on (``recalc`` applies it to open tickets)."""
        require_admin(actor, "create service-level policies")
        if command.name is None:
            raise ValidationFailed.field("name", "is required")
        policy = SlaPolicy.create(self._ids.new_id(), self._clock.now(), **command.parts())
        with self._uow.begin() as tx:
            _check_references(tx, policy, command.department_ids)
            tx.sla_policies.add(policy)
            tx.commit()
        return policy

    def list(self, actor: Principal, active: bool | None = None) -> Sequence[SlaPolicy]:
        """Policies in the order they match; ``active`` filters when not None."""
        require_admin(actor, "list service-level policies")
        with self._uow.begin(read_only=True) as tx:
            return tx.sla_policies.list(active)

    def get(self, actor: Principal, policy_id: uuid.UUID) -> SlaPolicy:
        require_admin(actor, "read service-level policies")
        with self._uow.begin(read_only=True) as tx:
            return _policy(tx, policy_id)

    def update(
        self,
        actor: Principal,
        policy_id: uuid.UUID,
        expected_version: int | None,
        command: SlaPolicyInput,
    ) -> SlaPolicy:
        """The policy with the given parts replaced, one version on, then its open tickets
        recomputed (re-matched: a narrower policy lets tickets go to the next that matches).
        Switching it off (``active`` false) cancels its open clocks instead. No version:
        PreconditionRequired; another: StaleVersion; a change of nothing stores nothing.

        A bad command (an unknown department or calendar too) is ValidationFailed whatever
        the version, as for calendars: a body that could never apply is always a 422."""
        require_admin(actor, "change service-level policies")
        now = self._clock.now()
        with self._uow.begin() as tx:
            current = _policy(tx, policy_id)
            parts = command.parts()
            if command.clear_calendar:
                parts.pop("calendar_id", None)
            updated = current.revised(now, **parts, active=command.active)
            if command.clear_calendar:
                updated = attrs.evolve(updated, calendar_id=None)
            _check_references(tx, updated, command.department_ids)
            if expected_version is None:
                raise PreconditionRequired("send If-Match with the policy's ETag to change it")
            if current.version != expected_version:
                raise stale_version("policy", expected_version + 1)
            if attrs.evolve(updated, updated_at=current.updated_at, version=current.version) == (
                current
            ):
                return current
            tx.sla_policies.update(updated)
            tx.commit()
        if current.is_active and not updated.is_active:
            self._for_tickets([policy_id], lambda change, _: change.switched_off(now))
        else:
            self._for_tickets([policy_id], _rematched(now))
        return updated

    def deactivate(
        self, actor: Principal, policy_id: uuid.UUID, expected_version: int | None
    ) -> SlaPolicy:
        """:meth:`update` with ``active`` false: its open clocks are cancelled and the due
        times of its tickets cleared."""
        return self.update(actor, policy_id, expected_version, SlaPolicyInput(active=False))

    def recompute_calendar(self, calendar_id: uuid.UUID, was_on: BusinessCalendar) -> int:
        """After a calendar changed: the open tickets of the policies counting on it,
        recomputed (time spent up to now counted on the calendar as it was)."""
        with self._uow.begin(read_only=True) as tx:
            policies = [p.id for p in tx.sla_policies.list() if p.calendar_id == calendar_id]
        if not policies:
            return 0
        old = OldCalendar(calendar_id, was_on)
        return self._for_tickets(policies, _rematched(self._clock.now(), old))

    def recalc(self, actor: Principal) -> int:
        """Re-match every ticket still owed something and every open ticket without a
        policy against the policies in force; how many tickets were looked at."""
        require_admin(actor, "recompute service levels")
        now = self._clock.now()
        count = self._for_tickets(None, _rematched(now))
        after: tuple[Any, ...] | None = None
        while True:
            with self._uow.begin(read_only=True) as tx:
                page = tx.tickets.list(
                    TicketQuery(
                        statuses=frozenset(OPEN_STATUSES),
                        sort=TicketSort.CREATED,
                        after=after,
                        limit=RECOMPUTE_BATCH,
                    )
                )
            ungoverned = [v.ticket.id for v in page.items if v.ticket.sla_policy_id is None]
            count += self._each(ungoverned, _rematched(now))
            if page.next_after is None:
                return count
            after = page.next_after

    def _for_tickets(
        self,
        policy_ids: Sequence[uuid.UUID] | None,
        apply: Callable[[ClockChange, datetime], None],
    ) -> int:
        count, after = 0, None
        while True:
            with self._uow.begin(read_only=True) as tx:
                batch = tx.sla_clocks.open_tickets(policy_ids, after, RECOMPUTE_BATCH)
            if not batch:
                return count
            count += self._each(batch, apply)
            after = batch[-1]

    def _each(
        self, ticket_ids: Sequence[uuid.UUID], apply: Callable[[ClockChange, datetime], None]
    ) -> int:
        """Apply a change to each ticket's clocks, in one transaction for the batch."""
        if not ticket_ids:
            return 0
        now = self._clock.now()
        with self._uow.begin() as tx:
            for ticket_id in ticket_ids:
                view = tx.tickets.get(ticket_id, for_update=True)
                if view is None:  # pragma: no cover - tickets are never deleted
                    continue
                view = with_clocks(tx, view, lock=True)
                change = ClockChange.of(tx, view)
                apply(change, now)
                stored = change.store(view)
                change.announce(self._ids, stored, None, now)
            tx.commit()
        return len(ticket_ids)


def _rematched(
    now: datetime, was_on: OldCalendar | None = None
) -> Callable[[ClockChange, datetime], None]:
    def apply(change: ClockChange, _now: datetime) -> None:
        ticket = change.ticket
        if ticket.status not in OPEN_STATUSES:
            # Nothing is owed on a resolved or closed ticket: only what is still open ends.
            change.rematch((None, None), now, was_on)
            return
        change.rematch(
            policy_in_force(change.tx, ticket.department_id, ticket.priority), now, was_on
        )

    return apply


def _check_references(
    tx: Transaction, policy: SlaPolicy, given: Sequence[Any] | None = None
) -> None:
    """Every department and the calendar the policy names exist. A missing department is
    named by its place in ``given``, the list as the request gave it (the policy's own is
    sorted and without repeats), else in the policy's."""
    listed = policy.department_ids if given is None else [uuid.UUID(str(d)) for d in given]
    for index, department_id in enumerate(listed):
        if tx.departments.get(department_id) is None:
            raise ValidationFailed.field(f"department_ids.{index}", "no such department")
    if policy.calendar_id is not None and tx.calendars.get(policy.calendar_id) is None:
        raise ValidationFailed.field("calendar_id", "no such calendar")


def _policy(tx: Transaction, policy_id: uuid.UUID) -> SlaPolicy:
    policy = tx.sla_policies.get(policy_id)
    if policy is None:
        raise NotFound("no such policy")
    return policy
