"""The users of an embedding program, on the in-memory adapters: found or made by the program's
own id, without a password, and acted as with exactly the scope a login would give."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.usecases.auth import ForgotPassword, Login, Register
from helpdesk_core.usecases.host_users import EnsureCustomer, EnsureStaff
from helpdesk_core.usecases.org import CreateDepartment, UpdateStaff
from helpdesk_core.usecases.tickets import OpenTicket
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def services() -> Iterator[Services]:
    services = bootstrap(make_settings())
    seen: list[str] = []
    services.dispatcher.subscribe("*", lambda event: seen.append(event.type))
    SEEN[id(services)] = seen
    yield services
    services.close()
    del SEEN[id(services)]


SEEN: dict[int, list[str]] = {}


def ann(**changes: str) -> EnsureCustomer:
    values = {"external_id": "shop-42", "email": "ann@example.com", "display_name": "Ann"}
    return EnsureCustomer(**{**values, **changes})


def outbox_types(services: Services) -> list[str]:
    """The types of the events recorded so far, in order (the worker hands them over)."""
    worker = services.new_worker()
    while worker.process_events():
        pass
    return SEEN[id(services)]


def test_the_first_ensure_makes_a_password_less_customer_and_the_next_returns_it(
    services: Services,
) -> None:
    first = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    again = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    assert again == first
    assert first.external_id == "shop-42"
    assert first.email == "ann@example.com"
    assert not first.has_password
    assert outbox_types(services) == ["user.registered"]  # the second call changed nothing


def test_ensure_brings_the_email_and_name_up_to_date(services: Services) -> None:
    first = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    moved = services.customers.ensure_customer(
        SYSTEM_OPERATOR, ann(email="Ann.New@Example.com", display_name="Ann New")
    )
    assert moved.id == first.id
    assert (moved.email, moved.display_name, moved.version) == (
        "ann.new@example.com",
        "Ann New",
        2,
    )
    assert outbox_types(services) == ["user.registered", "user.updated"]


def test_a_password_less_account_cannot_log_in_or_be_given_a_password_by_mail(
    services: Services,
) -> None:
    services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    with pytest.raises(AuthenticationFailed) as refused:
        services.auth.login(Login("ann@example.com", ""))
    assert refused.value.reason == "no_password"
    assert refused.value.detail == "the email or password is wrong"  # as for anyone
    services.auth.forgot_password(ForgotPassword("ann@example.com"))
    assert "user.password_reset_requested" not in outbox_types(services)


def test_an_external_id_of_a_staff_member_is_no_customer(services: Services) -> None:
    services.org.ensure_staff(
        SYSTEM_OPERATOR,
        EnsureStaff("staff-1", "bob@example.com", "Bob", StaffRole.ADMIN),
    )
    with pytest.raises(Conflict, match="names a staff member"):
        services.customers.ensure_customer(SYSTEM_OPERATOR, ann(external_id="staff-1"))
    services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    with pytest.raises(Conflict, match="names a customer"):
        services.org.ensure_staff(
            SYSTEM_OPERATOR, EnsureStaff("shop-42", "x@example.com", "X", StaffRole.ADMIN)
        )


def test_an_email_another_account_has_is_a_conflict_and_makes_nothing(
    services: Services,
) -> None:
    services.auth.register(Register("ann@example.com", PASSWORD, "Ann Registered"))
    with pytest.raises(Conflict, match="the email is already registered"):
        services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    with services.uow.begin(read_only=True) as tx:
        assert tx.users.get_by_external_id("shop-42") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "  "}, "external_id"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"external_id": "a\nb"}, "external_id"),
        ({"email": "not an address"}, "email"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_bad_input_names_its_field_and_makes_nothing(
    services: Services, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.customers.ensure_customer(SYSTEM_OPERATOR, ann(**changes))
    assert [e.field for e in refused.value.errors] == [field]
    assert outbox_types(services) == []


def test_only_administrators_ensure_accounts(services: Services) -> None:
    customer = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    acting = services.auth.acting_as(customer.id)
    with pytest.raises(PermissionDenied):
        services.customers.ensure_customer(acting, ann(external_id="shop-43"))
    with pytest.raises(PermissionDenied):
        services.org.ensure_staff(
            acting, EnsureStaff("staff-9", "eve@example.com", "Eve", StaffRole.ADMIN)
        )


def test_ensuring_staff_places_them_once_and_acting_as_them_has_their_scope(
    services: Services,
) -> None:
    billing = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
    command = EnsureStaff("staff-1", "bob@example.com", "Bob", StaffRole.AGENT, billing.id)
    bob = services.org.ensure_staff(SYSTEM_OPERATOR, command)
    assert bob.staff.department_id == billing.id
    with pytest.raises(ValidationFailed, match="needs a department"):
        services.org.ensure_staff(
            SYSTEM_OPERATOR, EnsureStaff("staff-2", "c@example.com", "C", StaffRole.AGENT)
        )
    acting = services.auth.acting_as(bob.user.id)
    assert (acting.role, acting.department_id, acting.session_id) == (
        Role.AGENT,
        billing.id,
        None,
    )
    # A later ensure asks for another role: role and place are update_staff's to change.
    same = services.org.ensure_staff(
        SYSTEM_OPERATOR, EnsureStaff("staff-1", "bob@example.com", "Bob", StaffRole.ADMIN)
    )
    assert same == bob


def test_acting_as_a_deactivated_or_unknown_user_is_refused(services: Services) -> None:
    services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    billing = services.org.create_department(SYSTEM_OPERATOR, CreateDepartment("Billing"))
    bob = services.org.ensure_staff(
        SYSTEM_OPERATOR,
        EnsureStaff("staff-1", "bob@example.com", "Bob", StaffRole.AGENT, billing.id),
    )
    services.org.update_staff(SYSTEM_OPERATOR, bob.user.id, UpdateStaff(active=False))
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        services.auth.acting_as(bob.user.id)
    with pytest.raises(AuthenticationFailed, match="no such account"):
        services.auth.acting_as(uuid.uuid4())


def test_erasure_frees_the_external_id(services: Services) -> None:
    first = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    services.customers.erase(SYSTEM_OPERATOR, first.id)
    second = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    assert second.id != first.id


def test_an_acting_customer_works_as_a_logged_in_one(services: Services) -> None:
    customer = services.customers.ensure_customer(SYSTEM_OPERATOR, ann())
    acting = services.auth.acting_as(customer.id)
    detail = services.tickets.open_ticket(acting, OpenTicket("Refund", "Please"))
    assert detail.ticket.requester_id == customer.id
    assert detail.names.requester == "Ann"


def test_threads_ensuring_one_new_id_at_once_all_get_the_one_account(
    services: Services,
) -> None:
    found: list[uuid.UUID] = []
    start = threading.Barrier(4)

    def ensure() -> None:
        start.wait()
        found.append(services.customers.ensure_customer(SYSTEM_OPERATOR, ann()).id)

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4
    assert len(set(found)) == 1
