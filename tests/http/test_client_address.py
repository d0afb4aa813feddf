"""The client's address behind load balancers (HELPDESK_TRUSTED_PROXIES).

Requirement: behind a load balancer, login throttling by address throttles the client that
failed, not everyone behind the balancer; without a trusted proxy configured, X-Forwarded-For is
ignored, so a client cannot dodge the throttle by writing the header itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import falcon.testing
import pytest

from entrypoints.http.client import ClientAddress
from helpdesk_core.usecases.auth import Register
from tests.http.conftest import PASSWORD, Helpdesk, make_helpdesk

LB = "10.0.0.2"  # the load balancer, the peer of every connection
ATTACKER, CUSTOMER = "203.0.113.5", "198.51.100.7"


@pytest.fixture
def behind_lb() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(trusted_proxies=("10.0.0.0/8",), login_address_rate_limit=5)
    yield desk
    services.close()


@pytest.fixture
def direct() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(login_address_rate_limit=5)
    yield desk
    services.close()


def _login(desk: Helpdesk, email: str, password: str, forwarded_for: str) -> int:
    result = desk.client.simulate_post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        remote_addr=LB,
        headers={"X-Forwarded-For": forwarded_for},
    )
    return result.status_code


def _register(desk: Helpdesk, email: str) -> None:
    desk.services.auth.register(Register(email=email, password=PASSWORD, display_name="C"))


def test_behind_a_trusted_balancer_only_the_failing_client_is_throttled(
    behind_lb: Helpdesk,
) -> None:
    _register(behind_lb, "carol@example.com")
    for i in range(5):  # five accounts, one address: the address limit of these tests
        assert _login(behind_lb, f"nobody{i}@example.com", "wrong password!", ATTACKER) == 401
    assert _login(behind_lb, "nobody9@example.com", "wrong password!", ATTACKER) == 429
    # A client the attacker wrote into the header's left part is not where the request came
    # from: the balancer appended the attacker's real address, which is still throttled.
    spoofed = f"192.0.2.1, {ATTACKER}"
    assert _login(behind_lb, "nobody9@example.com", "wrong password!", spoofed) == 429
    # Another customer behind the same balancer logs in.
    assert _login(behind_lb, "carol@example.com", PASSWORD, CUSTOMER) == 200


def test_without_a_trusted_proxy_the_header_is_ignored(direct: Helpdesk) -> None:
    for i in range(5):
        forged = f"192.0.2.{i + 1}"  # a new "address" each time: it must not help
        assert _login(direct, f"nobody{i}@example.com", "wrong password!", forged) == 401
    assert _login(direct, "nobody9@example.com", "wrong password!", "192.0.2.99") == 429


def test_the_security_log_names_the_forwarded_client(
    behind_lb: Helpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdesk.security"):
        assert _login(behind_lb, "nobody@example.com", "wrong password!", ATTACKER) == 401
    events = [r for r in caplog.records if getattr(r, "event", None) == "login"]
    assert len(events) == 1
    assert events[0].client_ip == ATTACKER  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        (LB, None, LB),  # nothing forwarded: the balancer itself
        (LB, CUSTOMER, CUSTOMER),
        (LB, f"{CUSTOMER}, 10.0.0.9", CUSTOMER),  # two trusted hops are skipped
        (LB, f"192.0.2.1, {CUSTOMER}", CUSTOMER),  # the rightmost untrusted one wins
        (LB, "10.0.0.9, 10.0.0.8", LB),  # only trusted hops: from inside
        (LB, "not-an-address", LB),  # garbage is never a key of its own
        (LB, "2001:DB8::1", "2001:db8::1"),  # normalized
        (CUSTOMER, ATTACKER, CUSTOMER),  # an untrusted peer's header is ignored
    ],
)
def test_the_address_is_read_from_the_right(peer: str, header: str | None, expected: str) -> None:
    headers = {"X-Forwarded-For": header} if header is not None else {}
    req = falcon.testing.create_req(remote_addr=peer, headers=headers)
    assert ClientAddress(["10.0.0.0/8"]).address(req) == expected
