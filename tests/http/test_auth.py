"""Accounts and sessions over HTTP: register, log in and out, passwords, revocation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import falcon.testing
import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.http.resources.auth import REGISTER_ANSWER
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from tests.conftest import make_settings
from tests.http.conftest import PASSWORD, Helpdesk
from tests.support.clock import SettableClock
from tests.support.events import drain

REGISTER = "/api/v1/auth/register"


@pytest.fixture
def mailbox() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def desk(mailbox: MemoryMailer, clock: SettableClock) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(), {Mailer: mailbox, Clock: clock})
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


def register(
    desk: Helpdesk, email: str = "ann@example.com", **extra: object
) -> falcon.testing.Result:
    body = {"email": email, "password": PASSWORD, "display_name": "Ann"} | extra
    return desk.client.simulate_post(REGISTER, json=body)


def test_registering_answers_202_and_the_account_logs_in(desk: Helpdesk) -> None:
    result = register(desk, email="  Ann@Example.com ")
    assert result.status_code == 202
    assert result.json == REGISTER_ANSWER
    assert "argon2" not in result.text
    assert PASSWORD not in result.text
    login = desk.login("ann@example.com")
    assert login.status_code == 200
    assert login.json["user"]["email"] == "ann@example.com"
    assert login.json["user"]["role"] == "customer"


def test_registering_a_taken_address_answers_exactly_as_a_new_one(
    desk: Helpdesk, mailbox: MemoryMailer
) -> None:
    # Issue 20, finding 8: it answered 409 "the email is already registered".
    first = register(desk)
    again = register(desk, email="ANN@example.com", password="another password 42")
    assert (again.status_code, again.headers["content-type"], again.json) == (
        first.status_code,
        first.headers["content-type"],
        first.json,
    )
    assert desk.login("ann@example.com", "another password 42").status_code == 401  # no account
    assert desk.login("ann@example.com").status_code == 200  # the owner's is untouched
    drain(desk.services)
    told = [m for m in mailbox.sent if m.to == "ann@example.com"]
    assert [m.subject for m in told] == ["Someone tried to register with your address"]
    assert "another password 42" not in told[0].body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "aaaaaaaaaaaaaa"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "x" * 300}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"email": 42}, "email"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_bad_registrations_name_the_field_and_store_nothing(
    desk: Helpdesk, change: dict[str, object], field: str
) -> None:
    result = register(desk, **change)
    assert result.status_code == 422, result.text
    assert field in [e["field"] for e in result.json["errors"]]
    assert desk.login("ann@example.com").status_code == 401


def test_a_missing_field_is_named(desk: Helpdesk) -> None:
    result = desk.client.simulate_post(REGISTER, json={"email": "a@example.com"})
    assert result.status_code == 422
    assert {e["field"] for e in result.json["errors"]} == {"password", "display_name"}


def test_login_answers_a_bearer_token_that_opens_me(desk: Helpdesk) -> None:
    register(desk)
    result = desk.login("ANN@example.com")
    assert result.status_code == 200
    assert result.json["token_type"] == "Bearer"
    assert result.json["expires_in"] == 3600
    me = desk.client.simulate_get(
        "/api/v1/me", headers={"Authorization": f"Bearer {result.json['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json["email"] == "ann@example.com"


def test_wrong_password_and_unknown_email_look_the_same(desk: Helpdesk) -> None:
    register(desk)
    wrong = desk.login("ann@example.com", "wrong password!")
    unknown = desk.login("nobody@example.com", "wrong password!")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong.json) == strip(unknown.json)
    assert "registered" not in wrong.text


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "Basic abc", "Bearer a.b.c", "token-without-scheme"],
)
def test_bad_tokens_are_401_with_a_challenge(desk: Helpdesk, header: str) -> None:
    result = desk.client.simulate_get("/api/v1/me", headers={"Authorization": header})
    assert result.status_code == 401
    assert result.headers["www-authenticate"].startswith("Bearer")


def test_no_token_is_401(desk: Helpdesk) -> None:
    result = desk.client.simulate_get("/api/v1/me")
    assert result.status_code == 401
    assert result.headers["www-authenticate"].startswith("Bearer")


def test_a_tampered_token_is_refused(desk: Helpdesk) -> None:
    register(desk)
    token = desk.login("ann@example.com").json["access_token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    result = desk.client.simulate_get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"})
    assert result.status_code == 401


def test_logout_ends_that_session_only(desk: Helpdesk) -> None:
    register(desk)
    first, second = desk.person("ann@example.com"), desk.person("ann@example.com")
    assert desk.post("/api/v1/auth/logout", first).status_code == 204
    assert desk.get("/api/v1/me", first).status_code == 401
    assert desk.get("/api/v1/me", second).status_code == 200


def test_a_session_expires(desk: Helpdesk, clock: SettableClock) -> None:
    register(desk)
    person = desk.person("ann@example.com")
    clock.current += timedelta(seconds=3601)
    assert desk.get("/api/v1/me", person).status_code == 401


def test_failed_logins_are_throttled_per_account(desk: Helpdesk) -> None:
    register(desk)
    for _ in range(5):
        assert desk.login("ann@example.com", "wrong password!").status_code == 401
    limited = desk.login("ann@example.com")  # even the right password waits now
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 300


def test_changing_the_password_ends_every_other_session(desk: Helpdesk) -> None:
    register(desk)
    here, elsewhere = desk.person("ann@example.com"), desk.person("ann@example.com")
    wrong = desk.post(
        "/api/v1/auth/password/change",
        here,
        json={"current_password": "nope nope nope", "new_password": "a new secret 42"},
    )
    assert wrong.status_code == 422
    assert wrong.json["errors"][0]["field"] == "current_password"
    ok = desk.post(
        "/api/v1/auth/password/change",
        here,
        json={"current_password": PASSWORD, "new_password": "a new secret 42"},
    )
    assert ok.status_code == 204
    assert desk.get("/api/v1/me", here).status_code == 200
    assert desk.get("/api/v1/me", elsewhere).status_code == 401
    assert desk.login("ann@example.com").status_code == 401
    assert desk.login("ann@example.com", "a new secret 42").status_code == 200


def _reset_token(mailbox: MemoryMailer) -> str:
    match = re.search(r"token=([A-Za-z0-9_-]+)", mailbox.sent[-1].body)
    assert match, mailbox.sent[-1].body
    return match.group(1)


def test_forgot_password_answers_the_same_for_known_and_unknown(
    desk: Helpdesk, mailbox: MemoryMailer
) -> None:
    register(desk)
    known = desk.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
    unknown = desk.post("/api/v1/auth/password/forgot", json={"email": "who@example.com"})
    invalid = desk.post("/api/v1/auth/password/forgot", json={"email": "not an email"})
    drain(desk.services)
    assert known.status_code == unknown.status_code == invalid.status_code == 202
    assert known.json == unknown.json == invalid.json
    assert [m.to for m in mailbox.sent] == ["ann@example.com"]


def test_a_reset_token_works_once_and_ends_every_session(
    desk: Helpdesk, mailbox: MemoryMailer
) -> None:
    register(desk)
    session = desk.person("ann@example.com")
    desk.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
    drain(desk.services)
    token = _reset_token(mailbox)
    body = {"token": token, "new_password": "brand new secret 7"}
    assert desk.post("/api/v1/auth/password/reset", json=body).status_code == 204
    assert desk.get("/api/v1/me", session).status_code == 401
    again = desk.post("/api/v1/auth/password/reset", json=body | {"new_password": "other one 123"})
    assert again.status_code == 422
    assert again.json["errors"][0]["field"] == "token"
    assert desk.login("ann@example.com", "brand new secret 7").status_code == 200


def test_a_reset_token_expires(desk: Helpdesk, mailbox: MemoryMailer, clock: SettableClock) -> None:
    register(desk)
    desk.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
    drain(desk.services)
    clock.current += timedelta(seconds=3601)
    body = {"token": _reset_token(mailbox), "new_password": "brand new secret 7"}
    assert desk.post("/api/v1/auth/password/reset", json=body).status_code == 422
    assert desk.login("ann@example.com").status_code == 200


def test_a_deactivated_staff_member_is_locked_out_at_once(desk: Helpdesk) -> None:
    department = desk.department()
    agent = desk.staff("agent", department)
    assert desk.get("/api/v1/me", agent).status_code == 200
    desk.deactivate(agent)
    assert desk.get("/api/v1/me", agent).status_code == 401
    assert desk.login(agent.email).status_code == 401


def test_me_can_change_the_display_name(desk: Helpdesk) -> None:
    register(desk)
    person = desk.person("ann@example.com")
    result = desk.patch("/api/v1/me", person, json={"display_name": "  Ann B.  "})
    assert result.status_code == 200
    assert result.json["display_name"] == "Ann B."
    assert desk.patch("/api/v1/me", person, json={"email": "x@y.z"}).status_code == 422


def test_no_response_ever_carries_a_hash(desk: Helpdesk) -> None:
    register(desk)
    person = desk.person("ann@example.com")
    for result in (desk.get("/api/v1/me", person), desk.login("ann@example.com")):
        assert "$argon2" not in result.text
        assert "password" not in result.text
