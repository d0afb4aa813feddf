"""Bad input on every route of identity and organization: a precise refusal, and no change.

Each case sends one malformed or forbidden request and expects an exact status, answered as
problem details (``application/problem+json``); a 422 must name the offending field(s). The
store is photographed before and after: a refused request leaves every table as it was. The
cases run on every store (memory, SQLite, PostgreSQL).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import falcon.testing
import pytest
import sqlalchemy as sa

from adapters.memory.mail import MemoryMailer
from adapters.sql.tables import metadata
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.usecases.auth import Register
from tests.conftest import BACKENDS, make_settings
from tests.http.conftest import PASSWORD, Helpdesk, Person, make_helpdesk

PROBLEM = "application/problem+json"
ADMIN = "/api/v1/admin"

# ------------------------------------------------------------------ the store, photographed


def snapshot(
    helpdesk: Helpdesk, ignore: frozenset[str] = frozenset(), engine: sa.Engine | None = None
) -> dict[str, Any]:
    """Everything the store holds, comparable with ``==``.

    Memory: a copy of every table of the MemoryState. SQL: the row count and the full rows
    (sorted) of every table, read through ``engine`` or a throwaway one. ``ignore`` names
    tables to leave out (a refused login is *meant* to leave a failed-attempt record).
    """
    url = helpdesk.services.settings.database_url
    if url.startswith("memory:"):
        state = helpdesk.services.uow.state  # type: ignore[attr-defined]
        return {
            field.name: dict(getattr(state, field.name))
            for field in attrs.fields(type(state))
            if field.name not in ignore
        }
    own = engine is None
    engine = engine or sa.create_engine(url, poolclass=sa.pool.NullPool)
    photo: dict[str, Any] = {}
    try:
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                if table.name in ignore:
                    continue
                rows = connection.execute(sa.select(table)).all()
                photo[f"{table.name}: rows"] = len(rows)
                photo[table.name] = sorted((tuple(row) for row in rows), key=repr)
    finally:
        if own:
            engine.dispose()
    return photo


# ------------------------------------------------------------------ the cases

ABSENT: Any = object()  # no JSON body at all

# Markers in paths and JSON bodies, replaced by the ids of the stage before the request.
BILLING, SALES, CLOSED = "<billing>", "<sales>", "<closed>"
REFUNDS, INVOICES, TIER1 = "<refunds>", "<invoices>", "<tier1>"
AGENT, CUSTOMER, RANDOM = "<agent>", "<customer>", "<random>"

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
            Case(f"{name}-json-array", method, path, who, 422, json=[valid], fields=("body",)),
            Case(f"{name}-json-null", method, path, who, 422, raw=b"null", fields=("body",)),
            Case(f"{name}-json-string", method, path, who, 422, json="x", fields=("body",)),
            Case(f"{name}-unknown-field", method, path, who, 422,
                 json=valid | {"is_admin": True}, fields=("body",)),
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
    Case("register-email-taken", "POST", REGISTER, "anonymous", 409,
         json=_register(email="  Taken@Example.com ")),
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
         fields=("current_password",)),
    Case("change-current-257", "POST", CHANGE, "customer", 422,
         json={"current_password": "x" * 257, "new_password": NEW_PASSWORD},
         fields=("current_password",)),
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
         json={"email": "other@example.com"}, fields=("body",)),
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
         fields=("body",)),
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

CASES = _shape_cases() + FIELD_CASES + PATH_CASES + QUERY_CASES + ENCODING_CASES


# ------------------------------------------------------------------ the stage


@attrs.define
class Stage:
    """A populated helpdesk: who calls, the ids the markers stand for, and its store."""

    desk: Helpdesk
    callers: dict[str, Person | None]
    ids: dict[str, str]
    engine: sa.Engine | None = None  # for snapshots of a SQL store

    def fill(self, value: Any) -> Any:
        """``value`` with every marker replaced by its id (in strings, lists and dicts)."""
        if isinstance(value, str):
            return re.sub(r"<[a-z0-9]+>", lambda m: self.ids[m.group(0)], value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def send(self, case: Case) -> falcon.testing.Result:
        caller = self.callers[case.who]
        headers = dict(caller.headers) if caller else {}
        kwargs: dict[str, Any] = {"params": case.params}
        if case.raw is not None:
            headers["Content-Type"] = case.content_type
            kwargs["body"] = case.raw
        elif case.json is not ABSENT:
            kwargs["json"] = self.fill(case.json)
        return self.desk.client.simulate_request(
            case.method, self.fill(case.path), headers=headers, **kwargs
        )

    def snapshot(self, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
        return snapshot(self.desk, ignore, self.engine)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def build_stage(desk: Helpdesk) -> Stage:
    """Departments Billing (teams Refunds, Invoices; an agent), Sales (team Tier 1) and a
    deactivated one, Closed; an administrator, and a customer registered as TAKEN_EMAIL."""
    billing = desk.department("Billing")
    sales = desk.department("Sales")
    closed = desk.department("Closed")
    admin = desk.staff("admin")
    result = desk.patch(f"{ADMIN}/departments/{closed}", admin, json={"active": False})
    assert result.status_code == 200, result.text
    refunds = desk.team(billing, "Refunds")
    invoices = desk.team(billing, "Invoices")
    tier1 = desk.team(sales, "Tier 1")
    agent = desk.staff("agent", billing, refunds)
    desk.services.auth.register(
        Register(email=TAKEN_EMAIL, password=PASSWORD, display_name="Taken")
    )
    customer = desk.person(TAKEN_EMAIL)
    ids = {
        BILLING: billing,
        SALES: sales,
        CLOSED: closed,
        REFUNDS: refunds,
        INVOICES: invoices,
        TIER1: tier1,
        AGENT: agent.id,
        CUSTOMER: customer.id,
        RANDOM: str(uuid.uuid4()),
    }
    url = desk.services.settings.database_url
    engine = None if url.startswith("memory:") else sa.create_engine(url, pool_size=1)
    return Stage(desk, {"anonymous": None, "customer": customer, "admin": admin}, ids, engine)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_stage(request: pytest.FixtureRequest) -> Iterator[Stage]:
    """One populated helpdesk per store for the whole table of cases.

    Sharing is sound because every case asserts it changed nothing (a case that does change
    the store fails itself); a fresh store per case cost ~0.3 s each on PostgreSQL.
    """
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
    else:
        url = request.getfixturevalue("postgres_databases").fresh()
    desk, services = make_helpdesk(database_url=url)
    stage = build_stage(desk)
    yield stage
    stage.close()
    services.close()


@pytest.fixture
def stage(sql_helpdesk: Helpdesk) -> Iterator[Stage]:
    """A populated helpdesk of its own, for cases that may change what they touch."""
    stage = build_stage(sql_helpdesk)
    yield stage
    stage.close()


# ------------------------------------------------------------------ the tests


def assert_refused(result: falcon.testing.Result, case: Case) -> None:
    assert result.status_code == case.status, result.text
    assert result.headers["content-type"] == PROBLEM, result.text
    body = result.json
    assert body["status"] == case.status
    if case.status == 422:
        named = [error["field"] for error in body["errors"]]
        assert sorted(set(named)) == sorted(case.fields), body
        assert all(error["message"] for error in body["errors"])


def refused_without_change(stage: Stage, case: Case) -> None:
    ignore = frozenset({"rate_limit_events"}) if case.counts_as_failed_login else frozenset()
    before = stage.snapshot(ignore)
    assert_refused(stage.send(case), case)
    assert stage.snapshot(ignore) == before, "a refused request changed the store"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input_is_refused_precisely_and_changes_nothing(
    shared_stage: Stage, case: Case
) -> None:
    refused_without_change(shared_stage, case)


def test_the_same_team_name_is_fine_in_another_department(stage: Stage) -> None:
    admin = stage.callers["admin"]
    result = stage.desk.post(
        TEAMS, admin, json={"name": "REFUNDS", "department_id": stage.ids[SALES]}
    )
    assert result.status_code == 201, result.text
    assert (result.json["name"], result.json["department_id"]) == ("REFUNDS", stage.ids[SALES])


def test_a_department_may_change_the_case_of_its_own_name(stage: Stage) -> None:
    admin = stage.callers["admin"]
    result = stage.desk.patch(
        f"{ADMIN}/departments/{stage.ids[BILLING]}", admin, json={"name": "BILLING"}
    )
    assert result.status_code == 200, result.text
    assert result.json["name"] == "BILLING"


def test_the_cases_cover_every_route_with_a_body_or_query() -> None:
    touched = {(case.method, case.path) for case in CASES}
    for _, method, path, _, _ in BODY_ROUTES:
        assert (method, path) in touched
    assert {path for _, path, _ in LISTS} <= {path for _, path in touched}
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


# ------------------------------------------------------------------ a reset token in hand


@pytest.fixture
def mailbox() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def mail_stage(backend_url: str, mailbox: MemoryMailer) -> Iterator[Stage]:
    """A stage whose mail is kept, so a real reset token can be used badly."""
    services = bootstrap(make_settings(database_url=backend_url), {Mailer: mailbox})
    stage = build_stage(Helpdesk(services, falcon.testing.TestClient(create_app(services))))
    yield stage
    stage.close()
    services.close()


@pytest.mark.parametrize(
    ("new_password", "status"),
    [("short", 422), ("Xy1 " * 64 + "z", 422), (12345678901, 422), ("taken-password", 422)],
    ids=["short", "257-characters", "number", "contains-the-email"],
)
def test_a_refused_reset_keeps_the_token_usable(
    mail_stage: Stage, mailbox: MemoryMailer, new_password: object, status: int
) -> None:
    desk = mail_stage.desk
    assert desk.post(FORGOT, json={"email": TAKEN_EMAIL}).status_code == 202
    token = re.search(r"token=([A-Za-z0-9_-]+)", mailbox.sent[-1].body)
    assert token, mailbox.sent[-1].body
    before = mail_stage.snapshot()
    result = desk.post(RESET, json={"token": token.group(1), "new_password": new_password})
    assert result.status_code == status
    assert result.headers["content-type"] == PROBLEM
    assert [e["field"] for e in result.json["errors"]] == ["new_password"]
    assert mail_stage.snapshot() == before
    ok = desk.post(RESET, json={"token": token.group(1), "new_password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text
