"""``helpdesk demo`` and ``helpdesk tickets list|show`` end to end on a migrated SQLite file.

One demo database (60 tickets, seed 1) is built per module and only read afterwards; the tests
that need an empty database make their own. They pin: every status in the sample, the filters,
keyset paging that visits every ticket once, the conversation with internal notes marked, the
exit codes (0 done, 1 refused, 2 bad input) with one-line errors, and that the demo's accounts
log in over HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import bootstrap
from entrypoints.cli.demo import DEFAULT_PASSWORD
from entrypoints.cli.main import cli, register_commands
from entrypoints.config import load_settings

Run = Callable[..., Result]
TICKETS = 60
STATUSES = {"new", "open", "pending", "resolved", "closed"}


def _env(db: Path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": f"sqlite:///{db}",
        "HELPDESK_ARGON2_MEMORY_KIB": "1024",
        "HELPDESK_ARGON2_TIME_COST": "1",
        "HELPDESK_ARGON2_PARALLELISM": "1",
        "HELPDESK_SECRET_KEYS": "test-secret-key-for-the-cli-ticket-tests-0123456789",
    }


def _runner(folder: Path) -> tuple[Run, dict[str, str]]:
    """A migrated, empty database in ``folder`` and a way to run commands against it."""
    register_commands()
    runner = CliRunner()
    env = _env(folder / "hd.db")

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--env-file", str(folder / "none.env"), *args], env=env)

    migrated = invoke("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    return invoke, env


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, str], str]:
    """The demo's database (read-only for the tests), its environment, the demo's output."""
    run, env = _runner(tmp_path_factory.mktemp("demo"))
    out = ok(run("demo", "--tickets", str(TICKETS), "--seed", "1"))
    return run, env, out


@pytest.fixture
def run(sample: tuple[Run, dict[str, str], str]) -> Run:
    return sample[0]


@pytest.fixture(scope="module")
def everything(sample: tuple[Run, dict[str, str], str]) -> list[dict[str, Any]]:
    return listed(sample[0], "--limit", "100")


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def failed(result: Result, code: int, message: str) -> None:
    """Exit ``code`` with exactly one line on stderr, ``error: ...`` containing ``message``."""
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def page(run: Run, *args: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(ok(run("tickets", "list", "--json", *args)))
    return body


def listed(run: Run, *args: str) -> list[dict[str, Any]]:
    """Every ticket the filters select, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor: list[str] = []
    while True:
        body = page(run, *args, *cursor)
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        cursor = ["--cursor", body["next_cursor"]]


def show(run: Run, ticket_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(ok(run("tickets", "show", ticket_id, "--json")))
    return body


def history(run: Run, ticket_id: str) -> list[dict[str, Any]]:
    body = json.loads(ok(run("tickets", "history", ticket_id, "--json")))
    assert body["next_cursor"] is None
    items: list[dict[str, Any]] = body["items"]
    return items


def name(reference: dict[str, Any] | None) -> str | None:
    """The name in a reference ({id, name} or {id, display_name}), None for none."""
    if reference is None:
        return None
    return reference.get("name", reference.get("display_name"))


def ref_id(reference: dict[str, Any] | None) -> str | None:
    return reference["id"] if reference is not None else None


# ---------------------------------------------------------------- help


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("tickets",), ["list", "show"]),
        (
            ("tickets", "list"),
            [
                "--status",
                "--priority",
                "--department",
                "--team",
                "--assignee",
                "--unassigned",
                "--created-from",
                "--created-to",
                "--search",
                "--sort",
                "--limit",
                "--cursor",
                "--json",
            ],
        ),
        (("tickets", "show"), ["NUMBER_OR_ID", "--json"]),
        (("demo",), ["--tickets", "--seed", "--password", "--base-url", "EMPTY"]),
    ],
)
def test_help(args: tuple[str, ...], expected: list[str]) -> None:
    register_commands()
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    for word in expected:
        assert word in result.output


# ---------------------------------------------------------------- the demo


def test_demo_fills_every_status_and_says_how_to_log_in(
    sample: tuple[Run, dict[str, str], str], everything: list[dict[str, Any]]
) -> None:
    out = sample[2]
    assert len(everything) == TICKETS
    assert len({t["id"] for t in everything}) == TICKETS
    assert sorted(t["number"] for t in everything) == list(range(1, TICKETS + 1))
    assert {t["status"] for t in everything} == STATUSES
    assert {t["priority"] for t in everything} == {"low", "normal", "high", "urgent"}
    assert {name(t["department"]) for t in everything} >= {
        "Billing",
        "Technical support",
        "Accounts",
        "Shipping",
    }
    assert any(t["assignee"] is None for t in everything)
    assert any(t["team"] is not None for t in everything)
    assert all(t["closed_at"] is not None for t in everything if t["status"] == "closed")
    # The timeline spreads over weeks, and the newest ticket has the highest number.
    created = sorted(t["created_at"] for t in everything)
    assert created[0][:10] != created[-1][:10]
    assert max(everything, key=lambda t: t["created_at"])["number"] == TICKETS

    assert DEFAULT_PASSWORD in out
    for role in ("admin", "lead", "agent", "customer"):
        assert re.search(rf"^  {role} +\S+@\S+", out, re.MULTILINE), out
    assert "scripts/run_dev.sh" in out
    assert "curl" in out
    assert "/api/v1/auth/login" in out


def test_the_demo_organization_has_every_role_and_a_deactivated_agent(run: Run) -> None:
    staff = json.loads(ok(run("staff", "list", "--json")))
    assert {s["role"] for s in staff} == {"admin", "lead", "agent"}
    assert [s["active"] for s in staff].count(False) == 1
    departments = json.loads(ok(run("departments", "list", "--json")))
    assert len(departments) == 4
    assert any(d["auto_assign"] for d in departments)
    assert not all(d["auto_assign"] for d in departments)
    teams = json.loads(ok(run("teams", "list", "--json")))
    assert len(teams) == 8


def test_demo_refuses_a_database_that_has_data(run: Run) -> None:
    failed(run("demo", "--tickets", "5"), 1, "already holds data")
    assert len(page(run, "--limit", "100")["items"]) == TICKETS


def test_demo_refuses_a_password_that_breaks_the_rules_before_writing(tmp_path: Path) -> None:
    fresh, _ = _runner(tmp_path)
    failed(fresh("demo", "--tickets", "5", "--password", "short"), 2, "--password")
    assert json.loads(ok(fresh("departments", "list", "--json"))) == []


def test_the_same_seed_gives_the_same_sample(tmp_path: Path) -> None:
    first, _ = _runner(tmp_path / "a")
    second, _ = _runner(tmp_path / "b")
    ok(first("demo", "--tickets", "12", "--seed", "42"))
    ok(second("demo", "--tickets", "12", "--seed", "42"))

    def shape(run: Run) -> list[tuple[Any, ...]]:
        return [
            (
                t["number"],
                t["subject"],
                t["status"],
                t["priority"],
                name(t["department"]),  # by name: ids hold the time they were made
                name(t["assignee"]),
            )
            for t in listed(run, "--limit", "100")
        ]

    assert shape(first) == shape(second)


def test_the_demo_accounts_log_in_over_http(sample: tuple[Run, dict[str, str], str]) -> None:
    _, env, out = sample
    emails = dict(re.findall(r"^  (admin|lead|agent|customer) +(\S+@\S+)", out, re.MULTILINE))
    from entrypoints.http.app import create_app

    services = bootstrap(load_settings(env, env_file=None))
    try:
        client = falcon.testing.TestClient(create_app(services))
        for role, email in emails.items():
            login = client.simulate_post(
                "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
            )
            assert login.status_code == 200, login.text
            assert login.json["user"]["role"] == role
        token = client.simulate_post(
            "/api/v1/auth/login",
            json={"email": emails["customer"], "password": DEFAULT_PASSWORD},
        ).json["access_token"]
        mine = client.simulate_get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200, mine.text
    finally:
        services.close()


# ---------------------------------------------------------------- list: filters


def test_status_filter_is_repeatable(run: Run, everything: list[dict[str, Any]]) -> None:
    pending = listed(run, "--status", "pending")
    assert pending
    assert {t["id"] for t in pending} == {t["id"] for t in everything if t["status"] == "pending"}
    two = listed(run, "--status", "NEW", "--status", "closed")
    assert {t["id"] for t in two} == {
        t["id"] for t in everything if t["status"] in {"new", "closed"}
    }


def test_priority_department_team_and_assignee_filters(
    run: Run, everything: list[dict[str, Any]]
) -> None:
    billing = listed(run, "--department", "billing")
    assert billing
    assert {t["id"] for t in billing} == {
        t["id"] for t in everything if name(t["department"]) == "Billing"
    }
    urgent = listed(run, "--priority", "urgent")
    assert {t["id"] for t in urgent} == {t["id"] for t in everything if t["priority"] == "urgent"}

    with_team = next(t for t in everything if t["team"] is not None)
    in_team = listed(
        run, "--department", ref_id(with_team["department"]), "--team", name(with_team["team"])
    )
    assert with_team["id"] in {t["id"] for t in in_team}
    assert {ref_id(t["team"]) for t in in_team} == {ref_id(with_team["team"])}

    staff = {s["id"]: s["email"] for s in json.loads(ok(run("staff", "list", "--json")))}
    assignee = next(ref_id(t["assignee"]) for t in everything if ref_id(t["assignee"]) in staff)
    theirs = listed(run, "--assignee", staff[assignee].upper())
    assert theirs
    assert {t["id"] for t in theirs} == {
        t["id"] for t in everything if ref_id(t["assignee"]) == assignee
    }


def test_unassigned_filter(run: Run, everything: list[dict[str, Any]]) -> None:
    unassigned = listed(run, "--unassigned")
    assert unassigned
    assert {t["id"] for t in unassigned} == {t["id"] for t in everything if t["assignee"] is None}


def test_created_range_filters(run: Run, everything: list[dict[str, Any]]) -> None:
    ordered = sorted(everything, key=lambda t: t["created_at"])
    middle = ordered[TICKETS // 2]["created_at"]
    later = listed(run, "--created-from", middle)
    earlier = listed(run, "--created-to", middle)
    assert {t["id"] for t in later} == {t["id"] for t in ordered[TICKETS // 2 :]}
    assert {t["id"] for t in earlier} == {t["id"] for t in ordered[: TICKETS // 2]}
    day = ordered[0]["created_at"][:10]  # a bare date is midnight UTC
    assert len(listed(run, "--created-from", day)) == TICKETS


def test_search_finds_a_word_of_the_templates(run: Run) -> None:
    found = listed(run, "--search", "Refund")
    assert 0 < len(found) < TICKETS
    word = re.compile(r"\brefund\b", re.IGNORECASE)
    for ticket in found:
        detail = show(run, ticket["id"])
        texts = [detail["subject"], detail["description"], *(m["body"] for m in detail["messages"])]
        assert any(word.search(text) for text in texts), detail["subject"]
    best_first = listed(run, "--search", "refund", "--sort", "relevance")
    assert {t["id"] for t in best_first} == {t["id"] for t in found}


# ---------------------------------------------------------------- list: paging


def test_text_paging_visits_every_ticket_once(run: Run) -> None:
    numbers: list[int] = []
    cursor: list[str] = []
    pages = 0
    while True:
        out = ok(run("tickets", "list", "--limit", "7", *cursor))
        pages += 1
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["NUMBER", "ID", "STATUS"]
        body = [line for line in lines[1:] if not line.startswith("next: ")]
        assert len(body) <= 7
        numbers += [int(line.split()[0].lstrip("#")) for line in body]
        if not lines[-1].startswith("next: --cursor "):
            break
        cursor = ["--cursor", lines[-1].removeprefix("next: --cursor ")]
    assert pages == -(-TICKETS // 7)
    assert sorted(numbers) == list(range(1, TICKETS + 1))
    assert numbers == sorted(numbers, reverse=True)  # newest first by default


@pytest.mark.parametrize("sort", ["created", "-updated", "priority", "-priority"])
def test_json_paging_visits_every_ticket_once_in_every_order(run: Run, sort: str) -> None:
    items = listed(run, "--sort", sort, "--limit", "9")
    assert len(items) == TICKETS
    assert len({t["id"] for t in items}) == TICKETS


def test_a_filtered_page_continues_with_the_same_filter(
    run: Run, everything: list[dict[str, Any]]
) -> None:
    closed = listed(run, "--status", "closed", "--limit", "3")
    assert len(closed) == sum(1 for t in everything if t["status"] == "closed")


# ---------------------------------------------------------------- show


def _with_internal_note(run: Run, everything: list[dict[str, Any]]) -> dict[str, Any]:
    for ticket in everything:
        if ticket["status"] in {"new"}:
            continue
        detail = show(run, ticket["id"])
        visibilities = {m["visibility"] for m in detail["messages"]}
        if visibilities == {"public", "internal"}:
            return detail
    raise AssertionError("the demo wrote no internal note")


def test_show_prints_the_conversation_with_internal_notes_marked_and_the_history(
    run: Run, everything: list[dict[str, Any]]
) -> None:
    detail = _with_internal_note(run, everything)
    changes = history(run, detail["id"])
    assert changes[0]["field"] == "ticket"
    times = [h["created_at"] for h in changes]
    assert times == sorted(times)
    # A staff reply opens a new ticket: one use case, one moment, the reply recorded first.
    fields = [(h["field"], h["new_value"]) for h in changes]
    opened = fields.index(("status", "open"))
    assert fields[opened - 1][0] == "message"
    assert changes[opened - 1]["created_at"] == changes[opened]["created_at"]
    assert {h["field"] for h in changes} >= {"ticket", "message", "status"}
    assert detail["description"]

    out = ok(run("tickets", "show", detail["id"]))
    assert out.startswith(f"#{detail['number']}  {detail['subject']}\n")
    requester = next(line for line in out.splitlines() if line.strip().startswith("requester"))
    assert f"{detail['requester']['display_name']} <" in requester  # with the email
    for label in ("Description", "Conversation", "Attachments", "History"):
        assert f"\n{label} (" in out or f"\n{label}\n" in out
    lines = out.splitlines()
    for message in detail["messages"]:
        first_line = message["body"].splitlines()[0]
        at = next(i for i, line in enumerate(lines) if line.strip() == first_line)
        header = lines[at - 1]
        assert header.lstrip().startswith("-- ")
        assert header.endswith("[internal]") == (message["visibility"] == "internal")
    assert "added an internal note" in out
    assert "status: new -> open" in out


def test_show_lists_attachments(run: Run, everything: list[dict[str, Any]]) -> None:
    for ticket in everything:
        detail = show(run, ticket["id"])
        if detail["attachments"]:
            break
    else:
        raise AssertionError("the demo attached nothing")
    attachment = detail["attachments"][0]
    assert attachment["url"].startswith("https://")
    out = ok(run("tickets", "show", detail["id"]))
    assert attachment["filename"] in out
    assert any(h["field"] == "attachment" for h in history(run, detail["id"]))


def test_show_an_unknown_id_is_refused(run: Run) -> None:
    failed(run("tickets", "show", "00000000-0000-4000-8000-000000000000"), 1, "no such ticket")


def test_history_refuses_what_names_no_ticket(run: Run) -> None:
    failed(run("tickets", "history", "five"), 2, "neither a ticket id nor a ticket number")
    failed(run("tickets", "history", "#999999"), 1, "no such ticket: #999999")
    failed(run("tickets", "history", "00000000-0000-4000-8000-000000000000"), 1, "no such ticket")


def test_history_without_json_prints_the_changes_by_name(
    run: Run, everything: list[dict[str, Any]]
) -> None:
    ticket = next(t for t in everything if t["assignee"] is not None)
    out = ok(run("tickets", "history", f"#{ticket['number']}"))
    assert out.startswith("History (")
    assert "assignee: " in out
    assert ticket["assignee"]["display_name"] in out  # by name, not by id


@pytest.mark.parametrize("written", ["{n}", "#{n}", "# {n}", " {n} ", "000{n}"])
def test_show_finds_a_ticket_by_the_number_the_tables_print(
    run: Run, everything: list[dict[str, Any]], written: str
) -> None:
    ticket = everything[len(everything) // 2]
    number = ticket["number"]
    assert f"#{number} " in ok(run("tickets", "list", "--limit", "100"))
    by_number = show(run, written.format(n=number))
    assert by_number == show(run, ticket["id"])
    out = ok(run("tickets", "show", written.format(n=number)))
    assert out.startswith(f"#{number}  {ticket['subject']}\n")


def test_show_refuses_a_number_no_ticket_has(run: Run, everything: list[dict[str, Any]]) -> None:
    unknown = max(t["number"] for t in everything) + 1
    failed(run("tickets", "show", str(unknown)), 1, f"no such ticket: #{unknown}")
    failed(run("tickets", "show", "#0"), 2, "neither a ticket id nor a ticket number")
    failed(run("tickets", "show", "9" * 19), 1, "no such ticket")


@pytest.mark.parametrize("written", ["five", "#-5", "5.0", "٣", "#", "9" * 20])
def test_show_refuses_what_is_neither_an_id_nor_a_number(run: Run, written: str) -> None:
    failed(run("tickets", "show", written), 2, "neither a ticket id nor a ticket number")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--status", "waiting"), "--status: 'waiting' is not one of new, open"),
        (("--priority", "meh"), "--priority"),
        (("--sort", "oldest"), "--sort"),
        (("--created-from", "last tuesday"), "--created-from"),
        (("--created-to", "2024-13-01"), "--created-to"),
        (("--limit", "101"), "--limit: must be from 1 to 100"),
        (("--limit", "0"), "--limit"),
        (("--limit", "ten"), "--limit"),
        (("--cursor", "not-a-cursor!"), "--cursor"),
        (("--assignee", "x@example.com", "--unassigned"), "exclude each other"),
    ],
)
def test_bad_input_exits_2_with_one_line(run: Run, args: tuple[str, ...], message: str) -> None:
    failed(run("tickets", "list", *args), 2, message)


def test_a_cursor_of_another_order_is_bad_input(run: Run) -> None:
    cursor = page(run, "--limit", "5")["next_cursor"]
    failed(run("tickets", "list", "--sort", "priority", "--cursor", cursor), 2, "--cursor")


def test_unknown_names_are_refused(run: Run) -> None:
    failed(run("tickets", "list", "--department", "Marketing"), 1, "no department named")
    failed(run("tickets", "list", "--assignee", "nobody@example.com"), 1, "no staff member")
