"""``helpdesk sla``: service levels from the terminal: business calendars (``helpdesk sla
calendars add|list|show|deactivate``, ``helpdesk sla compute``), the policies that promise
times on them (``helpdesk sla policies add|list|show|deactivate``) and ``helpdesk sla recalc``.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator) through the same
use cases as ``/api/v1/admin/calendars``, ``/api/v1/admin/sla-policies`` and
``/api/v1/admin/sla/recalc``: the same rules, the same errors, and ``--json`` prints the API's
document. A calendar, a policy or a department is named by its id (a UUID) or its name (any
case and spacing).

Bad input to an option (an ``--interval`` that is not ``DAY=HH:MM-HH:MM``, a date that is not
``YYYY-MM-DD``, ``--years`` without ``--holidays-from``, a ``--target`` that is not
``PRIORITY:METRIC=MINUTES``) exits 2 with one line; a refusal of the core exits 1 with one line
naming the option it came from (``--interval 'tue=16:00-18:00': ... overlaps ...``,
``--target 'urgent:resolution=0': must be between 1 and 1000000``), and nothing is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from entrypoints.cli.admin import (
    department_names,
    find_department,
    json_option,
    open_services,
)
from entrypoints.cli.admin.names import find_named
from entrypoints.cli.main import CliState, cli_errors, emit, fail
from helpdesk_core.documents import calendar_document, sla_policy_document, timestamp
from helpdesk_core.domain.business_time import Weekday
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.sla import SlaPolicy
from helpdesk_core.usecases.calendars import (
    CalendarService,
    CreateCalendar,
    PublicHolidaysRequest,
)
from helpdesk_core.usecases.sla import SlaPolicyInput, SlaPolicyService

CALENDAR_COLUMNS = ("id", "name", "timezone", "intervals", "holidays", "active")
POLICY_COLUMNS = ("id", "name", "position", "departments", "priorities", "calendar", "active")
_DAYS = tuple(day.value for day in Weekday)
_INTERVAL = re.compile(r"\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s*=\s*(\S+?)\s*-\s*(\S+)\s*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIELD = re.compile(r"\b(?:intervals|holidays)\.[0-9]+\b")
_COUNTRY = re.compile(r"\s*([A-Za-z]{2})\s*(?::\s*(\S+)\s*)?")
_TARGET = re.compile(r"\s*([a-z_]+)\s*:\s*([a-z_]+)\s*=\s*(\S*)\s*")


# ---------------------------------------------------------------- reading the options


def _intervals(specs: Sequence[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The intervals of ``--interval`` (``mon=09:00-12:30``, ``mon-fri=09:00-17:00``), and for
    each the option it came from (to name it in an error)."""
    if not specs:
        fail("--interval: give at least one, such as --interval mon-fri=09:00-17:00", 2)
    intervals: list[tuple[str, str, str]] = []
    sources: list[str] = []
    for spec in specs:
        match = _INTERVAL.fullmatch(spec.lower())
        if match is None:
            fail(f"--interval {spec!r}: must be DAY=HH:MM-HH:MM or DAY-DAY=HH:MM-HH:MM", 2)
        first, last, start, end = match.groups()
        for day in (first, last):
            if day is not None and day not in _DAYS:
                fail(f"--interval {spec!r}: {day!r} is not a day ({', '.join(_DAYS)})", 2)
        begin, finish = _DAYS.index(first), _DAYS.index(last or first)
        if finish < begin:
            fail(f"--interval {spec!r}: {first}-{last} runs backwards (write mon-fri)", 2)
        for day in _DAYS[begin : finish + 1]:
            intervals.append((day, start, end))
            sources.append(f"--interval {spec!r}" + (f" ({day})" if last else ""))
    return intervals, sources


def _holidays(specs: Sequence[str]) -> list[tuple[date, str]]:
    """The holidays of ``--holiday`` (``2026-12-24="Christmas Eve"``)."""
    holidays = []
    for spec in specs:
        day, sep, name = spec.partition("=")
        if not sep or not _DATE.fullmatch(day.strip()):
            fail(f"--holiday {spec!r}: must be YYYY-MM-DD=NAME", 2)
        try:
            holidays.append((date.fromisoformat(day.strip()), name))
        except ValueError:
            fail(f"--holiday {spec!r}: {day.strip()} is not a date", 2)
    return holidays


def _public(country: str | None, years: str | None) -> PublicHolidaysRequest | None:
    """``--holidays-from DE[:BY]`` with ``--years 2026,2027``."""
    if country is None:
        if years is not None:
            fail("--years: only with --holidays-from", 2)
        return None
    match = _COUNTRY.fullmatch(country)
    if match is None:
        fail(f"--holidays-from {country!r}: must be COUNTRY or COUNTRY:SUBDIVISION (DE:BY)", 2)
    if years is None:
        fail("--holidays-from: name the years too, such as --years 2026,2027", 2)
    parts = [part.strip() for part in years.split(",")]
    if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
        fail(f"--years {years!r}: must be years separated by commas, such as 2026,2027", 2)
    return PublicHolidaysRequest(match[1], match[2], tuple(int(part) for part in parts))


def _refused(refused: ValidationFailed, sources: dict[str, str]) -> NoReturn:
    """Exit 1 with the core's refusal, its field named as the option that gave it."""
    error = refused.errors[0] if refused.errors else None
    if error is None:
        fail(refused.detail)
    # "overlaps intervals.0 (...)": the other interval too, as the option that gave it
    message = _FIELD.sub(lambda m: sources.get(m[0], m[0]), error.message)
    field = error.field
    for prefix in sorted(sources, key=len, reverse=True):
        if field == prefix or field.startswith(prefix + "."):
            fail(f"{sources[prefix]}: {message}")
    fail(f"{field}: {message}")


def _find(calendars: CalendarService, id_or_name: str) -> Calendar:
    """The calendar with this id, or with this name (any case and spacing)."""
    return find_named(calendars.list(SYSTEM_OPERATOR), id_or_name, "calendar")


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


# ---------------------------------------------------------------- sla


@click.group()
def sla() -> None:
    """Service levels: the policies that promise times, and the business calendars their
    clocks count on."""


@sla.group("calendars")
def calendars() -> None:
    """Add, list, show and deactivate business calendars.

    A calendar is weekly working hours and holidays in one time zone; service-level clocks
    run only inside its working hours. A calendar is never deleted, only deactivated.
    """


@calendars.command("add")
@click.argument("name")
@click.option("--timezone", required=True, metavar="TZ", help="An IANA time zone: Europe/Berlin.")
@click.option(
    "--interval",
    "interval_specs",
    multiple=True,
    metavar="DAY=HH:MM-HH:MM",
    help="Working hours (repeat): mon=09:00-12:30, or a run of days: mon-fri=09:00-17:00; "
    "24:00 ends a day.",
)
@click.option(
    "--holiday",
    "holiday_specs",
    multiple=True,
    metavar="YYYY-MM-DD=NAME",
    help='A day off (repeat): 2026-12-24="Christmas Eve". It wins over a public holiday.',
)
@click.option(
    "--holidays-from",
    "country",
    metavar="COUNTRY[:SUBDIVISION]",
    help="Add a country's public holidays (DE, or DE:BY with Bavaria's), for --years.",
)
@click.option("--years", metavar="Y[,Y...]", help="The years of --holidays-from (at most 10).")
@json_option
@click.pass_obj
@cli_errors
def calendars_add(
    state: CliState,
    name: str,
    timezone: str,
    interval_specs: tuple[str, ...],
    holiday_specs: tuple[str, ...],
    country: str | None,
    years: str | None,
    as_json: bool,
) -> None:
    """Add a calendar named NAME (names are unique, ignoring case and spacing)."""
    intervals, interval_sources = _intervals(interval_specs)
    holidays = _holidays(holiday_specs)
    command = CreateCalendar(
        name, timezone, tuple(intervals), tuple(holidays), _public(country, years)
    )
    sources = {
        "name": "NAME",
        "timezone": "--timezone",
        "intervals": "--interval",
        "public_holidays.country": f"--holidays-from {country!r}",
        "public_holidays.subdivision": f"--holidays-from {country!r}",
        "public_holidays.years": f"--years {years!r}",
        **{f"intervals.{i}": source for i, source in enumerate(interval_sources)},
        **{f"holidays.{i}": f"--holiday {spec!r}" for i, spec in enumerate(holiday_specs)},
    }
    with open_services(state) as services:
        try:
            calendar = services.calendars.create(SYSTEM_OPERATOR, command)
        except ValidationFailed as refused:
            _refused(refused, sources)
    if as_json:
        _print(calendar_document(calendar))
        return
    click.echo(
        f"created calendar {calendar.name} (id {calendar.id}): {len(calendar.intervals)} "
        f"working intervals, {len(calendar.holidays)} holidays"
    )


@calendars.command("list")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) ones.")
@json_option
@click.pass_obj
@cli_errors
def calendars_list(state: CliState, active: bool | None, as_json: bool) -> None:
    """List calendars by name."""
    with open_services(state) as services:
        found = services.calendars.list(SYSTEM_OPERATOR, active)
    documents = [calendar_document(c) for c in found]
    rows = [
        {**d, "intervals": len(d["intervals"]), "holidays": len(d["holidays"])} for d in documents
    ]
    emit(rows, as_json, CALENDAR_COLUMNS, documents)


@calendars.command("show")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def calendars_show(state: CliState, id_or_name: str, as_json: bool) -> None:
    """One calendar: its working hours and holidays."""
    with open_services(state) as services:
        calendar = _find(services.calendars, id_or_name)
    document = calendar_document(calendar)
    if as_json:
        _print(document)
        return
    state_word = "active" if calendar.is_active else "deactivated"
    click.echo(f"{calendar.name} (id {calendar.id})")
    click.echo(f"time zone  {calendar.timezone}")
    click.echo(f"state      {state_word}, version {calendar.version}")
    click.echo("working hours")
    for interval in document["intervals"]:
        click.echo(f"  {interval['weekday']}  {interval['start']}-{interval['end']}")
    click.echo("holidays" if document["holidays"] else "holidays   (none)")
    for holiday in document["holidays"]:
        click.echo(f"  {holiday['date']}  {holiday['name']}")


@calendars.command("deactivate")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def calendars_deactivate(state: CliState, id_or_name: str, as_json: bool) -> None:
    """Deactivate a calendar (the policies naming it keep it; nothing is deleted)."""
    with open_services(state) as services:
        current = _find(services.calendars, id_or_name)
        changed = services.calendars.deactivate(SYSTEM_OPERATOR, current.id, current.version)
    if as_json:
        _print(calendar_document(changed))
        return
    already = "already " if changed.version == current.version else ""
    click.echo(f"{already}deactivated calendar {changed.name} (id {changed.id})")


# ---------------------------------------------------------------- compute


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"START {text!r}: must be a timestamp with its offset, 2026-12-04T16:00+01:00", 2)


def _minutes(text: str) -> int:
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        fail(f"MINUTES {text!r}: must be a whole number of minutes, 0 or more", 2)
    return int(raw)


@sla.command("compute")
@click.argument("calendar")
@click.argument("start")
@click.argument("minutes")
@json_option
@click.pass_obj
@cli_errors
def sla_compute(state: CliState, calendar: str, start: str, minutes: str, as_json: bool) -> None:
    """When MINUTES of business time after START end on CALENDAR (an id or a name).

    START is a timestamp with its UTC offset (2026-12-04T16:00+01:00). Prints the instant in
    UTC, then the same in the calendar's time zone; --json prints {"due_at": ...} as the API.
    """
    begins, count = _start(start), _minutes(minutes)
    with open_services(state) as services:
        chosen = _find(services.calendars, calendar)
        try:
            due = services.calendars.compute(SYSTEM_OPERATOR, chosen.id, begins, count)
        except ValidationFailed as refused:
            _refused(refused, {"start": "START", "minutes": "MINUTES"})
    if as_json:
        _print({"due_at": timestamp(due)})
        return
    local = due.astimezone(ZoneInfo(chosen.timezone))
    click.echo(f"{timestamp(due)}  ({local:%a %Y-%m-%d %H:%M} {chosen.timezone})")


# ---------------------------------------------------------------- policies


def _count(text: str, source: str) -> int:
    """A whole number given by ``source`` (an option and its value), 0 or more; the core
    checks its range."""
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        fail(f"{source}: must be a whole number, 0 or more", 2)
    return int(raw)


def _targets(specs: Sequence[str]) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """The targets of ``--target`` (``urgent:first_response=30``), by priority and metric, and
    for each the option that gave it (to name it in an error)."""
    if not specs:
        fail("--target: give at least one, such as --target urgent:first_response=30", 2)
    targets: dict[str, dict[str, int]] = {}
    sources: dict[str, str] = {}
    for spec in specs:
        match = _TARGET.fullmatch(spec.lower())
        if match is None:
            fail(f"--target {spec!r}: must be PRIORITY:METRIC=MINUTES (urgent:resolution=480)", 2)
        priority, metric, minutes = match.groups()
        if f"targets.{priority}.{metric}" in sources:
            fail(f"--target {spec!r}: {priority}:{metric} is given twice", 2)
        targets.setdefault(priority, {})[metric] = _count(minutes, f"--target {spec!r}")
        sources.setdefault(f"targets.{priority}", f"--target {spec!r}")
        sources[f"targets.{priority}.{metric}"] = f"--target {spec!r}"
    return targets, sources


def _find_policy(policies: SlaPolicyService, id_or_name: str) -> SlaPolicy:
    """The policy with this id, or with this name (any case and spacing)."""
    return find_named(policies.list(SYSTEM_OPERATOR), id_or_name, "policy")


def _minutes_text(minutes: int | None) -> str:
    return "-" if minutes is None else f"{minutes}m"


@sla.group("policies")
def policies() -> None:
    """Add, list, show and deactivate service-level policies.

    A policy promises times for the tickets it matches (departments and priorities; none
    named: any): per priority, the minutes of business time to the first response, to each
    next response and to the resolution. Among active policies the first by position, then
    name, that matches a ticket governs it. A policy is never deleted, only deactivated.
    """


@policies.command("add")
@click.argument("name")
@click.option(
    "--target",
    "target_specs",
    multiple=True,
    metavar="PRIORITY:METRIC=MINUTES",
    help="A promise (repeat): urgent:first_response=30, urgent:resolution=480; metrics are "
    "first_response, next_response, resolution; minutes of business time.",
)
@click.option("--position", metavar="N", help="Policies match by position, then name (0).")
@click.option(
    "--department",
    "department_specs",
    multiple=True,
    metavar="NAME_OR_ID",
    help="A department it governs (repeat; none: any).",
)
@click.option(
    "--priority",
    "priority_specs",
    multiple=True,
    metavar="P",
    help="A priority it governs (repeat; none: any): low, normal, high, urgent.",
)
@click.option(
    "--calendar", metavar="NAME_OR_ID", help="The business calendar (none: around the clock)."
)
@click.option(
    "--pause-status",
    "pause_specs",
    multiple=True,
    metavar="STATUS",
    help="A status that stops the clocks (repeat; default pending): new, open, pending.",
)
@click.option("--warn-before", metavar="MINUTES", help="Warn this long before a due time (0).")
@click.option(
    "--on-reopen",
    metavar="continue|restart",
    help="What a reopen does to the resolution: go on with the time left (continue, the "
    "default) or start over (restart).",
)
@json_option
@click.pass_obj
@cli_errors
def policies_add(
    state: CliState,
    name: str,
    target_specs: tuple[str, ...],
    position: str | None,
    department_specs: tuple[str, ...],
    priority_specs: tuple[str, ...],
    calendar: str | None,
    pause_specs: tuple[str, ...],
    warn_before: str | None,
    on_reopen: str | None,
    as_json: bool,
) -> None:
    """Add a policy named NAME (names are unique, ignoring case and spacing).

    It governs the tickets opened or re-routed from now on; `helpdesk sla recalc` applies it
    to the open tickets at once.
    """
    targets, target_sources = _targets(target_specs)
    sources = {
        "name": "NAME",
        "position": f"--position {position!r}",
        "warn_before": f"--warn-before {warn_before!r}",
        "on_reopen": f"--on-reopen {on_reopen!r}",
        **target_sources,
        **{f"priorities.{i}": f"--priority {p!r}" for i, p in enumerate(priority_specs)},
        **{f"pause_statuses.{i}": f"--pause-status {p!r}" for i, p in enumerate(pause_specs)},
    }
    place = None if position is None else _count(position, sources["position"])
    lead = None if warn_before is None else _count(warn_before, sources["warn_before"])
    with open_services(state) as services:
        departments = [find_department(services.org, spec).id for spec in department_specs]
        chosen = _find(services.calendars, calendar) if calendar is not None else None
        command = SlaPolicyInput(
            name=name,
            position=place,
            department_ids=departments,
            priorities=[p.strip().lower() for p in priority_specs],
            calendar_id=None if chosen is None else chosen.id,
            targets=targets,
            pause_statuses=[s.strip().lower() for s in pause_specs] if pause_specs else None,
            warn_before=lead,
            on_reopen=None if on_reopen is None else on_reopen.strip().lower(),
        )
        try:
            policy = services.sla.create(SYSTEM_OPERATOR, command)
        except ValidationFailed as refused:
            _refused(refused, sources)
    if as_json:
        _print(sla_policy_document(policy))
        return
    promised = ", ".join(p.value for p in policy.targets) or "no priority"
    click.echo(f"created policy {policy.name} (id {policy.id}): targets for {promised}")


@policies.command("list")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) ones.")
@json_option
@click.pass_obj
@cli_errors
def policies_list(state: CliState, active: bool | None, as_json: bool) -> None:
    """List policies in the order they match: by position, then name."""
    with open_services(state) as services:
        found = services.sla.list(SYSTEM_OPERATOR, active)
        calendars = {c.id: c.name for c in services.calendars.list(SYSTEM_OPERATOR)}
    documents = [sla_policy_document(p) for p in found]
    rows = [
        {
            **d,
            "departments": len(p.department_ids) or "any",
            "priorities": ",".join(d["priorities"]) or "any",
            "calendar": calendars.get(p.calendar_id) if p.calendar_id else None,
        }
        for p, d in zip(found, documents, strict=True)
    ]
    emit(rows, as_json, POLICY_COLUMNS, documents)


@policies.command("show")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def policies_show(state: CliState, id_or_name: str, as_json: bool) -> None:
    """One policy: what it matches, its calendar, its targets and its clock rules."""
    with open_services(state) as services:
        policy = _find_policy(services.sla, id_or_name)
        departments = department_names(services.org)
        calendar = (
            services.calendars.get(SYSTEM_OPERATOR, policy.calendar_id)
            if policy.calendar_id
            else None
        )
    if as_json:
        _print(sla_policy_document(policy))
        return
    state_word = "active" if policy.is_active else "deactivated"
    named = [departments.get(d, str(d)) for d in policy.department_ids]
    click.echo(f"{policy.name} (id {policy.id})")
    click.echo(f"state         {state_word}, version {policy.version}, position {policy.position}")
    click.echo(f"departments   {', '.join(named) or 'any'}")
    click.echo(f"priorities    {', '.join(p.value for p in policy.priorities) or 'any'}")
    click.echo(f"calendar      {calendar.name if calendar else 'none (around the clock)'}")
    click.echo("targets" if policy.targets else "targets       (none)")
    for priority, targets in policy.targets.items():
        click.echo(
            f"  {priority.value:<7} first response {_minutes_text(targets.first_response)}, "
            f"next response {_minutes_text(targets.next_response)}, "
            f"resolution {_minutes_text(targets.resolution)}"
        )
    click.echo(f"pauses on     {', '.join(s.value for s in policy.pause_statuses) or 'nothing'}")
    click.echo(f"warns         {policy.warn_before} minutes before a due time")
    click.echo(f"on reopen     {policy.on_reopen.value}")


@policies.command("deactivate")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def policies_deactivate(state: CliState, id_or_name: str, as_json: bool) -> None:
    """Deactivate a policy: its open clocks are cancelled and its tickets' due times cleared
    (nothing is deleted)."""
    with open_services(state) as services:
        current = _find_policy(services.sla, id_or_name)
        changed = services.sla.deactivate(SYSTEM_OPERATOR, current.id, current.version)
    if as_json:
        _print(sla_policy_document(changed))
        return
    already = "already " if changed.version == current.version else ""
    click.echo(f"{already}deactivated policy {changed.name} (id {changed.id})")


# ---------------------------------------------------------------- recalc


@sla.command("recalc")
@json_option
@click.pass_obj
@cli_errors
def sla_recalc(state: CliState, as_json: bool) -> None:
    """Match tickets against the policies in force again.

    Every ticket still owed something, and every open ticket without a policy, is re-matched
    and its clocks recomputed (the time spent kept; what was met or breached stays so). For a
    policy added after tickets were opened, or a change a stopped process left half-done.
    Prints how many tickets it looked at; --json prints {"tickets": N} as the API.
    """
    with open_services(state) as services:
        count = services.sla.recalc(SYSTEM_OPERATOR)
    if as_json:
        _print({"tickets": count})
        return
    click.echo(f"looked at {count} ticket{'' if count == 1 else 's'}")


COMMANDS: Sequence[click.Command] = (sla,)
