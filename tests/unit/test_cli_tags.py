"""``helpdesk tickets tag`` and ``helpdesk tags list|rename|merge`` end to end on a migrated
SQLite file with the demo's tickets: the operator tags tickets, lists tags with their counts,
renames and merges them; ``--json`` prints the API's documents; bad input exits 2 and a
refusal 1, each with one line, changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_cli_tickets import _runner, failed, ok


def test_the_operator_tags_tickets_and_keeps_the_vocabulary(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    ok(run("demo", "--tickets", "3", "--seed", "1"))
    assert (
        ok(run("tickets", "tag", "1", "--add", " VIP ", "--add", "refund")) == "#1: refund, VIP\n"
    )
    shown = json.loads(ok(run("tickets", "tag", "2", "--add", "vip", "--json")))
    assert (shown["number"], shown["tags"]) == (2, ["VIP"])
    listed = json.loads(ok(run("tags", "list", "--json")))
    assert [(t["name"], t["tickets"]) for t in listed] == [("refund", 1), ("VIP", 2)]
    assert "VIP" in ok(run("tags", "list"))
    both = json.loads(ok(run("tickets", "list", "--tag", "vip", "--tag", "REFUND", "--json")))
    assert [t["number"] for t in both["items"]] == [1]

    failed(run("tags", "rename", "refund", "vip"), 1, "a tag named 'VIP' already exists")
    failed(run("tickets", "tag", "1"), 2, "name a tag with --add or --remove")
    failed(run("tags", "rename", "nothing", "x"), 1, "no tag is named 'nothing'")
    assert ok(run("tags", "rename", "vip", "Very important")) == (
        "'VIP' renamed to 'Very important' (2 tickets)\n"
    )
    merged = json.loads(ok(run("tags", "merge", "refund", "very  IMPORTANT", "--json")))
    assert (merged["name"], merged["tickets"]) == ("Very important", 2)
    assert json.loads(ok(run("tickets", "show", "1", "--json")))["tags"] == ["Very important"]
    assert ok(run("tickets", "tag", "1", "--remove", "very important")) == "#1: (no tags)\n"
