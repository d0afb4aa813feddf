"""Issue 20 over HTTP: 429 + Retry-After on the costly routes, addresses that mail someone else.

The rules are tested on the use cases (tests/unit/test_account_safety.py); here, that each
route maps them: the same 429 problem with Retry-After as login, and 422 for an address that
is not one plain mailbox.
"""

from __future__ import annotations

from collections.abc import Iterator

import falcon.testing
import pytest

from tests.http.conftest import PASSWORD, Helpdesk, make_helpdesk

API = "/api/v1"


@pytest.fixture
def desk() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(
        forgot_password_rate_limit=2,
        forgot_password_address_rate_limit=4,
        register_address_rate_limit=3,
        password_change_rate_limit=2,
    )
    yield desk
    services.close()


def _register(desk: Helpdesk, email: str, remote_addr: str = "198.51.100.7") -> int:
    body = {"email": email, "password": PASSWORD, "display_name": "C"}
    return desk.client.simulate_post(
        f"{API}/auth/register", json=body, remote_addr=remote_addr
    ).status_code


def _forgot(desk: Helpdesk, email: str, remote_addr: str = "198.51.100.7") -> falcon.testing.Result:
    return desk.client.simulate_post(
        f"{API}/auth/password/forgot", json={"email": email}, remote_addr=remote_addr
    )


def _is_rate_limited(result: falcon.testing.Result, window: int) -> None:
    assert result.status_code == 429, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert 1 <= int(result.headers["retry-after"]) <= window


def test_registration_answers_429_per_client_address(desk: Helpdesk) -> None:
    assert [_register(desk, f"c{n}@example.com") for n in range(3)] == [202] * 3
    limited = desk.client.simulate_post(
        f"{API}/auth/register",
        json={"email": "c9@example.com", "password": PASSWORD, "display_name": "C"},
        remote_addr="198.51.100.7",
    )
    _is_rate_limited(limited, 3600)
    assert _register(desk, "c9@example.com", "198.51.100.8") == 202  # another client


def test_forgot_password_answers_429_per_recipient_and_per_client_address(
    desk: Helpdesk,
) -> None:
    for n in range(2):
        assert _forgot(desk, "who@example.com", f"203.0.113.{n}").status_code == 202
    _is_rate_limited(_forgot(desk, "who@example.com", "203.0.113.9"), 3600)
    for n in range(4):
        assert _forgot(desk, f"p{n}@example.com").status_code == 202
    _is_rate_limited(_forgot(desk, "p9@example.com"), 3600)


def test_password_change_answers_429_after_wrong_current_passwords(desk: Helpdesk) -> None:
    person = desk.customer()
    wrong = {"current_password": "a wrong guess 1", "new_password": "brand new secret 7"}
    for _ in range(2):
        assert desk.post(f"{API}/auth/password/change", person, json=wrong).status_code == 422
    right = wrong | {"current_password": PASSWORD}
    _is_rate_limited(desk.post(f"{API}/auth/password/change", person, json=right), 300)


@pytest.mark.parametrize(
    "address",
    ["a,b@cust.example.com", "<x>@cust.example.com", "Eve <eve@evil.example>", '"a b"@x.example'],
)
def test_an_address_that_is_not_one_mailbox_is_refused_at_registration(
    desk: Helpdesk, address: str
) -> None:
    body = {"email": address, "password": PASSWORD, "display_name": "C"}
    result = desk.client.simulate_post(f"{API}/auth/register", json=body)
    assert result.status_code == 422, result.text
    assert [(e["field"], e["in"]) for e in result.json["errors"]] == [("email", "body")]
