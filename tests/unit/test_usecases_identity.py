"""The identity and organization use cases on in-memory adapters: the rules themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.memory.cache import MemoryRateLimiter, MemoryReferenceCache
from adapters.memory.uow import MemoryUnitOfWork
from adapters.security.passwords import LibpassHasher
from adapters.security.tokens import ItsdangerousSigner
from adapters.system.clock import SystemClock, UuidGenerator
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.ports.cache import OrgSnapshot
from helpdesk_core.usecases.auth import AuthPolicy, AuthService, Login, Register
from helpdesk_core.usecases.org import (
    ORG_GENERATION,
    CreateDepartment,
    CreateStaff,
    OrgService,
    UpdateDepartment,
    UpdateStaff,
)

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 27, tzinfo=UTC)
CHEAP = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}


class RecordingHasher:
    """A real hasher that counts how often each operation ran."""

    def __init__(self, inner: LibpassHasher) -> None:
        self.inner = inner
        self.verifies = 0
        self.dummies = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        self.verifies += 1
        return self.inner.verify(password, password_hash)

    def dummy_verify(self) -> None:
        self.dummies += 1
        self.inner.dummy_verify()


class CountingCache(MemoryReferenceCache):
    def __init__(self) -> None:
        super().__init__()
        self.hits = 0
        self.sets = 0

    def get_org(self, generation: int) -> OrgSnapshot | None:
        found = super().get_org(generation)
        self.hits += found is not None
        return found

    def set_org(self, generation: int, snapshot: OrgSnapshot) -> None:
        self.sets += 1
        super().set_org(generation, snapshot)


@pytest.fixture
def uow() -> MemoryUnitOfWork:
    return MemoryUnitOfWork()


@pytest.fixture
def hasher() -> RecordingHasher:
    return RecordingHasher(LibpassHasher(**CHEAP))


@pytest.fixture
def cache() -> CountingCache:
    return CountingCache()


@pytest.fixture
def auth(uow: MemoryUnitOfWork, hasher: RecordingHasher) -> AuthService:
    return AuthService(
        uow,
        hasher,
        ItsdangerousSigner(["k" * 40]),
        SystemClock(),
        UuidGenerator(),
        MemoryRateLimiter(),
        AuthPolicy(login_rate_limit=3, login_address_rate_limit=6),
    )


@pytest.fixture
def org(
    uow: MemoryUnitOfWork, hasher: RecordingHasher, cache: CountingCache
) -> Iterator[OrgService]:
    return OrgService(uow, cache, hasher, SystemClock(), UuidGenerator(), AuthPolicy())


def test_an_unknown_email_costs_a_dummy_verify(auth: AuthService, hasher: RecordingHasher) -> None:
    with pytest.raises(AuthenticationFailed):
        auth.login(Login("nobody@example.com", PASSWORD))
    assert (hasher.dummies, hasher.verifies) == (1, 0)


def test_a_hash_from_an_older_scheme_is_replaced_at_login(
    uow: MemoryUnitOfWork, hasher: RecordingHasher
) -> None:
    bcrypt = LibpassHasher(scheme="bcrypt", bcrypt_rounds=4, **CHEAP)
    old = AuthService(
        uow,
        bcrypt,
        ItsdangerousSigner(["k" * 40]),
        SystemClock(),
        UuidGenerator(),
        MemoryRateLimiter(),
        AuthPolicy(),
    )
    account = old.register(Register("ann@example.com", PASSWORD, "Ann"))
    assert account.user.password_hash.startswith("$bcrypt-sha256$")
    new = AuthService(
        uow,
        hasher,
        ItsdangerousSigner(["k" * 40]),
        SystemClock(),
        UuidGenerator(),
        MemoryRateLimiter(),
        AuthPolicy(),
    )
    result = new.login(Login("ann@example.com", PASSWORD))
    assert result.account.user.password_hash.startswith("$argon2id$")
    with uow.begin(read_only=True) as tx:
        stored = tx.users.get(account.user.id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert new.login(Login("ann@example.com", PASSWORD)).account.user.version == stored.version


def test_the_right_password_waits_once_the_account_is_throttled(auth: AuthService) -> None:
    auth.register(Register("ann@example.com", PASSWORD, "Ann"))
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            auth.login(Login("ann@example.com", "wrong password!", "10.0.0.1"))
    with pytest.raises(RateLimited) as caught:
        auth.login(Login("ann@example.com", PASSWORD, "10.0.0.2"))
    assert caught.value.retry_after > 0


def test_the_address_is_throttled_across_accounts(auth: AuthService) -> None:
    for n in range(6):  # the fixture's address limit: 6
        with pytest.raises(AuthenticationFailed):
            auth.login(Login(f"someone{n}@example.com", "wrong password!", "10.9.9.9"))
    with pytest.raises(RateLimited):
        auth.login(Login("other@example.com", PASSWORD, "10.9.9.9"))


def test_a_token_speaks_for_its_session_until_logout(auth: AuthService) -> None:
    auth.register(Register("ann@example.com", PASSWORD, "Ann"))
    result = auth.login(Login("ann@example.com", PASSWORD))
    principal = auth.authenticate(result.access_token)
    assert principal.role is Role.CUSTOMER
    assert principal.session_id is not None
    auth.logout(principal)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(result.access_token)


def test_only_admins_manage_the_organization(org: OrgService) -> None:
    for role in (Role.CUSTOMER, Role.AGENT, Role.LEAD):
        actor = Principal(uuid.uuid4(), role)
        with pytest.raises(PermissionDenied):
            org.create_department(actor, CreateDepartment("Billing"))
    assert org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing")).name == "Billing"


def test_every_change_bumps_the_generation_and_the_cache_follows(
    org: OrgService, uow: MemoryUnitOfWork, cache: CountingCache
) -> None:
    department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
    assert [d.name for d in org.public_departments()] == ["Billing"]
    assert [d.name for d in org.public_departments()] == ["Billing"]
    assert (cache.sets, cache.hits) == (1, 1)
    with uow.begin(read_only=True) as tx:
        before = tx.counters.current_value(ORG_GENERATION)
    org.update_department(SYSTEM_OPERATOR, department.id, UpdateDepartment(name="Money"))
    with uow.begin(read_only=True) as tx:
        assert tx.counters.current_value(ORG_GENERATION) == before + 1
    assert [d.name for d in org.public_departments()] == ["Money"]
    assert cache.sets == 2


def test_an_unchanged_update_writes_nothing(org: OrgService, uow: MemoryUnitOfWork) -> None:
    department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
    commits = uow.commits
    same = org.update_department(SYSTEM_OPERATOR, department.id, UpdateDepartment(name="Billing"))
    assert same == department
    assert uow.commits == commits


def test_deactivating_staff_ends_their_sessions(org: OrgService, auth: AuthService) -> None:
    department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support"))
    profile = org.create_staff(
        SYSTEM_OPERATOR,
        CreateStaff(
            "agent@example.com",
            "Agnes",
            PASSWORD,
            StaffRole.AGENT,
            department.id,
        ),
    )
    token = auth.login(Login("agent@example.com", PASSWORD)).access_token
    assert auth.authenticate(token).role is Role.AGENT
    org.update_staff(SYSTEM_OPERATOR, profile.user.id, UpdateStaff(active=False))
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(token)
    org.update_staff(SYSTEM_OPERATOR, profile.user.id, UpdateStaff(active=True))
    with pytest.raises(AuthenticationFailed):  # the old session stays ended
        auth.authenticate(token)


def test_an_admin_cannot_lock_themselves_out(org: OrgService) -> None:
    profile = org.create_staff(
        SYSTEM_OPERATOR,
        CreateStaff(
            "root@example.com",
            "Root",
            PASSWORD,
            StaffRole.ADMIN,
        ),
    )
    me = Principal(profile.user.id, Role.ADMIN)
    with pytest.raises(Conflict, match="themselves"):
        org.update_staff(me, profile.user.id, UpdateStaff(active=False))
    with pytest.raises(Conflict, match="last active administrator"):
        org.update_staff(SYSTEM_OPERATOR, profile.user.id, UpdateStaff(role=StaffRole.LEAD))


def test_staff_passwords_follow_the_same_rules(org: OrgService) -> None:
    with pytest.raises(ValidationFailed) as caught:
        org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                "root@example.com",
                "Root",
                "short",
                StaffRole.ADMIN,
            ),
        )
    assert caught.value.errors[0].field == "password"
