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
from helpdesk_core.usecases.auth import Login
from helpdesk_core.usecases.org import CreateStaff
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
