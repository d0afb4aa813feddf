"""/api/v1/admin/customers: the HTTP mapping of the customer administration (the rules
themselves are tested on the use case, tests/unit/test_usecases_customers.py), and login
throttling as a client meets it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from helpdesk_core.documents import user_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from tests.http.conftest import PASSWORD, Helpdesk, make_helpdesk

API = "/api/v1"
CUSTOMERS = f"{API}/admin/customers"
OFFICE = "198.51.100.20"


@pytest.fixture
def desk() -> Iterator[Helpdesk]:
    desk, services = make_helpdesk()
    yield desk
    services.close()


def _login(desk: Helpdesk, email: str, password: str, address: str = OFFICE) -> int:
    result = desk.client.simulate_post(
        f"{API}/auth/login", json={"email": email, "password": password}, remote_addr=address
    )
    return result.status_code


# ---------------------------------------------------------------- the throttle, over HTTP


def test_a_customers_typos_do_not_lock_the_administrator_out_of_the_same_address(
    desk: Helpdesk,
) -> None:
    """Issue 19, finding 5: the administrator got 429 after a customer's five typos."""
    customer = desk.customer("typo")
    admin = desk.staff("admin")
    for _ in range(5):
        assert _login(desk, customer.email, "not the CANARY password") == 401
    assert _login(desk, admin.email, PASSWORD) == 200
    assert _login(desk, customer.email, PASSWORD) == 429  # the account itself waits


def test_the_unlock_route_lifts_the_lockout(desk: Helpdesk) -> None:
    customer = desk.customer("locked")
    admin = desk.staff("admin")
    for _ in range(5):
        assert _login(desk, customer.email, "not the CANARY password") == 401
    assert _login(desk, customer.email, PASSWORD) == 429
    answer = desk.post(f"{CUSTOMERS}/{customer.id}/unlock", admin)
    assert answer.status_code == 204
    assert _login(desk, customer.email, PASSWORD) == 200


# ---------------------------------------------------------------- the routes


def test_the_list_pages_and_filters(desk: Helpdesk) -> None:
    admin = desk.staff("admin")
    made = [desk.customer("pager") for _ in range(3)]
    desk.customer("other")
    first = desk.get(CUSTOMERS, admin, params={"limit": "2", "email": "PAGER"})
    assert first.status_code == 200
    assert [c["email"] for c in first.json["items"]] == [p.email for p in made[:2]]
    second = desk.get(
        CUSTOMERS,
        admin,
        params={"limit": "2", "email": "pager", "cursor": first.json["next_cursor"]},
    )
    assert [c["email"] for c in second.json["items"]] == [made[2].email]
    assert second.json["next_cursor"] is None
    inactive = desk.get(CUSTOMERS, admin, params={"active": "false"})
    assert inactive.json == {"items": [], "next_cursor": None}
    # staff are no customers
    everyone = desk.get(CUSTOMERS, admin, params={"limit": "100"}).json["items"]
    assert admin.email not in {c["email"] for c in everyone}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"cursor": "WyJ4IiwgInkiXQ"}, "cursor"),  # ["x", "y"]: a cursor, not of this list
        ({"active": "maybe"}, "active"),
        ({"limit": "0"}, "limit"),
        ({"email": "x" * 255}, "email"),
    ],
)
def test_bad_query_parameters_are_a_422_naming_them(
    desk: Helpdesk, params: dict[str, str], field: str
) -> None:
    answer = desk.get(CUSTOMERS, desk.staff("admin"), params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in answer.json["errors"]] == [field]


def test_one_customer_in_the_shared_shape(desk: Helpdesk) -> None:
    admin, customer = desk.staff("admin"), desk.customer("shape")
    answer = desk.get(f"{CUSTOMERS}/{customer.id}", admin)
    assert answer.status_code == 200
    user = desk.services.customers.get(SYSTEM_OPERATOR, uuid.UUID(customer.id))
    assert answer.json == user_document(user)
    assert "password_hash" not in answer.json
    assert desk.get(f"{CUSTOMERS}/{admin.id}", admin).status_code == 404  # staff
    assert desk.get(f"{CUSTOMERS}/{uuid.uuid4()}", admin).status_code == 404
    assert desk.get(f"{CUSTOMERS}/not-an-id", admin).status_code == 404


def test_deactivation_ends_the_session_at_once_and_reactivation_lets_in(desk: Helpdesk) -> None:
    admin, customer = desk.staff("admin"), desk.customer("off")
    answer = desk.patch(f"{CUSTOMERS}/{customer.id}", admin, json={"active": False})
    assert answer.status_code == 200
    assert answer.json["active"] is False
    assert desk.get(f"{API}/me", customer).status_code == 401
    assert _login(desk, customer.email, PASSWORD) == 401
    back = desk.patch(f"{CUSTOMERS}/{customer.id}", admin, json={"active": True})
    assert back.json["active"] is True
    assert _login(desk, customer.email, PASSWORD) == 200


@pytest.mark.parametrize(
    "body", [{}, {"active": None}, {"active": "no"}, {"active": False, "extra": 1}, []]
)
def test_a_bad_patch_is_a_422_and_changes_nothing(desk: Helpdesk, body: object) -> None:
    admin, customer = desk.staff("admin"), desk.customer("bad")
    answer = desk.patch(f"{CUSTOMERS}/{customer.id}", admin, json=body)
    assert answer.status_code == 422
    assert desk.get(f"{API}/me", customer).status_code == 200


def test_erase_answers_the_erased_customer_and_keeps_their_tickets(desk: Helpdesk) -> None:
    admin, customer = desk.staff("admin"), desk.customer("gdpr")
    opened = desk.post(
        f"{API}/tickets", customer, json={"subject": "Printer", "description": "On fire"}
    )
    assert opened.status_code == 201
    answer = desk.post(f"{CUSTOMERS}/{customer.id}/erase", admin)
    assert answer.status_code == 200
    assert answer.json["erased"] is True
    assert answer.json["active"] is False
    assert answer.json["display_name"] == "Erased customer"
    assert "gdpr" not in answer.json["email"]
    assert desk.get(f"{API}/me", customer).status_code == 401
    ticket_id = opened.json["id"]
    ticket = desk.get(f"{API}/staff/tickets/{ticket_id}", admin)
    assert ticket.status_code == 200
    history = desk.get(f"{API}/staff/tickets/{ticket_id}/history", admin).json["items"]
    assert (history[-1]["field"], history[-1]["new_value"]) == ("requester", "erased")
    assert desk.patch(f"{CUSTOMERS}/{customer.id}", admin, json={"active": True}).status_code == 409


def test_only_administrators_reach_the_routes(desk: Helpdesk) -> None:
    customer = desk.customer("who")
    department = desk.department()
    for person in (customer, desk.staff("agent", department), desk.staff("lead", department)):
        assert desk.get(CUSTOMERS, person).status_code == 403
        assert desk.post(f"{CUSTOMERS}/{customer.id}/erase", person).status_code == 403
        assert desk.post(f"{CUSTOMERS}/{customer.id}/unlock", person).status_code == 403
    assert desk.get(CUSTOMERS).status_code == 401
    assert desk.get(f"{API}/me", customer).status_code == 200  # nothing was erased
