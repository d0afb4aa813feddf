"""``helpdesk macros apply`` end to end on a migrated SQLite file with the demo's tickets: a
macro on several tickets, each alone, one line each; a refused ticket exits 1 and keeps
nothing of the macro; ``--dry-run`` keeps nothing; ``--json`` prints the API's answer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_cli_tickets import _runner, failed, ok


def test_the_operator_applies_a_macro_to_tickets(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    ok(run("demo", "--tickets", "3", "--seed", "1"))
    ok(
        run(
            "macros",
            "add",
            "Refund",
            "--action",
            "add_tags=refund",
            "--action",
            "set_priority=high",
        )
    )
    assert ok(run("macros", "apply", "refund", "1", "2", "--dry-run")) == (
        "#1 ok (dry run)\n#2 ok (dry run)\n"
    )
    assert json.loads(ok(run("tickets", "show", "1", "--json")))["tags"] == []
    assert ok(run("macros", "apply", "Refund", "1", "2")) == "#1 ok\n#2 ok\n"
    shown = json.loads(ok(run("tickets", "show", "2", "--json")))
    assert (shown["tags"], shown["priority"]) == (["refund"], "high")

    ok(run("macros", "add", "Take", "--action", "add_tags=taken", "--action", "assign_to_me"))
    refused = run("macros", "apply", "Take", "3", "--json")
    assert refused.exit_code == 1
    (item,) = json.loads(refused.stdout)["items"]
    assert (item["ok"], item["error"]["code"]) == (False, "validation_failed")
    assert json.loads(ok(run("tickets", "show", "3", "--json")))["tags"] == []
    failed(run("macros", "apply", "Nothing", "1"), 1, "no macro named 'Nothing'")
    failed(run("macros", "apply", "Refund", *[str(n) for n in range(1, 102)]), 2, "at most 100")
