"""helpdesk as a library: a support desk inside your own Python program.

Everything public is importable from here, and only what ``__all__`` lists is public (a test
holds its names and signatures: see the versioning policy in README.md)::

    import helpdesk

    with helpdesk.open("sqlite:///support.db") as desk:
        desk.subscribe("ticket.created", print, name="printer")
        ann = desk.ensure_customer("user-42", "ann@example.com", "Ann")
        ticket = desk.as_user(ann).open_ticket(helpdesk.OpenTicket("Refund", "Order 1234"))
        desk.process_events()

``open`` gives a ``Helpdesk``; ``Helpdesk.as_user`` and ``Helpdesk.system`` give an ``Acting``,
which has one method per operation of the REST API, taking the commands and returning the
read models below. ``document(model)`` is the JSON document the API sends for a read model.
Errors are ``DomainError`` and its subclasses (``ConfigError`` for bad settings at ``open``).
docs/embedding.md is the tutorial.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from entrypoints.config import ConfigError, Settings, load_settings
from helpdesk._acting import Acting
from helpdesk._desk import Handler, Helpdesk, Identify, UserRef, WsgiApp, mount, open
from helpdesk._documents import document
from helpdesk_core.domain.bulk import BulkError, BulkItem, BulkResult
from helpdesk_core.domain.business_time import Weekday, WorkingInterval
from helpdesk_core.domain.calendars import Calendar, Holiday
from helpdesk_core.domain.canned import CannedResponse, CannedScope, RenderedResponse
from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    HistoryEntry,
    StaffMember,
    Team,
    Ticket,
    TicketMessage,
    User,
)
from helpdesk_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DependencyUnavailable,
    DomainError,
    FieldError,
    InternalError,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    RateLimited,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.events import EVENT_TYPES, Event
from helpdesk_core.domain.followers import FollowReason, TicketFollower, TicketFollowers
from helpdesk_core.domain.macros import Macro, MacroScope
from helpdesk_core.domain.mail import InboundEmail, InboundStatus, Mailbox, UnknownSenders
from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap
from helpdesk_core.domain.sla import SlaPolicy
from helpdesk_core.domain.tags import Tag, TagCount
from helpdesk_core.domain.values import (
    MessageVisibility,
    Role,
    StaffRole,
    TicketPriority,
    TicketStatus,
)
from helpdesk_core.domain.views import (
    Account,
    HistoryView,
    MessageView,
    StaffProfile,
    TicketDetail,
    TicketNames,
    TicketView,
)
from helpdesk_core.ports.events import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryCursor,
    DeliveryState,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.ports.repositories import CustomerFilter, StaffFilter
from helpdesk_core.ports.tickets import QueueCounts, SlaState, TicketPage, TicketQuery, TicketSort
from helpdesk_core.usecases.auth import (
    ChangePassword,
    ForgotPassword,
    Login,
    LoginResult,
    Register,
    ResetPassword,
    UpdateProfile,
)
from helpdesk_core.usecases.calendars import CreateCalendar, PublicHolidaysRequest, UpdateCalendar
from helpdesk_core.usecases.canned import (
    CannedResponseQuery,
    CreateCannedResponse,
    UpdateCannedResponse,
)
from helpdesk_core.usecases.customers import CustomerCursor, CustomerPage
from helpdesk_core.usecases.health import CheckResult, HealthStatus, Readiness
from helpdesk_core.usecases.host_users import EnsureCustomer, EnsureStaff
from helpdesk_core.usecases.macros import CreateMacro, UpdateMacro
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.intake import Received
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox, MailboxSecret, UpdateMailbox
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from helpdesk_core.usecases.sla import SlaPolicyInput
from helpdesk_core.usecases.tags import RenameTag
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTags,
    ChangeTicket,
    OpenTicket,
    PostMessage,
)
from helpdesk_core.usecases.tickets.commands import Upload
from helpdesk_core.usecases.tickets.files import AttachmentContent
from helpdesk_core.usecases.tickets.macros import BulkAction, BulkTicket
from helpdesk_core.usecases.webhooks import CreatedWebhook, CreateWebhook, UpdateWebhook

__version__ = _metadata.version("helpdesk")  # the installed distribution's (pyproject.toml)


__all__ = [
    "EVENT_TYPES",
    "Account",
    "Acting",
    "Assign",
    "AttachmentContent",
    "AttachmentInput",
    "AttachmentReference",
    "AttemptOutcome",
    "AuthenticationFailed",
    "BulkAction",
    "BulkError",
    "BulkItem",
    "BulkResult",
    "BulkTicket",
    "Calendar",
    "CannedResponse",
    "CannedResponseQuery",
    "CannedScope",
    "ChangePassword",
    "ChangeTags",
    "ChangeTicket",
    "CheckResult",
    "ConfigError",
    "Conflict",
    "CreateCalendar",
    "CreateCannedResponse",
    "CreateDepartment",
    "CreateMacro",
    "CreateMailbox",
    "CreateStaff",
    "CreateTeam",
    "CreateWebhook",
    "CreatedWebhook",
    "CustomerCursor",
    "CustomerFilter",
    "CustomerPage",
    "DeliveryAttempt",
    "DeliveryCursor",
    "DeliveryState",
    "Department",
    "DependencyUnavailable",
    "DomainError",
    "EnsureCustomer",
    "EnsureStaff",
    "Event",
    "FieldError",
    "FollowReason",
    "ForgotPassword",
    "Handler",
    "HealthStatus",
    "Helpdesk",
    "HistoryEntry",
    "HistoryView",
    "Holiday",
    "Identify",
    "ImapSecurity",
    "InboundEmail",
    "InboundStatus",
    "InternalError",
    "Login",
    "LoginResult",
    "Macro",
    "MacroScope",
    "Mailbox",
    "MailboxImap",
    "MailboxSecret",
    "MessageView",
    "MessageVisibility",
    "NotFound",
    "OpenTicket",
    "PermissionDenied",
    "PostMessage",
    "PreconditionRequired",
    "PublicHolidaysRequest",
    "QueueCounts",
    "RateLimited",
    "Readiness",
    "Received",
    "Register",
    "RenameTag",
    "RenderedResponse",
    "ResetPassword",
    "Role",
    "SetMailboxImap",
    "Settings",
    "SlaPolicy",
    "SlaPolicyInput",
    "SlaState",
    "StaffFilter",
    "StaffMember",
    "StaffProfile",
    "StaffRole",
    "StaleVersion",
    "Tag",
    "TagCount",
    "Team",
    "Ticket",
    "TicketDetail",
    "TicketFollower",
    "TicketFollowers",
    "TicketMessage",
    "TicketNames",
    "TicketPage",
    "TicketPriority",
    "TicketQuery",
    "TicketSort",
    "TicketStatus",
    "TicketView",
    "UnknownSenders",
    "UpdateCalendar",
    "UpdateCannedResponse",
    "UpdateDepartment",
    "UpdateMacro",
    "UpdateMailbox",
    "UpdateProfile",
    "UpdateStaff",
    "UpdateTeam",
    "UpdateWebhook",
    "Upload",
    "User",
    "UserRef",
    "ValidationFailed",
    "Webhook",
    "WebhookDelivery",
    "Weekday",
    "WorkingInterval",
    "WsgiApp",
    "__version__",
    "document",
    "load_settings",
    "mount",
    "open",
]
