"""Numbers in a body read as ordinary 422s; HEAD is answered wherever GET is (issue 20,
finding 10).

Before: a 5,000-digit number in a body was a 400 quoting Python's internals ("use
sys.set_int_max_str_digits() to increase the limit"), ``NaN`` passed as a number, and HEAD
answered 405 on every GET route but the two health checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Helpdesk

INTERNALS = ("sys.", "set_int_max_str_digits", "Exceeds the limit", "integer string conversion")


def _ticket(size: str) -> str:
    """A new ticket's JSON text whose one attachment is ``size`` bytes long (as written)."""
    return (
        '{"subject": "Invoice", "description": "Twice.", "attachments": [{"url": '
        '"https://files.example.com/a.pdf", "filename": "a.pdf", "mime_type": '
        f'"application/pdf", "size_bytes": {size}}}]}}'
    )


def _post(desk: Helpdesk, body: str) -> Any:
    customer = desk.customer()
    headers = customer.headers | {"Content-Type": "application/json"}
    return desk.client.simulate_post("/api/v1/tickets", body=body, headers=headers)


@pytest.mark.parametrize(
    "size", ["9" * 5000, "-" + "9" * 5000, "1" + "0" * 40, "1e400", "-1e400", "1" * 33]
)
def test_a_number_too_long_for_any_field_is_an_ordinary_422(helpdesk: Helpdesk, size: str) -> None:
    result = _post(helpdesk, _ticket(size))
    assert result.status_code == 422, result.text
    assert result.json["errors"] == [
        {
            "field": "attachments.0.size_bytes",
            "in": "body",
            "pointer": "/attachments/0/size_bytes",
            "message": "is too large",
        }
    ]
    assert not any(word in result.text for word in INTERNALS), result.text


def test_a_long_number_where_text_belongs_says_so(helpdesk: Helpdesk) -> None:
    body = '{"subject": ' + "7" * 5000 + ', "description": "Twice."}'
    result = _post(helpdesk, body)
    assert result.status_code == 422, result.text
    assert result.json["errors"][0]["field"] == "subject"
    assert result.json["errors"][0]["message"] == "must be a string"
    assert not any(word in result.text for word in INTERNALS), result.text


def test_an_ordinary_number_still_counts(helpdesk: Helpdesk) -> None:
    """The bound is on the number's text, far above any size: a real size is taken as is."""
    assert _post(helpdesk, _ticket("12345")).status_code == 201
    too_big = _post(helpdesk, _ticket("9" * 32))  # 32 digits: a number, over the size limit
    assert too_big.status_code == 422, too_big.text
    assert too_big.json["errors"][0]["message"].startswith("must be at most")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(helpdesk: Helpdesk, constant: str) -> None:
    result = _post(helpdesk, _ticket(constant))
    assert result.status_code == 400, result.text
    assert result.json["type"] == "urn:helpdesk:problem:malformed-json"
    assert f"{constant} is not a JSON number" in result.json["errors"][0]["message"]


# ---------------------------------------------------------------- HEAD


@pytest.mark.parametrize("path", ["/health/live", "/openapi.json", "/api/v1/departments"])
def test_head_answers_as_get_without_the_body(helpdesk: Helpdesk, path: str) -> None:
    got = helpdesk.client.simulate_get(path)
    head = helpdesk.client.simulate_head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_a_staff_ticket_carries_its_etag(helpdesk: Helpdesk) -> None:
    department = helpdesk.department()
    agent = helpdesk.staff("agent", department)
    customer = helpdesk.customer()
    body = {"subject": "Invoice", "description": "Twice.", "department_id": department}
    ticket = helpdesk.post("/api/v1/tickets", customer, json=body).json
    path = f"/api/v1/staff/tickets/{ticket['id']}"
    got = helpdesk.get(path, agent)
    head = helpdesk.client.simulate_head(path, headers=agent.headers)
    assert head.status_code == 200
    assert head.headers["etag"] == got.headers["etag"]
    assert head.content == b""
    denied = helpdesk.client.simulate_head(path)
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"].startswith("Bearer")


def test_head_is_allowed_where_get_is_and_nowhere_else(helpdesk: Helpdesk) -> None:
    wrong = helpdesk.client.simulate_head("/api/v1/auth/login")
    assert wrong.status_code == 405
    assert "HEAD" not in wrong.headers["allow"]
    options = helpdesk.client.simulate_options("/api/v1/departments")
    assert "HEAD" in options.headers["allow"]
