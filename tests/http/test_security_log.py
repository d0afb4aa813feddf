"""Structured security events: one per login attempt, one per refused request.

Requirement (issue 7): "every login attempt and every authorization failure is one structured
log event". Login attempts are ``event="login"`` with an ``outcome`` (success, bad_password,
unknown_account, throttled, disabled), the account id on success and a keyed email hint
always; refusals are ``event="authz_denied"`` (401 for a missing, malformed, bad, expired or
revoked token, 403 for a forbidden action) with route, method, the principal when known and
a reason. Both carry the client address and the request id, and never a password or a token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import falcon.testing
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from adapters.security.tokens import ItsdangerousSigner
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.observability.logging import JsonFormatter
from helpdesk_core.ports.system import Clock
from tests.conftest import TEST_SECRET, LogGuard, make_settings
from tests.http.conftest import PASSWORD, Helpdesk, Person
from tests.support.clock import SettableClock

API = "/api/v1"
LOGIN = f"{API}/auth/login"
SECURITY = "helpdesk.security"
HINT = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def desk(clock: SettableClock) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(login_rate_limit=3), {Clock: clock})
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The security records written while the test runs (the list fills as it goes)."""
    caplog.set_level(logging.INFO, logger=SECURITY)
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logging.getLogger(SECURITY).addHandler(handler)
    yield records
    logging.getLogger(SECURITY).removeHandler(handler)


def only_event(records: list[logging.LogRecord], since: int = 0) -> logging.LogRecord:
    """The one record written after index ``since``: exactly one, or the test fails."""
    new = records[since:]
    assert len(new) == 1, [r.getMessage() for r in new]
    return new[0]


def field(record: logging.LogRecord, name: str) -> object:
    return record.__dict__.get(name)


def login(desk: Helpdesk, email: str, password: str, request_id: str) -> falcon.testing.Result:
    return desk.client.simulate_post(
        LOGIN,
        json={"email": email, "password": password},
        headers={"X-Request-ID": request_id},
    )


def assert_no_secret(record: logging.LogRecord, *secrets: str) -> None:
    text = JsonFormatter().format(record)
    for secret in secrets:
        assert secret not in text


# ---------------------------------------------------------------- login attempts


def test_a_successful_login_is_one_event_naming_the_account(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    ann = desk.customer("ann")
    before = len(events)
    result = login(desk, ann.email, PASSWORD, "req-login-ok")
    assert result.status_code == 200
    record = only_event(events, before)
    assert record.name == SECURITY
    assert record.levelno == logging.INFO
    assert field(record, "event") == "login"
    assert field(record, "outcome") == "success"
    assert field(record, "user_id") == ann.id
    assert field(record, "role") == "customer"
    assert HINT.match(str(field(record, "email_hint")))
    assert field(record, "client_ip") == "127.0.0.1"
    assert field(record, "request_id") == "req-login-ok"
    assert field(record, "route") == LOGIN
    assert_no_secret(record, PASSWORD, result.json["access_token"], ann.email)


@pytest.mark.parametrize(
    ("who", "password", "outcome"),
    [
        pytest.param("known", "a wrong CANARY password", "bad_password", id="bad-password"),
        pytest.param("known", "CANARY" * 50, "bad_password", id="over-long-password"),
        pytest.param("unknown", PASSWORD, "unknown_account", id="unknown-account"),
    ],
)
def test_a_refused_login_is_one_warning_with_its_outcome(
    desk: Helpdesk, events: list[logging.LogRecord], who: str, password: str, outcome: str
) -> None:
    email = desk.customer("bob").email if who == "known" else "nobody@example.com"
    before = len(events)
    result = login(desk, email, password, "req-login-refused")
    assert result.status_code == 401
    record = only_event(events, before)  # not a second authz_denied for the same 401
    assert record.levelno == logging.WARNING
    assert (field(record, "event"), field(record, "outcome")) == ("login", outcome)
    assert field(record, "user_id") is None  # the refusal does not say whether it exists
    assert HINT.match(str(field(record, "email_hint")))
    assert field(record, "request_id") == "req-login-refused"
    assert_no_secret(record, password, email)


def test_a_throttled_login_is_one_event(desk: Helpdesk, events: list[logging.LogRecord]) -> None:
    email = desk.customer("carl").email
    for _ in range(3):  # the desk allows 3 failures per window
        assert login(desk, email, "a wrong CANARY password", "r").status_code == 401
    before = len(events)
    result = login(desk, email, PASSWORD, "req-throttled")
    assert result.status_code == 429
    record = only_event(events, before)
    assert (field(record, "event"), field(record, "outcome")) == ("login", "throttled")
    assert field(record, "request_id") == "req-throttled"


def test_a_disabled_account_logging_in_is_one_event(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    agent = desk.staff("agent", desk.department())
    desk.deactivate(agent)
    before = len(events)
    result = login(desk, agent.email, PASSWORD, "req-disabled")
    assert result.status_code == 401
    record = only_event(events, before)
    assert (field(record, "event"), field(record, "outcome")) == ("login", "disabled")


def test_every_attempt_is_counted_once(desk: Helpdesk, events: list[logging.LogRecord]) -> None:
    """Five attempts of mixed outcomes: five login events and nothing else on the logger."""
    email = desk.customer("dora").email
    before = len(events)
    statuses = [
        login(desk, email, PASSWORD, "a").status_code,
        login(desk, email, "a wrong CANARY password", "b").status_code,
        login(desk, "nobody@example.com", PASSWORD, "c").status_code,
        login(desk, email, PASSWORD, "d").status_code,
        login(desk, email, "a wrong CANARY password", "e").status_code,
    ]
    assert statuses == [200, 401, 401, 200, 401]
    new = events[before:]
    assert [(field(r, "request_id"), field(r, "outcome")) for r in new] == [
        ("a", "success"),
        ("b", "bad_password"),
        ("c", "unknown_account"),
        ("d", "success"),
        ("e", "bad_password"),
    ]


def test_a_request_that_is_not_a_login_attempt_logs_none(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    """A body the server cannot read never reached the login: it is a 422, not an attempt."""
    before = len(events)
    result = desk.client.simulate_post(LOGIN, json={"email": "x@example.com"})
    assert result.status_code == 422
    assert events[before:] == []


def test_the_email_hint_groups_an_address_without_revealing_it(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    before = len(events)
    login(desk, "Eve@Example.com", PASSWORD, "1")
    login(desk, " eve@example.com", PASSWORD, "2")
    login(desk, "frank@example.com", PASSWORD, "3")
    hints = [field(r, "email_hint") for r in events[before:]]
    assert hints[0] == hints[1] != hints[2]
    # Keyed: not a plain digest anyone could compute from a list of addresses.
    assert hints[0] != hashlib.sha256(b"eve@example.com").hexdigest()[:16]
    other_services = bootstrap(make_settings(secret_keys=("another-key-" + "x" * 40,)))
    try:
        other = Helpdesk(other_services, falcon.testing.TestClient(create_app(other_services)))
        mark = len(events)
        login(other, "eve@example.com", PASSWORD, "4")
        assert field(events[mark], "email_hint") != hints[0]
    finally:
        other_services.close()


# ---------------------------------------------------------------- refused requests


def expired_token(session_id: uuid.UUID) -> str:
    """A correctly signed access token from long ago (older than its lifetime)."""

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 10 * 86400

    serializer = URLSafeTimedSerializer(
        [TEST_SECRET],
        salt="access",
        signer=LongAgo,
        signer_kwargs={"digest_method": hashlib.sha256},
    )
    return str(serializer.dumps(session_id.hex))


def get_me(desk: Helpdesk, authorization: str | None, request_id: str) -> falcon.testing.Result:
    headers = {"X-Request-ID": request_id}
    if authorization is not None:
        headers["Authorization"] = authorization
    return desk.client.simulate_get(f"{API}/me", headers=headers)


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        pytest.param(None, "missing_token", id="missing"),
        pytest.param("Basic dXNlcjpwYXNz", "malformed_authorization", id="not-bearer"),
        pytest.param("Bearer ", "malformed_authorization", id="empty"),
        pytest.param("Bearer not-a-real-token", "invalid_token", id="forged"),
        pytest.param("expired", "expired_token", id="expired"),
    ],
)
def test_a_bad_token_is_one_authz_denied_event(
    desk: Helpdesk,
    events: list[logging.LogRecord],
    authorization: str | None,
    reason: str,
) -> None:
    if authorization == "expired":
        authorization = f"Bearer {expired_token(uuid.uuid4())}"
    before = len(events)
    result = get_me(desk, authorization, "req-denied")
    assert result.status_code == 401
    record = only_event(events, before)
    assert record.levelno == logging.WARNING
    assert field(record, "event") == "authz_denied"
    assert field(record, "status") == 401
    assert field(record, "reason") == reason
    assert field(record, "route") == f"{API}/me"
    assert field(record, "method") == "GET"
    assert field(record, "user_id") is None
    assert field(record, "client_ip") == "127.0.0.1"
    assert field(record, "request_id") == "req-denied"
    if authorization:
        assert_no_secret(record, authorization.removeprefix("Bearer ").strip() or "\x00")


def test_a_revoked_session_and_a_tampered_token_are_one_event_each(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    ann = desk.customer("ann")
    assert desk.post(f"{API}/auth/logout", ann).status_code == 204
    before = len(events)
    revoked = get_me(desk, f"Bearer {ann.token}", "revoked")
    tampered = get_me(desk, f"Bearer {ann.token[:-4]}AAAA", "tampered")
    assert (revoked.status_code, tampered.status_code) == (401, 401)
    new = events[before:]
    assert [(field(r, "request_id"), field(r, "reason")) for r in new] == [
        ("revoked", "session_ended"),
        ("tampered", "invalid_token"),
    ]
    for record in new:
        assert_no_secret(record, ann.token, ann.token[:-4])


def test_an_expired_session_is_one_event(
    desk: Helpdesk, events: list[logging.LogRecord], clock: SettableClock
) -> None:
    ann = desk.customer("ann")
    clock.current += timedelta(hours=2)  # past the session's lifetime
    before = len(events)
    assert get_me(desk, f"Bearer {ann.token}", "late").status_code == 401
    assert field(only_event(events, before), "reason") == "session_ended"


def test_a_deactivated_staff_members_token_is_one_event(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    agent = desk.staff("agent", desk.department())
    desk.deactivate(agent)
    before = len(events)
    assert desk.get(f"{API}/staff/tickets", agent).status_code == 401
    record = only_event(events, before)
    # Deactivation ends the member's sessions at once, so the token names an ended session.
    assert (field(record, "reason"), field(record, "route")) == (
        "session_ended",
        f"{API}/staff/tickets",
    )
    assert field(record, "user_id") is None  # the token no longer speaks for anyone


def test_a_forbidden_action_is_one_event_naming_the_principal(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    customer = desk.customer("gus")
    agent = desk.staff("agent", desk.department())
    before = len(events)
    refused = [
        desk.get(f"{API}/admin/departments", customer),
        desk.client.simulate_post(
            f"{API}/admin/departments", json={"name": "Sales"}, headers=agent.headers
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403]
    first, second = events[before:]
    assert field(first, "event") == field(second, "event") == "authz_denied"
    assert (field(first, "user_id"), field(first, "role")) == (customer.id, "customer")
    assert (field(second, "user_id"), field(second, "role")) == (agent.id, "agent")
    assert (field(first, "method"), field(second, "method")) == ("GET", "POST")
    assert field(first, "route") == f"{API}/admin/departments"
    assert field(first, "status") == 403
    assert field(first, "reason") == "forbidden"
    assert "administrators" in str(field(first, "detail"))
    assert_no_secret(first, customer.token)
    assert_no_secret(second, agent.token)


def test_allowed_and_public_requests_write_no_security_event(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    ann: Person = desk.customer("ann")
    before = len(events)
    assert desk.get(f"{API}/me", ann).status_code == 200
    assert desk.client.simulate_get("/health/live").status_code == 200
    assert desk.client.simulate_get("/no/such/page").status_code == 404
    out_of_scope = desk.get(f"{API}/tickets/{uuid.uuid4()}", ann)
    assert out_of_scope.status_code == 404  # scope answers 404, not a refusal
    assert events[before:] == []


def test_security_events_are_json_objects_with_their_fields(
    desk: Helpdesk, events: list[logging.LogRecord]
) -> None:
    """In production (JSON logs) the fields are keys of the line, not prose."""
    ann = desk.customer("ann")
    before = len(events)
    login(desk, ann.email, PASSWORD, "json-1")
    get_me(desk, None, "json-2")
    lines = [json.loads(JsonFormatter().format(r)) for r in events[before:]]
    assert lines[0]["logger"] == SECURITY
    assert {"event", "outcome", "email_hint", "user_id", "client_ip", "request_id"} <= set(lines[0])
    assert lines[0]["request_id"] == "json-1"
    assert {"event", "reason", "route", "method", "status", "client_ip"} <= set(lines[1])
    assert lines[1]["request_id"] == "json-2"


# ---------------------------------------------------------------- the suite's log guard


def test_the_log_guard_finds_every_kind_of_secret(no_secret_in_logs: LogGuard) -> None:
    """The autouse guard (tests/conftest.py) is real: each secret written here is reported,
    the mail record may carry its reset link, and a clean line passes."""
    signer = ItsdangerousSigner([TEST_SECRET])
    token = signer.sign("access", uuid.uuid4().hex)
    reset = signer.derive("password-reset", str(uuid.uuid4()))[0]
    assert signer.unsign("access", token, 60)  # the spy changes nothing the signer does
    log = logging.getLogger("helpdesk.guard-check")
    log.info("clean line for %s", "nobody@example.com")
    log.info("body was %s", json.dumps({"password": PASSWORD}))
    log.debug("issued %s", token)  # DEBUG too: the guard opens our loggers fully
    log.warning("created", extra={"payload": {"secret": "whsec_" + "Ab1+/" * 9 + "="}})
    log.info("reset link ?token=%s", reset)
    logging.getLogger("helpdesk.mail").info("mail to a@example.com:\n?token=%s", reset)
    try:
        leaks = no_secret_in_logs.leaks()
        assert [leak.split(" in ")[0] for leak in leaks] == [
            "helpdesk.guard-check: a canary password",
            "helpdesk.guard-check: an access token",
            "helpdesk.guard-check: a webhook secret",
            "helpdesk.guard-check: a reset token",
        ]
        assert not any(token in leak or reset in leak or PASSWORD in leak for leak in leaks)
    finally:
        no_secret_in_logs.lines.clear()  # written on purpose: not a leak of this test
