"""The one converter: every entity and read model as the JSON document the API, the CLI's
``--json``, events and the library all show. Explicit, field by field, so nothing secret (a
password hash, a webhook's secret, an internal note's body in an event) can slip into one.

A reference to another entity is an object with its id and name (``{"id", "display_name"}``
for a person, ``{"id", "name"}`` for a department or team), or null; timestamps are ISO 8601
with their offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk_core.domain.bulk import BulkResult
from helpdesk_core.domain.business_time import format_clock
from helpdesk_core.domain.calendars import Calendar
from helpdesk_core.domain.canned import CannedResponse, RenderedResponse
from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    StaffMember,
    Team,
    User,
    is_erased,
)
from helpdesk_core.domain.followers import TicketFollower, TicketFollowers
from helpdesk_core.domain.macros import Macro
from helpdesk_core.domain.mail import InboundEmail, Mailbox
from helpdesk_core.domain.mail_fetch import MailboxImap
from helpdesk_core.domain.sla import Metric, SlaClock, SlaPolicy
from helpdesk_core.domain.tags import TagCount
from helpdesk_core.domain.values import MessageVisibility
from helpdesk_core.domain.views import (
    Account,
    HistoryView,
    MessageView,
    StaffProfile,
    TicketDetail,
    TicketView,
)
from helpdesk_core.ports.events import (
    DeliveryAttempt,
    DeliveryState,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.tickets import QueueCounts, TicketPage


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _who(user: User, role: str, staff: StaffMember | None) -> dict[str, Any]:
    """Who a person is and where they work: what an account and a staff member share."""
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": role,
        "department_id": _id(staff.department_id) if staff is not None else None,
        "team_id": _id(staff.team_id) if staff is not None else None,
    }


def account_document(account: Account) -> dict[str, Any]:
    """The signed-in account (/me, login): active when the user and any staff profile are."""
    return {
        **_who(account.user, account.role.value, account.staff),
        "active": account.is_active,
        "created_at": timestamp(account.user.created_at),
    }


def department_document(department: Department) -> dict[str, Any]:
    return {
        "id": str(department.id),
        "name": department.name,
        "auto_assign": department.auto_assign,
        "active": department.is_active,
        "created_at": timestamp(department.created_at),
        "updated_at": timestamp(department.updated_at),
        "version": department.version,
    }


def public_department_document(department: Department) -> dict[str, Any]:
    return {"id": str(department.id), "name": department.name}


def team_document(team: Team) -> dict[str, Any]:
    return {
        "id": str(team.id),
        "department_id": str(team.department_id),
        "name": team.name,
        "active": team.is_active,
        "created_at": timestamp(team.created_at),
        "updated_at": timestamp(team.updated_at),
        "version": team.version,
    }


def staff_document(profile: StaffProfile) -> dict[str, Any]:
    """A staff member as the admin routes show them: the staff profile's state and times."""
    staff = profile.staff
    return {
        **_who(profile.user, staff.role.value, staff),
        "external_id": profile.user.external_id,
        "signature": staff.signature,
        "active": staff.is_active,
        "created_at": timestamp(staff.created_at),
        "updated_at": timestamp(staff.updated_at),
        "version": staff.version,
    }


def user_document(user: User) -> dict[str, Any]:
    """A user account as the customer admin routes, `helpdesk users ... --json` and the
    ``user.*`` events show it (never the password hash). ``external_id``: the id a program
    that embeds the helpdesk gave the account (docs/embedding.md), or null."""
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "external_id": user.external_id,
        "active": user.is_active,
        "erased": is_erased(user),
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
        "version": user.version,
    }


def webhook_document(webhook: Webhook) -> dict[str, Any]:
    """A webhook endpoint; never its secret (shown once, by the creating request only)."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": list(webhook.events),
        "description": webhook.description,
        "active": webhook.is_active,
        "consecutive_failures": webhook.consecutive_failures,
        "disabled_reason": webhook.disabled_reason,
        "created_at": timestamp(webhook.created_at),
        "updated_at": timestamp(webhook.updated_at),
    }


def delivery_attempt_document(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "created_at": timestamp(attempt.created_at),
    }


def delivery_document(delivery: WebhookDelivery) -> dict[str, Any]:
    """One event on its way to one endpoint, with every attempt (oldest first)."""
    pending = delivery.state is DeliveryState.PENDING
    return {
        "id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        # Only a pending delivery has a next attempt; a finished one shows null.
        "next_attempt_at": timestamp(delivery.next_attempt_at) if pending else None,
        "created_at": timestamp(delivery.created_at),
        "completed_at": timestamp(delivery.completed_at),
        "attempt_log": [delivery_attempt_document(a) for a in delivery.attempt_log],
    }


def calendar_document(calendar: Calendar) -> dict[str, Any]:
    """A business calendar: intervals in the order given (``"24:00"`` ends a day), holidays
    in date order as ISO dates."""
    return {
        "id": str(calendar.id),
        "name": calendar.name,
        "timezone": calendar.timezone,
        "intervals": [
            {
                "weekday": interval.weekday.value,
                "start": format_clock(interval.start),
                "end": format_clock(interval.end),
            }
            for interval in calendar.intervals
        ],
        "holidays": [
            {"date": holiday.day.isoformat(), "name": holiday.name} for holiday in calendar.holidays
        ],
        "active": calendar.is_active,
        "created_at": timestamp(calendar.created_at),
        "updated_at": timestamp(calendar.updated_at),
        "version": calendar.version,
    }


def canned_response_document(response: CannedResponse) -> dict[str, Any]:
    """A canned response: its body as written (placeholders unfilled), who may use it."""
    return {
        "id": str(response.id),
        "title": response.title,
        "shortcut": response.shortcut,
        "body": response.body,
        "scope": response.scope.value,
        "owner_id": _id(response.owner_id),
        "team_id": _id(response.team_id),
        "department_id": _id(response.department_id),
        "usage_count": response.usage_count,
        "active": response.is_active,
        "created_at": timestamp(response.created_at),
        "updated_at": timestamp(response.updated_at),
        "version": response.version,
    }


def rendered_response_document(rendered: RenderedResponse) -> dict[str, Any]:
    """A canned response rendered for a ticket: the draft, and what had no value."""
    return {"body": rendered.body, "unresolved": list(rendered.unresolved)}


def macro_document(macro: Macro) -> dict[str, Any]:
    """A macro: its actions as saved (``{"action", "value"}``, value null where it takes
    none), who may apply it."""
    return {
        "id": str(macro.id),
        "name": macro.name,
        "scope": macro.scope.value,
        "owner_id": _id(macro.owner_id),
        "department_id": _id(macro.department_id),
        "actions": [step.as_json() for step in macro.steps],
        "active": macro.is_active,
        "created_by": _id(macro.created_by),
        "created_at": timestamp(macro.created_at),
        "updated_at": timestamp(macro.updated_at),
        "version": macro.version,
    }


def clock_document(clock: SlaClock | None) -> dict[str, Any] | None:
    """Where one metric of a ticket stands (its latest cycle), or None when it has none."""
    if clock is None:
        return None
    return {
        "status": clock.status.value,
        "cycle": clock.cycle,
        "started_at": timestamp(clock.started_at),
        "due_at": timestamp(clock.due_at),
        "met_at": timestamp(clock.met_at),
        "breached_at": timestamp(clock.breached_at),
    }


def sla_document(view: TicketView) -> dict[str, Any] | None:
    """The ticket's service level, or None when no policy ever governed it: the policy,
    the next due time of its running clocks (None while they stand) and each metric."""
    ticket = view.ticket
    if ticket.sla_policy_id is None:
        return None
    clocks = {clock.metric: clock for clock in view.sla}
    return {
        "policy_id": str(ticket.sla_policy_id),
        "next_due_at": timestamp(ticket.sla_due_at),
        **{metric.value: clock_document(clocks.get(metric)) for metric in Metric},
    }


def sla_policy_document(policy: SlaPolicy) -> dict[str, Any]:
    """A service-level policy; targets in minutes by priority, each metric present (null: no
    promise)."""
    return {
        "id": str(policy.id),
        "name": policy.name,
        "position": policy.position,
        "department_ids": [str(d) for d in policy.department_ids],
        "priorities": [p.value for p in policy.priorities],
        "calendar_id": str(policy.calendar_id) if policy.calendar_id else None,
        "targets": {
            priority.value: {metric.value: targets.of(metric) for metric in Metric}
            for priority, targets in policy.targets.items()
        },
        "pause_statuses": [s.value for s in policy.pause_statuses],
        "warn_before": policy.warn_before,
        "on_reopen": policy.on_reopen.value,
        "active": policy.is_active,
        "created_at": timestamp(policy.created_at),
        "updated_at": timestamp(policy.updated_at),
        "version": policy.version,
    }


def bulk_result_document(result: BulkResult) -> dict[str, Any]:
    """A bulk action's answer: every ticket's outcome in the order named, each ticket as it
    stands after the change (or, in a dry run, would stand), or why it was left unchanged."""
    return {
        "dry_run": result.dry_run,
        "replayed": result.replayed,
        "items": [
            {
                "ticket_id": str(item.ticket_id),
                "ok": item.ok,
                "ticket": ticket_document(item.ticket) if item.ticket is not None else None,
                "error": None
                if item.error is None
                else {
                    "code": item.error.code,
                    "detail": item.error.detail,
                    "errors": [{"field": e.field, "message": e.message} for e in item.error.errors],
                },
            }
            for item in result.items
        ],
    }


def tag_document(count: TagCount) -> dict[str, Any]:
    """A tag, as first written (or as renamed), and how many tickets carry it."""
    tag = count.tag
    return {
        "id": str(tag.id),
        "name": tag.name,
        "tickets": count.tickets,
        "created_at": timestamp(tag.created_at),
        "updated_at": timestamp(tag.updated_at),
        "version": tag.version,
    }


def mailbox_document(mailbox: Mailbox) -> dict[str, Any]:
    """A mailbox: the address mail is received at and what is done with it."""
    return {
        "id": str(mailbox.id),
        "name": mailbox.name,
        "address": mailbox.address,
        "department_id": _id(mailbox.department_id),
        "unknown_senders": mailbox.unknown_senders.value,
        "reopen_days": mailbox.reopen_days,
        "active": mailbox.is_active,
        "created_at": timestamp(mailbox.created_at),
        "updated_at": timestamp(mailbox.updated_at),
        "version": mailbox.version,
    }


def mailbox_imap_document(config: MailboxImap) -> dict[str, Any]:
    """Where the worker fetches a mailbox's mail, and how far it got; never the password
    (stored sealed, read by the poller alone)."""
    return {
        "mailbox_id": str(config.mailbox_id),
        "host": config.host,
        "port": config.port,
        "security": config.security.value,
        "username": config.username,
        "folder": config.folder,
        "move_to": config.move_to,
        "uidvalidity": config.uidvalidity,
        "last_uid": config.last_uid,
        "polled_at": timestamp(config.polled_at),
        "last_error": config.last_error,
        "created_at": timestamp(config.created_at),
        "updated_at": timestamp(config.updated_at),
        "version": config.version,
    }


def inbound_email_document(email: InboundEmail) -> dict[str, Any]:
    """A received message as stored and processed (never its bytes or its text: those are
    the ticket's message, shown by the ticket's own routes to those who may see it)."""
    return {
        "id": str(email.id),
        "mailbox_id": str(email.mailbox_id),
        "message_id": email.message_id,
        "via": email.via.value,
        "size": email.size,
        "received_at": timestamp(email.received_at),
        "status": email.status.value,
        "outcome": email.outcome.value if email.outcome else None,
        "sender": email.sender,
        "subject": email.subject,
        "ticket_id": _id(email.ticket_id),
        "ticket_message_id": _id(email.ticket_message_id),
        "detail": email.detail,
        "processed_at": timestamp(email.processed_at),
    }


def _person(user_id: uuid.UUID | None, name: str | None) -> dict[str, Any] | None:
    return {"id": str(user_id), "display_name": name} if user_id is not None else None


def _named(entity_id: uuid.UUID | None, name: str | None) -> dict[str, Any] | None:
    return {"id": str(entity_id), "name": name} if entity_id is not None else None


def ticket_document(view: TicketView, with_description: bool = False) -> dict[str, Any]:
    """A ticket; lists and events leave its description out, a ticket read in full has it."""
    ticket, names = view.ticket, view.names
    document: dict[str, Any] = {
        "id": str(ticket.id),
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "requester": _person(ticket.requester_id, names.requester),
        "department": _named(ticket.department_id, names.department),
        "team": _named(ticket.team_id, names.team),
        "assignee": _person(ticket.assignee_id, names.assignee),
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "closed_at": timestamp(ticket.closed_at),
        "version": ticket.version,
        "source": ticket.source.value,
        "tags": list(ticket.tags),
        "sla": sla_document(view),
    }
    if with_description:
        document["description"] = ticket.description
    return document


def attachment_document(attachment: AttachmentReference) -> dict[str, Any]:
    return {
        "id": str(attachment.id),
        "url": attachment.url,
        "filename": attachment.filename,
        "mime_type": attachment.mime_type,
        "size_bytes": attachment.size_bytes,
        "checksum": attachment.checksum,
        "message_id": str(attachment.message_id) if attachment.message_id else None,
        "created_at": timestamp(attachment.created_at),
    }


def message_document(view: MessageView) -> dict[str, Any]:
    message = view.message
    return {
        "id": str(message.id),
        "ticket_id": str(message.ticket_id),
        "author": _person(message.author_id, view.author_name),
        "body": message.body,
        "visibility": message.visibility.value,
        "source": message.source.value,
        "automatic": message.automatic,
        "created_at": timestamp(message.created_at),
        "attachments": [attachment_document(a) for a in message.attachments],
    }


def message_event_document(view: MessageView, author_is_staff: bool) -> dict[str, Any]:
    """A message as events carry it: its document, with whether its author is staff, and
    never an internal note's body (events may reach customers' systems)."""
    document = message_document(view)
    document["author_is_staff"] = author_is_staff
    if view.message.visibility is MessageVisibility.INTERNAL:
        document["body"] = None
    return document


def detail_document(detail: TicketDetail) -> dict[str, Any]:
    """A ticket in full: its description, the conversation the reader may see, and the
    attachments of the ticket itself (a message's are listed with the message)."""
    document = ticket_document(detail.view, with_description=True)
    document["messages"] = [message_document(m) for m in detail.messages]
    document["attachments"] = [
        attachment_document(a) for a in detail.attachments if a.message_id is None
    ]
    return document


def follower_document(follower: TicketFollower) -> dict[str, Any]:
    """One person who follows a ticket: who, why (``assignee`` or ``follower``) and since when
    (null for an assignee who never followed it otherwise)."""
    return {
        "user": _person(follower.user_id, follower.display_name),
        "reason": follower.reason.value,
        "since": timestamp(follower.since),
    }


def followers_document(followers: TicketFollowers) -> dict[str, Any]:
    """Everyone who follows a ticket: the assignee first, then by when they began."""
    return {"items": [follower_document(item) for item in followers.items]}


def history_document(view: HistoryView) -> dict[str, Any]:
    """One change: the stored old and new values, and (for the assignee, department or
    team) the names they stood for."""
    entry = view.entry
    return {
        "id": str(entry.id),
        "actor": _person(entry.actor_id, view.actor_name),
        "field": entry.field,
        "old_value": entry.old_value,
        "new_value": entry.new_value,
        "old_name": view.old_name,
        "new_name": view.new_name,
        "created_at": timestamp(entry.created_at),
        "group_id": _id(entry.group_id),
    }


def queue_counts_document(department_id: uuid.UUID | None, counts: QueueCounts) -> dict[str, Any]:
    """How a department's queue stands (``department_id`` None: the unrouted tickets)."""
    return {
        "department_id": _id(department_id),
        "by_status": counts.by_status,
        "open_by_priority": counts.open_by_priority,
        "open_unassigned": counts.open_unassigned,
        "open_by_assignee": counts.open_by_assignee,
    }


def document_of(model: object) -> dict[str, Any]:
    """The document the API renders for ``model``, any read model a use case returns (the
    library's ``helpdesk.document``): a ticket read alone has its description, a page's
    tickets do not, as over HTTP. TypeError for anything that is not a read model."""
    if isinstance(model, TicketDetail):
        return detail_document(model)
    if isinstance(model, TicketView):
        return ticket_document(model, with_description=True)
    if isinstance(model, TicketPage):
        return {"items": [ticket_document(view) for view in model.items]}
    for kind, render in _RENDERERS:
        if isinstance(model, kind):
            return render(model)
    raise TypeError(f"no document for {type(model).__name__}")


_RENDERERS: tuple[tuple[type[Any], Callable[[Any], dict[str, Any]]], ...] = (
    (MessageView, message_document),
    (HistoryView, history_document),
    (Account, account_document),
    (StaffProfile, staff_document),
    (User, user_document),
    (Department, department_document),
    (Team, team_document),
    (Webhook, webhook_document),
    (WebhookDelivery, delivery_document),
    (AttachmentReference, attachment_document),
    (Calendar, calendar_document),
    (SlaPolicy, sla_policy_document),
    (Mailbox, mailbox_document),
    (InboundEmail, inbound_email_document),
    (MailboxImap, mailbox_imap_document),
    (TagCount, tag_document),
    (BulkResult, bulk_result_document),
    (TicketFollowers, followers_document),
    (CannedResponse, canned_response_document),
    (RenderedResponse, rendered_response_document),
    (Macro, macro_document),
)
