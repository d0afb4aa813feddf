"""Service levels: the policies that promise times, and the clocks that keep them per ticket.

A :class:`SlaPolicy` matches tickets by department and priority (empty: any), counts time on a
business calendar (none: around the clock) and sets, per priority, how many minutes of that
time each :class:`Metric` may take. A ticket under a policy has one :class:`SlaClock` per
metric and *cycle*: the first response has one cycle; the next response a new one each time a
customer writes after a public staff reply; the resolution a new one when a reopened ticket
restarts it.

A clock counts business seconds. ``spent`` is what it counted up to ``since`` (the instant it
has been running from, None while it stands); its due time is where the rest of its budget
runs out on the calendar from ``since``. Pausing folds the time since ``since`` into
``spent``, so a resumed clock has exactly the business time it had left. ``alarm_at`` is the
next instant a scheduler must look at it (its warning, then its breach), and is None when
nothing is pending. What a clock met or breached at is a fact: no later change rewrites it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.business_time import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.values import (
    OPEN_STATUSES,
    TicketPriority,
    TicketStatus,
    clean_text,
    name_key,
)

POLICY_NAME_MAX = 100
POSITION_MAX = 1_000_000
TARGET_MAX_MINUTES = 1_000_000  # about 8 years of a 40-hour week: within the calendar's reach
WARN_BEFORE_MAX_MINUTES = 100_000


class Metric(enum.StrEnum):
    """What a policy promises a time for."""

    FIRST_RESPONSE = "first_response"  # creation to the first public staff reply
    NEXT_RESPONSE = "next_response"  # a customer's message to the next public staff reply
    RESOLUTION = "resolution"  # creation to resolved, paused time left out


class MetricStatus(enum.StrEnum):
    """Where a clock stands."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # its due time passed and it is not met yet
    CANCELLED = "cancelled"


class OnReopen(enum.StrEnum):
    """What a reopen does to the resolution clock: go on with the time it had left, or start
    over with the whole target."""

    CONTINUE = "continue"
    RESTART = "restart"


@attrs.frozen
class Targets:
    """The minutes a policy gives each metric for one priority (None: no promise)."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None

    def of(self, metric: Metric) -> int | None:
        value: int | None = getattr(self, metric.value)
        return value


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware")


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


@attrs.frozen
class SlaPolicy:
    """A promise of times: which tickets (departments, priorities), on which calendar, how
    long per priority and metric, which statuses stop the clock, how long before a due time
    to warn, and what a reopen does to the resolution.

    Among active policies the first that matches a ticket governs it, by ``position`` then
    name. A policy is never deleted, only deactivated, so the clocks it ran keep their meaning.
    """

    id: uuid.UUID
    name: str
    position: int
    department_ids: tuple[uuid.UUID, ...]
    priorities: tuple[TicketPriority, ...]
    calendar_id: uuid.UUID | None
    targets: Mapping[TicketPriority, Targets] = attrs.field(hash=False)
    pause_statuses: tuple[TicketStatus, ...]
    warn_before: int  # minutes of business time before a due time
    on_reopen: OnReopen
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)

    def matches(self, department_id: uuid.UUID | None, priority: TicketPriority) -> bool:
        """Whether a ticket in ``department_id`` with ``priority`` falls under this policy
        (an unrouted ticket matches only a policy that names no department)."""
        if self.department_ids and department_id not in self.department_ids:
            return False
        return not self.priorities or priority in self.priorities

    def target(self, priority: TicketPriority, metric: Metric) -> int | None:
        """The minutes this policy gives ``metric`` at ``priority``, or None."""
        targets = self.targets.get(priority)
        return None if targets is None else targets.of(metric)

    def pauses(self, status: TicketStatus) -> bool:
        return status in self.pause_statuses

    @classmethod
    def create(cls, id: uuid.UUID, now: datetime, **parts: Any) -> SlaPolicy:
        """A new active policy from a request's parts (``name``, ``position``,
        ``department_ids``, ``priorities``, ``calendar_id``, ``targets``, ``pause_statuses``,
        ``warn_before``, ``on_reopen``); ValidationFailed names every offending field."""
        defaults: dict[str, Any] = {
            "position": 0,
            "department_ids": (),
            "priorities": (),
            "calendar_id": None,
            "targets": {},
            "pause_statuses": (TicketStatus.PENDING.value,),
            "warn_before": 0,
            "on_reopen": OnReopen.CONTINUE.value,
        }
        return cls(id=id, created_at=now, updated_at=now, **_checked({**defaults, **parts}))

    def revised(self, now: datetime, **parts: Any) -> SlaPolicy:
        """This policy with the given parts replaced (None keeps a part; ``active`` switches
        it), one version on; the same checks as :meth:`create`."""
        given = {name: value for name, value in parts.items() if value is not None}
        active = given.pop("active", self.is_active)
        return attrs.evolve(
            self,
            **_checked(given),
            is_active=bool(active),
            updated_at=now,
            version=self.version + 1,
        )


def _checked(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The policy attributes ``parts`` give, each checked; every error at once."""
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, value in parts.items():
        check = _CHECKS.get(name)
        if check is None:
            raise ValueError(f"unknown policy part {name!r}")
        try:
            checked[name] = check(value)
        except ValidationFailed as exc:
            errors.extend(exc.errors or (FieldError(name, exc.detail),))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors))
    return checked


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(field, "must be a whole number")
    if not low <= value <= high:
        raise ValidationFailed.field(field, f"must be between {low} and {high}")
    return value


def _choice(enum_type: type[enum.StrEnum], value: Any, field: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        names = ", ".join(member.value for member in enum_type)
        raise ValidationFailed.field(field, f"must be one of {names}") from None


def _list(value: Any, field: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationFailed.field(field, "must be a list")
    return list(value)


def _ids(value: Any) -> tuple[uuid.UUID, ...]:
    found: list[uuid.UUID] = []
    for index, item in enumerate(_list(value, "department_ids")):
        if not isinstance(item, uuid.UUID):
            try:
                item = uuid.UUID(str(item))
            except ValueError:
                raise ValidationFailed.field(f"department_ids.{index}", "must be an id") from None
        if item not in found:
            found.append(item)
    return tuple(sorted(found))


def _priorities(value: Any) -> tuple[TicketPriority, ...]:
    chosen = {
        _choice(TicketPriority, item, f"priorities.{index}")
        for index, item in enumerate(_list(value, "priorities"))
    }
    return tuple(p for p in TicketPriority if p in chosen)


def _pause_statuses(value: Any) -> tuple[TicketStatus, ...]:
    chosen: set[TicketStatus] = set()
    for index, item in enumerate(_list(value, "pause_statuses")):
        status = _choice(TicketStatus, item, f"pause_statuses.{index}")
        if status not in OPEN_STATUSES:
            raise ValidationFailed.field(
                f"pause_statuses.{index}", "must be a status of open work (new, open, pending)"
            )
        chosen.add(status)
    return tuple(s for s in TicketStatus if s in chosen)


def _targets(value: Any) -> dict[TicketPriority, Targets]:
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ValidationFailed.field("targets", "must be an object of priorities")
    found: dict[TicketPriority, Targets] = {}
    for key, minutes in pairs:
        priority = _choice(TicketPriority, key, f"targets.{key}")
        if isinstance(minutes, Targets):
            minutes = attrs.asdict(minutes)
        if not isinstance(minutes, Mapping):
            raise ValidationFailed.field(f"targets.{key}", "must be an object of metrics")
        per: dict[str, int | None] = {}
        for metric_name, amount in minutes.items():
            metric = _choice(Metric, metric_name, f"targets.{key}.{metric_name}")
            per[metric.value] = (
                None
                if amount is None
                else _whole(amount, f"targets.{key}.{metric.value}", 1, TARGET_MAX_MINUTES)
            )
        found[priority] = Targets(**per)
    return {p: found[p] for p in TicketPriority if p in found}


def _calendar_id(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.field("calendar_id", "must be an id") from None


_CHECKS: dict[str, Any] = {
    "name": lambda value: clean_text(value, "name", max_length=POLICY_NAME_MAX),
    "position": lambda value: _whole(value, "position", 0, POSITION_MAX),
    "department_ids": _ids,
    "priorities": _priorities,
    "calendar_id": _calendar_id,
    "targets": _targets,
    "pause_statuses": _pause_statuses,
    "warn_before": lambda value: _whole(value, "warn_before", 0, WARN_BEFORE_MAX_MINUTES),
    "on_reopen": lambda value: _choice(OnReopen, value, "on_reopen"),
}


def governing(
    policies: Iterable[SlaPolicy], department_id: uuid.UUID | None, priority: TicketPriority
) -> SlaPolicy | None:
    """The first active policy, by position then name, that matches the ticket."""
    for policy in sorted(policies, key=lambda p: (p.position, name_key(p.name), p.id)):
        if policy.is_active and policy.matches(department_id, priority):
            return policy
    return None


def _schedule(
    calendar: BusinessCalendar | None,
    warn_before: int,
    budget: int,
    spent: int,
    since: datetime | None,
    warned_at: datetime | None,
    breached_at: datetime | None,
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """The due, warning and alarm times of a clock with ``budget`` seconds, ``spent`` of them
    used, running from ``since`` (None: standing, no times)."""
    if since is None:
        return None, None, None
    left = budget - spent
    if left <= 0:
        due = breached_at or since
        warn = due
    else:
        # One walk to the warning, a short one on to the due time (business time adds up).
        lead = min(warn_before * 60, left)
        warn = add_business_time(calendar, since, left - lead)
        due = add_business_time(calendar, warn, lead) if lead else warn
    alarms = [
        moment
        for moment, pending in ((warn, warned_at is None), (due, breached_at is None))
        if pending
    ]
    return due, warn, min(alarms, default=None)


@attrs.frozen
class SlaClock:
    """One metric's clock of one ticket, in one cycle. Times in business seconds."""

    ticket_id: uuid.UUID
    metric: Metric
    cycle: int = attrs.field(validator=_positive)
    policy_id: uuid.UUID
    started_at: datetime = attrs.field(validator=_aware)
    budget: int  # seconds of business time the target gives
    spent: int = 0  # seconds counted up to ``since`` (or up to when it stopped)
    since: datetime | None = attrs.field(default=None, validator=_aware)
    due_at: datetime | None = attrs.field(default=None, validator=_aware)
    warn_at: datetime | None = attrs.field(default=None, validator=_aware)
    alarm_at: datetime | None = attrs.field(default=None, validator=_aware)
    warned_at: datetime | None = attrs.field(default=None, validator=_aware)
    breached_at: datetime | None = attrs.field(default=None, validator=_aware)
    met_at: datetime | None = attrs.field(default=None, validator=_aware)
    cancelled_at: datetime | None = attrs.field(default=None, validator=_aware)

    @property
    def is_open(self) -> bool:
        """Neither met nor cancelled: it still owes something."""
        return self.met_at is None and self.cancelled_at is None

    @property
    def is_running(self) -> bool:
        return self.is_open and self.since is not None

    @property
    def status(self) -> MetricStatus:
        if self.cancelled_at is not None:
            return MetricStatus.CANCELLED
        if self.met_at is not None:
            return MetricStatus.MET
        if self.breached_at is not None:
            return MetricStatus.BREACHED
        return MetricStatus.RUNNING if self.since is not None else MetricStatus.PAUSED

    @classmethod
    def start(
        cls,
        ticket_id: uuid.UUID,
        metric: Metric,
        cycle: int,
        policy: SlaPolicy,
        minutes: int,
        calendar: BusinessCalendar | None,
        now: datetime,
        *,
        running: bool = True,
        spent: int = 0,
        breached_at: datetime | None = None,
    ) -> SlaClock:
        """A clock of ``minutes`` started at ``now`` (standing when not ``running``), with
        ``spent`` seconds already used (a resolution that continues after a reopen)."""
        since = now if running else None
        budget = minutes * 60
        due, warn, alarm = _schedule(
            calendar, policy.warn_before, budget, spent, since, breached_at, breached_at
        )
        return cls(
            ticket_id=ticket_id,
            metric=metric,
            cycle=cycle,
            policy_id=policy.id,
            started_at=now,
            budget=budget,
            spent=spent,
            since=since,
            due_at=due,
            warn_at=warn,
            alarm_at=alarm,
            breached_at=breached_at,
            warned_at=breached_at,
        )

    def _scheduled(self, calendar: BusinessCalendar | None, warn_before: int) -> SlaClock:
        """This clock with its due, warning and alarm times for where it stands."""
        due, warn, alarm = _schedule(
            calendar,
            warn_before,
            self.budget,
            self.spent,
            self.since if self.is_open else None,
            self.warned_at,
            self.breached_at,
        )
        return attrs.evolve(self, due_at=due, warn_at=warn, alarm_at=alarm)

    def _folded(self, calendar: BusinessCalendar | None, now: datetime) -> SlaClock:
        """The time since ``since`` added to ``spent``, counting on from ``now``."""
        if self.since is None:
            return self
        spent = self.spent + business_time_between(calendar, self.since, now)
        return attrs.evolve(self, spent=spent, since=now)

    def paused(self, calendar: BusinessCalendar | None, now: datetime) -> SlaClock:
        """Stopped at ``now``, keeping the business time it had left."""
        if not self.is_running:
            return self
        return attrs.evolve(self._folded(calendar, now), since=None)._scheduled(calendar, 0)

    def resumed(
        self, calendar: BusinessCalendar | None, warn_before: int, now: datetime
    ) -> SlaClock:
        """Running again from ``now`` with the business time it had left."""
        if not self.is_open or self.since is not None:
            return self
        return attrs.evolve(self, since=now)._scheduled(calendar, warn_before)

    def retargeted(
        self,
        policy: SlaPolicy,
        minutes: int,
        calendar: BusinessCalendar | None,
        now: datetime,
        *,
        running: bool,
    ) -> SlaClock:
        """Under ``policy``'s ``minutes`` on ``calendar`` from ``now``, the time already
        spent kept (counted on the calendar it ran on: the caller folds it first)."""
        if not self.is_open:
            return self
        changed = attrs.evolve(
            self,
            policy_id=policy.id,
            budget=minutes * 60,
            since=(self.since or now) if running else None,
        )
        return changed._scheduled(calendar, policy.warn_before)

    def folded(self, calendar: BusinessCalendar | None, now: datetime) -> SlaClock:
        """The business time up to ``now`` counted on ``calendar`` (before a change of its
        targets or calendar counts on from ``now``)."""
        return self._folded(calendar, now) if self.is_running else self

    def met(self, calendar: BusinessCalendar | None, now: datetime) -> SlaClock:
        """Met at ``now``: the time it took is kept in ``spent``; nothing more is due."""
        if not self.is_open:
            return self
        done = attrs.evolve(self._folded(calendar, now), since=None, met_at=now)
        return attrs.evolve(done, due_at=None, warn_at=None, alarm_at=None)

    def cancelled(self, now: datetime) -> SlaClock:
        """No longer owed (its policy switched off, the ticket left every policy or was
        resolved before this clock could be met)."""
        if not self.is_open:
            return self
        return attrs.evolve(
            self, since=None, cancelled_at=now, due_at=None, warn_at=None, alarm_at=None
        )

    def alarmed(self, now: datetime) -> tuple[SlaClock, str | None]:
        """What the scheduler does at ``now``: ``"breached"`` once its due time passed,
        ``"warning"`` once its warning time passed (never after a breach), or nothing."""
        if not self.is_running or self.due_at is None:
            return self, None
        if self.breached_at is None and self.due_at <= now:
            done = attrs.evolve(self, breached_at=self.due_at, warned_at=self.warned_at or now)
            return attrs.evolve(done, alarm_at=None), "breached"
        if self.warned_at is None and self.warn_at is not None and self.warn_at <= now:
            later = self.due_at if self.breached_at is None else None
            return attrs.evolve(self, warned_at=now, alarm_at=later), "warning"
        return self, None


@attrs.frozen
class TicketSla:
    """What a ticket row keeps of its clocks, for lists: the governing policy, the earliest
    due and warning time of its running clocks (None while every clock stands), and whether
    its open clocks all stand (paused)."""

    policy_id: uuid.UUID | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    paused: bool = False

    @classmethod
    def of(cls, policy_id: uuid.UUID | None, clocks: Iterable[SlaClock]) -> TicketSla:
        open_clocks = [clock for clock in clocks if clock.is_open]
        running = [clock for clock in open_clocks if clock.is_running]
        return cls(
            policy_id=policy_id,
            due_at=min((c.due_at for c in running if c.due_at), default=None),
            warn_at=min((c.warn_at for c in running if c.warn_at), default=None),
            paused=bool(open_clocks) and not running,
        )


def latest(clocks: Iterable[SlaClock]) -> dict[Metric, SlaClock]:
    """The latest cycle of each metric among ``clocks``."""
    found: dict[Metric, SlaClock] = {}
    for clock in clocks:
        current = found.get(clock.metric)
        if current is None or clock.cycle > current.cycle:
            found[clock.metric] = clock
    return found
