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

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from entrypoints.http.app import openapi_document
from helpdesk_core.domain.canned import CannedScope
from helpdesk_core.domain.macros import MacroScope
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.calendars import CreateCalendar
from helpdesk_core.usecases.canned import CreateCannedResponse
from helpdesk_core.usecases.macros import CreateMacro
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.webhooks import CreateWebhook
from tests.http.conftest import PASSWORD, Helpdesk, Person, make_helpdesk

ACTORS = ("anonymous", "customer", "agent", "lead", "admin", "deactivated")
CANNED = "/api/v1/staff/canned-responses"
CANNED_ITEM = f"{CANNED}/{{canned_id}}"
MACROS = "/api/v1/staff/macros"
MACRO_ITEM = f"{MACROS}/{{macro_id}}"
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})

FOLLOWERS = "/api/v1/staff/tickets/{ticket_id}/followers"

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
_NONE = "0f6d1c3e-5b7a-4e2f-9a1d-2c3b4a5d6e7f"  # no attachment has this id
INBOUND, FILE = "/api/v1/inbound/email", "/api/v1/attachments/{attachment_id}/content"
HEAD_AS_GET = {("HEAD", path): row for (method, path), row in STATUSES.items() if method == "GET"}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    route: dict(zip(ACTORS, statuses, strict=True))
    for route, statuses in (STATUSES | HEAD_AS_GET).items()
}


@attrs.frozen
class World:
    """A fresh helpdesk with one department, one team, an agent to act on, and the caller;
    a customer (the caller, when the caller is one) with a new ticket routed to the
    department, which the agent (in the team) and the lead of the column work in."""

    desk: Helpdesk
    department_id: str
    team_id: str
    colleague: Person
    actor: Person | None
    requester: Person
    ticket_id: str
    webhook_id: str
    ticket_number: int
    calendar_id: str
    policy_id: str
    mailbox_id: str

    def closed_ticket(self) -> str:
        """The ticket, closed by its requester first (so that it can be reopened)."""
        result = self.desk.post(f"/api/v1/tickets/{self.ticket_id}/close", self.requester)
        assert result.status_code == 200, result.text
        return self.ticket_id


def _tag(world: World) -> str:
    """The id of a new tag, put on the world's ticket by the agent who works there."""
    name = _unique("tag")
    tagged = world.desk.post(
        f"/api/v1/staff/tickets/{world.ticket_id}/tags", world.colleague, json={"add": [name]}
    )
    assert tagged.status_code == 200, tagged.text
    found = world.desk.get(f"/api/v1/staff/tags?q={name}", world.colleague)
    (tag,) = found.json["items"]
    return str(tag["id"])


# A public address: the URL guard admits it without resolving a name (tests send nothing).
HOOK_URL = "https://93.184.215.14/helpdesk-events"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _everyones(world: World) -> str:
    """A canned response every staff member may use and administrators alone may change."""
    command = CreateCannedResponse("Hello", "Hi {{ customer.first_name }}", CannedScope.EVERYONE)
    return str(world.desk.services.canned.create(SYSTEM_OPERATOR, command).id)


def _everyones_macro(world: World) -> str:
    """A macro every staff member may apply and administrators alone may change."""
    command = CreateMacro("Take it", [{"action": "assign_to_me"}], MacroScope.EVERYONE)
    return str(world.desk.services.macros.create(SYSTEM_OPERATOR, command).id)


Request = tuple[str, dict[str, Any] | None]  # the concrete path, and the JSON body if any
IMAP = "/api/v1/admin/mailboxes/{mailbox_id}/imap"  # its PUT keeps the password stored
REQUESTS: dict[tuple[str, str], Callable[[World], Request]] = {
    ("POST", "/api/v1/auth/register"): lambda w: (
        "/api/v1/auth/register",
        {"email": f"{_unique('new')}@example.com", "password": PASSWORD, "display_name": "New"},
    ),
    ("POST", "/api/v1/auth/login"): lambda w: (
        "/api/v1/auth/login",
        {"email": w.colleague.email, "password": "not the password"},
    ),
    ("POST", "/api/v1/auth/password/forgot"): lambda w: (
        "/api/v1/auth/password/forgot",
        {"email": w.colleague.email},
    ),
    ("POST", "/api/v1/auth/password/reset"): lambda w: (
        "/api/v1/auth/password/reset",
        {"token": "not-a-reset-token", "new_password": "brand new secret 7"},
    ),
    ("GET", "/api/v1/departments"): lambda w: ("/api/v1/departments", None),
    ("POST", "/api/v1/auth/logout"): lambda w: ("/api/v1/auth/logout", None),
    ("POST", "/api/v1/auth/password/change"): lambda w: (
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "a new secret 42"},
    ),
    ("GET", "/api/v1/me"): lambda w: ("/api/v1/me", None),
    ("PATCH", "/api/v1/me"): lambda w: ("/api/v1/me", {"display_name": "Someone Else"}),
    ("GET", "/api/v1/admin/departments"): lambda w: ("/api/v1/admin/departments", None),
    ("POST", "/api/v1/admin/departments"): lambda w: (
        "/api/v1/admin/departments",
        {"name": _unique("Department")},
    ),
    ("GET", "/api/v1/admin/departments/{department_id}"): lambda w: (
        f"/api/v1/admin/departments/{w.department_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/departments/{department_id}"): lambda w: (
        f"/api/v1/admin/departments/{w.department_id}",
        {"name": _unique("Renamed")},
    ),
    ("GET", "/api/v1/admin/teams"): lambda w: ("/api/v1/admin/teams", None),
    ("POST", "/api/v1/admin/teams"): lambda w: (
        "/api/v1/admin/teams",
        {"name": _unique("Team"), "department_id": w.department_id},
    ),
    ("GET", "/api/v1/admin/teams/{team_id}"): lambda w: (
        f"/api/v1/admin/teams/{w.team_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/teams/{team_id}"): lambda w: (
        f"/api/v1/admin/teams/{w.team_id}",
        {"name": _unique("Renamed")},
    ),
    ("GET", "/api/v1/admin/staff"): lambda w: ("/api/v1/admin/staff", None),
    ("POST", "/api/v1/admin/staff"): lambda w: (
        "/api/v1/admin/staff",
        {
            "email": f"{_unique('staff')}@example.com",
            "display_name": "New Agent",
            "password": PASSWORD,
            "role": "agent",
            "department_id": w.department_id,
        },
    ),
    ("GET", "/api/v1/admin/staff/{staff_id}"): lambda w: (
        f"/api/v1/admin/staff/{w.colleague.id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/staff/{staff_id}"): lambda w: (
        f"/api/v1/admin/staff/{w.colleague.id}",
        {"role": "lead"},
    ),
    # ---- tickets
    ("GET", "/api/v1/tickets"): lambda w: ("/api/v1/tickets", None),
    ("POST", "/api/v1/tickets"): lambda w: (
        "/api/v1/tickets",
        {"subject": "Printer", "description": "It is on fire.", "department_id": w.department_id},
    ),
    ("GET", "/api/v1/tickets/{ticket_id}"): lambda w: (f"/api/v1/tickets/{w.ticket_id}", None),
    ("GET", "/api/v1/tickets/by-number/{number}"): lambda w: (
        f"/api/v1/tickets/by-number/{w.ticket_number}",
        None,
    ),
    ("GET", "/api/v1/tickets/{ticket_id}/messages"): lambda w: (
        f"/api/v1/tickets/{w.ticket_id}/messages",
        None,
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/messages"): lambda w: (
        f"/api/v1/tickets/{w.ticket_id}/messages",
        {"body": "Any news?"},
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/close"): lambda w: (
        f"/api/v1/tickets/{w.ticket_id}/close",
        None,
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/reopen"): lambda w: (
        f"/api/v1/tickets/{w.closed_ticket()}/reopen",
        None,
    ),
    ("GET", "/api/v1/staff/tickets"): lambda w: ("/api/v1/staff/tickets", None),
    ("GET", "/api/v1/staff/tickets/{ticket_id}"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}",
        None,
    ),
    ("GET", "/api/v1/staff/tickets/by-number/{number}"): lambda w: (
        f"/api/v1/staff/tickets/by-number/{w.ticket_number}",
        None,
    ),
    ("PATCH", "/api/v1/staff/tickets/{ticket_id}"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}",
        {"priority": "high"},
    ),
    ("POST", "/api/v1/staff/tickets/{ticket_id}/assign"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}/assign",
        {"mode": "agent", "agent_id": w.colleague.id},
    ),
    ("POST", "/api/v1/staff/tickets/{ticket_id}/messages"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}/messages",
        {"body": "We are on it.", "visibility": "public"},
    ),
    ("GET", "/api/v1/staff/tickets/{ticket_id}/history"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}/history",
        None,
    ),
    ("GET", FOLLOWERS): lambda w: (FOLLOWERS.format(ticket_id=w.ticket_id), None),
    ("PUT", f"{FOLLOWERS}/me"): lambda w: (f"{FOLLOWERS.format(ticket_id=w.ticket_id)}/me", None),
    ("DELETE", f"{FOLLOWERS}/me"): lambda w: (
        f"{FOLLOWERS.format(ticket_id=w.ticket_id)}/me",
        None,
    ),
    ("PUT", f"{FOLLOWERS}/{{user_id}}"): lambda w: (
        f"{FOLLOWERS.format(ticket_id=w.ticket_id)}/{w.colleague.id}",
        None,
    ),
    ("DELETE", f"{FOLLOWERS}/{{user_id}}"): lambda w: (
        f"{FOLLOWERS.format(ticket_id=w.ticket_id)}/{w.colleague.id}",
        None,
    ),
    ("GET", "/api/v1/staff/queue-counts"): lambda w: (
        f"/api/v1/staff/queue-counts?department_id={w.department_id}",
        None,
    ),
    # ---- webhooks
    ("GET", "/api/v1/admin/webhooks"): lambda w: ("/api/v1/admin/webhooks", None),
    ("POST", "/api/v1/admin/webhooks"): lambda w: (
        "/api/v1/admin/webhooks",
        {"url": HOOK_URL, "events": ["ticket.created"]},
    ),
    ("GET", "/api/v1/admin/webhooks/{webhook_id}"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/webhooks/{webhook_id}"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}",
        {"description": "Renamed"},
    ),
    ("DELETE", "/api/v1/admin/webhooks/{webhook_id}"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}",
        None,
    ),
    ("GET", "/api/v1/admin/webhooks/{webhook_id}/deliveries"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}/deliveries",
        None,
    ),
    ("POST", "/api/v1/admin/webhooks/{webhook_id}/ping"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}/ping",
        None,
    ),
    ("POST", "/api/v1/admin/webhooks/{webhook_id}/rotate-secret"): lambda w: (
        f"/api/v1/admin/webhooks/{w.webhook_id}/rotate-secret",
        None,
    ),
    ("GET", "/api/v1/admin/customers"): lambda w: ("/api/v1/admin/customers", None),
    ("GET", "/api/v1/admin/customers/{customer_id}"): lambda w: (
        f"/api/v1/admin/customers/{w.requester.id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/customers/{customer_id}"): lambda w: (
        f"/api/v1/admin/customers/{w.requester.id}",
        {"active": False},
    ),
    ("POST", "/api/v1/admin/customers/{customer_id}/erase"): lambda w: (
        f"/api/v1/admin/customers/{w.requester.id}/erase",
        None,
    ),
    ("POST", "/api/v1/admin/customers/{customer_id}/unlock"): lambda w: (
        f"/api/v1/admin/customers/{w.requester.id}/unlock",
        None,
    ),
    ("GET", "/api/v1/admin/calendars"): lambda w: ("/api/v1/admin/calendars", None),
    ("POST", "/api/v1/admin/calendars"): lambda w: (
        "/api/v1/admin/calendars",
        {
            "name": _unique("Calendar"),
            "timezone": "Europe/Berlin",
            "intervals": [{"weekday": "mon", "start": "09:00", "end": "17:00"}],
        },
    ),
    ("GET", "/api/v1/admin/calendars/{calendar_id}"): lambda w: (
        f"/api/v1/admin/calendars/{w.calendar_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/calendars/{calendar_id}"): lambda w: (
        f"/api/v1/admin/calendars/{w.calendar_id}",
        {"name": _unique("Renamed")},
    ),
    ("POST", "/api/v1/admin/calendars/{calendar_id}/compute"): lambda w: (
        f"/api/v1/admin/calendars/{w.calendar_id}/compute",
        {"start": "2026-12-04T16:00:00+01:00", "minutes": 240},
    ),
    ("GET", "/api/v1/admin/sla-policies"): lambda w: ("/api/v1/admin/sla-policies", None),
    ("POST", "/api/v1/admin/sla-policies"): lambda w: (
        "/api/v1/admin/sla-policies",
        {
            "name": _unique("Policy"),
            "department_ids": [w.department_id],
            "calendar_id": w.calendar_id,
            "targets": {"urgent": {"first_response": 30, "resolution": 480}},
        },
    ),
    ("GET", "/api/v1/admin/sla-policies/{policy_id}"): lambda w: (
        f"/api/v1/admin/sla-policies/{w.policy_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/sla-policies/{policy_id}"): lambda w: (
        f"/api/v1/admin/sla-policies/{w.policy_id}",
        {"name": _unique("Renamed"), "warn_before": 15},
    ),
    ("POST", "/api/v1/admin/sla/recalc"): lambda w: ("/api/v1/admin/sla/recalc", None),
    ("POST", "/api/v1/staff/tickets/{ticket_id}/tags"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}/tags",
        {"add": ["vip", _unique("tag")], "remove": ["never used"]},
    ),
    ("GET", "/api/v1/staff/tags"): lambda w: ("/api/v1/staff/tags", None),
    ("GET", "/api/v1/staff/tags/{tag_id}"): lambda w: (f"/api/v1/staff/tags/{_tag(w)}", None),
    ("PATCH", "/api/v1/admin/tags/{tag_id}"): lambda w: (
        f"/api/v1/admin/tags/{_tag(w)}",
        {"name": _unique("renamed")},
    ),
    ("POST", "/api/v1/admin/tags/{tag_id}/merge"): lambda w: (
        f"/api/v1/admin/tags/{_tag(w)}/merge",
        {"into": _tag(w)},
    ),
    ("GET", "/api/v1/admin/mailboxes"): lambda w: ("/api/v1/admin/mailboxes", None),
    ("POST", "/api/v1/admin/mailboxes"): lambda w: (
        "/api/v1/admin/mailboxes",
        {"name": _unique("Mailbox"), "address": f"{_unique('mail')}@example.com"},
    ),
    ("GET", "/api/v1/admin/mailboxes/{mailbox_id}"): lambda w: (
        f"/api/v1/admin/mailboxes/{w.mailbox_id}",
        None,
    ),
    ("PATCH", "/api/v1/admin/mailboxes/{mailbox_id}"): lambda w: (
        f"/api/v1/admin/mailboxes/{w.mailbox_id}",
        {"name": _unique("Renamed"), "department_id": w.department_id},
    ),
    ("GET", "/api/v1/admin/received-mail"): lambda w: (
        f"/api/v1/admin/received-mail?mailbox_id={w.mailbox_id}&status=held",
        None,
    ),
    ("POST", "/api/v1/admin/mailboxes/{mailbox_id}/inbound-secret"): lambda w: (
        f"/api/v1/admin/mailboxes/{w.mailbox_id}/inbound-secret",
        None,
    ),
    ("GET", IMAP): lambda w: (IMAP.format(mailbox_id=w.mailbox_id), None),
    ("PUT", IMAP): lambda w: (IMAP.format(mailbox_id=w.mailbox_id), {"host": "a", "username": "u"}),
    ("DELETE", IMAP): lambda w: (IMAP.format(mailbox_id=w.mailbox_id), None),
    ("POST", INBOUND): lambda w: (f"{INBOUND}?mailbox={w.mailbox_id}", None),
    ("GET", FILE): lambda w: (FILE.format(attachment_id=_NONE), None),
    ("GET", CANNED): lambda w: (CANNED, None),
    ("POST", CANNED): lambda w: (CANNED, {"title": "Mine", "body": "Hi {{ customer.name }}"}),
    ("GET", CANNED_ITEM): lambda w: (CANNED_ITEM.format(canned_id=_everyones(w)), None),
    ("PATCH", CANNED_ITEM): lambda w: (
        CANNED_ITEM.format(canned_id=_everyones(w)),
        {"title": "Renamed"},
    ),
    ("DELETE", CANNED_ITEM): lambda w: (CANNED_ITEM.format(canned_id=_everyones(w)), None),
    ("POST", f"{CANNED_ITEM}/render"): lambda w: (
        f"{CANNED_ITEM.format(canned_id=_everyones(w))}/render",
        {"ticket_id": w.ticket_id},
    ),
    ("PUT", "/api/v1/staff/me/signature"): lambda w: (
        "/api/v1/staff/me/signature",
        {"signature": "Kind regards"},
    ),
    ("GET", MACROS): lambda w: (MACROS, None),
    ("POST", MACROS): lambda w: (MACROS, {"name": "Mine", "actions": [{"action": "follow"}]}),
    ("GET", MACRO_ITEM): lambda w: (MACRO_ITEM.format(macro_id=_everyones_macro(w)), None),
    ("POST", "/api/v1/staff/tickets/{ticket_id}/macros/{macro_id}"): lambda w: (
        f"/api/v1/staff/tickets/{w.ticket_id}/macros/{_everyones_macro(w)}",
        None,
    ),
    ("POST", "/api/v1/staff/tickets/bulk"): lambda w: (
        "/api/v1/staff/tickets/bulk",
        {"tickets": [{"id": w.ticket_id}], "actions": [{"action": "add_tags", "value": ["vip"]}]},
    ),
    ("PATCH", MACRO_ITEM): lambda w: (
        MACRO_ITEM.format(macro_id=_everyones_macro(w)),
        {"name": "Renamed"},
    ),
    ("DELETE", MACRO_ITEM): lambda w: (MACRO_ITEM.format(macro_id=_everyones_macro(w)), None),
}

REQUESTS |= {("HEAD", path): REQUESTS[("GET", path)] for _, path in HEAD_AS_GET}

# Headers a well-formed request of the row carries besides the caller's token.
EXTRA_HEADERS: dict[tuple[str, str], dict[str, str]] = {
    ("PATCH", "/api/v1/staff/tickets/{ticket_id}"): {"If-Match": '"1"'},  # the version seen
    ("PATCH", "/api/v1/admin/calendars/{calendar_id}"): {"If-Match": '"1"'},
    ("PATCH", "/api/v1/admin/sla-policies/{policy_id}"): {"If-Match": '"1"'},
    ("PATCH", "/api/v1/admin/mailboxes/{mailbox_id}"): {"If-Match": '"1"'},
    ("PATCH", CANNED_ITEM): {"If-Match": '"1"'},
    ("PATCH", MACRO_ITEM): {"If-Match": '"1"'},
    ("PATCH", "/api/v1/admin/tags/{tag_id}"): {"If-Match": '"1"'},  # a new tag's version
    ("POST", "/api/v1/staff/tickets/{ticket_id}/macros/{macro_id}"): {"If-Match": '"1"'},
}

ASSIGN_BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "self": lambda w: {"mode": "self"},
    "agent": lambda w: {"mode": "agent", "agent_id": w.colleague.id},
    "team": lambda w: {"mode": "team", "team_id": w.team_id},
    "auto": lambda w: {"mode": "auto"},
    "nobody": lambda w: _held_by_colleague(w, {"mode": "nobody"}),
}


def _held_by_colleague(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """``body``, once the world's ticket is assigned to the colleague (not the caller)."""
    lead = world.desk.staff("lead", world.department_id)
    assigned = world.desk.post(
        f"/api/v1/staff/tickets/{world.ticket_id}/assign",
        lead,
        json={"mode": "agent", "agent_id": world.colleague.id},
    )
    assert assigned.status_code == 200, assigned.text
    return body


def _actor(desk: Helpdesk, kind: str, department_id: str, team_id: str) -> Person | None:
    if kind == "anonymous":
        return None
    if kind == "customer":
        return desk.customer()
    if kind == "agent":
        return desk.staff("agent", department_id, team_id)
    if kind == "lead":
        return desk.staff("lead", department_id)
    if kind == "admin":
        return desk.staff("admin")
    assert kind == "deactivated"
    person = desk.staff("agent", department_id, team_id)  # logged in ...
    desk.deactivate(person)  # ... and then deactivated: the token in hand must stop working
    return person


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
