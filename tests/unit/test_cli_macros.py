"""``helpdesk macros list|add|show`` end to end on a migrated SQLite file.

The commands act through the same use case as ``/api/v1/staff/macros``; these tests pin the
exit codes (0 done, 1 refused, 2 bad usage), the one-line errors, that a refusal stores
nothing, how ``--action NAME[=VALUE]`` reads its value, and that ``--json`` is the API's
document.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_cli_admin import as_json, ok, refused
from tests.unit.test_cli_sla import usage_error
from tests.unit.test_cli_tickets import _runner


def test_the_operator_saves_lists_and_shows_macros(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    billing = as_json(run("departments", "add", "Billing", "--json"))
    tier = as_json(run("teams", "add", "Tier 1", "--department", "billing", "--json"))
    made = as_json(
        run(
            "macros",
            "add",
            "Refund sent",
            "--department",
            "billing",
            "--action",
            "add_tags=refund, VIP ,",
            "--action",
            "assign_team=tier 1",
            "--action",
            'reply=Hi {{ customer.first_name | default("there") }}, a=b.',
            "--action",
            "set_status=pending",
            "--action",
            "follow",
            "--json",
        )
    )
    assert (made["name"], made["scope"], made["department_id"]) == (
        "Refund sent",
        "department",
        billing["id"],
    )
    assert made["actions"] == [
        {"action": "add_tags", "value": ["refund", "VIP"]},
        {"action": "assign_team", "value": tier["id"]},
        {"action": "reply", "value": 'Hi {{ customer.first_name | default("there") }}, a=b.'},
        {"action": "set_status", "value": "pending"},
        {"action": "follow", "value": None},
    ]
    assert made["created_by"] is None  # the operator is nobody's account
    everyone = ok(run("macros", "add", "Close", "--action", "set_status=closed"))
    assert everyone.startswith("created macro 'Close' (id ")
    assert everyone.endswith(", everyone)\n")

    listed = as_json(run("macros", "list", "--json"))
    assert [m["name"] for m in listed] == ["Close", "Refund sent"]
    assert listed[1] == made
    table = ok(run("macros", "list"))
    assert table.splitlines()[0].split() == ["ID", "NAME", "SCOPE", "ACTIONS", "VERSION"]
    assert "Refund sent" in table
    assert as_json(run("macros", "show", "REFUND SENT", "--json")) == made
    assert as_json(run("macros", "show", made["id"], "--json")) == made
    shown = ok(run("macros", "show", "refund sent"))
    assert '3. set_status = "pending"' in shown
    assert "4. follow\n" in shown


def test_bad_usage_exits_2_and_a_refusal_1_storing_nothing(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    ok(run("departments", "add", "Billing"))
    usage_error(run("macros", "add", "Nothing"), "--action: give at least one action")
    usage_error(run("macros", "add", "X", "--action", "fly"), "'fly' is not one of set_status")
    usage_error(
        run(
            "macros",
            "add",
            "X",
            "--scope",
            "everyone",
            "--department",
            "Billing",
            "--action",
            "follow",
        ),
        "--department: only a department's macro has one",
    )
    refused(
        run("macros", "add", "X", "--action", "follow", "--action", "set_priority=soon"),
        "actions.1.value: must be one of low, normal, high, urgent",
    )
    refused(
        run("macros", "add", "X", "--scope", "personal", "--action", "follow"),
        "scope: only staff members own personal macros",
    )
    refused(
        run("macros", "add", "X", "--action", "reply_canned=0f6d1c3e-5b7a-4e2f-9a1d-2c3b4a5d6e7f"),
        "actions.0.value: no such canned response",
    )
    refused(run("macros", "add", "X", "--action", "set_department=Nope"), "no department named")
    refused(run("macros", "show", "X"), "no macro named 'X'")
    assert json.loads(ok(run("macros", "list", "--json"))) == []
    assert ok(run("macros", "list")) == "(none)\n"
