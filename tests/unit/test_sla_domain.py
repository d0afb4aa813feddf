"""The service-level domain on its own: a policy's checks and matching, and a clock's
arithmetic (pauses keep exactly the business time left, breaches and warnings once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.business_time import (
    BusinessCalendar,
    WorkingInterval,
    add_business_time,
    business_time_between,
)
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.sla import (
    Metric,
    MetricStatus,
    OnReopen,
    SlaClock,
    SlaPolicy,
    Targets,
    TicketSla,
    governing,
)
from helpdesk_core.domain.sla_rules import TicketClocks
from helpdesk_core.domain.values import TicketPriority, TicketStatus

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
OFFICE = BusinessCalendar(
    "Europe/Berlin",
    tuple(
        WorkingInterval.parse(day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")
    ),
)
BILLING = uuid.uuid4()


def policy(**parts: Any) -> SlaPolicy:
    parts.setdefault("name", "Standard")
    parts.setdefault("targets", {"normal": {"first_response": 60, "resolution": 480}})
    return SlaPolicy.create(uuid.uuid4(), NOW, **parts)


def refused(**parts: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as error:
        policy(**parts)
    return [e.field for e in error.value.errors]


# ---------------------------------------------------------------- policies


def test_a_new_policy_has_the_documented_defaults() -> None:
    created = policy()
    assert created.pause_statuses == (TicketStatus.PENDING,)
    assert (created.position, created.warn_before, created.on_reopen) == (0, 0, OnReopen.CONTINUE)
    assert created.targets == {TicketPriority.NORMAL: Targets(60, None, 480)}
    assert created.is_active
    assert created.version == 1


@pytest.mark.parametrize(
    ("parts", "fields"),
    [
        ({"targets": {"urgent": {"first_response": -5}}}, ["targets.urgent.first_response"]),
        ({"targets": {"urgent": {"first_response": 0}}}, ["targets.urgent.first_response"]),
        ({"targets": {"urgent": {"first_response": "30"}}}, ["targets.urgent.first_response"]),
        ({"targets": {"critical": {"resolution": 5}}}, ["targets.critical"]),
        ({"targets": {"urgent": {"solution": 5}}}, ["targets.urgent.solution"]),
        ({"targets": ["urgent"]}, ["targets"]),
        ({"pause_statuses": ["resolved"]}, ["pause_statuses.0"]),
        ({"pause_statuses": "pending"}, ["pause_statuses"]),
        ({"priorities": ["normal", "asap"]}, ["priorities.1"]),
        ({"department_ids": [str(BILLING), "billing"]}, ["department_ids.1"]),
        ({"position": -1}, ["position"]),
        ({"position": True}, ["position"]),
        ({"warn_before": 10**9}, ["warn_before"]),
        ({"on_reopen": "forget"}, ["on_reopen"]),
        ({"name": ""}, ["name"]),
        ({"position": -1, "on_reopen": "x"}, ["position", "on_reopen"]),
    ],
)
def test_bad_parts_are_refused_naming_each_field(parts: dict[str, Any], fields: list[str]) -> None:
    assert refused(**parts) == fields


def test_a_policy_matches_its_departments_and_priorities_and_the_first_governs() -> None:
    narrow = policy(
        name="Billing urgent", position=1, department_ids=[BILLING], priorities=["urgent"]
    )
    broad = policy(name="Everything", position=2)
    off = SlaPolicy.revised(policy(name="Off", position=0), NOW, active=False)
    assert narrow.matches(BILLING, TicketPriority.URGENT)
    assert not narrow.matches(None, TicketPriority.URGENT)  # unrouted: no department's policy
    assert not narrow.matches(BILLING, TicketPriority.HIGH)
    found = [narrow, broad, off]
    assert governing(found, BILLING, TicketPriority.URGENT) is narrow
    assert governing(found, BILLING, TicketPriority.LOW) is broad
    assert governing([off], BILLING, TicketPriority.LOW) is None


def test_a_revision_keeps_what_it_does_not_name_and_moves_one_version_on() -> None:
    created = policy(warn_before=10)
    revised = created.revised(NOW + timedelta(minutes=1), position=5, warn_before=None)
    assert (revised.position, revised.warn_before, revised.version) == (5, 10, 2)


# ---------------------------------------------------------------- clocks


def clock(
    minutes: int, start: datetime = NOW, calendar: BusinessCalendar | None = OFFICE
) -> SlaClock:
    return SlaClock.start(
        uuid.uuid4(), Metric.RESOLUTION, 1, policy(warn_before=15), minutes, calendar, start
    )


def test_a_clock_is_due_where_its_budget_runs_out_and_warns_before() -> None:
    started = clock(480)
    assert started.due_at == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    assert started.warn_at == datetime(2026, 12, 7, 15, 45, tzinfo=UTC)
    assert started.alarm_at == started.warn_at
    assert started.status is MetricStatus.RUNNING


def test_a_warning_then_a_breach_each_once() -> None:
    started = clock(60)
    assert started.alarmed(NOW + timedelta(minutes=44)) == (started, None)
    warned, what = started.alarmed(NOW + timedelta(minutes=45))
    assert what == "warning"
    assert warned.alarm_at == started.due_at
    assert warned.alarmed(NOW + timedelta(minutes=50)) == (warned, None)
    breached, what = warned.alarmed(NOW + timedelta(minutes=70))
    assert what == "breached"
    assert breached.breached_at == started.due_at
    assert breached.alarm_at is None
    assert breached.status is MetricStatus.BREACHED
    assert breached.alarmed(NOW + timedelta(days=3)) == (breached, None)


def test_a_breach_seen_late_comes_alone() -> None:
    breached, what = clock(60).alarmed(NOW + timedelta(days=1))
    assert what == "breached"
    assert breached.alarmed(NOW + timedelta(days=2))[1] is None


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(1, 5_000),
    pause_after=st.integers(0, 20_000),
    pause_for=st.integers(0, 20_000),
)
def test_a_paused_clock_resumes_with_exactly_the_business_time_it_had_left(
    minutes: int, pause_after: int, pause_for: int
) -> None:
    started = clock(minutes)
    stopped_at = NOW + timedelta(minutes=pause_after)
    resumed_at = stopped_at + timedelta(minutes=pause_for)
    paused = started.paused(OFFICE, stopped_at)
    assert paused.due_at is None
    assert paused.status is MetricStatus.PAUSED
    resumed = paused.resumed(OFFICE, 15, resumed_at)
    left = started.budget - business_time_between(OFFICE, NOW, stopped_at)
    assert resumed.due_at is not None
    if left > 0:
        assert business_time_between(OFFICE, resumed_at, resumed.due_at) == left
    else:
        assert resumed.due_at <= resumed_at


def test_met_and_cancelled_clocks_owe_nothing_and_keep_their_facts() -> None:
    started = clock(60)
    met = started.met(OFFICE, NOW + timedelta(minutes=20))
    assert (met.status, met.spent, met.due_at, met.alarm_at) == (MetricStatus.MET, 1200, None, None)
    assert met.cancelled(NOW + timedelta(hours=1)) == met
    assert met.retargeted(policy(), 5, OFFICE, NOW, running=True) == met


def test_what_a_ticket_row_keeps_of_its_clocks() -> None:
    running, other = clock(60), clock(480)
    paused = running.paused(OFFICE, NOW + timedelta(minutes=5))
    assert TicketSla.of(None, [running, other]).due_at == running.due_at
    assert TicketSla.of(None, [paused]).paused
    assert TicketSla.of(None, [paused]).due_at is None
    assert not TicketSla.of(None, [running.met(OFFICE, NOW)]).paused


def test_resolving_before_a_reply_cancels_the_first_response_for_good() -> None:
    standard = policy()
    clocks = TicketClocks.of(uuid.uuid4(), [])
    clocks.opened(standard, TicketPriority.NORMAL, TicketStatus.NEW, None, NOW)
    clocks.status_changed(
        TicketStatus.NEW, TicketStatus.RESOLVED, standard, TicketPriority.NORMAL, None, NOW
    )
    assert {m: c.status for m, c in clocks.clocks.items()} == {
        Metric.FIRST_RESPONSE: MetricStatus.CANCELLED,
        Metric.RESOLUTION: MetricStatus.MET,
    }
    clocks.status_changed(
        TicketStatus.RESOLVED, TicketStatus.OPEN, standard, TicketPriority.NORMAL, None, NOW
    )
    assert clocks.clocks[Metric.FIRST_RESPONSE].status is MetricStatus.CANCELLED
    assert clocks.clocks[Metric.RESOLUTION].cycle == 2


@settings(max_examples=300, deadline=None)
@given(
    minutes=st.integers(1, 10_000),
    warn=st.integers(0, 600),
    start=st.integers(0, 60 * 24 * 14),
)
def test_the_due_time_is_where_the_whole_budget_runs_out_whatever_the_warning(
    minutes: int, warn: int, start: int
) -> None:
    begin = NOW + timedelta(minutes=start)
    started = SlaClock.start(
        uuid.uuid4(), Metric.RESOLUTION, 1, policy(warn_before=warn), minutes, OFFICE, begin
    )
    assert started.due_at == add_business_time(OFFICE, begin, minutes * 60)
    lead = min(warn, minutes) * 60
    assert started.warn_at == add_business_time(OFFICE, begin, minutes * 60 - lead)
