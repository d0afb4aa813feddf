"""The cases of test_bad_input.py: every malformed or forbidden request it sends, and the
exact answer each must get (``Case``), by route family, gathered in ``CASES``; ``BODY_ROUTES``,
``TICKET_ROUTES`` and ``WEBHOOK_ROUTES`` list the routes whose cases are made from a valid
request. Markers such as ``<billing>`` stand for ids of the stage the test builds."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from entrypoints.http.pagination import encode_cursor
from tests.http.conftest import PASSWORD

ADMIN = "/api/v1/admin"


# ------------------------------------------------------------------ the cases

ABSENT: Any = object()  # no JSON body at all

# Markers in paths and JSON bodies, replaced by the ids of the stage before the request.
BILLING, SALES, CLOSED = "<billing>", "<sales>", "<closed>"
REFUNDS, INVOICES, TIER1 = "<refunds>", "<invoices>", "<tier1>"
AGENT, CUSTOMER, RANDOM = "<agent>", "<customer>", "<random>"
# Tickets of the customer: new and routed to Billing (version 1), and closed.
TICKET, DONE = "<ticket>", "<done>"
# Webhooks: an active one subscribed to everything, and one an administrator disabled.
WEBHOOK, OFFHOOK = "<webhook>", "<offhook>"

LONG_EMAIL = "a" * 64 + "@" + "b" * 186 + ".com"  # 255 characters
assert len(LONG_EMAIL) == 255
NEW_PASSWORD = "a new secret 42"
TAKEN_EMAIL = "taken@example.com"  # a registered customer's address


@attrs.frozen
class Case:
    """One bad request and the exact answer it must get."""

    id: str
    method: str
    path: str
    who: str  # anonymous, customer or admin
    status: int
    json: Any = ABSENT
    fields: tuple[str, ...] = ()  # for a 422: exactly the fields the errors must name
    raw: bytes | None = None  # a body sent as is, with ``content_type``
    content_type: str = "application/json"
    params: dict[str, str] | None = None
    counts_as_failed_login: bool = False
    headers: dict[str, str] | None = None  # besides the caller's token
    bug: str | None = None  # a known bug ("BUG: ..."): the case is a strict xfail ...
    bug_on: tuple[str, ...] = ("memory", "sqlite", "postgres")  # ... on these stores


def _register(**change: Any) -> dict[str, Any]:
    return {"email": "new@example.com", "password": PASSWORD, "display_name": "New"} | change


def _staff(**change: Any) -> dict[str, Any]:
    body = {
        "email": "new.agent@example.com",
        "display_name": "New Agent",
        "password": PASSWORD,
        "role": "agent",
        "department_id": BILLING,
    }
    return body | change


REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
CHANGE = "/api/v1/auth/password/change"
ME = "/api/v1/me"
DEPARTMENTS, DEPARTMENT = f"{ADMIN}/departments", f"{ADMIN}/departments/{BILLING}"
TEAMS, TEAM = f"{ADMIN}/teams", f"{ADMIN}/teams/{REFUNDS}"
STAFF, STAFF_MEMBER = f"{ADMIN}/staff", f"{ADMIN}/staff/{AGENT}"
TICKETS, TICKET_PATH = "/api/v1/tickets", f"/api/v1/tickets/{TICKET}"
REPLY = f"{TICKET_PATH}/messages"
STAFF_TICKETS, STAFF_TICKET = "/api/v1/staff/tickets", f"/api/v1/staff/tickets/{TICKET}"
ASSIGN, STAFF_REPLY = f"{STAFF_TICKET}/assign", f"{STAFF_TICKET}/messages"
HISTORY, QUEUE_COUNTS = f"{STAFF_TICKET}/history", "/api/v1/staff/queue-counts"
VERSION_1 = {"If-Match": '"1"'}  # the version of <ticket>, which no case changes
WEBHOOKS, WEBHOOK_PATH = f"{ADMIN}/webhooks", f"{ADMIN}/webhooks/{WEBHOOK}"
DELIVERIES = f"{WEBHOOK_PATH}/deliveries"
# A public address: the URL guard admits it without resolving a name (no case sends anything).
HOOK_URL = "https://93.184.215.14/helpdesk-events"


def _webhook(**change: Any) -> dict[str, Any]:
    return {"url": HOOK_URL, "events": ["ticket.created"]} | change


def _ticket(**change: Any) -> dict[str, Any]:
    body = {"subject": "Printer", "description": "It is on fire.", "department_id": BILLING}
    return body | change


PDF = {
    "url": "https://files.example.com/a/invoice.pdf",
    "filename": "invoice.pdf",
    "mime_type": "application/pdf",
    "size_bytes": 12345,
}


def _attach(**change: Any) -> list[dict[str, Any]]:
    """Two attachments, the second one changed (errors name ``attachments.1.<field>``)."""
    return [PDF, PDF | change]


MAX_BYTES = 25 * 1024 * 1024  # the default HELPDESK_ attachment limit
# A cursor as ``sort=created`` issues it, and one as ``sort=priority`` does.
CREATED_CURSOR = encode_cursor(["2024-01-01T00:00:00+00:00", str(uuid.UUID(int=1))])
PRIORITY_CURSOR = encode_cursor([1, "2024-01-01T00:00:00+00:00", str(uuid.UUID(int=1))])

# fmt: off
# Every route that reads a JSON body: (name, method, path, caller, a valid body).
BODY_ROUTES = [
    ("register", "POST", REGISTER, "anonymous", _register()),
    ("login", "POST", LOGIN, "anonymous", {"email": "x@example.com", "password": PASSWORD}),
    ("forgot", "POST", FORGOT, "anonymous", {"email": "x@example.com"}),
    ("reset", "POST", RESET, "anonymous", {"token": "t", "new_password": NEW_PASSWORD}),
    ("change", "POST", CHANGE, "customer",
     {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("me", "PATCH", ME, "customer", {"display_name": "Other"}),
    ("create-department", "POST", DEPARTMENTS, "admin", {"name": "New"}),
    ("update-department", "PATCH", DEPARTMENT, "admin", {"name": "New"}),
    ("create-team", "POST", TEAMS, "admin", {"name": "New", "department_id": BILLING}),
    ("update-team", "PATCH", TEAM, "admin", {"name": "New"}),
    ("create-staff", "POST", STAFF, "admin", _staff()),
    ("update-staff", "PATCH", STAFF_MEMBER, "admin", {"role": "lead"}),
    ("open-ticket", "POST", TICKETS, "customer", _ticket()),
    ("reply", "POST", REPLY, "customer", {"body": "Any news?"}),
    ("change-ticket", "PATCH", STAFF_TICKET, "agent", {"priority": "high"}),
    ("assign", "POST", ASSIGN, "agent", {"mode": "self"}),
    ("staff-reply", "POST", STAFF_REPLY, "agent", {"body": "On it."}),
    ("tags", "POST", f"{STAFF_TICKET}/tags", "agent", {"add": ["vip"]}),
    ("create-webhook", "POST", WEBHOOKS, "admin", _webhook()),
    ("update-webhook", "PATCH", WEBHOOK_PATH, "admin", {"description": "Other"}),
]


def _shape_cases() -> list[Case]:
    """What every body route must refuse alike: broken JSON, other media, non-objects."""
    cases = []
    for name, method, path, who, valid in BODY_ROUTES:
        cases += [
            Case(f"{name}-malformed-json", method, path, who, 400, raw=b'{"name": '),
            Case(f"{name}-invalid-utf8", method, path, who, 400, raw=b'{"name": "\xff"}'),
            Case(f"{name}-empty-body", method, path, who, 400, raw=b""),
            Case(f"{name}-form-encoded", method, path, who, 415, raw=b"name=x",
                 content_type="application/x-www-form-urlencoded"),
            Case(f"{name}-plain-text", method, path, who, 415, raw=b"{}",
                 content_type="text/plain"),
            Case(f"{name}-json-array", method, path, who, 422, json=[valid], fields=("",)),
            Case(f"{name}-json-null", method, path, who, 422, raw=b"null", fields=("",)),
            Case(f"{name}-json-string", method, path, who, 422, json="x", fields=("",)),
            Case(f"{name}-unknown-field", method, path, who, 422,
                 json=valid | {"is_admin": True}, fields=("is_admin",)),
        ]
    return cases


FIELD_CASES = [
    # ---- register
    Case("register-nothing", "POST", REGISTER, "anonymous", 422, json={},
         fields=("email", "password", "display_name")),
    Case("register-email-number", "POST", REGISTER, "anonymous", 422,
         json=_register(email=42), fields=("email",)),
    Case("register-email-null", "POST", REGISTER, "anonymous", 422,
         json=_register(email=None), fields=("email",)),
    Case("register-password-number", "POST", REGISTER, "anonymous", 422,
         json=_register(password=12345678901), fields=("password",)),
    Case("register-display-name-list", "POST", REGISTER, "anonymous", 422,
         json=_register(display_name=["New"]), fields=("display_name",)),
    Case("register-display-name-object", "POST", REGISTER, "anonymous", 422,
         json=_register(display_name={"first": "New"}), fields=("display_name",)),
    Case("register-display-name-201", "POST", REGISTER, "anonymous", 422,
         json=_register(display_name="x" * 201), fields=("display_name",)),
    Case("register-display-name-blank", "POST", REGISTER, "anonymous", 422,
         json=_register(display_name="   "), fields=("display_name",)),
    Case("register-email-255", "POST", REGISTER, "anonymous", 422,
         json=_register(email=LONG_EMAIL), fields=("email",)),
    Case("register-email-invalid", "POST", REGISTER, "anonymous", 422,
         json=_register(email="new at example.com"), fields=("email",)),
    Case("register-password-257", "POST", REGISTER, "anonymous", 422,
         json=_register(password="Xy1 " * 64 + "z"), fields=("password",)),
    Case("register-password-short", "POST", REGISTER, "anonymous", 422,
         json=_register(password="short"), fields=("password",)),
    Case("register-password-common", "POST", REGISTER, "anonymous", 422,
         json=_register(password="password123"), fields=("password",)),
    Case("register-password-monotone", "POST", REGISTER, "anonymous", 422,
         json=_register(password="aaaaaaaaaaaaaaaa"), fields=("password",)),
    # A taken address is no bad input: it answers as a new one (tests/http/test_auth.py).
    # Addresses that are not one plain mailbox (issue 20, finding 6):
    Case("register-email-list", "POST", REGISTER, "anonymous", 422,
         json=_register(email="a,b@cust.example.com"), fields=("email",)),
    Case("register-email-angle", "POST", REGISTER, "anonymous", 422,
         json=_register(email="<x.y>@cust.example.com"), fields=("email",)),
    Case("register-email-display-name", "POST", REGISTER, "anonymous", 422,
         json=_register(email="Eve <eve@evil.example>"), fields=("email",)),
    # ---- login
    Case("login-nothing", "POST", LOGIN, "anonymous", 422, json={},
         fields=("email", "password")),
    Case("login-email-number", "POST", LOGIN, "anonymous", 422,
         json={"email": 42, "password": PASSWORD}, fields=("email",)),
    Case("login-password-null", "POST", LOGIN, "anonymous", 422,
         json={"email": "taken@example.com", "password": None}, fields=("password",)),
    Case("login-password-bool", "POST", LOGIN, "anonymous", 422,
         json={"email": "taken@example.com", "password": True}, fields=("password",)),
    Case("login-password-257", "POST", LOGIN, "anonymous", 401,
         json={"email": "taken@example.com", "password": "x" * 257},
         counts_as_failed_login=True),
    # ---- forgot
    Case("forgot-nothing", "POST", FORGOT, "anonymous", 422, json={}, fields=("email",)),
    Case("forgot-email-number", "POST", FORGOT, "anonymous", 422,
         json={"email": 42}, fields=("email",)),
    Case("forgot-email-null", "POST", FORGOT, "anonymous", 422,
         json={"email": None}, fields=("email",)),
    Case("forgot-email-list", "POST", FORGOT, "anonymous", 422,
         json={"email": ["taken@example.com"]}, fields=("email",)),
    # ---- reset
    Case("reset-nothing", "POST", RESET, "anonymous", 422, json={},
         fields=("token", "new_password")),
    Case("reset-token-number", "POST", RESET, "anonymous", 422,
         json={"token": 1, "new_password": NEW_PASSWORD}, fields=("token",)),
    Case("reset-token-null", "POST", RESET, "anonymous", 422,
         json={"token": None, "new_password": NEW_PASSWORD}, fields=("token",)),
    Case("reset-new-password-bool", "POST", RESET, "anonymous", 422,
         json={"token": "t", "new_password": False}, fields=("new_password",)),
    Case("reset-bogus-token", "POST", RESET, "anonymous", 422,
         json={"token": "not-a-token", "new_password": NEW_PASSWORD}, fields=("token",)),
    # ---- change password
    Case("change-nothing", "POST", CHANGE, "customer", 422, json={},
         fields=("current_password", "new_password")),
    Case("change-current-number", "POST", CHANGE, "customer", 422,
         json={"current_password": 5, "new_password": NEW_PASSWORD},
         fields=("current_password",)),
    Case("change-new-null", "POST", CHANGE, "customer", 422,
         json={"current_password": PASSWORD, "new_password": None}, fields=("new_password",)),
    Case("change-current-wrong", "POST", CHANGE, "customer", 422,
         json={"current_password": "not the password", "new_password": NEW_PASSWORD},
         fields=("current_password",), counts_as_failed_login=True),  # throttled per session
    Case("change-current-257", "POST", CHANGE, "customer", 422,
         json={"current_password": "x" * 257, "new_password": NEW_PASSWORD},
         fields=("current_password",), counts_as_failed_login=True),
    Case("change-new-short", "POST", CHANGE, "customer", 422,
         json={"current_password": PASSWORD, "new_password": "short"},
         fields=("new_password",)),
    Case("change-new-257", "POST", CHANGE, "customer", 422,
         json={"current_password": PASSWORD, "new_password": "Xy1 " * 64 + "z"},
         fields=("new_password",)),
    # ---- me
    Case("me-display-name-201", "PATCH", ME, "customer", 422,
         json={"display_name": "x" * 201}, fields=("display_name",)),
    Case("me-display-name-number", "PATCH", ME, "customer", 422,
         json={"display_name": 5}, fields=("display_name",)),
    Case("me-display-name-blank", "PATCH", ME, "customer", 422,
         json={"display_name": " \t "}, fields=("display_name",)),
    Case("me-display-name-list", "PATCH", ME, "customer", 422,
         json={"display_name": ["x"]}, fields=("display_name",)),
    Case("me-display-name-control-character", "PATCH", ME, "customer", 422,
         json={"display_name": "a\u0000b"}, fields=("display_name",)),
    Case("me-email-not-changeable", "PATCH", ME, "customer", 422,
         json={"email": "other@example.com"}, fields=("email",)),
    # ---- create department
    Case("create-department-nothing", "POST", DEPARTMENTS, "admin", 422, json={},
         fields=("name",)),
    Case("create-department-name-number", "POST", DEPARTMENTS, "admin", 422,
         json={"name": 5}, fields=("name",)),
    Case("create-department-name-null", "POST", DEPARTMENTS, "admin", 422,
         json={"name": None}, fields=("name",)),
    Case("create-department-name-101", "POST", DEPARTMENTS, "admin", 422,
         json={"name": "x" * 101}, fields=("name",)),
    Case("create-department-name-blank", "POST", DEPARTMENTS, "admin", 422,
         json={"name": "   "}, fields=("name",)),
    Case("create-department-auto-assign-string", "POST", DEPARTMENTS, "admin", 422,
         json={"name": "New", "auto_assign": "true"}, fields=("auto_assign",)),
    Case("create-department-auto-assign-number", "POST", DEPARTMENTS, "admin", 422,
         json={"name": "New", "auto_assign": 1}, fields=("auto_assign",)),
    Case("create-department-name-taken", "POST", DEPARTMENTS, "admin", 409,
         json={"name": "  BILLING "}),
    # ---- update department
    Case("update-department-name-101", "PATCH", DEPARTMENT, "admin", 422,
         json={"name": "x" * 101}, fields=("name",)),
    Case("update-department-name-number", "PATCH", DEPARTMENT, "admin", 422,
         json={"name": 5}, fields=("name",)),
    Case("update-department-name-blank", "PATCH", DEPARTMENT, "admin", 422,
         json={"name": ""}, fields=("name",)),
    Case("update-department-active-string", "PATCH", DEPARTMENT, "admin", 422,
         json={"active": "false"}, fields=("active",)),
    Case("update-department-auto-assign-string", "PATCH", DEPARTMENT, "admin", 422,
         json={"auto_assign": "yes"}, fields=("auto_assign",)),
    Case("update-department-name-taken", "PATCH", DEPARTMENT, "admin", 409,
         json={"name": "sales"}),
    Case("update-department-unknown-id", "PATCH", f"{ADMIN}/departments/{RANDOM}", "admin",
         404, json={"name": "New"}),
    Case("update-department-malformed-id", "PATCH", f"{ADMIN}/departments/xyz", "admin", 404,
         json={"name": "New"}),
    Case("update-department-team-id", "PATCH", f"{ADMIN}/departments/{REFUNDS}", "admin", 404,
         json={"name": "New"}),
    # ---- create team
    Case("create-team-nothing", "POST", TEAMS, "admin", 422, json={},
         fields=("name", "department_id")),
    Case("create-team-unknown-department", "POST", TEAMS, "admin", 422,
         json={"name": "New", "department_id": RANDOM}, fields=("department_id",)),
    Case("create-team-malformed-department", "POST", TEAMS, "admin", 422,
         json={"name": "New", "department_id": "xyz"}, fields=("department_id",)),
    Case("create-team-department-number", "POST", TEAMS, "admin", 422,
         json={"name": "New", "department_id": 5}, fields=("department_id",)),
    Case("create-team-department-null", "POST", TEAMS, "admin", 422,
         json={"name": "New", "department_id": None}, fields=("department_id",)),
    Case("create-team-deactivated-department", "POST", TEAMS, "admin", 422,
         json={"name": "New", "department_id": CLOSED}, fields=("department_id",)),
    Case("create-team-name-101", "POST", TEAMS, "admin", 422,
         json={"name": "x" * 101, "department_id": BILLING}, fields=("name",)),
    Case("create-team-name-list", "POST", TEAMS, "admin", 422,
         json={"name": ["New"], "department_id": BILLING}, fields=("name",)),
    Case("create-team-name-taken-in-department", "POST", TEAMS, "admin", 409,
         json={"name": "refunds", "department_id": BILLING}),
    # ---- update team
    Case("update-team-name-101", "PATCH", TEAM, "admin", 422,
         json={"name": "x" * 101}, fields=("name",)),
    Case("update-team-active-string", "PATCH", TEAM, "admin", 422,
         json={"active": "no"}, fields=("active",)),
    Case("update-team-name-taken-in-department", "PATCH", TEAM, "admin", 409,
         json={"name": "INVOICES"}),
    Case("update-team-unknown-id", "PATCH", f"{ADMIN}/teams/{RANDOM}", "admin", 404,
         json={"name": "New"}),
    Case("update-team-malformed-id", "PATCH", f"{ADMIN}/teams/xyz", "admin", 404,
         json={"name": "New"}),
    # ---- create staff
    Case("create-staff-nothing", "POST", STAFF, "admin", 422, json={},
         fields=("email", "display_name", "password", "role")),
    Case("create-staff-role-unknown", "POST", STAFF, "admin", 422,
         json=_staff(role="boss"), fields=("role",)),
    Case("create-staff-role-customer", "POST", STAFF, "admin", 422,
         json=_staff(role="customer"), fields=("role",)),
    Case("create-staff-role-number", "POST", STAFF, "admin", 422,
         json=_staff(role=1), fields=("role",)),
    Case("create-staff-email-invalid", "POST", STAFF, "admin", 422,
         json=_staff(email="agent@localhost"), fields=("email",)),
    Case("create-staff-email-255", "POST", STAFF, "admin", 422,
         json=_staff(email=LONG_EMAIL), fields=("email",)),
    Case("create-staff-display-name-201", "POST", STAFF, "admin", 422,
         json=_staff(display_name="x" * 201), fields=("display_name",)),
    Case("create-staff-password-257", "POST", STAFF, "admin", 422,
         json=_staff(password="Xy1 " * 64 + "z"), fields=("password",)),
    Case("create-staff-password-weak", "POST", STAFF, "admin", 422,
         json=_staff(password="1234567890"), fields=("password",)),
    Case("create-staff-unknown-department", "POST", STAFF, "admin", 422,
         json=_staff(department_id=RANDOM), fields=("department_id",)),
    Case("create-staff-malformed-department", "POST", STAFF, "admin", 422,
         json=_staff(department_id="xyz"), fields=("department_id",)),
    Case("create-staff-unknown-team", "POST", STAFF, "admin", 422,
         json=_staff(team_id=RANDOM), fields=("team_id",)),
    Case("create-staff-team-bool", "POST", STAFF, "admin", 422,
         json=_staff(team_id=True), fields=("team_id",)),
    Case("create-staff-team-of-another-department", "POST", STAFF, "admin", 422,
         json=_staff(team_id=TIER1), fields=("team_id",)),
    Case("create-staff-agent-without-department", "POST", STAFF, "admin", 422,
         json=_staff(department_id=None), fields=("department_id",)),
    Case("create-staff-deactivated-department", "POST", STAFF, "admin", 422,
         json=_staff(department_id=CLOSED), fields=("department_id",)),
    Case("create-staff-email-taken", "POST", STAFF, "admin", 409,
         json=_staff(email="TAKEN@example.com")),
    # ---- update staff
    Case("update-staff-nothing", "PATCH", STAFF_MEMBER, "admin", 422, json={},
         fields=("",)),
    Case("update-staff-role-unknown", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"role": "boss"}, fields=("role",)),
    Case("update-staff-active-string", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"active": "false"}, fields=("active",)),
    Case("update-staff-unknown-department", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"department_id": RANDOM}, fields=("department_id",)),
    Case("update-staff-malformed-department", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"department_id": "xyz"}, fields=("department_id",)),
    Case("update-staff-agent-without-department", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"department_id": None}, fields=("department_id",)),
    Case("update-staff-unknown-team", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"team_id": RANDOM}, fields=("team_id",)),
    Case("update-staff-team-number", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"team_id": 5}, fields=("team_id",)),
    Case("update-staff-team-of-another-department", "PATCH", STAFF_MEMBER, "admin", 422,
         json={"team_id": TIER1}, fields=("team_id",)),
    Case("update-staff-unknown-id", "PATCH", f"{ADMIN}/staff/{RANDOM}", "admin", 404,
         json={"role": "lead"}),
    Case("update-staff-malformed-id", "PATCH", f"{ADMIN}/staff/xyz", "admin", 404,
         json={"role": "lead"}),
    Case("update-staff-customer-id", "PATCH", f"{ADMIN}/staff/{CUSTOMER}", "admin", 404,
         json={"role": "lead"}),
]

PATH_CASES = [
    Case(f"get-{kind}-{label}", "GET", f"{ADMIN}/{kind}/{marker}", "admin", 404)
    for kind in ("departments", "teams", "staff")
    for label, marker in (("unknown-id", RANDOM), ("malformed-id", "not-a-uuid"))
] + [
    Case("get-staff-customer-id", "GET", f"{ADMIN}/staff/{CUSTOMER}", "admin", 404),
    Case("get-department-by-team-id", "GET", f"{ADMIN}/departments/{REFUNDS}", "admin", 404),
]


LISTS = [
    ("public-departments", "/api/v1/departments", "anonymous"),
    ("departments", DEPARTMENTS, "admin"),
    ("teams", TEAMS, "admin"),
    ("staff", STAFF, "admin"),
    ("tickets", TICKETS, "customer"),
    ("staff-tickets", STAFF_TICKETS, "agent"),
    ("webhooks", WEBHOOKS, "admin"),
    ("webhook-deliveries", DELIVERIES, "admin"),
]
QUERY_CASES = [
    case
    for name, path, who in LISTS
    for case in (
        Case(f"{name}-limit-0", "GET", path, who, 422, params={"limit": "0"}, fields=("limit",)),
        Case(f"{name}-limit-101", "GET", path, who, 422, params={"limit": "101"},
             fields=("limit",)),
        Case(f"{name}-limit-negative", "GET", path, who, 422, params={"limit": "-1"},
             fields=("limit",)),
        Case(f"{name}-limit-word", "GET", path, who, 422, params={"limit": "ten"},
             fields=("limit",)),
        Case(f"{name}-limit-fraction", "GET", path, who, 422, params={"limit": "1.5"},
             fields=("limit",)),
        Case(f"{name}-cursor-garbage", "GET", path, who, 422, params={"cursor": "garbage"},
             fields=("cursor",)),
        Case(f"{name}-cursor-not-a-list", "GET", path, who, 422,
             params={"cursor": "eyJhIjogMX0"}, fields=("cursor",)),  # {"a": 1}
    )
] + [
    # Edge cases of the pagination every list shares: one list shows them.
    Case("public-departments-limit-superscript", "GET", "/api/v1/departments", "anonymous",
         422, params={"limit": "²"}, fields=("limit",)),
    Case("public-departments-cursor-of-wrong-types", "GET", "/api/v1/departments",
         "anonymous", 422, params={"cursor": "WzFd"}, fields=("cursor",)),  # [1]
] + [
    Case("departments-active-word", "GET", DEPARTMENTS, "admin", 422,
         params={"active": "maybe"}, fields=("active",)),
    Case("teams-department-malformed", "GET", TEAMS, "admin", 422,
         params={"department_id": "xyz"}, fields=("department_id",)),
    Case("teams-active-number", "GET", TEAMS, "admin", 422,
         params={"active": "2"}, fields=("active",)),
    Case("staff-department-malformed", "GET", STAFF, "admin", 422,
         params={"department_id": "xyz"}, fields=("department_id",)),
    Case("staff-team-malformed", "GET", STAFF, "admin", 422,
         params={"team_id": "123"}, fields=("team_id",)),
    Case("staff-role-unknown", "GET", STAFF, "admin", 422,
         params={"role": "customer"}, fields=("role",)),
    Case("staff-active-word", "GET", STAFF, "admin", 422,
         params={"active": "yes"}, fields=("active",)),
]

ENCODING_CASES = [
    Case("create-department-lone-surrogate", "POST", DEPARTMENTS, "admin", 422,
         raw=b'{"name": "Bill\\ud800ing"}', fields=("name",)),
    Case("register-lone-surrogate", "POST", REGISTER, "anonymous", 422,
         raw=b'{"email": "s@example.com", "password": "correct horse battery", '
             b'"display_name": "\\udc00"}',
         fields=("display_name",)),
    Case("me-lone-surrogate", "PATCH", ME, "customer", 422,
         raw=b'{"display_name": "x\\udc00"}', fields=("display_name",)),
    Case("create-department-nested-1000-deep", "POST", DEPARTMENTS, "admin", 400,
         raw=b"[" * 1000 + b"]" * 1000),
]
# fmt: on
