"""Text no store can hold, and where a field error points (issue 19, findings 1 and 8).

PostgreSQL ``text`` refuses U+0000 where SQLite stores it: every check here runs on both, and
the answer must be the same on each (a 422 naming the input, or an ordinary failed login),
never a 500 from the database.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.http.conftest import Helpdesk, make_helpdesk

NUL = "\u0000"
SURROGATE = "\ud800"


@pytest.fixture
def desk(sql_helpdesk: Helpdesk) -> Helpdesk:
    return sql_helpdesk


def _json(document: object) -> str:
    """JSON text as a client sends it: a lone surrogate travels escaped (``"\\ud800"``)."""
    return json.dumps(document)


def _only_error(result: object) -> dict[str, str]:
    body = result.json  # type: ignore[attr-defined]
    assert result.status_code == 422, result.text  # type: ignore[attr-defined]
    assert body["type"] == "urn:helpdesk:problem:validation-failed"
    assert len(body["errors"]) == 1, body
    return dict(body["errors"][0])


@pytest.mark.parametrize(
    "email", [f"\u00d9{NUL}x", f"ann{NUL}@example.com", f"a{SURROGATE}@b.example"]
)
def test_a_login_with_unstorable_text_is_an_ordinary_failed_login(
    desk: Helpdesk, email: str
) -> None:
    result = desk.client.simulate_post(
        "/api/v1/auth/login", body=_json({"email": email, "password": "a long secret 42"})
    )
    assert result.status_code == 401, result.text
    assert result.json["detail"] == desk.login("nobody@example.com").json["detail"]


def test_unstorable_failed_logins_still_count_against_the_address() -> None:
    desk, services = make_helpdesk(login_address_rate_limit=3)
    try:
        for _ in range(3):
            desk.client.simulate_post(
                "/api/v1/auth/login", json={"email": f"x{NUL}", "password": "a long secret 42"}
            )
        throttled = desk.client.simulate_post(
            "/api/v1/auth/login", json={"email": f"x{NUL}", "password": "a long secret 42"}
        )
    finally:
        services.close()
    assert throttled.status_code == 429, throttled.text


@pytest.mark.parametrize("text", [NUL, f"a{NUL}b", f"x{SURROGATE}"])
def test_unstorable_text_in_a_body_is_a_422_pointing_at_it(desk: Helpdesk, text: str) -> None:
    customer = desk.customer()
    result = desk.client.simulate_post(
        "/api/v1/tickets",
        body=_json({"subject": f"Printer {text}", "description": "jammed"}),
        headers=customer.headers,
    )
    error = _only_error(result)
    assert error["field"] == "subject"
    assert error["in"] == "body"
    assert error["pointer"] == "/subject"
    assert desk.get("/api/v1/tickets", customer).json["items"] == []  # nothing was stored


def test_unstorable_text_in_a_query_string_is_a_422_naming_the_parameter(desk: Helpdesk) -> None:
    agent = desk.staff("admin")
    result = desk.get("/api/v1/staff/tickets", agent, params={"q": f"print{NUL}er"})
    error = _only_error(result)
    assert error == {
        "field": "q",
        "in": "query",
        "message": "must not contain NUL characters (U+0000)",
    }


def test_unstorable_text_in_a_path_parameter_is_a_422_naming_it(desk: Helpdesk) -> None:
    agent = desk.staff("admin")
    result = desk.get(f"/api/v1/staff/tickets/{NUL}", agent)
    error = _only_error(result)
    assert (error["field"], error["in"]) == ("ticket_id", "path")


@pytest.mark.parametrize("header", ["Idempotency-Key", "If-Match", "X-Request-ID"])
def test_unstorable_text_in_a_header_the_service_reads_is_a_422_naming_it(
    desk: Helpdesk, header: str
) -> None:
    customer = desk.customer()
    result = desk.client.simulate_post(
        "/api/v1/tickets",
        json={"subject": "Printer", "description": "jammed"},
        headers={**customer.headers, header: f"key{NUL}1"},
    )
    error = _only_error(result)
    assert (error["field"], error["in"]) == (header, "header")
    assert desk.get("/api/v1/tickets", customer).json["items"] == []


def test_a_cursor_holding_unstorable_text_is_a_422(desk: Helpdesk) -> None:
    agent = desk.staff("admin")
    raw = json.dumps([f"2026-01-01{NUL}", str(uuid.uuid4())]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    result = desk.get("/api/v1/staff/tickets", agent, params={"cursor": cursor})
    assert (_only_error(result)["field"]) == "cursor"


# ---------------------------------------------------------------- where errors point


def test_a_nested_field_error_carries_a_json_pointer(desk: Helpdesk) -> None:
    customer = desk.customer()
    attachment = {
        "filename": "a.pdf",
        "mime_type": "application/pdf",
        "size_bytes": "12",
        "url": "https://files.example.com/a.pdf",
    }
    result = desk.post(
        "/api/v1/tickets",
        customer,
        json={"subject": "S", "description": "D", "attachments": [attachment]},
    )
    error = _only_error(result)
    assert error["pointer"] == "/attachments/0/size_bytes"
    assert error["field"] == "attachments.0.size_bytes"


def test_unknown_fields_are_named_by_their_own_names(desk: Helpdesk) -> None:
    customer = desk.customer()
    result = desk.post(
        "/api/v1/tickets",
        customer,
        json={"subject": "S", "description": "D", "unexpected": 1, "a/b": 2},
    )
    assert result.status_code == 422, result.text
    errors = sorted(result.json["errors"], key=lambda e: e["pointer"])
    assert errors == [
        {"field": "a/b", "in": "body", "message": "is not a known field", "pointer": "/a~1b"},
        {
            "field": "unexpected",
            "in": "body",
            "message": "is not a known field",
            "pointer": "/unexpected",
        },
    ]


def test_a_body_that_is_not_an_object_points_at_the_whole_body(desk: Helpdesk) -> None:
    customer = desk.customer()
    error = _only_error(desk.post("/api/v1/tickets", customer, json=[1, 2]))
    assert (error["field"], error["pointer"]) == ("", "")


def test_malformed_json_has_its_own_problem_type(desk: Helpdesk) -> None:
    result = desk.client.simulate_post(
        "/api/v1/auth/login",
        body='{"email": "a@b.example", ',
        headers={"Content-Type": "application/json"},
    )
    assert result.status_code == 400, result.text
    body = result.json
    assert body["type"] == "urn:helpdesk:problem:malformed-json"
    (error,) = body["errors"]
    assert error["pointer"] == ""
    assert error["message"].startswith("is not valid JSON: ")
    assert "line 1" in error["message"]
