"""``helpdesk demo``: its progress, and the address its closing hint names.

The long steps (the accounts, whose passwords are hashed, and the tickets) run under a
progress bar; where the output is no terminal (these tests, a pipe, a log) click prints the
bar's label once, and the demo follows each step with its count. The login example names the
address the server is reached at: ``--base-url``, else HELPDESK_BIND (where ``helpdesk serve``
listens), never a fixed port; the test serves the demo's database there and logs in with it.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from click.testing import Result

from entrypoints.bootstrap import bootstrap
from entrypoints.cli.demo.command import _base_url
from entrypoints.config import load_settings
from entrypoints.http.app import create_app
from tests.unit.test_cli_tickets import _runner, failed, ok

STAFF, CUSTOMERS = 18, 20


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[WSGIServer]:
    """A loopback HTTP server on a free port (not 8000); its app is set by the test."""
    httpd = make_server("127.0.0.1", 0, lambda env, start: [], handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _login_example(out: str) -> tuple[str, dict[str, str]]:
    """The URL and the body of the curl command the demo printed."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("curl "))
    words = shlex.split(lines[at].rstrip("\\") + " " + lines[at + 1])
    url = next(w for w in words if w.startswith(("http://", "https://")))
    return url, json.loads(words[words.index("-d") + 1])


def test_the_long_steps_show_their_label_and_then_their_count(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    out = ok(run("demo", "--tickets", "7", "--seed", "3"))
    lines = out.splitlines()
    organization = f"creating the organization, {STAFF} staff and {CUSTOMERS} customers"
    expected = [
        organization,
        f"created {STAFF} staff and {CUSTOMERS} customers",
        "opening 7 tickets",
        "opened 7 tickets",
    ]
    assert lines[: len(expected)] == expected, out
    assert lines[len(expected)].startswith("done in ")


def test_the_login_example_names_the_bound_address_and_works_there(
    tmp_path: Path, server: WSGIServer
) -> None:
    port = server.server_address[1]
    assert port != 8000
    run, env = _runner(tmp_path)
    env["HELPDESK_BIND"] = f"127.0.0.1:{port}"
    out = ok(run("demo", "--tickets", "3", "--seed", "5"))
    assert ":8000" not in out
    url, body = _login_example(out)
    assert url == f"http://127.0.0.1:{port}/api/v1/auth/login"
    settings = load_settings(env_file=str(tmp_path / "none.env"), environ=env)
    services = bootstrap(settings)
    server.set_app(create_app(services))
    try:
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            assert answer.status == 200
            assert json.loads(answer.read())["access_token"]
    finally:
        services.close()


def test_base_url_names_where_the_api_is_served(tmp_path: Path) -> None:
    run, _ = _runner(tmp_path)
    out = ok(
        run("demo", "--tickets", "1", "--seed", "1", "--base-url", "https://help.example.com/desk/")
    )
    assert _login_example(out)[0] == "https://help.example.com/desk/api/v1/auth/login"


@pytest.mark.parametrize(
    "given",
    ["help.example.com", "ftp://help.example.com", "http://", "http://h:99999", "http://h/?x=1"],
)
def test_a_bad_base_url_exits_2_and_fills_nothing(tmp_path: Path, given: str) -> None:
    run, _ = _runner(tmp_path)
    result: Result = run("demo", "--tickets", "1", "--base-url", given)
    failed(result, 2, "--base-url")
    assert result.stdout == ""
    assert ok(run("departments", "list")).strip() == "(none)"


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("[::]:9000", "http://[::1]:9000"),
        ("[::1]:8001", "http://[::1]:8001"),
        ("helpdesk.internal:80", "http://helpdesk.internal:80"),
    ],
)
def test_the_default_address_is_where_helpdesk_serve_listens(bind: str, url: str) -> None:
    assert _base_url(None, bind) == url
    assert re.fullmatch(r"http://\S+:\d+", url)
