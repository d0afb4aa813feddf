"""The world each cell of the access matrix (test_rbac_matrix.py) runs in, and the
well-formed request of each row: a concrete path and body (``REQUESTS``), the headers a row's
request carries besides the caller's token (``EXTRA_HEADERS``), and a body per assignment
mode (``ASSIGN_BODIES``). Kept apart so that the matrix itself stays one page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import attrs

from helpdesk_core.domain.canned import CannedScope
from helpdesk_core.domain.macros import MacroScope
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.canned import CreateCannedResponse
from helpdesk_core.usecases.macros import CreateMacro
from tests.http.conftest import PASSWORD, Helpdesk, Person

CANNED = "/api/v1/staff/canned-responses"
CANNED_ITEM = f"{CANNED}/{{canned_id}}"
MACROS = "/api/v1/staff/macros"
MACRO_ITEM = f"{MACROS}/{{macro_id}}"
FOLLOWERS = "/api/v1/staff/tickets/{ticket_id}/followers"
_NONE = "0f6d1c3e-5b7a-4e2f-9a1d-2c3b4a5d6e7f"  # no attachment has this id
INBOUND, FILE = "/api/v1/inbound/email", "/api/v1/attachments/{attachment_id}/content"


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
