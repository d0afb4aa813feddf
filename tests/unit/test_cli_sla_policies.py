"""``helpdesk sla policies add|list|show|deactivate`` and ``helpdesk sla recalc`` end to end on a
migrated SQLite file: exit codes, the one-line errors naming the option at fault, that a
refusal stores nothing, and that ``--json`` is the API's document. The runner and helpers are
the calendar commands' (test_cli_sla.py); what policies do to tickets' clocks is tested in
tests/sla/.
"""

from __future__ import annotations

import uuid
from typing import Any

import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import Login, Register
from helpdesk_core.usecases.org import CreateStaff
from helpdesk_core.usecases.tickets import OpenTicket
from tests.unit.test_cli_admin import PASSWORD, Run, as_json, ok, refused
from tests.unit.test_cli_sla import MUNICH, add, env, run, usage_error

__all__ = ["env", "run"]  # the fixtures this module's tests take


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
