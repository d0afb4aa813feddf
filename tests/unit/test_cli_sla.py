"""``helpdesk sla calendars add|list|show|deactivate``, ``helpdesk sla compute``, ``helpdesk sla
policies add|list|show|deactivate`` and ``helpdesk sla recalc`` end to end on a migrated SQLite
file, with the real source of public holidays.

The commands act through the same use cases as ``/api/v1/admin/calendars``,
``/api/v1/admin/sla-policies`` and ``/api/v1/admin/sla/recalc``; these tests pin the exit codes
(0 done, 1 refused, 2 bad usage), the one-line errors naming the option at fault, that a refusal
stores nothing, and that ``--json`` is the API's document. What the policies do to tickets'
clocks is tested in tests/sla/.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import click
import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login, Register
from helpdesk_core.usecases.org import CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.test_cli_admin import PASSWORD, Run, as_json, ok, refused

MUNICH = (
    "Munich office",
    "--timezone",
    "Europe/Berlin",
    "--interval",
    "mon-fri=09:00-12:30",
    "--interval",
    "mon-fri=13:30-17:00",
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-sla-tests-0123456789",
    }


@pytest.fixture
def run(tmp_path: Path, env: dict[str, str]) -> Run:
    register_commands()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env)

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    return invoke


def add(run: Run, *args: str) -> dict[str, Any]:
    created: dict[str, Any] = as_json(run("sla", "calendars", "add", *args, "--json"))
    return created


def usage_error(result: Result, message: str) -> None:
    """Exit 2 with exactly one line on stderr, ``error: ...`` containing ``message``."""
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def nothing_stored(run: Run) -> None:
    assert as_json(run("sla", "calendars", "list", "--json")) == []


# ---------------------------------------------------------------- add, show, list


def test_add_expands_runs_of_days_and_lists_public_holidays_beside_its_own(run: Run) -> None:
    created = add(
        run,
        *MUNICH,
        "--holiday",
        "2026-12-24=Christmas Eve",
        "--holiday",
        "2026-12-25=Office closed",
        "--holidays-from",
        "de:by",
        "--years",
        "2026, 2027",
    )
    assert created["name"] == "Munich office"
    assert [(i["weekday"], i["start"], i["end"]) for i in created["intervals"]][:6] == [
        ("mon", "09:00", "12:30"),
        ("tue", "09:00", "12:30"),
        ("wed", "09:00", "12:30"),
        ("thu", "09:00", "12:30"),
        ("fri", "09:00", "12:30"),
        ("mon", "13:30", "17:00"),
    ]
    assert len(created["intervals"]) == 10
    holidays = {h["date"]: h["name"] for h in created["holidays"]}
    assert holidays["2026-12-24"] == "Christmas Eve"
    assert holidays["2026-12-25"] == "Office closed"  # the hand-listed one wins
    assert holidays["2027-01-06"] == "Epiphany"  # Bavaria's
    assert len(holidays) == 1 + 12 + 12

    line = ok(
        run(
            "sla",
            "calendars",
            "add",
            "Night desk",
            "--timezone",
            "UTC",
            "--interval",
            "sun=22:00-24:00",
        )
    )
    assert line.startswith("created calendar Night desk (id ")
    assert line.rstrip().endswith("1 working intervals, 0 holidays")


def test_show_and_list_print_the_apis_document(run: Run, env: dict[str, str]) -> None:
    created = add(run, *MUNICH, "--holiday", "2026-12-24=Christmas Eve")
    assert as_json(run("sla", "calendars", "show", "  MUNICH office ", "--json")) == created
    assert as_json(run("sla", "calendars", "show", created["id"], "--json")) == created
    assert as_json(run("sla", "calendars", "list", "--json")) == [created]

    services = bootstrap(load_settings(env, env_file=None))
    try:
        services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff("root@example.com", "Root", PASSWORD, StaffRole.ADMIN),
        )
        token = services.auth.login(Login("root@example.com", PASSWORD)).access_token
        client = falcon.testing.TestClient(create_app(services))
        answer = client.simulate_get(
            f"/api/v1/admin/calendars/{created['id']}",
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        services.close()
    assert answer.json == created

    shown = ok(run("sla", "calendars", "show", "munich office"))
    assert shown.splitlines()[:3] == [
        f"Munich office (id {created['id']})",
        "time zone  Europe/Berlin",
        "state      active, version 1",
    ]
    assert "  mon  09:00-12:30" in shown
    assert "  2026-12-24  Christmas Eve" in shown

    table = ok(run("sla", "calendars", "list")).splitlines()
    assert table[0].split() == ["ID", "NAME", "TIMEZONE", "INTERVALS", "HOLIDAYS", "ACTIVE"]
    assert table[1].split() == [
        created["id"],
        "Munich",
        "office",
        "Europe/Berlin",
        "10",
        "1",
        "yes",
    ]


def test_deactivate_keeps_the_calendar_and_says_so_the_second_time(run: Run) -> None:
    created = add(run, *MUNICH)
    assert ok(run("sla", "calendars", "deactivate", "Munich office")) == (
        f"deactivated calendar Munich office (id {created['id']})\n"
    )
    again = as_json(run("sla", "calendars", "deactivate", created["id"], "--json"))
    assert (again["active"], again["version"]) == (False, 2)
    assert ok(run("sla", "calendars", "deactivate", "munich OFFICE")).startswith(
        "already deactivated calendar Munich office"
    )
    assert as_json(run("sla", "calendars", "list", "--active", "--json")) == []
    assert [c["id"] for c in as_json(run("sla", "calendars", "list", "--inactive", "--json"))] == [
        created["id"]
    ]


@pytest.mark.parametrize("command", ["show", "deactivate"])
def test_a_calendar_that_is_not_there_is_refused(run: Run, command: str) -> None:
    add(run, *MUNICH)
    refused(
        run("sla", "calendars", command, "Hamburg office"), "no calendar named 'Hamburg office'"
    )
    missing = str(uuid.UUID(int=5))
    refused(run("sla", "calendars", command, missing), f"no calendar with id {missing}")


# ---------------------------------------------------------------- compute


def test_compute_prints_the_due_instant_in_utc_and_in_the_calendars_zone(run: Run) -> None:
    add(run, *MUNICH, "--holiday", "2026-12-24=Christmas Eve")
    # Wednesday 16:00 in Munich plus 4 hours: one that day, none on Christmas Eve, then
    # 09:00-12:00 on Friday is 12:00 in Munich, 11:00 UTC.
    args = ("sla", "compute", "munich office", "2026-12-23T16:00+01:00", "240")
    assert ok(run(*args)) == "2026-12-25T11:00:00+00:00  (Fri 2026-12-25 12:00 Europe/Berlin)\n"
    assert as_json(run(*args, "--json")) == {"due_at": "2026-12-25T11:00:00+00:00"}


@pytest.mark.parametrize(
    ("start", "minutes", "code", "message"),
    [
        ("2026-12-23T16:00", "240", 1, "error: START: must include a UTC offset"),
        ("tomorrow", "240", 2, "START 'tomorrow': must be a timestamp with its offset"),
        ("2026-12-23T16:00Z", "4h", 2, "MINUTES '4h': must be a whole number of minutes"),
        ("2026-12-23T16:00Z", "99999999999", 1, "error: MINUTES: is more business time than"),
    ],
)
def test_compute_refuses_bad_input_in_one_line(
    run: Run, start: str, minutes: str, code: int, message: str
) -> None:
    add(run, *MUNICH)
    result = run("sla", "compute", "Munich office", start, minutes)
    if code == 1:
        refused(result, message)
    else:
        usage_error(result, message)


# ---------------------------------------------------------------- bad input to add


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--interval", "monday=09:00-17:00"),
            "--interval 'monday=09:00-17:00': must be DAY=HH:MM",
        ),
        (("--interval", "mon-xyz=09:00-17:00"), "'xyz' is not a day"),
        (("--interval", "fri-mon=09:00-17:00"), "fri-mon runs backwards"),
        (("--interval", "mon 09:00-17:00"), "must be DAY=HH:MM-HH:MM"),
        ((), "--interval: give at least one"),
        (
            ("--interval", "mon=09:00-17:00", "--holiday", "24.12.2026=Eve"),
            "must be YYYY-MM-DD=NAME",
        ),
        (
            ("--interval", "mon=09:00-17:00", "--holiday", "2026-02-30=No"),
            "2026-02-30 is not a date",
        ),
        (
            ("--interval", "mon=09:00-17:00", "--years", "2026"),
            "--years: only with --holidays-from",
        ),
        (("--interval", "mon=09:00-17:00", "--holidays-from", "DE"), "name the years too"),
        (
            ("--interval", "mon=09:00-17:00", "--holidays-from", "D-E"),
            "must be COUNTRY or COUNTRY:",
        ),
        (
            ("--interval", "mon=09:00-17:00", "--holidays-from", "DE", "--years", "2026;2027"),
            "must be years separated by commas",
        ),
    ],
)
def test_malformed_options_are_bad_usage_and_store_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    usage_error(run("sla", "calendars", "add", "Office", "--timezone", "UTC", *args), message)
    nothing_stored(run)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--timezone", "Europe/Atlantis", "--interval", "mon=09:00-17:00"),
            "error: --timezone: must be an IANA time zone name",
        ),
        (
            (
                "--timezone",
                "UTC",
                "--interval",
                "mon-fri=09:00-17:00",
                "--interval",
                "tue=16:00-18:00",
            ),
            "error: --interval 'tue=16:00-18:00': tue 16:00-18:00 overlaps "
            "--interval 'mon-fri=09:00-17:00' (tue)",
        ),
        (
            ("--timezone", "UTC", "--interval", "mon=17:00-09:00"),
            "error: --interval 'mon=17:00-09:00': must be later than the start",
        ),
        (
            ("--timezone", "UTC", "--interval", "mon=24:00-24:00"),
            "error: --interval 'mon=24:00-24:00': 24:00 is allowed only as the end",
        ),
        (
            ("--timezone", "UTC", "--interval", "mon=9-17"),
            "error: --interval 'mon=9-17': must be a time of day as HH:MM",
        ),
        (
            ("--timezone", "UTC", "--interval", "mon=09:00-17:00", "--holiday", "2026-12-24="),
            "error: --holiday '2026-12-24=': ",
        ),
        (
            (
                "--timezone",
                "UTC",
                "--interval",
                "mon=09:00-17:00",
                "--holidays-from",
                "XX",
                "--years",
                "2026",
            ),
            "error: --holidays-from 'XX': 'XX' is not a country code",
        ),
        (
            (
                "--timezone",
                "UTC",
                "--interval",
                "mon=09:00-17:00",
                "--holidays-from",
                "DE:ZZ",
                "--years",
                "2026",
            ),
            "error: --holidays-from 'DE:ZZ': 'ZZ' is not a subdivision of DE",
        ),
        (
            (
                "--timezone",
                "UTC",
                "--interval",
                "mon=09:00-17:00",
                "--holidays-from",
                "DE",
                "--years",
                "1850",
            ),
            "error: --years '1850': must be a year from 1900 to 2200",
        ),
        (
            (
                "--timezone",
                "UTC",
                "--interval",
                "mon=09:00-17:00",
                "--holidays-from",
                "DE",
                "--years",
                ",".join(map(str, range(2020, 2031))),
            ),
            "must name from 1 to 10 years",
        ),
    ],
)
def test_a_refusal_of_the_core_names_the_option_and_stores_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    refused(run("sla", "calendars", "add", "Office", *args), message)
    nothing_stored(run)


def test_a_taken_name_is_refused(run: Run) -> None:
    add(run, *MUNICH)
    result = run(
        "sla",
        "calendars",
        "add",
        " munich  OFFICE",
        "--timezone",
        "UTC",
        "--interval",
        "mon=09:00-10:00",
    )
    refused(result, "Munich office")
    assert len(as_json(run("sla", "calendars", "list", "--json"))) == 1


# ---------------------------------------------------------------- policies

URGENT = (
    "Urgent support",
    "--priority",
    "urgent",
    "--target",
    "urgent:first_response=30",
    "--target",
    "URGENT:resolution=480",
)


def add_policy(run: Run, *args: str) -> dict[str, Any]:
    created: dict[str, Any] = as_json(run("sla", "policies", "add", *args, "--json"))
    return created


def no_policy_stored(run: Run) -> None:
    assert as_json(run("sla", "policies", "list", "--json")) == []


def api_document(env: dict[str, str], path: str) -> Any:
    """What ``GET path`` answers an administrator over HTTP, on the same database."""
    services = bootstrap(load_settings(env, env_file=None))
    try:
        services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff("root@example.com", "Root", PASSWORD, StaffRole.ADMIN),
        )
        token = services.auth.login(Login("root@example.com", PASSWORD)).access_token
        client = falcon.testing.TestClient(create_app(services))
        return client.simulate_get(path, headers={"Authorization": f"Bearer {token}"}).json
    finally:
        services.close()


def test_policies_add_resolves_names_and_prints_the_apis_document(
    run: Run, env: dict[str, str]
) -> None:
    ok(run("departments", "add", "Support"))
    ok(run("departments", "add", "Billing"))
    office = add(run, *MUNICH)
    created = add_policy(
        run,
        *URGENT,
        "--priority",
        "HIGH",
        "--target",
        "high:next_response=120",
        "--department",
        "support",
        "--department",
        " BILLING",
        "--calendar",
        "munich OFFICE",
        "--position",
        "5",
        "--pause-status",
        "pending",
        "--pause-status",
        "open",
        "--warn-before",
        "15",
        "--on-reopen",
        "restart",
    )
    departments = {d["name"]: d["id"] for d in as_json(run("departments", "list", "--json"))}
    assert sorted(created["department_ids"]) == sorted(departments.values())
    assert (created["calendar_id"], created["position"]) == (office["id"], 5)
    assert created["priorities"] == ["high", "urgent"]
    assert created["targets"] == {
        "high": {"first_response": None, "next_response": 120, "resolution": None},
        "urgent": {"first_response": 30, "next_response": None, "resolution": 480},
    }
    assert (created["pause_statuses"], created["warn_before"]) == (["open", "pending"], 15)
    assert (created["on_reopen"], created["active"], created["version"]) == ("restart", True, 1)

    assert as_json(run("sla", "policies", "show", " urgent SUPPORT", "--json")) == created
    assert as_json(run("sla", "policies", "show", created["id"], "--json")) == created
    assert as_json(run("sla", "policies", "list", "--json")) == [created]
    assert api_document(env, f"/api/v1/admin/sla-policies/{created['id']}") == created

    line = ok(run("sla", "policies", "add", "Everything else", "--target", "low:resolution=9600"))
    assert line.startswith("created policy Everything else (id ")
    assert line.rstrip().endswith("): targets for low")


def test_policies_show_and_list_print_text(run: Run) -> None:
    ok(run("departments", "add", "Support"))
    created = add_policy(run, *URGENT, "--department", "Support", "--warn-before", "15")
    add_policy(run, "Around the clock", "--target", "normal:resolution=2400", "--position", "9")

    shown = ok(run("sla", "policies", "show", "urgent support")).splitlines()
    assert shown == [
        f"Urgent support (id {created['id']})",
        "state         active, version 1, position 0",
        "departments   Support",
        "priorities    urgent",
        "calendar      none (around the clock)",
        "targets",
        "  urgent  first response 30m, next response -, resolution 480m",
        "pauses on     pending",
        "warns         15 minutes before a due time",
        "on reopen     continue",
    ]

    table = ok(run("sla", "policies", "list")).splitlines()
    assert table[0].split() == [
        "ID",
        "NAME",
        "POSITION",
        "DEPARTMENTS",
        "PRIORITIES",
        "CALENDAR",
        "ACTIVE",
    ]
    assert table[1].split() == [created["id"], "Urgent", "support", "0", "1", "urgent", "-", "yes"]
    assert table[2].split()[1:] == ["Around", "the", "clock", "9", "any", "any", "-", "yes"]


def test_policies_deactivate_says_so_the_second_time(run: Run) -> None:
    created = add_policy(run, *URGENT)
    assert ok(run("sla", "policies", "deactivate", "Urgent support")) == (
        f"deactivated policy Urgent support (id {created['id']})\n"
    )
    again = as_json(run("sla", "policies", "deactivate", created["id"], "--json"))
    assert (again["active"], again["version"]) == (False, 2)
    assert ok(run("sla", "policies", "deactivate", "URGENT support")).startswith(
        "already deactivated policy Urgent support"
    )
    assert as_json(run("sla", "policies", "list", "--active", "--json")) == []
    inactive = as_json(run("sla", "policies", "list", "--inactive", "--json"))
    assert [p["id"] for p in inactive] == [created["id"]]


@pytest.mark.parametrize("command", ["show", "deactivate"])
def test_a_policy_that_is_not_there_is_refused(run: Run, command: str) -> None:
    add_policy(run, *URGENT)
    refused(run("sla", "policies", command, "Gold"), "no policy named 'Gold'")
    missing = str(uuid.UUID(int=5))
    refused(run("sla", "policies", command, missing), f"no policy with id {missing}")


def test_recalc_prints_how_many_tickets_it_looked_at(run: Run, env: dict[str, str]) -> None:
    services = bootstrap(load_settings(env, env_file=None))
    try:
        services.auth.register(Register("ann@example.com", PASSWORD, "Ann"))
        token = services.auth.login(Login("ann@example.com", PASSWORD)).access_token
        ann = services.auth.authenticate(token)
        for subject in ("Printer", "Scanner"):
            services.tickets.open_ticket(ann, OpenTicket(subject, "On fire."))
    finally:
        services.close()
    assert ok(run("sla", "recalc")) == "looked at 2 tickets\n"  # open, without a policy
    created = add_policy(run, "Everything", "--target", "normal:resolution=2400")
    assert as_json(run("sla", "recalc", "--json")) == {"tickets": 2}
    tickets = api_document(env, "/api/v1/staff/tickets")["items"]
    assert [t["sla"]["policy_id"] for t in tickets] == [created["id"]] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--target: give at least one, such as --target urgent:first_response=30"),
        (("--target", "urgent=30"), "--target 'urgent=30': must be PRIORITY:METRIC=MINUTES"),
        (("--target", "urgent:resolution"), "must be PRIORITY:METRIC=MINUTES"),
        (
            ("--target", "urgent:resolution=8h"),
            "--target 'urgent:resolution=8h': must be a whole number",
        ),
        (("--target", "urgent:resolution=-5"), "must be a whole number"),
        (
            ("--target", "urgent:resolution=480", "--target", "urgent:resolution=240"),
            "urgent:resolution is given twice",
        ),
        (
            ("--target", "urgent:resolution=480", "--position", "first"),
            "--position 'first': must be a whole number",
        ),
        (
            ("--target", "urgent:resolution=480", "--warn-before", "-1"),
            "--warn-before '-1': must be a whole number",
        ),
    ],
)
def test_malformed_policy_options_are_bad_usage_and_store_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    usage_error(run("sla", "policies", "add", "Gold", *args), message)
    no_policy_stored(run)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "urgent:resolution=0"), "error: --target 'urgent:resolution=0': must be"),
        (
            ("--target", "critical:resolution=60"),
            "error: --target 'critical:resolution=60': must be one of low, normal, high, urgent",
        ),
        (
            ("--target", "urgent:first_reply=60"),
            "error: --target 'urgent:first_reply=60': must be one of first_response, ",
        ),
        (
            ("--target", "urgent:resolution=60", "--priority", "critical"),
            "error: --priority 'critical': must be one of low, normal, high, urgent",
        ),
        (
            ("--target", "urgent:resolution=60", "--pause-status", "closed"),
            "error: --pause-status 'closed': must be a status of open work",
        ),
        (
            ("--target", "urgent:resolution=60", "--on-reopen", "later"),
            "error: --on-reopen 'later': must be one of continue, restart",
        ),
        (
            ("--target", "urgent:resolution=60", "--position", "2000000"),
            "error: --position '2000000': must be between 0 and 1000000",
        ),
        (
            ("--target", "urgent:resolution=60", "--warn-before", "200000"),
            "error: --warn-before '200000': must be between 0 and 100000",
        ),
        (
            ("--target", "urgent:resolution=60", "--department", "Nowhere"),
            "error: no department named 'Nowhere'",
        ),
        (
            ("--target", "urgent:resolution=60", "--calendar", "Nowhere"),
            "error: no calendar named 'Nowhere'",
        ),
    ],
)
def test_a_policy_the_core_refuses_names_the_option_and_stores_nothing(
    run: Run, args: tuple[str, ...], message: str
) -> None:
    refused(run("sla", "policies", "add", "Gold", *args), message)
    no_policy_stored(run)


def test_a_taken_policy_name_is_refused(run: Run) -> None:
    add_policy(run, *URGENT)
    refused(
        run("sla", "policies", "add", " urgent  SUPPORT", "--target", "low:resolution=60"),
        "Urgent support",
    )
    assert len(as_json(run("sla", "policies", "list", "--json"))) == 1


# ---------------------------------------------------------------- --help


def test_every_sla_command_has_help(run: Run) -> None:
    group = register_commands().commands["sla"]
    assert isinstance(group, click.Group)
    calendars = group.commands["calendars"]
    policies = group.commands["policies"]
    assert isinstance(calendars, click.Group)
    assert isinstance(policies, click.Group)
    assert sorted(group.commands) == ["calendars", "compute", "policies", "recalc"]
    paths = [("sla",), *[("sla", name) for name in group.commands]] + [
        ("sla", sub.name or "", name) for sub in (calendars, policies) for name in sub.commands
    ]
    assert sorted(calendars.commands) == ["add", "deactivate", "list", "show"]
    assert sorted(policies.commands) == ["add", "deactivate", "list", "show"]
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith(f"Usage: cli {' '.join(path)}")
