"""The administration of customer accounts on the in-memory adapters: the rules themselves."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from adapters.memory.blobs import MemoryBlobStore
from adapters.memory.cache import MemoryQueueCountsCache, MemoryRateLimiter
from adapters.memory.uow import MemoryUnitOfWork
from adapters.roundrobin import TransactionalRoundRobin
from adapters.security.passwords import LibpassHasher
from adapters.security.tokens import ItsdangerousSigner
from adapters.system.clock import SystemClock, UuidGenerator
from helpdesk_core.domain.blobs import AttachmentLimits
from helpdesk_core.domain.entities import User
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.usecases.auth import (
    AuthPolicy,
    AuthService,
    ForgotPassword,
    Login,
    Register,
)
from helpdesk_core.usecases.customers import (
    ERASED_NAME,
    CustomerService,
    is_erased,
)
from helpdesk_core.usecases.org import CreateStaff, OrgService
from helpdesk_core.usecases.tickets import OpenTicket, TicketPolicy, TicketService
from helpdesk_core.usecases.tickets.files import TicketFiles

PASSWORD = "correct horse battery"


class Desk:
    def __init__(self) -> None:
        self.uow = MemoryUnitOfWork()
        clock, ids = SystemClock(), UuidGenerator()
        hasher = LibpassHasher(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1)
        self.limiter = MemoryRateLimiter()
        policy = AuthPolicy(login_rate_limit=3)
        self.auth = AuthService(
            self.uow, hasher, ItsdangerousSigner(["k" * 40]), clock, ids, self.limiter, policy
        )
        self.org = OrgService(self.uow, _NoCache(), hasher, clock, ids, policy)
        self.tickets = TicketService(
            self.uow,
            clock,
            ids,
            TransactionalRoundRobin(),
            MemoryQueueCountsCache(),
            TicketPolicy(),
            TicketFiles(self.uow, MemoryBlobStore(), AttachmentLimits()),
        )
        self.customers = CustomerService(self.uow, clock, ids, self.limiter)

    def customer(self, name: str) -> User:
        return self.auth.register(Register(f"{name}@example.com", PASSWORD, name.title())).user

    def as_customer(self, user: User) -> Principal:
        return self.auth.authenticate(self.auth.login(Login(user.email, PASSWORD)).access_token)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        rows = sorted(self.uow.state.outbox.values(), key=lambda r: r.entry.seq)
        return [dict(r.entry.event.data) for r in rows if r.entry.event.type == event_type]


class _NoCache:
    def get_org(self, generation: int) -> None:
        return None

    def set_org(self, generation: int, snapshot: object) -> None:
        return None


@pytest.fixture
def desk() -> Desk:
    return Desk()


AGENT = Principal(user_id=uuid.uuid4(), role=Role.AGENT, department_id=uuid.uuid4())


# ---------------------------------------------------------------- reads


def test_only_administrators_manage_customers(desk: Desk) -> None:
    ann = desk.customer("ann")
    for call in (
        lambda: desk.customers.list(AGENT, CustomerFilter()),
        lambda: desk.customers.get(AGENT, ann.id),
        lambda: desk.customers.set_active(AGENT, ann.id, False),
        lambda: desk.customers.erase(AGENT, ann.id),
        lambda: desk.customers.unlock(AGENT, ann.id),
        lambda: desk.customers.unlock_account(AGENT, ann.email),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_the_list_holds_customers_only_oldest_first_a_page_at_a_time(desk: Desk) -> None:
    names = ["ann", "bea", "cid", "dan", "eve"]
    made = [desk.customer(n) for n in names]
    desk.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = desk.customers.list(SYSTEM_OPERATOR, CustomerFilter(), after, limit=2)
        seen.extend(u.id for u in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [u.id for u in made]


def test_the_list_filters_by_active_and_by_part_of_the_email(desk: Desk) -> None:
    ann, bob = desk.customer("ann"), desk.customer("bob")
    desk.customer("ann_other")
    desk.customers.set_active(SYSTEM_OPERATOR, bob.id, False)

    def emails(where: CustomerFilter) -> list[str]:
        return [u.email for u in desk.customers.list(SYSTEM_OPERATOR, where).items]

    assert emails(CustomerFilter(active=False)) == [bob.email]
    assert emails(CustomerFilter(active=True, email_contains="ANN")) == [
        ann.email,
        "ann_other@example.com",
    ]
    assert emails(CustomerFilter(email_contains="n_o")) == ["ann_other@example.com"]
    assert emails(CustomerFilter(email_contains="%")) == []  # a plain character


def test_a_too_long_email_filter_is_refused(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as caught:
        desk.customers.list(SYSTEM_OPERATOR, CustomerFilter(email_contains="x" * 255))
    assert caught.value.errors[0].field == "email"


def test_staff_are_not_customers(desk: Desk) -> None:
    staff = desk.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    with pytest.raises(NotFound):
        desk.customers.get(SYSTEM_OPERATOR, staff.user.id)
    with pytest.raises(NotFound):
        desk.customers.find_by_email(SYSTEM_OPERATOR, "ada@example.com")
    with pytest.raises(NotFound):
        desk.customers.erase(SYSTEM_OPERATOR, staff.user.id)


# ---------------------------------------------------------------- deactivate, reactivate


def test_a_deactivated_customer_loses_every_session_and_cannot_log_in(desk: Desk) -> None:
    ann = desk.customer("ann")
    token = desk.auth.login(Login(ann.email, PASSWORD)).access_token
    desk.auth.forgot_password(ForgotPassword(ann.email))
    changed = desk.customers.set_active(SYSTEM_OPERATOR, ann.id, False)
    assert not changed.is_active
    assert changed.version == ann.version + 1
    with pytest.raises(AuthenticationFailed):
        desk.auth.authenticate(token)
    with pytest.raises(AuthenticationFailed) as caught:
        desk.auth.login(Login(ann.email, PASSWORD))
    assert caught.value.reason == "disabled"
    assert all(t.used_at is not None for t in desk.uow.state.password_resets.values())
    assert desk.events("user.deactivated")[-1]["user"]["active"] is False


def test_reactivation_lets_the_customer_in_again(desk: Desk) -> None:
    ann = desk.customer("ann")
    desk.customers.set_active(SYSTEM_OPERATOR, ann.id, False)
    again = desk.customers.set_active(SYSTEM_OPERATOR, ann.id, True)
    assert again.is_active
    assert desk.as_customer(ann).user_id == ann.id
    assert len(desk.events("user.reactivated")) == 1


def test_asking_for_the_current_state_changes_nothing(desk: Desk) -> None:
    ann = desk.customer("ann")
    assert desk.customers.set_active(SYSTEM_OPERATOR, ann.id, True) == ann
    assert desk.events("user.reactivated") == []


# ---------------------------------------------------------------- erase


def test_erasure_replaces_the_personal_data_and_keeps_the_tickets(desk: Desk) -> None:
    ann = desk.customer("ann")
    actor = desk.as_customer(ann)
    opened = [
        desk.tickets.open_ticket(actor, OpenTicket(f"Printer {n}", "It is on fire")).ticket
        for n in range(3)
    ]
    desk.auth.forgot_password(ForgotPassword(ann.email))
    erased = desk.customers.erase(SYSTEM_OPERATOR, ann.id)

    assert is_erased(erased)
    assert erased.display_name == ERASED_NAME
    assert "ann" not in erased.email
    assert erased.email.endswith("@erased.invalid")
    assert not erased.is_active
    state = desk.uow.state
    assert ann.password_hash not in {u.password_hash for u in state.users.values()}
    assert [s for s in state.sessions.values() if s.user_id == ann.id] == []
    assert [t for t in state.password_resets.values() if t.user_id == ann.id] == []
    # The tickets stay readable, under the placeholder name, with the erasure in their history.
    for ticket in opened:
        detail = desk.tickets.get_ticket(SYSTEM_OPERATOR, ticket.id)
        assert detail.ticket.subject.startswith("Printer")
        assert detail.names.requester == ERASED_NAME
        history = desk.tickets.history(SYSTEM_OPERATOR, ticket.id)
        assert [(h.entry.field, h.entry.new_value) for h in history][-1] == ("requester", "erased")
        assert history[-1].actor_name is None  # the erasure is the system's
    # One event, carrying only the placeholders.
    (event,) = desk.events("user.erased")
    assert event["user"] == {
        "id": str(ann.id),
        "email": erased.email,
        "display_name": ERASED_NAME,
        "external_id": None,
        "active": False,
        "erased": True,
        "created_at": erased.created_at.isoformat(),
        "updated_at": erased.updated_at.isoformat(),
        "version": erased.version,
    }


def test_an_erased_customer_cannot_log_in_nor_be_reactivated(desk: Desk) -> None:
    ann = desk.customer("ann")
    erased = desk.customers.erase(SYSTEM_OPERATOR, ann.id)
    with pytest.raises(AuthenticationFailed):
        desk.auth.login(Login(ann.email, PASSWORD))
    with pytest.raises(AuthenticationFailed):
        desk.auth.login(Login(erased.email, PASSWORD))
    with pytest.raises(Conflict):
        desk.customers.set_active(SYSTEM_OPERATOR, ann.id, True)


def test_erasing_twice_changes_nothing_the_second_time(desk: Desk) -> None:
    ann = desk.customer("ann")
    first = desk.customers.erase(SYSTEM_OPERATOR, ann.id)
    assert desk.customers.erase(SYSTEM_OPERATOR, ann.id) == first
    assert len(desk.events("user.erased")) == 1


def test_the_old_email_can_register_again_after_erasure(desk: Desk) -> None:
    ann = desk.customer("ann")
    desk.customers.erase(SYSTEM_OPERATOR, ann.id)
    again = desk.customer("ann")
    assert again.id != ann.id


def test_erasure_forgets_the_old_addresss_failed_logins(desk: Desk) -> None:
    ann = desk.customer("ann")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            desk.auth.login(Login(ann.email, "wrong password, sorry"))
    desk.customers.erase(SYSTEM_OPERATOR, ann.id)
    desk.customer("ann")  # the address, registered anew, is not locked by the old count
    assert desk.auth.login(Login(ann.email, PASSWORD))


# ---------------------------------------------------------------- unlock


def test_unlock_lifts_a_customers_lockout(desk: Desk) -> None:
    ann = desk.customer("ann")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            desk.auth.login(Login(ann.email, "wrong password, sorry"))
    with pytest.raises(RateLimited):
        desk.auth.login(Login(ann.email, PASSWORD))
    assert desk.customers.unlock(SYSTEM_OPERATOR, ann.id) == ann
    assert desk.auth.login(Login(ann.email, PASSWORD))


def test_unlock_account_reaches_staff_too(desk: Desk) -> None:
    desk.org.create_staff(
        SYSTEM_OPERATOR, CreateStaff("ada@example.com", "Ada", PASSWORD, StaffRole.ADMIN)
    )
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            desk.auth.login(Login("ada@example.com", "wrong password, sorry"))
    desk.customers.unlock_account(SYSTEM_OPERATOR, "ada@example.com")
    assert desk.auth.login(Login("ada@example.com", PASSWORD))
