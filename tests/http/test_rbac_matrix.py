"""Who may call what: every route of identity, organization, tickets and webhooks, as every
caller.

The table below is the whole access policy of the HTTP API in one place. Each row is a
documented route and method; each column a kind of caller; each cell the exact status the
caller gets for a well-formed request. Every cell runs as its own test, on a fresh in-memory
helpdesk, so a cell never depends on what another one did (logging out, for one, ends the
session it was called with).

Callers: nobody (no token), a customer, an agent, a lead, an administrator, and an agent
whose account was deactivated after they logged in (their token must be refused wherever a
token is needed, and must not matter where none is).

The ticket rows check role rules, not scope: a customer calls the customer routes on a ticket
of their own, staff call the staff routes on a ticket of the agent's and lead's department
(tests/http/test_ticket_scope.py checks scope). Customer routes are for customers only, staff
routes for staff only: the other side gets 403 whatever the ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from entrypoints.http.app import openapi_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.calendars import CreateCalendar
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.http.conftest import make_helpdesk
from tests.http.rbac_requests import (
    ASSIGN_BODIES,
    CANNED,
    CANNED_ITEM,
    EXTRA_HEADERS,
    FOLLOWERS,
    HOOK_URL,
    MACRO_ITEM,
    MACROS,
    REQUESTS,
    World,
    _actor,
)

ACTORS = ("anonymous", "customer", "agent", "lead", "admin", "deactivated")
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})


# fmt: off
#  (method, path as documented)                         anon  cust agent lead admin deact
STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST",  "/api/v1/auth/register"):                  (202,  202, 202,  202, 202,  202),
    ("POST",  "/api/v1/auth/login"):                     (401,  401, 401,  401, 401,  401),
    ("POST",  "/api/v1/auth/password/forgot"):           (202,  202, 202,  202, 202,  202),
    ("POST",  "/api/v1/auth/password/reset"):            (422,  422, 422,  422, 422,  422),
    ("GET",   "/api/v1/departments"):                    (200,  200, 200,  200, 200,  200),
    ("POST",  "/api/v1/auth/logout"):                    (401,  204, 204,  204, 204,  401),
    ("POST",  "/api/v1/auth/password/change"):           (401,  204, 204,  204, 204,  401),
    ("GET",   "/api/v1/me"):                             (401,  200, 200,  200, 200,  401),
    ("PATCH", "/api/v1/me"):                             (401,  200, 200,  200, 200,  401),
    ("GET",   "/api/v1/admin/departments"):              (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/departments"):              (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/departments/{department_id}"): (401, 403, 403, 403, 200,  401),
    ("PATCH", "/api/v1/admin/departments/{department_id}"): (401, 403, 403, 403, 200,  401),
    ("GET",   "/api/v1/admin/teams"):                    (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/teams"):                    (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/teams/{team_id}"):          (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/teams/{team_id}"):          (401,  403, 403,  403, 200,  401),
    ("GET",   "/api/v1/admin/staff"):                    (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/staff"):                    (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/staff/{staff_id}"):         (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/staff/{staff_id}"):         (401,  403, 403,  403, 200,  401),
    # ---- tickets: the customer routes
    ("GET",   "/api/v1/tickets"):                        (401,  200, 403,  403, 403,  401),
    ("POST",  "/api/v1/tickets"):                        (401,  201, 403,  403, 403,  401),
    ("GET",   "/api/v1/tickets/{ticket_id}"):            (401,  200, 403,  403, 403,  401),
    ("GET",   "/api/v1/tickets/by-number/{number}"):     (401,  200, 403,  403, 403,  401),
    ("GET",   "/api/v1/tickets/{ticket_id}/messages"):   (401,  200, 403,  403, 403,  401),
    ("POST",  "/api/v1/tickets/{ticket_id}/messages"):   (401,  201, 403,  403, 403,  401),
    ("POST",  "/api/v1/tickets/{ticket_id}/close"):      (401,  200, 403,  403, 403,  401),
    ("POST",  "/api/v1/tickets/{ticket_id}/reopen"):     (401,  200, 403,  403, 403,  401),
    # ---- tickets: the staff routes
    ("GET",   "/api/v1/staff/tickets"):                  (401,  403, 200,  200, 200,  401),
    ("GET",   "/api/v1/staff/tickets/{ticket_id}"):      (401,  403, 200,  200, 200,  401),
    ("GET",   "/api/v1/staff/tickets/by-number/{number}"): (401, 403, 200,  200, 200,  401),
    ("PATCH", "/api/v1/staff/tickets/{ticket_id}"):      (401,  403, 200,  200, 200,  401),
    ("POST",  "/api/v1/staff/tickets/{ticket_id}/assign"): (401, 403, 403, 200, 200,  401),
    ("POST",  "/api/v1/staff/tickets/{ticket_id}/messages"): (401, 403, 201, 201, 201, 401),
    ("GET",   "/api/v1/staff/tickets/{ticket_id}/history"): (401, 403, 200, 200, 200,  401),
    # following: staff follow themselves; leads and administrators add or remove others
    ("GET",   FOLLOWERS):                                (401,  403, 200,  200, 200,  401),
    ("PUT",   f"{FOLLOWERS}/me"):                        (401,  403, 200,  200, 200,  401),
    ("DELETE", f"{FOLLOWERS}/me"):                       (401,  403, 200,  200, 200,  401),
    ("PUT",   f"{FOLLOWERS}/{{user_id}}"):               (401,  403, 403,  200, 200,  401),
    ("DELETE", f"{FOLLOWERS}/{{user_id}}"):              (401,  403, 403,  200, 200,  401),
    ("GET",   "/api/v1/staff/queue-counts"):             (401,  403, 200,  200, 200,  401),
    # ---- webhooks: administrators only
    ("GET",   "/api/v1/admin/webhooks"):                 (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/webhooks"):                 (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/webhooks/{webhook_id}"):    (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/webhooks/{webhook_id}"):    (401,  403, 403,  403, 200,  401),
    ("DELETE", "/api/v1/admin/webhooks/{webhook_id}"):   (401,  403, 403,  403, 204,  401),
    ("GET",   "/api/v1/admin/webhooks/{webhook_id}/deliveries"): (401, 403, 403, 403, 200, 401),
    ("POST",  "/api/v1/admin/webhooks/{webhook_id}/ping"): (401, 403, 403,  403, 202,  401),
    ("POST",  "/api/v1/admin/webhooks/{webhook_id}/rotate-secret"): (401, 403, 403, 403, 200, 401),
    # ---- customer accounts: administrators only
    ("GET",   "/api/v1/admin/customers"):                (401,  403, 403,  403, 200,  401),
    ("GET",   "/api/v1/admin/customers/{customer_id}"):  (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/customers/{customer_id}"):  (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/customers/{customer_id}/erase"): (401, 403, 403, 403, 200, 401),
    ("POST",  "/api/v1/admin/customers/{customer_id}/unlock"): (401, 403, 403, 403, 204, 401),
    # ---- business calendars: administrators only
    ("GET",   "/api/v1/admin/calendars"):                (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/calendars"):                (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/calendars/{calendar_id}"):  (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/calendars/{calendar_id}"):  (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/calendars/{calendar_id}/compute"): (401, 403, 403, 403, 200, 401),
    # ---- service-level policies: administrators only
    ("GET",   "/api/v1/admin/sla-policies"):             (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/sla-policies"):             (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/sla-policies/{policy_id}"): (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/sla-policies/{policy_id}"): (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/sla/recalc"):               (401,  403, 403,  403, 200,  401),
    # ---- tags: staff tag tickets and read tags; administrators rename and merge
    ("POST",  "/api/v1/staff/tickets/{ticket_id}/tags"): (401, 403, 200, 200, 200, 401),
    ("GET",   "/api/v1/staff/tags"):                     (401,  403, 200,  200, 200,  401),
    ("GET",   "/api/v1/staff/tags/{tag_id}"):            (401,  403, 200,  200, 200,  401),
    ("PATCH", "/api/v1/admin/tags/{tag_id}"):            (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/tags/{tag_id}/merge"):      (401,  403, 403,  403, 200,  401),
    # ---- mailboxes and received mail: administrators only
    ("GET",   "/api/v1/admin/mailboxes"):                (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/mailboxes"):                (401,  403, 403,  403, 201,  401),
    ("GET",   "/api/v1/admin/mailboxes/{mailbox_id}"):   (401,  403, 403,  403, 200,  401),
    ("PATCH", "/api/v1/admin/mailboxes/{mailbox_id}"):   (401,  403, 403,  403, 200,  401),
    ("GET",   "/api/v1/admin/received-mail"):            (401,  403, 403,  403, 200,  401),
    ("POST",  "/api/v1/admin/mailboxes/{mailbox_id}/inbound-secret"):
                                                         (401,  403, 403,  403, 200,  401),
    ("GET",   "/api/v1/admin/mailboxes/{mailbox_id}/imap"): (401, 403, 403, 403, 200,  401),
    ("PUT",   "/api/v1/admin/mailboxes/{mailbox_id}/imap"): (401, 403, 403, 403, 200,  401),
    ("DELETE", "/api/v1/admin/mailboxes/{mailbox_id}/imap"): (401, 403, 403, 403, 204, 401),
    # ---- mail a provider POSTs: signed with the mailbox's secret, never a token (all unsigned)
    ("POST",  "/api/v1/inbound/email"):                  (401,  401, 401,  401, 401,  401),
    # ---- a stored file: who may see it is tests/mail/test_attachments.py; here, none exists
    ("GET",   "/api/v1/attachments/{attachment_id}/content"): (401, 404, 404, 404, 404, 401),
    # ---- canned responses (everyone's, written by an administrator) and one's signature
    ("GET",   CANNED):                                   (401,  403, 200,  200, 200,  401),
    ("POST",  CANNED):                                   (401,  403, 201,  201, 201,  401),
    ("GET",   CANNED_ITEM):                              (401,  403, 200,  200, 200,  401),
    ("PATCH", CANNED_ITEM):                              (401,  403, 403,  403, 200,  401),
    ("DELETE", CANNED_ITEM):                             (401,  403, 403,  403, 200,  401),
    ("POST",  f"{CANNED_ITEM}/render"):                  (401,  403, 200,  200, 200,  401),
    ("PUT",   "/api/v1/staff/me/signature"):             (401,  403, 200,  200, 200,  401),
    # ---- macros: staff save their own and read everyone's (saved by an administrator)
    ("GET",   MACROS):                                   (401,  403, 200,  200, 200,  401),
    ("POST",  MACROS):                                   (401,  403, 201,  201, 201,  401),
    ("GET",   MACRO_ITEM):                               (401,  403, 200,  200, 200,  401),
    ("PATCH", MACRO_ITEM):                               (401,  403, 403,  403, 200,  401),
    ("DELETE", MACRO_ITEM):                              (401,  403, 403,  403, 200,  401),
    # ---- macros applied, bulk actions: the staff of the ticket's department
    ("POST",  "/api/v1/staff/tickets/{ticket_id}/macros/{macro_id}"):
                                                         (401,  403, 200,  200, 200,  401),
    ("POST",  "/api/v1/staff/tickets/bulk"):             (401,  403, 200,  200, 200,  401),
}

# Assigning, mode by mode: anyone on the staff may take a ticket; only leads and
# administrators hand it to an agent, a team, or the round robin.
#  mode            anon  cust agent lead admin deact
ASSIGN_MODES: dict[str, tuple[int, ...]] = {
    "self":        (401,  403, 200,  200, 200,  401),
    "agent":       (401,  403, 403,  200, 200,  401),
    "team":        (401,  403, 403,  200, 200,  401),
    "auto":        (401,  403, 403,  200, 200,  401),
    "nobody":      (401,  403, 403,  200, 200,  401),  # the colleague has it first
}
# fmt: on

# HEAD is answered wherever GET is, as GET is: the same status for every caller, no body.
HEAD_AS_GET = {("HEAD", path): row for (method, path), row in STATUSES.items() if method == "GET"}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    route: dict(zip(ACTORS, statuses, strict=True))
    for route, statuses in (STATUSES | HEAD_AS_GET).items()
}


REQUESTS |= {("HEAD", path): REQUESTS[("GET", path)] for _, path in HEAD_AS_GET}


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    desk, services = make_helpdesk()
    department_id = desk.department()
    team_id = desk.team(department_id)
    colleague = desk.staff("agent", department_id, team_id)
    actor = _actor(desk, request.param, department_id, team_id)
    requester = actor if request.param == "customer" and actor else desk.customer()
    opened = desk.post(
        "/api/v1/tickets",
        requester,
        json={"subject": "Invoice", "description": "Twice.", "department_id": department_id},
    )
    assert opened.status_code == 201, opened.text
    webhook = services.webhooks.create(
        SYSTEM_OPERATOR, CreateWebhook(url=HOOK_URL, events=("*",))
    ).webhook
    calendar = services.calendars.create(
        SYSTEM_OPERATOR, CreateCalendar("Office", "Europe/Berlin", (("mon", "09:00", "17:00"),))
    )
    policy = services.sla.create(
        SYSTEM_OPERATOR,
        SlaPolicyInput(name="Standard", targets={"normal": {"first_response": 60}}),
    )
    mailbox = services.mailboxes.create(
        SYSTEM_OPERATOR, CreateMailbox("Support", "support@example.com")
    )
    imap = SetMailboxImap("imap.example.com", "support@example.com", "an imap CANARY password")
    services.mailbox_imap.set(SYSTEM_OPERATOR, mailbox.id, imap)  # to read, change and clear
    yield World(
        desk,
        department_id,
        team_id,
        colleague,
        actor,
        requester,
        opened.json["id"],
        str(webhook.id),
        opened.json["number"],
        str(calendar.id),
        str(policy.id),
        str(mailbox.id),
    )
    services.close()


def _cells() -> list[Any]:
    return [
        pytest.param(method, path, status, actor, id=f"{method} {path} as {actor}")
        for (method, path), row in MATRIX.items()
        for actor, status in row.items()
    ]


@pytest.mark.parametrize(("method", "path", "status", "world"), _cells(), indirect=["world"])
def test_each_caller_gets_exactly_the_status_in_the_table(
    world: World, method: str, path: str, status: int
) -> None:
    concrete, body = REQUESTS[(method, path)](world)
    headers = dict(world.actor.headers) if world.actor else {}
    headers |= EXTRA_HEADERS.get((method, path), {})
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    result = world.desk.client.simulate_request(method, concrete, **kwargs)
    assert_status(result, status)
    if method == "HEAD":
        assert result.content == b"", "a HEAD answer carries no body"
        assert int(result.headers["content-length"]) > 0, "but says how long GET's would be"


def assert_status(result: Any, status: int) -> None:
    assert result.status_code == status, result.text
    if status >= 400:
        assert result.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert result.headers["www-authenticate"].startswith("Bearer")


def _assign_cells() -> list[Any]:
    return [
        pytest.param(mode, status, actor, id=f"assign {mode} as {actor}")
        for mode, statuses in ASSIGN_MODES.items()
        for actor, status in zip(ACTORS, statuses, strict=True)
    ]


@pytest.mark.parametrize(("mode", "status", "world"), _assign_cells(), indirect=["world"])
def test_each_caller_may_assign_exactly_as_the_table_says(
    world: World, mode: str, status: int
) -> None:
    url = f"/api/v1/staff/tickets/{world.ticket_id}/assign"
    result = world.desk.post(url, world.actor, json=ASSIGN_BODIES[mode](world))
    assert_status(result, status)
    if status == 200:
        expected = {
            "self": world.actor.id if world.actor else None,
            "agent": world.colleague.id,
            "team": None,
            "nobody": None,
        }
        if mode in expected:
            assert (result.json["assignee"] or {}).get("id") == expected[mode]
        else:  # the round robin picks one of the department's active agents
            assert result.json["assignee"]["id"] in {world.colleague.id, world.actor.id}
        if mode == "team":
            assert result.json["team"]["id"] == world.team_id


def test_the_deactivated_caller_really_held_a_working_token() -> None:
    """The 'deactivated' column means something: the same token worked before."""
    desk, services = make_helpdesk()
    try:
        department_id = desk.department()
        person = desk.staff("agent", department_id)
        assert desk.get("/api/v1/me", person).status_code == 200
        desk.deactivate(person)
        assert desk.get("/api/v1/me", person).status_code == 401
    finally:
        services.close()


def test_the_table_has_a_request_for_every_row() -> None:
    assert set(REQUESTS) == set(MATRIX)


def test_every_documented_api_route_has_a_row() -> None:
    """A route added to the OpenAPI document without a row here fails, and vice versa."""
    documented = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if method in HTTP_METHODS
    }
    assert sorted(documented - set(MATRIX)) == [], "documented routes missing from the matrix"
    assert sorted(set(MATRIX) - documented) == [], "matrix rows for undocumented routes"
