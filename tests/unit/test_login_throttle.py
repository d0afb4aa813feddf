"""Login throttling on the in-memory adapters: guessing stops, bystanders get in.

Issue 19, finding 5: five wrong passwords for one customer locked every account out of that
address, the administrator's correct login included. The account and the address now have
limits of their own: a handful of failures locks the account, the address allows many more.
"""

from __future__ import annotations

import pytest

from adapters.memory.cache import MemoryRateLimiter
from adapters.memory.uow import MemoryUnitOfWork
from adapters.security.passwords import LibpassHasher
from adapters.security.tokens import ItsdangerousSigner
from adapters.system.clock import SystemClock, UuidGenerator
from helpdesk_core.domain.errors import AuthenticationFailed, NotFound, RateLimited
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.auth import AuthPolicy, AuthService, Login, Register
from helpdesk_core.usecases.customers import CustomerService

PASSWORD = "correct horse battery"
WRONG = "wrong password, sorry"
OFFICE = "198.51.100.20"  # one NAT address, many people behind it


class Desk:
    def __init__(self, policy: AuthPolicy, limiter: MemoryRateLimiter | None = None) -> None:
        self.uow = MemoryUnitOfWork()
        self.limiter = limiter or MemoryRateLimiter()
        self.auth = AuthService(
            self.uow,
            LibpassHasher(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1),
            ItsdangerousSigner(["k" * 40]),
            SystemClock(),
            UuidGenerator(),
            self.limiter,
            policy,
        )
        self.customers = CustomerService(self.uow, SystemClock(), UuidGenerator(), self.limiter)

    def fail(self, email: str, times: int, address: str = OFFICE) -> None:
        for _ in range(times):
            with pytest.raises(AuthenticationFailed):
                self.auth.login(Login(email, WRONG, address))


@pytest.fixture
def desk() -> Desk:
    desk = Desk(AuthPolicy())  # the defaults: 5 per account, 50 per address
    for name in ("ann", "ada", "bob"):
        desk.auth.register(Register(f"{name}@example.com", PASSWORD, name.title()))
    return desk


def test_five_wrong_passwords_for_one_account_do_not_stop_another_account(desk: Desk) -> None:
    desk.fail("ann@example.com", 5)
    result = desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))
    assert result.account.user.email == "ada@example.com"


def test_the_account_itself_is_locked_even_for_the_right_password(desk: Desk) -> None:
    desk.fail("ann@example.com", 5)
    with pytest.raises(RateLimited) as caught:  # from any address
        desk.auth.login(Login("ann@example.com", PASSWORD, "203.0.113.9"))
    assert 1 <= caught.value.retry_after <= 300


def test_unlock_lifts_the_accounts_lockout_at_once(desk: Desk) -> None:
    desk.fail("ann@example.com", 5)
    with pytest.raises(RateLimited):
        desk.auth.login(Login("ann@example.com", PASSWORD, OFFICE))
    desk.customers.unlock_account(SYSTEM_OPERATOR, "ANN@example.com ")
    assert desk.auth.login(Login("ann@example.com", PASSWORD, OFFICE)).account.user.is_active


def test_unlocking_an_unknown_account_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.customers.unlock_account(SYSTEM_OPERATOR, "nobody@example.com")


def test_the_address_limit_still_stops_guessing_across_accounts() -> None:
    desk = Desk(AuthPolicy(login_rate_limit=5, login_address_rate_limit=8))
    desk.auth.register(Register("ada@example.com", PASSWORD, "Ada"))
    for n in range(4):  # 2 wrong passwords each for 4 accounts: none locked, the address is
        desk.fail(f"someone{n}@example.com", 2)
    with pytest.raises(RateLimited):
        desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))
    # From elsewhere, Ada is not affected: only the address waits.
    assert desk.auth.login(Login("ada@example.com", PASSWORD, "203.0.113.9"))


def test_the_address_window_is_its_own() -> None:
    now = [1000.0]
    desk = Desk(
        AuthPolicy(
            login_rate_limit=5,
            login_rate_window=300,
            login_address_rate_limit=3,
            login_address_rate_window=30,
        ),
        MemoryRateLimiter(clock=lambda: now[0]),
    )
    desk.auth.register(Register("ada@example.com", PASSWORD, "Ada"))
    for n in range(3):
        desk.fail(f"someone{n}@example.com", 1)
    with pytest.raises(RateLimited) as caught:
        desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))
    assert caught.value.retry_after <= 30
    now[0] += 31
    assert desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))


def test_a_success_does_not_reset_the_address_count() -> None:
    desk = Desk(AuthPolicy(login_rate_limit=5, login_address_rate_limit=4))
    desk.auth.register(Register("ada@example.com", PASSWORD, "Ada"))
    desk.fail("someone@example.com", 3)
    desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))  # a valid account of its own
    desk.fail("other@example.com", 1)
    with pytest.raises(RateLimited):
        desk.auth.login(Login("ada@example.com", PASSWORD, OFFICE))
