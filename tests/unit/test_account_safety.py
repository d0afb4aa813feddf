"""Issue 20 on the in-memory adapters: resets, enumeration, and throttles on costly routes.

Findings 4 (forgot-password and registration not throttled), 7 (reset and password-change
gaps) and 8 (enumeration), tested where the rules live: the use cases.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

from adapters.memory.cache import MemoryRateLimiter
from adapters.memory.uow import MemoryUnitOfWork
from adapters.security.passwords import LibpassHasher
from adapters.security.tokens import ItsdangerousSigner
from adapters.system.clock import SystemClock, UuidGenerator
from helpdesk_core.domain.entities import User
from helpdesk_core.domain.errors import RateLimited, ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.usecases.auth import (
    AuthPolicy,
    AuthService,
    ChangePassword,
    ForgotPassword,
    Login,
    Register,
    ResetPassword,
    reset_token,
)
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, OrgService, UpdateStaff

PASSWORD = "correct horse battery"
NEW = "brand new secret 7"
SIGNER = ItsdangerousSigner(["k" * 40])


class _NoCache:
    def get_org(self, generation: int) -> None:
        return None

    def set_org(self, generation: int, snapshot: object) -> None:
        pass


class Desk:
    def __init__(self, **policy: Any) -> None:
        self.uow = MemoryUnitOfWork()
        clock, ids = SystemClock(), UuidGenerator()
        hasher = LibpassHasher(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1)
        self.limiter = MemoryRateLimiter()
        self.policy = AuthPolicy(**policy)
        self.auth = AuthService(self.uow, hasher, SIGNER, clock, ids, self.limiter, self.policy)
        self.org = OrgService(self.uow, _NoCache(), hasher, clock, ids, self.policy)

    def customer(self, name: str = "ann") -> User:
        return self.auth.register(Register(f"{name}@example.com", PASSWORD, name.title())).user

    def agent(self, name: str = "sam") -> User:
        department = self.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
        return self.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                f"{name}@example.com", name.title(), PASSWORD, StaffRole.AGENT, department.id
            ),
        ).user

    def session(self, user: User) -> Principal:
        return self.auth.authenticate(self.auth.login(Login(user.email, PASSWORD)).access_token)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        rows = sorted(self.uow.state.outbox.values(), key=lambda r: r.entry.seq)
        return [dict(r.entry.event.data) for r in rows if r.entry.event.type == event_type]

    def tokens(self) -> list[str]:
        """The reset token of every reset requested so far, oldest first."""
        reset_ids = [uuid.UUID(e["reset_id"]) for e in self.events("user.password_reset_requested")]
        return [reset_token(SIGNER, reset_id) for reset_id in reset_ids]

    def users(self) -> list[str]:
        return sorted(u.email for u in self.uow.state.users.values())


@pytest.fixture
def desk() -> Desk:
    return Desk()


# ---------------------------------------------------------------- resets (finding 7)


def test_a_deactivated_staff_member_gets_no_reset_link(desk: Desk) -> None:
    sam = desk.agent()
    desk.org.update_staff(SYSTEM_OPERATOR, sam.id, UpdateStaff(active=False))
    desk.auth.forgot_password(ForgotPassword(sam.email))
    assert desk.events("user.password_reset_requested") == []
    assert desk.uow.state.password_resets == {}


def test_a_link_asked_for_before_deactivation_is_dead_after_reactivation(desk: Desk) -> None:
    sam = desk.agent()
    desk.auth.forgot_password(ForgotPassword(sam.email))
    (token,) = desk.tokens()
    desk.org.update_staff(SYSTEM_OPERATOR, sam.id, UpdateStaff(active=False))
    desk.org.update_staff(SYSTEM_OPERATOR, sam.id, UpdateStaff(active=True))
    with pytest.raises(ValidationFailed):
        desk.auth.reset_password(ResetPassword(token, NEW))
    assert desk.session(sam).user_id == sam.id  # the old password is still the one


def test_a_deactivated_staff_member_cannot_reset_with_a_live_token(desk: Desk) -> None:
    sam = desk.agent()
    desk.auth.forgot_password(ForgotPassword(sam.email))
    (token,) = desk.tokens()
    staff = desk.uow.state.staff[sam.id]  # deactivated behind the use case's back
    desk.uow.state.staff[sam.id] = attrs.evolve(staff, is_active=False)
    with pytest.raises(ValidationFailed):
        desk.auth.reset_password(ResetPassword(token, NEW))


def test_a_password_change_voids_every_outstanding_reset_link(desk: Desk) -> None:
    ann = desk.customer()
    desk.auth.forgot_password(ForgotPassword(ann.email))
    (token,) = desk.tokens()
    desk.auth.change_password(desk.session(ann), ChangePassword(PASSWORD, NEW))
    with pytest.raises(ValidationFailed):
        desk.auth.reset_password(ResetPassword(token, "a third password 9"))


def test_a_reset_voids_the_other_outstanding_links(desk: Desk) -> None:
    ann = desk.customer()
    desk.auth.forgot_password(ForgotPassword(ann.email))
    desk.auth.forgot_password(ForgotPassword(ann.email))
    first, second = desk.tokens()
    desk.auth.reset_password(ResetPassword(second, NEW))
    with pytest.raises(ValidationFailed):
        desk.auth.reset_password(ResetPassword(first, "a third password 9"))


# ---------------------------------------------------------------- enumeration (finding 8)


def test_signing_up_a_taken_address_makes_no_account_and_tells_the_owner(desk: Desk) -> None:
    ann = desk.customer()
    assert desk.auth.sign_up(Register(" ANN@example.com", "another password 42", "Eve")) is None
    assert desk.users() == ["ann@example.com"]
    assert desk.uow.state.users[ann.id] == ann  # untouched
    (attempt,) = desk.events("user.registration_attempted")
    assert attempt["user"]["id"] == str(ann.id)
    assert "another password 42" not in repr(attempt)


def test_signing_up_a_free_address_makes_the_account(desk: Desk) -> None:
    assert desk.auth.sign_up(Register("bob@example.com", PASSWORD, "Bob")) is None
    assert desk.users() == ["bob@example.com"]
    assert len(desk.events("user.registered")) == 1
    assert desk.events("user.registration_attempted") == []


def test_bad_input_is_refused_alike_for_taken_and_free_addresses(desk: Desk) -> None:
    desk.customer()
    messages = []
    for email in ("ann@example.com", "bob@example.com"):
        with pytest.raises(ValidationFailed) as caught:
            desk.auth.sign_up(Register(email, "short", "X"))
        messages.append(caught.value.errors)
    assert messages[0] == messages[1]


def test_the_owner_is_told_at_most_the_reset_link_limit_per_window() -> None:
    desk = Desk(forgot_rate_limit=2, register_address_rate_limit=100)
    desk.customer()
    for _ in range(5):
        desk.auth.sign_up(Register("ann@example.com", "another password 42", "Eve"))
    assert len(desk.events("user.registration_attempted")) == 2


# ---------------------------------------------------------------- throttles (findings 4, 7)


def test_reset_links_are_limited_per_recipient_registered_or_not() -> None:
    desk = Desk(forgot_rate_limit=3)
    ann = desk.customer()
    for email in (ann.email, "nobody@example.com"):
        for n in range(3):  # from three different client addresses
            desk.auth.forgot_password(ForgotPassword(email, f"198.51.100.{n}"))
        with pytest.raises(RateLimited) as caught:
            desk.auth.forgot_password(ForgotPassword(email, "203.0.113.9"))
        assert 1 <= caught.value.retry_after <= 3600
    assert len(desk.events("user.password_reset_requested")) == 3  # 15 before the fix


def test_reset_links_are_limited_per_client_address() -> None:
    desk = Desk(forgot_address_rate_limit=4)
    for n in range(4):
        desk.auth.forgot_password(ForgotPassword(f"p{n}@example.com", "198.51.100.7"))
    with pytest.raises(RateLimited):
        desk.auth.forgot_password(ForgotPassword("p9@example.com", "198.51.100.7"))
    desk.auth.forgot_password(ForgotPassword("p9@example.com", "198.51.100.8"))  # another one


def test_registrations_are_limited_per_client_address() -> None:
    desk = Desk(register_address_rate_limit=3)
    for n in range(3):
        desk.auth.sign_up(Register(f"c{n}@example.com", PASSWORD, "C", "198.51.100.7"))
    with pytest.raises(RateLimited) as caught:
        desk.auth.sign_up(Register("c9@example.com", PASSWORD, "C", "198.51.100.7"))
    assert 1 <= caught.value.retry_after <= 3600
    assert "c9@example.com" not in desk.users()  # refused before any hash or write
    desk.auth.sign_up(Register("c9@example.com", PASSWORD, "C", "198.51.100.8"))
    assert "c9@example.com" in desk.users()


def test_bad_registrations_do_not_count_against_the_address() -> None:
    desk = Desk(register_address_rate_limit=2)
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            desk.auth.sign_up(Register("not an address", PASSWORD, "C", "198.51.100.7"))
    desk.auth.sign_up(Register("c1@example.com", PASSWORD, "C", "198.51.100.7"))


def test_wrong_current_passwords_are_limited_per_session_like_logins() -> None:
    desk = Desk(password_change_rate_limit=3)
    ann = desk.customer()
    stolen, own = desk.session(ann), desk.session(ann)
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            desk.auth.change_password(stolen, ChangePassword("a guess, wrong", NEW))
    with pytest.raises(RateLimited) as caught:  # even the right password now
        desk.auth.change_password(stolen, ChangePassword(PASSWORD, NEW))
    assert 1 <= caught.value.retry_after <= 300
    desk.auth.change_password(own, ChangePassword(PASSWORD, NEW))  # another session is free
