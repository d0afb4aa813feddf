"""Secret hygiene, end to end: what a real server writes and answers, and ``config show``.

Requirement: "Password hashes and reset tokens never appear in a log line, a response, or
``helpdesk config show``."

One ``helpdesk serve`` (one worker, JSON logs at DEBUG, the most talkative setting) goes
through an account's whole life with canary passwords: register, log in, change the password,
forget it, reset it with the mailed token, log out, plus refused attempts whose bodies carry
canaries of their own. Before it, an administrator (made with ``helpdesk admin create``) adds
two webhooks: one to a receiver in this test, which gets signed deliveries, and one to a port
where nothing listens, so failed attempts are logged too. Every response (status, headers,
body) and every log line is kept, then searched for the canaries, the password hashes read from
the database after each change, the reset token and its stored SHA-256, the access tokens (in
logs), the webhook secrets (anywhere but the answer that creates them) and the signing keys.

The same answers show what a real gunicorn sends: the security headers on every one, and no
server version (gunicorn names itself ``Server: gunicorn``, without a version, on the answers
of the app and on its own error pages alike).

Without HELPDESK_SMTP_URL mail goes to the log (logger ``helpdesk.mail``): that one record
carries the reset link by design, so it alone is exempt from the reset-token check.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import re
import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

from tests.e2e.pgcluster import free_port, running_cluster
from tests.e2e.servers import (
    Answer,
    Server,
    helpdesk_executable,
    running_server,
    server_env,
    start_server,
)
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.services import redis_url

pytestmark = [pytest.mark.slow]

API = "/api/v1"
MAIL_LOGGER = "helpdesk.mail"
HASH_MARKERS = ("$argon2", "$bcrypt", "$2b$", "$2a$", "$2y$")
RESET_LINK = re.compile(r"/reset-password\?token=([A-Za-z0-9_\-]+)")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def canary(tag: str) -> str:
    """A unique, greppable password of plenty of distinct characters."""
    return f"canary-{tag}-{secrets.token_hex(8)}"


@attrs.frozen
class LogRecord:
    """One line of the server's output: parsed when it is JSON, ``None`` fields otherwise."""

    line: str
    logger: str | None
    message: str | None

    @property
    def is_mail(self) -> bool:
        return self.logger == MAIL_LOGGER and (self.message or "").startswith("mail to ")


def parse_log(text: str) -> list[LogRecord]:
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            records.append(LogRecord(line, None, None))
            continue
        if isinstance(entry, dict):
            records.append(LogRecord(line, entry.get("logger"), entry.get("message")))
        else:
            records.append(LogRecord(line, None, None))
    return records


def hash_parts(password_hash: str) -> list[str]:
    """The hash and its long segments (salt, digest): a leak of either is a leak."""
    return [password_hash, *(part for part in password_hash.split("$") if len(part) >= 16)]


class Store:
    """Reads the server's database directly (the test's view of what is stored)."""

    def __init__(self, url: str) -> None:
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def password_hash(self, email: str) -> str:
        with self._engine.connect() as connection:
            value = connection.execute(
                sa.text("SELECT password_hash FROM users WHERE email = :email"), {"email": email}
            ).scalar_one()
        return str(value)

    def reset_token_hashes(self) -> set[str]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT token_hash FROM password_reset_tokens"))
            return {str(row[0]) for row in rows}

    def close(self) -> None:
        self._engine.dispose()


@attrs.define
class Journey:
    """Everything one account's life left behind: answers, secrets, the server's log."""

    answers: list[tuple[str, Answer]] = attrs.Factory(list)
    passwords: list[str] = attrs.Factory(list)  # every canary password sent
    hashes: list[str] = attrs.Factory(list)  # every password hash the database held
    access_tokens: list[str] = attrs.Factory(list)
    reset_token: str = ""
    reset_token_hash: str = ""
    webhook_secrets: list[str] = attrs.Factory(list)
    deliveries: list[Delivery] = attrs.Factory(list)  # what the receiver got
    cli_output: str = ""  # what `helpdesk admin create` printed
    gunicorn_error: bytes = b""  # gunicorn's own answer to a request it cannot parse
    log: list[LogRecord] = attrs.Factory(list)


@attrs.frozen
class Delivery:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver on a free loopback port: answers 204 and keeps what it got."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        received = self.deliveries

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(Delivery(dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres", id="postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]
        ),
    ],
)
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """A fresh migrated database (and Redis with PostgreSQL), as HELPDESK_* variables."""
    if request.param == "sqlite":
        databases: SqliteDatabases = request.getfixturevalue("sqlite_databases")
        return {"HELPDESK_DATABASE_URL": databases.fresh()}
    postgres: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return {"HELPDESK_DATABASE_URL": postgres.fresh(), "HELPDESK_REDIS_URL": redis_url()}


@pytest.fixture(scope="module")
def secret_keys() -> tuple[str, str]:
    """Two signing keys (newest first), both canaries of 32+ characters."""
    return canary("signing-key-new") + "-" * 8, canary("signing-key-old") + "-" * 8


@pytest.fixture(scope="module")
def journey(
    database_env: dict[str, str],
    secret_keys: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Journey]:
    """One account's whole life on a real server; the server is stopped before the checks."""
    folder = tmp_path_factory.mktemp("hygiene")
    env = server_env(
        folder,
        **database_env,
        HELPDESK_SECRET_KEYS=",".join(secret_keys),
        HELPDESK_LOG_LEVEL="DEBUG",
        HELPDESK_LOG_FORMAT="json",
        HELPDESK_PUBLIC_URL="https://helpdesk.example",
        HELPDESK_METRICS_DIR=str(folder / "metrics"),
        # Refused logins below must not rate-limit later runs through a shared Redis.
        HELPDESK_LOGIN_RATE_LIMIT="1000",
        # The webhooks below call loopback ports of this test.
        HELPDESK_WEBHOOK_ALLOWLIST="127.0.0.1",
        HELPDESK_WORKER_POLL_INTERVAL="0.1",
    )
    store = Store(database_env["HELPDESK_DATABASE_URL"])
    try:
        with (
            Receiver() as receiver,
            running_server(env, folder / "server", workers=1, threads=2) as server,
        ):
            trip = Journey()
            _add_webhooks(server, env, folder, receiver, trip)
            _live_through(server, store, trip)
            trip.deliveries = _wait_for_deliveries(receiver)
            trip.gunicorn_error = _unparseable_request(server)
        # Stopped: every line, shutdown included, is in the file.
        trip.log = parse_log(server.log())
        yield trip
    finally:
        store.close()


def _add_webhooks(
    server: Server, env: dict[str, str], folder: Path, receiver: Receiver, trip: Journey
) -> None:
    """An administrator made by the CLI adds a webhook to ``receiver`` and one to a dead port,
    lists and reads them, and pings the first."""
    email = f"hygiene-admin-{uuid.uuid4().hex[:8]}@example.com"
    password = canary("admin")
    trip.passwords.append(password)
    made = subprocess.run(
        [
            helpdesk_executable(),
            "admin",
            "create",
            "--email",
            email,
            "--display-name",
            "Hygiene Admin",
            "--password-stdin",
        ],
        input=password + "\n",
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    trip.cli_output = made.stdout + made.stderr
    assert made.returncode == 0, trip.cli_output

    def call(step: str, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        answer = server.request(method, f"{API}{path}", body, **options)
        trip.answers.append((step, answer))
        return answer

    login = call("admin login", "POST", "/auth/login", {"email": email, "password": password})
    assert login.status == 200, login.text()
    token = login.json["access_token"]
    trip.access_tokens.append(token)
    ids = []
    for step, url in (
        ("create webhook", receiver.url),
        ("create webhook (dead)", f"http://127.0.0.1:{free_port()}/nobody-listens"),
    ):
        created = call(step, "POST", "/admin/webhooks", {"url": url, "events": ["*"]}, token=token)
        assert created.status == 201, created.text()
        assert created.json["secret"].startswith("whsec_")
        trip.webhook_secrets.append(created.json["secret"])
        ids.append(created.json["id"])
    assert call("list webhooks", "GET", "/admin/webhooks", token=token).status == 200
    assert call("read webhook", "GET", f"/admin/webhooks/{ids[0]}", token=token).status == 200
    pinged = call("ping webhook", "POST", f"/admin/webhooks/{ids[0]}/ping", token=token)
    assert pinged.status == 202, pinged.text()
    for n, webhook_id in enumerate(ids):
        assert (
            call(
                f"deliveries {n}", "GET", f"/admin/webhooks/{webhook_id}/deliveries", token=token
            ).status
            == 200
        )


def _wait_for_deliveries(receiver: Receiver, least: int = 2, limit: float = 15.0) -> list[Delivery]:
    """The receiver's deliveries once it has ``least`` (the ping and the journey's events)."""
    deadline = time.monotonic() + limit
    while len(receiver.deliveries) < least:
        if time.monotonic() > deadline:
            pytest.fail(f"the receiver got {len(receiver.deliveries)} deliveries in {limit}s")
        time.sleep(0.05)
    return list(receiver.deliveries)


def _unparseable_request(server: Server) -> bytes:
    """gunicorn's own answer to a request line it cannot parse (the app never sees it)."""
    host, _, port = server.base_url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _live_through(server: Server, store: Store, trip: Journey) -> None:
    email = f"hygiene-{uuid.uuid4().hex[:10]}@example.com"
    first, second, third = canary("first"), canary("second"), canary("third")
    wrong, long_pw, typed, broken = (
        canary("wrong"),
        canary("too-long") * 12,  # over HELPDESK_PASSWORD_MAX_LENGTH (256)
        canary("wrong-type"),
        canary("broken-json"),
    )
    trip.passwords += [first, second, third, wrong, long_pw, typed, broken]

    def call(step: str, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        answer = server.request(method, f"{API}{path}", body, **options)
        trip.answers.append((step, answer))
        return answer

    def expect(answer: Answer, status: int) -> Answer:
        assert answer.status == status, answer.text()
        return answer

    profile = {"email": email, "display_name": "Hygiene Tester"}
    expect(call("register", "POST", "/auth/register", {**profile, "password": first}), 202)
    trip.hashes.append(store.password_hash(email))
    expect(call("register again", "POST", "/auth/register", {**profile, "password": first}), 202)
    expect(call("register long", "POST", "/auth/register", {**profile, "password": long_pw}), 422)
    expect(call("register typed", "POST", "/auth/register", {**profile, "password": [typed]}), 422)
    malformed = f'{{"email": "{email}", "password": "{broken}",'.encode()
    expect(call("register malformed", "POST", "/auth/register", raw_body=malformed), 400)

    expect(call("login wrong", "POST", "/auth/login", {"email": email, "password": wrong}), 401)
    login = expect(call("login", "POST", "/auth/login", {"email": email, "password": first}), 200)
    token = login.json["access_token"]
    trip.access_tokens.append(token)
    expect(call("me", "GET", "/me", token=token), 200)

    change = {"current_password": wrong, "new_password": second}
    expect(call("change wrong", "POST", "/auth/password/change", change, token=token), 422)
    change = {"current_password": first, "new_password": second}
    expect(call("change", "POST", "/auth/password/change", change, token=token), 204)
    trip.hashes.append(store.password_hash(email))

    expect(call("forgot", "POST", "/auth/password/forgot", {"email": email}), 202)
    unknown = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com"}
    expect(call("forgot unknown", "POST", "/auth/password/forgot", unknown), 202)
    trip.reset_token = _mailed_reset_token(server)
    trip.reset_token_hash = hashlib.sha256(trip.reset_token.encode()).hexdigest()
    assert trip.reset_token_hash in store.reset_token_hashes(), "the stored hash is not SHA-256"

    reset = {"token": trip.reset_token, "new_password": third}
    expect(call("reset", "POST", "/auth/password/reset", reset), 204)
    trip.hashes.append(store.password_hash(email))
    expect(call("reset again", "POST", "/auth/password/reset", reset), 422)  # single use
    expect(call("me after reset", "GET", "/me", token=token), 401)  # sessions ended

    login = expect(call("login 3", "POST", "/auth/login", {"email": email, "password": third}), 200)
    token = login.json["access_token"]
    trip.access_tokens.append(token)
    expect(call("me 3", "GET", "/me", token=token), 200)
    expect(call("tampered", "GET", "/me", token=token[:-4] + "AAAA"), 401)
    expect(call("logout", "POST", "/auth/logout", token=token), 204)
    expect(call("me after logout", "GET", "/me", token=token), 401)
    assert len(set(trip.hashes)) == 3, "each password change should store a new hash"


def _mailed_reset_token(server: Server, limit: float = 10.0) -> str:
    """The token in the reset link the LogMailer wrote (the worker mails it after the request)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for record in parse_log(server.log()):
            if record.is_mail and (found := RESET_LINK.search(record.message or "")):
                return found.group(1)
        time.sleep(0.05)
    pytest.fail(f"no reset mail from logger {MAIL_LOGGER!r} within {limit}s")


def _leaks(haystacks: list[tuple[str, str]], needles: dict[str, list[str]]) -> list[str]:
    """``where: what`` for every needle found in a haystack."""
    found = []
    for where, text in haystacks:
        for what, values in needles.items():
            if any(value and value in text for value in values):
                found.append(f"{where}: {what}")
    return found


def _secret_needles(trip: Journey, secret_keys: tuple[str, str]) -> dict[str, list[str]]:
    """What may never appear in an answer or a log line (the reset token aside)."""
    return {
        "a canary password": trip.passwords,
        "a password hash (or its salt/digest)": [p for h in trip.hashes for p in hash_parts(h)],
        "a password hash marker": list(HASH_MARKERS),
        "the stored reset-token hash": [trip.reset_token_hash],
        "a signing key": list(secret_keys),
    }


def test_the_journey_went_as_planned(journey: Journey) -> None:
    """The other checks search real material: every step answered and logged, two mails (the
    owner told of the second registration, and the reset link)."""
    steps = [step for step, _ in journey.answers]
    assert "reset" in steps
    assert "logout" in steps
    assert journey.reset_token
    mail = [record for record in journey.log if record.is_mail]
    assert len(mail) == 2, f"expected two mail records, got {len(mail)}"
    access = [record for record in journey.log if record.logger == "helpdesk.access"]
    assert len(access) >= len(journey.answers), "not every request was logged"
    assert any(record.logger == "passlib" for record in journey.log), "DEBUG is not on"
    assert len(journey.webhook_secrets) == 2
    security = [record for record in journey.log if record.logger == "helpdesk.security"]
    assert security, "no security event was logged"


def test_the_webhook_secret_signs_the_deliveries(journey: Journey) -> None:
    """The secret searched for below is the one in use: the reference library verifies every
    delivery the receiver got with it."""
    verifier = ReferenceWebhook(journey.webhook_secrets[0])
    types = []
    for delivery in journey.deliveries:
        payload = verifier.verify(delivery.body, delivery.headers)
        types.append(payload["type"])
    assert "webhook.ping" in types
    assert "user.registered" in types


def test_webhook_secrets_are_only_in_the_answer_that_creates_them(journey: Journey) -> None:
    shown = [
        step
        for step, answer in journey.answers
        for secret in journey.webhook_secrets
        if secret in answer.text()
    ]
    assert sorted(shown) == ["create webhook", "create webhook (dead)"]
    for delivery in journey.deliveries:  # nor is it sent along with a delivery
        assert not any(secret.encode() in delivery.body for secret in journey.webhook_secrets)
        assert not any(
            secret in " ".join(delivery.headers.values()) for secret in journey.webhook_secrets
        )


def test_the_cli_does_not_echo_the_password(journey: Journey) -> None:
    assert not _leaks(
        [("helpdesk admin create", journey.cli_output)], {"a password": journey.passwords}
    )


def test_every_answer_carries_the_security_headers_and_no_server_version(
    journey: Journey,
) -> None:
    for step, answer in journey.answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.header(name) == value, (step, name, answer.headers)
        servers = [v for k, v in answer.headers if k.lower() == "server"]
        assert all(not re.search(r"[/\d]", v) for v in servers), (step, servers)
        assert not [k for k, _ in answer.headers if k.lower().startswith("access-control-")]
    # gunicorn's own error page (the app never saw the request): no version either.
    head = journey.gunicorn_error.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400"), head
    server_lines = [line for line in head.split("\r\n") if line.lower().startswith("server:")]
    assert all(not re.search(r"[/\d]", line) for line in server_lines), server_lines
    assert not re.search(r"gunicorn/\d", journey.gunicorn_error.decode("latin-1"))


def test_no_secret_in_any_response(journey: Journey, secret_keys: tuple[str, str]) -> None:
    needles = _secret_needles(journey, secret_keys)
    needles["the reset token"] = [journey.reset_token]
    haystacks = [(f"response to {step!r}", answer.text()) for step, answer in journey.answers]
    assert not _leaks(haystacks, needles)


def test_no_secret_in_any_log_line(journey: Journey, secret_keys: tuple[str, str]) -> None:
    needles = _secret_needles(journey, secret_keys)
    needles["an access token"] = journey.access_tokens
    needles["a webhook secret"] = journey.webhook_secrets
    needles["a webhook secret's key (base64)"] = [
        secret.removeprefix("whsec_") for secret in journey.webhook_secrets
    ]
    haystacks = [(f"log line {n}", record.line) for n, record in enumerate(journey.log, 1)]
    leaks = _leaks(haystacks, needles)
    assert not leaks, _show(leaks, journey.log)


def test_the_reset_token_is_only_in_the_mail_record(journey: Journey) -> None:
    """In development the mail goes to the log: the reset mail's record may (must) hold the
    link, and no other record."""
    mail = [record for record in journey.log if record.is_mail]
    assert [journey.reset_token in record.line for record in mail] == [False, True]
    elsewhere = [
        (f"log line {n}", record.line)
        for n, record in enumerate(journey.log, 1)
        if not record.is_mail
    ]
    leaks = _leaks(elsewhere, {"the reset token": [journey.reset_token]})
    assert not leaks, _show(leaks, journey.log)


def _show(leaks: list[str], log: list[LogRecord]) -> str:
    lines = []
    for leak in leaks[:10]:
        number = int(leak.split(":")[0].removeprefix("log line "))
        lines.append(f"{leak}\n    {log[number - 1].line[:400]}")
    return f"{len(leaks)} leak(s):\n" + "\n".join(lines)


# ---------------------------------------------------------------- dependencies that fail


def _wait_for_log(server: Server, text: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while text not in server.log():
        if time.monotonic() > deadline:
            pytest.fail(f"the server never logged {text!r}")
        time.sleep(0.05)


def _assert_nothing_reveals(server: Server, answers: list[Answer], secrets_: list[str]) -> None:
    haystacks = [(f"response {n}", answer.text()) for n, answer in enumerate(answers, 1)]
    haystacks += [(f"log line {n}", line) for n, line in enumerate(server.log().splitlines(), 1)]
    leaks = _leaks(haystacks, {"a dependency password": secrets_})
    assert not leaks, leaks


def test_failing_redis_and_smtp_do_not_reveal_their_passwords(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Errors from an unreachable Redis and SMTP server are logged and answered without the
    passwords in their URLs (the rate limiter falls back to SQL; the worker retries the mail)."""
    passwords = [canary("redis-pw"), canary("smtp-pw")]
    env = server_env(
        tmp_path,
        HELPDESK_DATABASE_URL=sqlite_url,
        HELPDESK_REDIS_URL=f"redis://default:{passwords[0]}@127.0.0.1:{free_port()}/0",
        HELPDESK_SMTP_URL=f"smtp://mailer:{passwords[1]}@127.0.0.1:{free_port()}",
        HELPDESK_LOG_LEVEL="DEBUG",
        HELPDESK_LOG_FORMAT="json",
    )
    email = f"deps-{uuid.uuid4().hex[:10]}@example.com"
    password = canary("deps")
    with running_server(env, tmp_path / "server", workers=1, threads=2) as server:
        answers = [
            server.request("GET", "/health/ready"),
            server.request(
                "POST",
                f"{API}/auth/register",
                {"email": email, "password": password, "display_name": "Deps"},
            ),
            server.request("POST", f"{API}/auth/login", {"email": email, "password": password}),
            server.request("POST", f"{API}/auth/password/forgot", {"email": email}),
        ]
        assert [a.status for a in answers[1:]] == [202, 200, 202], [a.text() for a in answers]
        ready = answers[0].json["checks"]["redis"]
        assert ready["status"] == "down", ready
        _wait_for_log(server, "could not be handled")
        _wait_for_log(server, "rate limiter: the primary failed")
    _assert_nothing_reveals(server, answers, passwords)


def test_a_database_gone_while_serving_does_not_reveal_its_password(tmp_path: Path) -> None:
    password = canary("db-pw")
    with running_cluster() as cluster:  # trust auth: the password is accepted, and carried
        url = cluster.url.replace("postgres@", f"postgres:{password}@", 1)
        env = server_env(
            tmp_path,
            HELPDESK_DATABASE_URL=url,
            HELPDESK_AUTO_MIGRATE="true",
            HELPDESK_DB_CONNECT_TIMEOUT="2",
            HELPDESK_HEALTH_TIMEOUT="3",
            HELPDESK_LOG_LEVEL="DEBUG",
            HELPDESK_LOG_FORMAT="json",
        )
        with running_server(env, tmp_path / "server", workers=1, threads=2) as server:
            cluster.stop("immediate")
            body = {"email": "someone@example.com", "password": canary("unused")}
            answers = [
                server.request("GET", "/health/ready"),
                server.request("POST", f"{API}/auth/login", body),
            ]
            assert [a.status for a in answers] == [503, 503], [a.text() for a in answers]
            assert answers[0].json["checks"]["database"]["error"], answers[0].text()
    _assert_nothing_reveals(server, answers, [password])


def test_a_server_refusing_an_unreachable_database_does_not_reveal_its_password(
    tmp_path: Path,
) -> None:
    """``helpdesk serve`` will not start on a database it cannot reach: its one-line reason
    names the cause and the server, never the password."""
    password = canary("db-pw")
    env = server_env(
        tmp_path,
        HELPDESK_DATABASE_URL=f"postgresql+psycopg://helpdesk:{password}@127.0.0.1:{free_port()}/x",
        HELPDESK_DB_CONNECT_TIMEOUT="2",
    )
    done = subprocess.run(
        [helpdesk_executable(), "serve", "--wait", "0", "--workers", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "connection refused" in output, output
    assert password not in output
    assert "Traceback" not in output


def test_production_never_writes_a_reset_token_to_the_log(sqlite_url: str, tmp_path: Path) -> None:
    """Mail-to-log is a development convenience only: production must refuse to start
    without an SMTP server, or at least keep reset links out of its logs."""
    env = server_env(
        tmp_path,
        HELPDESK_ENV="production",
        HELPDESK_ARGON2_MEMORY_KIB="19456",  # production refuses less (OWASP's floor)
        HELPDESK_ARGON2_TIME_COST="2",
        HELPDESK_DATABASE_URL=sqlite_url,
        HELPDESK_LOG_FORMAT="json",
        HELPDESK_LOG_LEVEL="INFO",
    )
    server = start_server(env, tmp_path / "server")
    try:
        if not _live_or_exited(server):  # refused to start: acceptable when it says why
            assert "HELPDESK_SMTP_URL" in server.log(), server.log()
            return
        email = f"prod-{uuid.uuid4().hex[:10]}@example.com"
        profile = {"email": email, "password": canary("prod"), "display_name": "Prod"}
        assert server.request("POST", f"{API}/auth/register", profile).status == 202
        assert server.request("POST", f"{API}/auth/password/forgot", {"email": email}).status == 202
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert not RESET_LINK.search(server.log()), "a reset link was written to the log"
            time.sleep(0.05)
    finally:
        server.stop()


def _live_or_exited(server: Server, limit: float = 30.0) -> bool:
    """True once /health/live answers 200, False if the process exits first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            if server.request("GET", "/health/live", timeout=2).status == 200:
                return True
        time.sleep(0.05)
    server.print_log("neither live nor exited")
    pytest.fail(f"the server neither answered nor exited within {limit}s")


# ---------------------------------------------------------------- helpdesk config show

CONFIG_SECRETS = {
    "database password": "canarydbpw",
    "redis password": "canaryredispw",
    "smtp password": "canarysmtp",
}


def config_show(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helpdesk_executable(), "config", "show", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _config_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return server_env(tmp_path, HELPDESK_LOG_LEVEL="DEBUG", **variables)


@pytest.fixture
def config_env(tmp_path: Path, secret_keys: tuple[str, str]) -> dict[str, str]:
    return _config_env(
        tmp_path,
        HELPDESK_DATABASE_URL="postgresql+psycopg://u:canarydbpw@127.0.0.1:1/x",
        HELPDESK_REDIS_URL="redis://default:canaryredispw@127.0.0.1:6379/0",
        HELPDESK_SMTP_URL="smtp://u:canarysmtp@localhost:25",
        HELPDESK_SECRET_KEYS=",".join(secret_keys),
    )


def test_config_show_masks_every_secret(
    config_env: dict[str, str], secret_keys: tuple[str, str], tmp_path: Path
) -> None:
    needles = {what: [value] for what, value in CONFIG_SECRETS.items()}
    needles["a signing key"] = list(secret_keys)
    table = config_show(config_env, cwd=tmp_path)
    as_json = config_show(config_env, "--json", cwd=tmp_path)
    for done in (table, as_json):
        assert done.returncode == 0, done.stderr
        assert not _leaks([(" ".join(done.args), done.stdout + done.stderr)], needles)

    shown = {row["variable"]: row["value"] for row in json.loads(as_json.stdout)}
    # Masked, yet still useful: the host and database stay visible.
    assert shown["HELPDESK_DATABASE_URL"] == "postgresql+psycopg://u:***@127.0.0.1:1/x"
    assert shown["HELPDESK_REDIS_URL"] == "redis://default:***@127.0.0.1:6379/0"
    assert shown["HELPDESK_SMTP_URL"] == "smtp://u:***@localhost:25"
    assert shown["HELPDESK_SECRET_KEYS"] == "***"
    # The table says the same.
    for variable in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEYS"):
        row = rf"^HELPDESK_{variable}\s+{re.escape(shown['HELPDESK_' + variable])}$"
        assert re.search(row, table.stdout, re.M), table.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("HELPDESK_DATABASE_URL", "mysql://u:canarydbpw@127.0.0.1/x", id="database"),
        pytest.param("HELPDESK_REDIS_URL", "http://:canaryredispw@127.0.0.1:6379", id="redis"),
        pytest.param("HELPDESK_SMTP_URL", "ftp://u:canarysmtp@localhost", id="smtp"),
        pytest.param("HELPDESK_SECRET_KEYS", "canary-too-short-key", id="secret-keys"),
    ],
)
def test_config_errors_do_not_echo_a_secret(variable: str, value: str, tmp_path: Path) -> None:
    """A bad secret value stops ``config show`` with one line that names it but hides it."""
    done = config_show(_config_env(tmp_path, **{variable: value}), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert variable in done.stderr
    secret = value.split("@")[0].rsplit(":", 1)[-1] if "@" in value else value
    assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param(
            "HELPDESK_DATABASE_URL",
            "postgresql+psycopg://u@127.0.0.1:1/x?password=canarydbpw",
            id="database",
        ),
        pytest.param(
            "HELPDESK_REDIS_URL", "redis://127.0.0.1:6379/0?password=canaryredispw", id="redis"
        ),
        pytest.param(
            "HELPDESK_REDIS_URL", "unix:///run/redis.sock?password=canaryredispw", id="redis-unix"
        ),
    ],
)
def test_config_show_masks_a_password_in_the_query_string(
    variable: str, value: str, tmp_path: Path
) -> None:
    done = config_show(_config_env(tmp_path, **{variable: value}), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "canary" not in done.stdout + done.stderr
