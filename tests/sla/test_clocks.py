"""The service-level rules, each on memory, SQLite and PostgreSQL: when each metric starts,
stands, runs on, is met, breaches or is cancelled, and what a change of the ticket, the policy
or the calendar does to it. Times are Berlin local times on a Monday-Friday 09:00-17:00
calendar unless a test says otherwise (2026-12-04 is a Friday)."""

from __future__ import annotations

import threading
from datetime import UTC, date, timedelta

import pytest

from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.ports.tickets import SlaState, TicketQuery, TicketSort
from helpdesk_core.usecases.calendars import UpdateCalendar
from helpdesk_core.usecases.tickets import ChangeTicket
from tests.sla.support import SlaDesk, berlin


def iso(text: str) -> str:
    """A Berlin local time as the documents write it (UTC, ISO 8601)."""
    return berlin(text).astimezone(UTC).isoformat()


# ---------------------------------------------------------------- opening


def test_a_ticket_under_no_policy_has_no_service_level(desk: SlaDesk) -> None:
    ticket = desk.open()
    assert desk.sla(ticket) is None
    assert desk.current(ticket).sla_due_at is None


def test_the_first_response_and_resolution_start_at_opening_on_business_time(
    desk: SlaDesk,
) -> None:
    calendar = desk.calendar()
    policy = desk.policy(
        calendar_id=calendar, targets={"normal": {"first_response": 240, "resolution": 480}}
    )
    desk.at("2026-12-04 16:00")  # a Friday: one business hour left
    ticket = desk.open()
    sla = desk.sla(ticket)
    assert sla["policy_id"] == str(policy.id)
    assert sla["first_response"]["status"] == "running"
    assert sla["first_response"]["due_at"] == iso("2026-12-07 12:00")  # Monday noon
    assert sla["resolution"]["due_at"] == iso("2026-12-07 16:00")
    assert sla["next_response"] is None
    assert sla["next_due_at"] == iso("2026-12-07 12:00")


def test_a_ticket_opened_on_a_saturday_counts_from_monday_morning(desk: SlaDesk) -> None:
    desk.policy(calendar_id=desk.calendar(), targets={"normal": {"first_response": 60}})
    desk.at("2026-12-05 10:30")
    ticket = desk.open()
    assert desk.metric(ticket, "first_response")["due_at"] == iso("2026-12-07 10:00")


def test_a_holiday_is_skipped(desk: SlaDesk) -> None:
    calendar = desk.calendar(holidays=((date(2026, 12, 7), "Closed"),))
    desk.policy(calendar_id=calendar, targets={"normal": {"first_response": 240}})
    desk.at("2026-12-04 16:00")
    ticket = desk.open()
    assert desk.metric(ticket, "first_response")["due_at"] == iso("2026-12-08 12:00")


def test_without_a_calendar_the_clock_runs_around_the_clock(desk: SlaDesk) -> None:
    desk.policy(targets={"normal": {"first_response": 240}})
    desk.at("2026-12-04 16:00")
    ticket = desk.open()
    assert desk.metric(ticket, "first_response")["due_at"] == iso("2026-12-04 20:00")


def test_the_first_active_policy_by_position_that_matches_governs(desk: SlaDesk) -> None:
    desk.policy("Anything", position=20)
    billing = desk.policy(
        "Billing urgent",
        position=10,
        department_ids=[desk.billing],
        priorities=["urgent"],
        targets={"urgent": {"first_response": 30}},
    )
    switched_off = desk.policy("Earlier", position=1, department_ids=[desk.billing])
    desk.update_policy(switched_off, active=False)
    urgent = desk.open(department=desk.billing, priority=TicketPriority.URGENT)
    normal = desk.open(department=desk.billing)
    unrouted = desk.open(priority=TicketPriority.URGENT)
    assert desk.sla(urgent)["policy_id"] == str(billing.id)
    assert desk.sla(normal)["policy_id"] != str(billing.id)
    assert desk.sla(unrouted)["policy_id"] != str(billing.id)


# ---------------------------------------------------------------- first and next response


def test_only_a_public_staff_reply_meets_the_first_response(
    desk: SlaDesk,
) -> None:
    desk.policy()
    ticket = desk.open(department=desk.billing)
    desk.later(minutes=5)
    desk.reply(desk.agent, ticket, "Looking into it", MessageVisibility.INTERNAL)
    desk.reply(desk.ann, ticket, "Any news?")
    assert desk.metric(ticket, "first_response")["status"] == "running"
    desk.later(minutes=5)
    desk.reply(desk.agent, ticket, "Refunded.")
    first = desk.metric(ticket, "first_response")
    assert first["status"] == "met"
    assert first["met_at"] == desk.clock.current.isoformat()
    assert ("sla.met", "first_response") in desk.sla_events(ticket)


def test_the_next_response_starts_with_the_first_customer_message_after_a_staff_reply(
    desk: SlaDesk,
) -> None:
    desk.policy(targets={"normal": {"first_response": 60, "next_response": 30}})
    ticket = desk.open(department=desk.billing)
    desk.reply(desk.ann, ticket, "Before any answer")
    assert desk.metric(ticket, "next_response") is None  # the first response covers it
    desk.reply(desk.agent, ticket, "Answer")
    assert desk.metric(ticket, "next_response") is None
    desk.later(minutes=10)
    started = desk.clock.current
    desk.reply(desk.ann, ticket, "Thanks, but...")
    waiting = desk.metric(ticket, "next_response")
    assert (waiting["status"], waiting["cycle"]) == ("running", 1)
    assert waiting["started_at"] == started.isoformat()
    desk.later(minutes=10)
    desk.reply(desk.ann, ticket, "...and also")  # still the same wait
    assert desk.metric(ticket, "next_response") == waiting
    desk.reply(desk.agent, ticket, "Second answer")
    assert desk.metric(ticket, "next_response")["status"] == "met"
    desk.reply(desk.ann, ticket, "One more thing")
    assert desk.metric(ticket, "next_response")["cycle"] == 2


# ---------------------------------------------------------------- pauses and resolution


def test_a_ticket_pending_for_two_business_hours_is_due_two_business_hours_later(
    desk: SlaDesk,
) -> None:
    desk.policy(calendar_id=desk.calendar(), targets={"normal": {"resolution": 480}})
    desk.at("2026-12-07 09:00")
    ticket = desk.open(department=desk.billing)
    assert desk.metric(ticket, "resolution")["due_at"] == iso("2026-12-07 17:00")
    desk.at("2026-12-07 10:00")
    desk.set_status(ticket, TicketStatus.PENDING)
    paused = desk.sla(ticket)
    assert paused["resolution"]["status"] == "paused"
    assert paused["resolution"]["due_at"] is None
    assert paused["next_due_at"] is None
    desk.at("2026-12-07 12:00")
    desk.reply(desk.ann, ticket, "Here is the receipt")  # reopens: the clock runs again
    assert desk.current(ticket).status is TicketStatus.OPEN
    assert desk.metric(ticket, "resolution")["due_at"] == iso("2026-12-08 11:00")


def test_a_pause_over_a_weekend_resumes_with_exactly_the_time_left(desk: SlaDesk) -> None:
    desk.policy(calendar_id=desk.calendar(), targets={"normal": {"resolution": 120}})
    desk.at("2026-12-04 15:30")
    ticket = desk.open(department=desk.billing)
    desk.at("2026-12-04 16:15")  # 45 minutes spent, 75 left
    desk.set_status(ticket, TicketStatus.PENDING)
    desk.at("2026-12-08 13:00")
    desk.set_status(ticket, TicketStatus.OPEN)
    assert desk.metric(ticket, "resolution")["due_at"] == iso("2026-12-08 14:15")


def test_resolving_meets_the_resolution_and_cancels_responses_still_owed(desk: SlaDesk) -> None:
    desk.policy()
    ticket = desk.open(department=desk.billing)
    desk.later(minutes=20)
    desk.set_status(ticket, TicketStatus.RESOLVED)
    sla = desk.sla(ticket)
    assert sla["resolution"]["status"] == "met"
    assert sla["first_response"]["status"] == "cancelled"
    assert sla["next_due_at"] is None
    assert set(desk.sla_events(ticket)) == {
        ("sla.met", "resolution"),
        ("sla.cancelled", "first_response"),
    }


@pytest.mark.parametrize(("on_reopen", "due"), [("continue", 60), ("restart", 100)])
def test_a_reopen_continues_or_restarts_the_resolution(
    desk: SlaDesk, on_reopen: str, due: int
) -> None:
    desk.policy(targets={"normal": {"resolution": 100}}, on_reopen=on_reopen)
    ticket = desk.open(department=desk.billing)
    desk.later(minutes=40)
    desk.set_status(ticket, TicketStatus.RESOLVED)
    desk.later(hours=5)  # resolved time never counts
    reopened_at = desk.clock.current
    desk.tickets.reopen(desk.ann, ticket.id)
    resolution = desk.metric(ticket, "resolution")
    assert (resolution["status"], resolution["cycle"]) == ("running", 2)
    assert resolution["due_at"] == (reopened_at + timedelta(minutes=due)).isoformat()


# ---------------------------------------------------------------- changes of the ticket


def test_a_new_priority_rematches_and_keeps_the_time_already_spent(desk: SlaDesk) -> None:
    desk.policy(
        calendar_id=desk.calendar(),
        targets={"normal": {"resolution": 480}, "urgent": {"resolution": 120}},
    )
    desk.at("2026-12-07 09:00")
    ticket = desk.open(department=desk.billing)
    desk.at("2026-12-07 10:00")
    desk.change(desk.lead, ticket, priority=TicketPriority.URGENT)
    assert desk.metric(ticket, "resolution")["due_at"] == iso("2026-12-07 11:00")


def test_a_new_department_moves_the_ticket_to_its_policy(desk: SlaDesk) -> None:
    desk.policy("Billing", department_ids=[desk.billing], targets={"normal": {"resolution": 60}})
    tech = desk.policy("Tech", department_ids=[desk.tech], targets={"normal": {"resolution": 90}})
    ticket = desk.open(department=desk.billing)
    desk.later(minutes=30)
    desk.change(desk.lead, ticket, department_id=desk.tech)
    sla = desk.sla(ticket)
    assert sla["policy_id"] == str(tech.id)
    # 30 minutes spent of Tech's 90: due 60 minutes from now.
    due = desk.clock.current + timedelta(minutes=60)
    assert sla["resolution"]["due_at"] == due.isoformat()
    # An unrouted ticket matches no department's policy: its clocks are cancelled.
    desk.change(desk.admin, ticket, department_id=None)
    assert desk.sla(ticket)["resolution"]["status"] == "cancelled"
    assert desk.current(ticket).sla_due_at is None


# ---------------------------------------------------------------- changes of the policy


def test_a_policy_edit_recomputes_open_clocks_and_keeps_met_facts(desk: SlaDesk) -> None:
    policy = desk.policy(targets={"normal": {"first_response": 60, "resolution": 480}})
    ticket = desk.open(department=desk.billing)
    opened = desk.clock.current
    desk.later(minutes=10)
    desk.reply(desk.agent, ticket)
    met = desk.metric(ticket, "first_response")
    desk.later(minutes=10)
    desk.update_policy(policy, targets={"normal": {"first_response": 5, "resolution": 120}})
    assert desk.metric(ticket, "first_response") == met
    assert (
        desk.metric(ticket, "resolution")["due_at"] == (opened + timedelta(minutes=120)).isoformat()
    )


def test_switching_a_policy_off_cancels_its_clocks_and_clears_due_times(desk: SlaDesk) -> None:
    policy = desk.policy()
    ticket = desk.open(department=desk.billing)
    desk.services.sla.deactivate(SYSTEM_OPERATOR, policy.id, policy.version)
    sla = desk.sla(ticket)
    assert sla["first_response"]["status"] == "cancelled"
    assert sla["resolution"]["status"] == "cancelled"
    assert sla["next_due_at"] is None
    assert desk.listed(desk.admin, sort=TicketSort.SLA_DUE) == []
    assert ("sla.cancelled", "resolution") in desk.sla_events(ticket)
    desk.reply(desk.ann, ticket, "Hello?")  # no clock starts under a policy switched off
    assert desk.metric(ticket, "next_response") is None


def test_a_calendar_edit_recomputes_the_due_times_counting_on_it(desk: SlaDesk) -> None:
    calendar = desk.calendar()
    desk.policy(calendar_id=calendar, targets={"normal": {"resolution": 120}})
    desk.at("2026-12-07 09:00")
    ticket = desk.open(department=desk.billing)
    desk.at("2026-12-07 10:00")
    stored = desk.services.calendars.get(SYSTEM_OPERATOR, calendar)
    later = tuple((day, "13:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri"))
    desk.services.calendars.update(
        SYSTEM_OPERATOR, calendar, stored.version, UpdateCalendar(intervals=later)
    )
    # One hour spent on the old hours; the other hour from 13:00 on the new ones.
    assert desk.metric(ticket, "resolution")["due_at"] == iso("2026-12-07 14:00")


# ---------------------------------------------------------------- warnings and breaches


def test_a_warning_then_a_breach_each_once(desk: SlaDesk) -> None:
    desk.policy(targets={"normal": {"first_response": 60}}, warn_before=15)
    ticket = desk.open(department=desk.billing)
    due = desk.metric(ticket, "first_response")["due_at"]
    desk.later(minutes=44)
    assert desk.tick() == 0
    desk.later(minutes=1)
    assert desk.tick() == 1
    assert desk.tick() == 0
    assert desk.listed(desk.lead, sla=SlaState.AT_RISK) == [desk.current(ticket)]
    desk.later(minutes=15)
    assert desk.tick() == 1
    assert desk.tick() == 0
    first = desk.metric(ticket, "first_response")
    assert (first["status"], first["breached_at"]) == ("breached", due)
    assert desk.sla_events(ticket) == [
        ("sla.warning", "first_response"),
        ("sla.breached", "first_response"),
    ]
    desk.reply(desk.agent, ticket)  # met late: the breach stays a fact
    first = desk.metric(ticket, "first_response")
    assert (first["status"], first["breached_at"]) == ("met", due)


def test_a_worker_that_was_away_raises_the_breach_alone(desk: SlaDesk) -> None:
    desk.policy(targets={"normal": {"first_response": 60}}, warn_before=15)
    ticket = desk.open(department=desk.billing)
    desk.later(hours=3)
    assert desk.tick() == 1
    assert desk.sla_events(ticket) == [("sla.breached", "first_response")]


def test_with_two_workers_each_breach_is_raised_exactly_once(desk: SlaDesk) -> None:
    desk.policy(targets={"normal": {"first_response": 60}})
    tickets = [desk.open(department=desk.billing) for _ in range(6)]
    desk.later(minutes=61)
    workers = [desk.services.new_worker(f"w{i}") for i in range(2)]
    start = threading.Barrier(2)
    raised: list[int] = []

    def run(worker: object) -> None:
        start.wait()
        total = 0
        while True:
            count = worker.check_service_levels()  # type: ignore[attr-defined]
            if not count:
                break
            total += count
        raised.append(total)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(raised) == len(tickets)
    breached = [e for e in desk.sla_events() if e[0] == "sla.breached"]
    assert len(breached) == len(tickets)
    assert desk.tick(workers=2) == 0


def test_a_breach_mails_the_assignee_or_else_the_departments_leads(desk: SlaDesk) -> None:
    desk.policy(targets={"normal": {"first_response": 60}})
    assigned = desk.open(department=desk.billing, subject="Assigned one")
    desk.assign(desk.agent, assigned, "self")
    unassigned = desk.open(department=desk.billing, subject="Nobody's")
    desk.mailbox.sent.clear()
    desk.later(minutes=61)
    desk.tick()
    overdue = {m.subject: m.to for m in desk.mailbox.sent if "Overdue" in m.subject}
    emails = {p: desk.services.auth.me(p).user.email for p in (desk.agent, desk.lead)}
    assert overdue == {
        f"[#{assigned.number}] Overdue: first response of Assigned one": emails[desk.agent],
        f"[#{unassigned.number}] Overdue: first response of Nobody's": emails[desk.lead],
    }


# ---------------------------------------------------------------- the staff list


def test_the_staff_list_filters_by_service_level_and_sorts_by_due_time(desk: SlaDesk) -> None:
    desk.policy(
        targets={"normal": {"first_response": 60}, "high": {"first_response": 30}},
        priorities=["normal", "high"],
        warn_before=20,
    )
    late = desk.open(department=desk.billing, priority=TicketPriority.HIGH)
    soon = desk.open(department=desk.billing)
    paused = desk.open(department=desk.billing)
    desk.set_status(paused, TicketStatus.PENDING)
    none = desk.open(department=desk.billing, priority=TicketPriority.LOW)
    desk.later(minutes=45)
    by_due = desk.listed(desk.lead, sort=TicketSort.SLA_DUE)
    assert [t.id for t in by_due] == [late.id, soon.id]
    assert [t.id for t in desk.listed(desk.lead, sla=SlaState.BREACHED)] == [late.id]
    assert [t.id for t in desk.listed(desk.lead, sla=SlaState.AT_RISK)] == [soon.id]
    assert [t.id for t in desk.listed(desk.lead, sla=SlaState.PAUSED)] == [paused.id]
    page = desk.tickets.list_tickets(desk.lead, TicketQuery(sort=TicketSort.SLA_DUE, limit=1))
    assert [v.ticket.id for v in page.items] == [late.id]
    assert none.id not in [t.id for t in by_due]
    rest = desk.listed(desk.lead, sort=TicketSort.SLA_DUE, after=page.next_after)
    assert [t.id for t in rest] == [soon.id]


def test_an_agent_sees_only_the_clocks_of_their_scope(desk: SlaDesk) -> None:
    desk.policy()
    desk.open(department=desk.billing)
    mine = desk.open(department=desk.tech)
    desk.later(hours=2)
    assert [t.id for t in desk.listed(desk.tech_agent, sla=SlaState.BREACHED)] == [mine.id]


def test_a_new_priority_can_bring_a_ticket_under_a_policy(desk: SlaDesk) -> None:
    policy = desk.policy(
        targets={"high": {"first_response": 10, "resolution": 30}}, priorities=["high"]
    )
    ticket = desk.open(department=desk.billing)
    assert desk.sla(ticket) is None
    desk.later(minutes=5)
    changed = ChangeTicket(priority=TicketPriority.HIGH)
    desk.tickets.change(desk.lead, ticket.id, ticket.version, changed)
    sla = desk.sla(ticket)
    assert sla["policy_id"] == str(policy.id)
    # The resolution runs from the change; a first response is never started late.
    assert sla["first_response"] is None
    assert sla["resolution"]["due_at"] == (desk.clock.current + timedelta(minutes=30)).isoformat()


def test_a_ticket_left_by_a_switched_off_policy_starts_again_under_the_next(
    desk: SlaDesk,
) -> None:
    old = desk.policy("Old", targets={"normal": {"resolution": 60}})
    desk.policy("Tech", department_ids=[desk.tech], targets={"normal": {"resolution": 90}})
    ticket = desk.open(department=desk.billing)
    desk.services.sla.deactivate(SYSTEM_OPERATOR, old.id, old.version)
    desk.change(desk.admin, ticket, department_id=desk.tech)
    resolution = desk.metric(ticket, "resolution")
    assert (resolution["status"], resolution["cycle"]) == ("running", 2)
    assert resolution["due_at"] == (desk.clock.current + timedelta(minutes=90)).isoformat()
