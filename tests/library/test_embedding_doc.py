"""docs/embedding.md runs: every Python block of the tutorial is executed, as a reader would run
it, on every store, and its operation table is held to the OpenAPI document.

The page marks its blocks with HTML comments on the line before them (invisible once rendered):

- ``<!-- example: NAME -->`` before a ```python block: a program. Blocks with the same NAME are
  one program, concatenated in the order of the page. Each program runs in a subprocess with
  this virtualenv's Python, in an empty working directory (so it uses only the installed
  package), once per store: ``memory://``, a SQLite file, PostgreSQL with Redis. The programs
  read the store from ``HELPDESK_DATABASE_URL`` and ``HELPDESK_REDIS_URL``, as the page says.
- ``<!-- output: NAME -->`` before a ```text block: lines the program NAME prints, in that
  order (each a whole line of its output; it may print others between them).
- ``<!-- not-run: WHY -->`` before a ```python block that is a fragment; at most
  ``MAX_NOT_RUN`` of those, so the page stays made of programs that run.
- ``<!-- operations -->`` before the table of operations and methods.

``SERVERS`` are the examples that serve until stopped: their own test starts them and talks to
them over HTTP instead.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

import helpdesk

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "embedding.md"
OPENAPI = ROOT / "docs" / "openapi.yaml"
MAX_NOT_RUN = 2
SERVERS = {"support-site"}
HOST_PROGRAM = "host-program"
RUN_TIMEOUT = 120  # seconds for one example program
API_PREFIX = "/api/v1"
OPS_ROUTES = ("/health", "/metrics", "/openapi.json")

_MARKER = re.compile(r"<!--\s*(example|output|not-run|operations)\s*:?\s*(.*?)\s*-->")
_METHOD_CELL = re.compile(r"`(Helpdesk|Acting)\.(\w+)`")


class Block(NamedTuple):
    """One fenced block of the page, with the marker on the line before it (or none)."""

    language: str
    marker: str | None  # example, output, not-run
    argument: str  # the example's name, the reason not to run
    text: str
    line: int


def page() -> str:
    return DOC.read_text(encoding="utf-8")


def blocks(text: str) -> list[Block]:
    """Every fenced block, in order of the page."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("```"):
            index += 1
            continue
        language, start = line[3:].strip(), index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence
        before = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = _MARKER.fullmatch(before.strip())
        kind, argument = (marker.group(1), marker.group(2)) if marker else (None, "")
        found.append(Block(language, kind, argument, "\n".join(body) + "\n", start + 1))
    return found


def examples(text: str) -> dict[str, str]:
    """Each example's program: its blocks joined in order of the page."""
    programs: dict[str, str] = {}
    for block in blocks(text):
        if block.language == "python" and block.marker == "example":
            programs[block.argument] = programs.get(block.argument, "") + block.text
    return programs


def expected_output(text: str, name: str) -> list[str]:
    """The lines the page says the example prints (none when it shows no output)."""
    lines: list[str] = []
    for block in blocks(text):
        if block.marker == "output" and block.argument == name:
            lines += [line.rstrip() for line in block.text.splitlines() if line.strip()]
    return lines


def assert_prints_in_order(stdout: str, wanted: list[str]) -> None:
    printed = [line.rstrip() for line in stdout.splitlines()]
    position = 0
    for line in wanted:
        assert line in printed[position:], (
            f"the page says the program prints {line!r} (after the lines before it); "
            f"it printed:\n{stdout}"
        )
        position = printed.index(line, position) + 1


# ---------------------------------------------------------------- the stores


def clean_environment(store: dict[str, str]) -> dict[str, str]:
    """This process's environment without helpdesk settings or a path into the checkout,
    plus the store's variables: a program sees only what the page tells the reader to set."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HELPDESK_") and key != "PYTHONPATH"
    }
    return kept | store


def run_example(
    name: str, store: dict[str, str], folder: Path, python: str = sys.executable
) -> str:
    """Run the example as a program of its own (with ``python``); its standard output."""
    program = folder / f"{name}.py"
    program.write_text(examples(page())[name], encoding="utf-8")
    try:
        done = subprocess.run(
            [python, program.name],
            cwd=folder,
            env=clean_environment(store),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"example {name!r} ran over {RUN_TIMEOUT} s; output:\n{expired.stdout}")
    assert done.returncode == 0, (
        f"example {name!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


# ---------------------------------------------------------------- the page's shape


def test_every_python_block_runs_or_says_why_not() -> None:
    python = [block for block in blocks(page()) if block.language == "python"]
    assert python, "docs/embedding.md has no Python block"
    unmarked = [block.line for block in python if block.marker not in {"example", "not-run"}]
    assert not unmarked, f"Python blocks on lines {unmarked} need <!-- example: NAME -->"
    fragments = [block for block in python if block.marker == "not-run"]
    assert all(block.argument for block in fragments), "a not-run block must say why"
    assert len(fragments) <= MAX_NOT_RUN, (
        f"{len(fragments)} fragments that do not run (at most {MAX_NOT_RUN}): make them programs"
    )


def test_every_shown_output_belongs_to_an_example() -> None:
    text = page()
    shown = {block.argument for block in blocks(text) if block.marker == "output"}
    assert shown <= set(examples(text)), f"output of no example: {shown - set(examples(text))}"
    unknown = SERVERS - set(examples(text))
    assert not unknown, f"SERVERS names no example of the page: {unknown}"


def test_the_host_program_is_short_has_no_password_and_shows_both_events() -> None:
    text = page()
    assert "<!-- example: host-program -->" in text
    owned = [block for block in blocks(text) if block.argument == HOST_PROGRAM]
    assert len([block for block in owned if block.language == "python"]) == 1, "ONE block"
    program = examples(text)[HOST_PROGRAM]
    lines = [line for line in program.splitlines() if line.strip()]
    assert len(lines) < 20, f"the short program has {len(lines)} lines"
    assert "password" not in program.lower()
    for call in ("ensure_customer(", "ensure_staff(", "as_user(", "subscribe("):
        assert call in program
    printed = "\n".join(expected_output(text, HOST_PROGRAM))
    assert "ticket.created" in printed
    assert "ticket.message_added" in printed


# ---------------------------------------------------------------- the programs run


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(examples(page())) - SERVERS))
def test_example_runs_and_prints_what_the_page_says(
    name: str, store: dict[str, str], tmp_path: Path
) -> None:
    stdout = run_example(name, store, tmp_path)
    assert_prints_in_order(stdout, expected_output(page(), name))


class Visitor:
    """One browser of the shop: its own cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def send(self, method: str, path: str, body: Any = None, form: str | None = None) -> Any:
        """(status, decoded JSON or text) of one request."""
        data, headers = None, {}
        if body is not None:
            data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        if form is not None:
            data = form.encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        url = self.base + path  # the shop's http://127.0.0.1:PORT
        request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
        try:
            with self._opener.open(request, timeout=30) as answer:
                status, raw, kind = answer.status, answer.read(), answer.headers["Content-Type"]
        except urllib.error.HTTPError as refused:
            status, raw, kind = refused.code, refused.read(), refused.headers["Content-Type"]
        return status, json.loads(raw) if "json" in (kind or "") else raw.decode()

    def sign_in(self, login: str) -> None:
        status, _ = self.send("POST", "/login", form=f"user={login}")
        assert status == 204


class RunningShop:
    """The page's shop as a process: its base URL and what it prints, read as it comes."""

    def __init__(self, program: Path, env: dict[str, str], python: str = sys.executable) -> None:
        self.process = subprocess.Popen(
            [python, program.name],
            cwd=program.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors = ""  # stderr, once stopped
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.wait_for("serving on ")
        if first is None:
            self.stop()
            pytest.fail(f"the shop did not start:\n{self.errors}")
        self.base = first.removeprefix("serving on ").strip()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, start: str, timeout: float = 30) -> str | None:
        """The first line printed that starts with ``start``, waiting for it; None if none
        came in time or the process ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if line.startswith(start)), None)
            if found is not None or self.process.poll() is not None:
                return found
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        """SIGINT, as Ctrl-C: serve_forever ends and the ``with`` closes the helpdesk."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, self.errors = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.errors = self.process.communicate()
        self._reader.join(timeout=5)


@contextmanager
def running_shop(
    store: dict[str, str], folder: Path, python: str = sys.executable
) -> Iterator[RunningShop]:
    """The page's shop, serving on a port the system chose (PORT=0), run by ``python``."""
    program = folder / "shop.py"
    program.write_text(examples(page())["support-site"], encoding="utf-8")
    shop = RunningShop(program, clean_environment(store) | {"PORT": "0"}, python)
    try:
        yield shop
    finally:
        shop.stop()


@pytest.fixture
def support_site(store: dict[str, str], tmp_path: Path) -> Iterator[RunningShop]:
    with running_shop(store, tmp_path) as shop:
        yield shop


@pytest.mark.slow
def test_the_shop_serves_the_api_to_its_own_users_in_their_scopes(
    support_site: RunningShop,
) -> None:
    visit_the_shop(support_site)


def visit_the_shop(support_site: RunningShop) -> None:
    """Three of the shop's users and a stranger, through its pages and the mounted API."""
    base = support_site.base
    ann, cid, bob, stranger = (Visitor(base) for _ in range(4))

    assert stranger.send("GET", "/") == (200, "Hello, stranger\n")
    status, problem = stranger.send("GET", "/support/api/v1/tickets")
    assert (status, problem["status"]) == (401, 401)
    assert stranger.send("POST", "/support/api/v1/auth/login", {})[0] == 404  # the shop logs in

    ann.sign_in("ann")
    assert ann.send("GET", "/") == (200, "Hello, ann\n")
    ticket = {"subject": "Refund", "description": "Order 1234 arrived broken."}
    status, opened = ann.send("POST", "/support/api/v1/tickets", ticket)
    assert status == 201
    assert opened["requester"]["display_name"] == "Ann"
    form = "subject=Refund&description=forged"  # what a cross-site form could send
    assert ann.send("POST", "/support/api/v1/tickets", form=form)[0] == 415
    status, mine = ann.send("GET", "/support/api/v1/tickets")
    assert (status, [item["id"] for item in mine["items"]]) == (200, [opened["id"]])

    cid.sign_in("cid")
    status, theirs = cid.send("GET", "/support/api/v1/tickets")
    assert (status, theirs["items"]) == (200, [])
    assert cid.send("GET", f"/support/api/v1/tickets/{opened['id']}")[0] == 404

    bob.sign_in("bob")
    status, queue = bob.send("GET", "/support/api/v1/staff/tickets")
    assert (status, [item["id"] for item in queue["items"]]) == (200, [opened["id"]])
    path = f"/support/api/v1/staff/tickets/{opened['id']}/messages"
    assert bob.send("POST", path, {"body": "Refunded today."})[0] == 201
    status, conversation = ann.send("GET", f"/support/api/v1/tickets/{opened['id']}/messages")
    assert [message["body"] for message in conversation["items"]] == ["Refunded today."]

    for event in ("ticket.created on ticket", "ticket.message_added on ticket"):
        assert support_site.wait_for(event), f"the shop never printed {event!r}"
    support_site.stop()
    assert support_site.process.returncode == 0, support_site.errors


# ---------------------------------------------------------------- every operation is a method


def openapi_operations() -> dict[str, str]:
    """operationId -> "METHOD /path" under /api/v1, for every operation but HEAD and the
    operations routes."""
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for path, item in document["paths"].items():
        if path.startswith(OPS_ROUTES):
            continue
        for method, operation in item.items():
            if method == "head" or not isinstance(operation, dict):
                continue
            found[operation["operationId"]] = f"{method.upper()} {path.removeprefix(API_PREFIX)}"
    return found


def operation_table(text: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """operationId -> (route, [(class, method), ...]) from the page's table."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "<!-- operations -->")
    rows: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for line in lines[start + 3 :]:  # the marker, the header, the rule
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = (cells[1].strip("`"), _METHOD_CELL.findall(cells[2]))
    return rows


def test_the_table_names_every_operation_with_its_route_and_a_method() -> None:
    documented = openapi_operations()
    table = operation_table(page())
    missing = [
        f"| `{op}` | `{route}` | `Acting.?` |"
        for op, route in documented.items()
        if op not in table
    ]
    assert not missing, "docs/embedding.md lacks rows:\n" + "\n".join(missing)
    assert set(table) <= set(documented), f"not in openapi.yaml: {set(table) - set(documented)}"
    for op, (route, methods) in table.items():
        assert route == documented[op], f"{op}: the table says {route}, not {documented[op]}"
        assert methods, f"{op}: no `Helpdesk.x` or `Acting.x` in its row"
        for owner, name in methods:
            member = getattr(getattr(helpdesk, owner), name, None)
            assert callable(member), f"{op}: helpdesk.{owner}.{name} does not exist"
