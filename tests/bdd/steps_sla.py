"""Steps for features/sla, over the real HTTP app: calendars and policies through the admin
API, tickets through the customer and staff routes (steps_tickets), the clock the story sets
(steps_identity's SceneClock), and the workers' scheduler run as a worker runs it.

Moments are written as a person reads them ("Friday 4 December 2026, 16:00") in the zone the
step names: the calendar's for business-time answers, Berlin for the tickets' clocks.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_identity import Scene, _names, _problem
from tests.bdd.steps_tickets import Tickets, _ok, _token
from tests.support.events import drain

BERLIN = ZoneInfo("Europe/Berlin")
MOMENT = "%A %d %B %Y, %H:%M"
DAYS = {
    "Monday to Friday": ("mon", "tue", "wed", "thu", "fri"),
    "every day": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
}
METRICS = {
    "first response": "first_response",
    "next response": "next_response",
    "resolution": "resolution",
}
_METRIC = "(?P<metric>first response|next response|resolution)"


@attrs.define
class Levels:
    """What the service-level stories established: calendars and policies by name, and the
    last business-time answer with the zone it is read in."""

    calendars: dict[str, str] = attrs.Factory(dict)  # name -> id
    zones: dict[str, str] = attrs.Factory(dict)  # calendar name -> its zone
    policies: dict[str, str] = attrs.Factory(dict)  # name -> id
    answer: tuple[str, str] | None = None  # (due_at, zone)


@pytest.fixture
def levels() -> Levels:
    return Levels()


def moment(text: str, zone: ZoneInfo) -> datetime:
    """ "Friday 4 December 2026, 16:00" in ``zone``, as an aware datetime."""
    return datetime.strptime(text.strip(), MOMENT).replace(tzinfo=zone)


def said(instant: str, zone: ZoneInfo) -> str:
    """An ISO instant as a person in ``zone`` reads it ("Monday 7 December 2026, 12:00")."""
    local = datetime.fromisoformat(instant).astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def _calendar_body(name: str, zone: str, days: str, hours: str) -> dict[str, Any]:
    intervals = [
        {"weekday": day, "start": start, "end": end}
        for day in DAYS[days]
        for start, end in (span.split("-") for span in hours.split(" and "))
    ]
    return {"name": name, "timezone": zone, "intervals": intervals, "holidays": []}


def _sla(scene: Scene, tickets: Tickets, subject: str) -> dict[str, Any]:
    detail = _ok(scene.as_admin("GET", f"/staff/tickets/{tickets.ids[subject]}"))
    sla: dict[str, Any] = detail["sla"]
    assert sla is not None, f"no policy governs {subject!r}"
    return sla


def _metric(scene: Scene, tickets: Tickets, metric: str, subject: str) -> dict[str, Any]:
    found: dict[str, Any] = _sla(scene, tickets, subject)[METRICS[metric]]
    assert found is not None, f"{subject!r} has no {metric}"
    return found


def _patched(scene: Scene, path: str, change: dict[str, Any]) -> dict[str, Any]:
    """PATCH ``path`` (an admin resource) with the ETag it has now."""
    current = scene.as_admin("GET", path)
    assert current.status_code == 200, current.text
    token = scene.administrator().sessions["desk"]
    answer = scene.client.simulate_patch(
        f"/api/v1{path}",
        json=change,
        headers={"Authorization": f"Bearer {token}", "If-Match": current.headers["etag"]},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json
    return body


def _add_policy(scene: Scene, levels: Levels, body: dict[str, Any]) -> None:
    policy = _ok(scene.as_admin("POST", "/admin/sla-policies", json=body), 201)
    levels.policies[body["name"]] = policy["id"]


def _queue(scene: Scene, tickets: Tickets, name: str, query: str) -> list[str]:
    answer = _ok(scene.call("GET", f"/staff/tickets?{query}", _token(scene, name)))
    subjects = {ticket_id: subject for subject, ticket_id in tickets.ids.items()}
    return [subjects.get(item["id"], item["subject"]) for item in answer["items"]]


# ------------------------------------------------------------------ calendars


@given(
    parsers.re(
        r'the calendar "(?P<name>[^"]+)" in "(?P<zone>[^"]+)", '
        r"open (?P<days>Monday to Friday|every day) (?P<hours>[0-9:\- and]+)"
    )
)
def a_calendar(scene: Scene, levels: Levels, name: str, zone: str, days: str, hours: str) -> None:
    body = _calendar_body(name, zone, days, hours)
    calendar = _ok(scene.as_admin("POST", "/admin/calendars", json=body), 201)
    levels.calendars[name] = calendar["id"]
    levels.zones[name] = zone


@when(
    parsers.re(
        r'the administrator tries to make the calendar "(?P<name>[^"]+)" in "(?P<zone>[^"]+)", '
        r"open (?P<days>Monday to Friday|every day) (?P<hours>[0-9:\- and]+)"
    )
)
def a_broken_calendar(scene: Scene, name: str, zone: str, days: str, hours: str) -> None:
    scene.as_admin("POST", "/admin/calendars", json=_calendar_body(name, zone, days, hours))


@then(parsers.parse('the administrator is told that "{field}" overlaps another interval'))
def told_overlap(scene: Scene, field: str) -> None:
    problem = _problem(scene.last, 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "overlap" in problem["errors"][0]["message"]


@given(parsers.parse('"{calendar}" is closed on {day} for "{reason}"'))
def closed_on(scene: Scene, levels: Levels, calendar: str, day: str, reason: str) -> None:
    date = datetime.strptime(day.strip(), "%A %d %B %Y").date()
    path = f"/admin/calendars/{levels.calendars[calendar]}"
    _patched(scene, path, {"holidays": [{"date": date.isoformat(), "name": reason}]})


@when(
    parsers.parse(
        'the administrator asks "{calendar}" for {minutes:d} business minutes after {start}'
    )
)
def ask_compute(scene: Scene, levels: Levels, calendar: str, minutes: int, start: str) -> None:
    zone = levels.zones[calendar]
    body = {"start": moment(start, ZoneInfo(zone)).isoformat(), "minutes": minutes}
    path = f"/admin/calendars/{levels.calendars[calendar]}/compute"
    answer = _ok(scene.as_admin("POST", path, json=body))
    levels.answer = (answer["due_at"], zone)


@then(parsers.parse("the business time runs out on {when}"))
def runs_out_on(levels: Levels, when: str) -> None:
    assert levels.answer is not None
    due_at, zone = levels.answer
    assert said(due_at, ZoneInfo(zone)) == when


# ------------------------------------------------------------------ policies


@given(
    parsers.parse(
        'the policy "{name}" on "{calendar}": normal tickets get a first response within '
        "{first:d} minutes, a next response within {next_:d} minutes and a resolution within "
        "{resolution:d} minutes"
    )
)
def a_policy_on(
    scene: Scene, levels: Levels, name: str, calendar: str, first: int, next_: int, resolution: int
) -> None:
    targets = {"first_response": first, "next_response": next_, "resolution": resolution}
    body = {
        "name": name,
        "calendar_id": levels.calendars[calendar],
        "targets": {"normal": targets},
    }
    _add_policy(scene, levels, body)


@given(
    parsers.parse(
        'the policy "{name}": normal tickets get a first response within {first:d} minutes, '
        "with a warning {warn:d} minutes before"
    )
)
def a_policy_around_the_clock(
    scene: Scene, levels: Levels, name: str, first: int, warn: int
) -> None:
    body = {"name": name, "targets": {"normal": {"first_response": first}}, "warn_before": warn}
    _add_policy(scene, levels, body)


@given(
    parsers.parse(
        'the policy "{name}" also gives urgent tickets a resolution within {minutes:d} minutes'
    )
)
def also_urgent(scene: Scene, levels: Levels, name: str, minutes: int) -> None:
    path = f"/admin/sla-policies/{levels.policies[name]}"
    targets = _ok(scene.as_admin("GET", path))["targets"]
    targets["urgent"] = {"resolution": minutes}
    _patched(scene, path, {"targets": targets})


@when(parsers.parse('the administrator switches the policy "{name}" off'))
def switch_off(scene: Scene, levels: Levels, name: str) -> None:
    _patched(scene, f"/admin/sla-policies/{levels.policies[name]}", {"active": False})


# ------------------------------------------------------------------ the clock and the tickets


@given(parsers.parse("it is {when} in Berlin"))
@when(parsers.parse("it is {when} in Berlin"))
def it_is(scene: Scene, when: str) -> None:
    """Hours pass in these stories, longer than a session lives: everyone logs in afresh."""
    scene.clock.fixed = moment(when, BERLIN)
    for person in scene.people.values():
        person.sessions.clear()
    scene.session(scene.administrator(), "desk")


@then(parsers.re(rf'the {_METRIC} of "(?P<subject>[^"]+)" is due on (?P<when>.+)'))
def due_on(scene: Scene, tickets: Tickets, metric: str, subject: str, when: str) -> None:
    found = _metric(scene, tickets, metric, subject)
    assert found["due_at"] is not None, found
    assert said(found["due_at"], BERLIN) == when


@then(
    parsers.re(rf'the {_METRIC} of "(?P<subject>[^"]+)" is (?P<status>running|paused|cancelled)$')
)
def metric_is(scene: Scene, tickets: Tickets, metric: str, subject: str, status: str) -> None:
    assert _metric(scene, tickets, metric, subject)["status"] == status


@then(parsers.re(rf'the {_METRIC} of "(?P<subject>[^"]+)" was met on (?P<when>.+)'))
def met_on(scene: Scene, tickets: Tickets, metric: str, subject: str, when: str) -> None:
    found = _metric(scene, tickets, metric, subject)
    assert found["status"] == "met", found
    assert said(found["met_at"], BERLIN) == when


# ------------------------------------------------------------------ the workers


@when("the workers check the service levels")
def workers_check(scene: Scene) -> None:
    drain(scene.services)


@when("two workers check the service levels at once")
def two_workers_check(scene: Scene) -> None:
    workers = [scene.services.new_worker(f"sla-{i}") for i in range(2)]
    start = threading.Barrier(len(workers))

    def run(index: int) -> None:
        start.wait()
        workers[index].check_service_levels()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(scene.services)


@then(parsers.re(rf'the breach of the {_METRIC} of "(?P<subject>[^"]+)" was announced once'))
def announced_once(scene: Scene, tickets: Tickets, metric: str, subject: str) -> None:
    state = scene.services.uow.state  # type: ignore[attr-defined]
    breaches = [
        row.entry.event
        for row in state.outbox.values()
        if row.entry.event.type == "sla.breached"
        and row.entry.event.data["ticket"]["id"] == tickets.ids[subject]
        and row.entry.event.data["metric"]["name"] == METRICS[metric]
    ]
    assert len(breaches) == 1, breaches


@then(parsers.re(rf'(?P<name>\w+) is mailed that the {_METRIC} of "(?P<subject>[^"]+)" is overdue'))
def mailed_overdue(scene: Scene, name: str, metric: str, subject: str) -> None:
    drain(scene.services)
    to = scene.person(name).email
    overdue = [m for m in scene.mailbox.sent if "Overdue" in m.subject and subject in m.subject]
    assert [m.to for m in overdue] == [to]
    assert f"Overdue: {metric} of {subject}" in overdue[0].subject


@then(parsers.parse('"{subject}" is at risk in {name}\'s queue'))
def at_risk(scene: Scene, tickets: Tickets, subject: str, name: str) -> None:
    assert subject in _queue(scene, tickets, name, "sla=at_risk")
    assert subject not in _queue(scene, tickets, name, "sla=breached")


@then(parsers.parse('{name}\'s overdue tickets are "{subjects}"'))
def overdue_tickets(scene: Scene, tickets: Tickets, name: str, subjects: str) -> None:
    assert _queue(scene, tickets, name, "sla=breached&sort=sla_due") == _names(subjects)


@then(parsers.parse("{name} has no overdue tickets"))
def no_overdue(scene: Scene, tickets: Tickets, name: str) -> None:
    assert _queue(scene, tickets, name, "sla=breached&sort=sla_due") == []
