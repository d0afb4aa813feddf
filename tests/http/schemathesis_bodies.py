"""A well-formed body for every operation of the API that takes one, and who sends it
(test_schemathesis.py adds one extra field to each and expects a 422 naming exactly it);
``{x_id}`` placeholders are the seeded ids (schemathesis_seed.py), filled in at the top level."""

from __future__ import annotations

from typing import Any

from tests.http.schemathesis_support import PASSWORD

IMAP_PASSWORD = "an imap CANARY password"  # looked for in every answer
# A body of the right shape for every operation that takes one, and who sends it. With one
# extra field added, each must be a 422 naming exactly that field, before anything happens.
VALID_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "register": (
        "anonymous",
        {"email": "new@stage.example.com", "password": "a long new password", "display_name": "N"},
    ),
    "login": ("anonymous", {"email": "customer@stage.example.com", "password": PASSWORD}),
    "forgotPassword": ("anonymous", {"email": "customer@stage.example.com"}),
    "resetPassword": ("anonymous", {"token": "t", "new_password": "a long new password"}),
    "changePassword": (
        "customer",
        {"current_password": PASSWORD, "new_password": "a long new password"},
    ),
    "updateMe": ("customer", {"display_name": "Renamed"}),
    "createDepartment": ("admin", {"name": "Returns", "auto_assign": False}),
    "updateDepartment": ("admin", {"name": "Billing and Returns"}),
    "createTeam": ("admin", {"name": "Tier 3", "department_id": "{department_id}"}),
    "updateTeam": ("admin", {"name": "Tier One"}),
    "createStaff": (
        "admin",
        {
            "email": "another@stage.example.com",
            "display_name": "Another",
            "password": PASSWORD,
            "role": "agent",
        },
    ),
    "updateStaff": ("admin", {"active": False}),
    "openTicket": (
        "customer",
        {
            "subject": "Broken",
            "description": "It broke.",
            "attachments": [
                {
                    "url": "https://files.example.com/a.png",
                    "filename": "a.png",
                    "mime_type": "image/png",
                    "size_bytes": 10,
                }
            ],
        },
    ),
    "replyToMyTicket": ("customer", {"body": "Any news?"}),
    "changeTicket": ("agent", {"priority": "high"}),
    "assignTicket": ("agent", {"mode": "self"}),
    "postTicketMessage": ("agent", {"body": "Looking into it", "visibility": "internal"}),
    "createWebhook": ("admin", {"url": "https://hooks.example.com/new", "events": ["*"]}),
    "updateWebhook": ("admin", {"description": "Renamed"}),
    "updateCustomer": ("admin", {"active": False}),
    "createCalendar": (
        "admin",
        {
            "name": "Night shift",
            "timezone": "UTC",
            "intervals": [{"weekday": "mon", "start": "22:00", "end": "24:00"}],
            "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
        },
    ),
    "updateCalendar": ("admin", {"name": "Head office"}),
    "computeDueAt": ("admin", {"start": "2026-12-04T16:00:00+01:00", "minutes": 240}),
    "createSlaPolicy": (
        "admin",
        {
            "name": "Sales, urgent",
            "priorities": ["urgent"],
            "calendar_id": "{calendar_id}",
            "targets": {"urgent": {"first_response": 30, "resolution": 480}},
            "pause_statuses": ["pending"],
            "warn_before": 15,
            "on_reopen": "restart",
        },
    ),
    "updateSlaPolicy": ("admin", {"warn_before": 30}),
    "createMailbox": (
        "admin",
        {
            "name": "Sales mail",
            "address": "sales@stage.example.com",
            "department_id": "{department_id}",
            "unknown_senders": "create",
            "reopen_days": 7,
        },
    ),
    "updateMailbox": ("admin", {"reopen_days": 30}),
    "setMailboxImap": (
        "admin",
        {"host": "imap.stage.example.com", "username": "support", "password": IMAP_PASSWORD},
    ),
    "createCannedResponse": ("agent", {"title": "Thanks", "body": "Thanks, {{ agent.name }}"}),
    "updateCannedResponse": ("admin", {"title": "Hello"}),
    "renderCannedResponse": ("agent", {"ticket_id": "{ticket_id}", "format": "html"}),
    "setMySignature": ("agent", {"signature": "Agent"}),
    "changeTicketTags": ("agent", {"add": ["refund"], "remove": ["gold"]}),
    "renameTag": ("admin", {"name": "Very important"}),
    "mergeTag": ("admin", {"into": "{other_tag_id}"}),
    "bulkTickets": (
        "agent",
        {
            # No ticket has this id: an outcome of its own, the request still understood.
            "tickets": [{"id": "00000000-0000-4000-8000-000000000001", "version": None}],
            "actions": [{"action": "add_tags", "value": ["bulk"]}],
            "dry_run": True,
        },
    ),
    "createMacro": ("agent", {"name": "Take it", "actions": [{"action": "assign_to_me"}]}),
    "updateMacro": ("admin", {"name": "Hello"}),
}
