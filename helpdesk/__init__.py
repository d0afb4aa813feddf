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

from importlib.metadata import version
from typing import Any

from entrypoints.config import ConfigError, Settings
from helpdesk._acting import Acting
from helpdesk._desk import Handler, Helpdesk, Identify, UserRef, WsgiApp, mount, open
from helpdesk_core.documents import document_of
from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    HistoryEntry,
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
from helpdesk_core.ports.events import DeliveryAttempt, Webhook, WebhookDelivery
from helpdesk_core.ports.repositories import CustomerFilter, StaffFilter
from helpdesk_core.ports.tickets import QueueCounts, TicketPage, TicketQuery, TicketSort
from helpdesk_core.usecases.auth import (
    ChangePassword,
    ForgotPassword,
    Login,
    LoginResult,
    Register,
    ResetPassword,
    UpdateProfile,
)
from helpdesk_core.usecases.customers import CustomerPage
from helpdesk_core.usecases.health import Readiness
from helpdesk_core.usecases.host_users import EnsureCustomer, EnsureStaff
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)
from helpdesk_core.usecases.tickets import (
    Assign,
    AttachmentInput,
    ChangeTicket,
    OpenTicket,
    PostMessage,
)
from helpdesk_core.usecases.webhooks import CreatedWebhook, CreateWebhook, UpdateWebhook

__version__ = version("helpdesk")  # the installed distribution's, from pyproject.toml


def document(model: object) -> dict[str, Any]:
    """The JSON document the REST API sends for ``model`` (any read model a method returns:
    a ticket, its detail, a message, a history entry, an account, a user, a department, ...);
    the CLI's ``--json`` and the events carry the same one. ``CreatedWebhook`` adds its
    secret as the API's answer does, and an ``Event`` is the envelope a webhook receives."""
    if isinstance(model, CreatedWebhook):
        return document_of(model.webhook) | {"secret": model.secret}
    if isinstance(model, Event):
        return model.envelope()
    return document_of(model)


__all__ = [
    "EVENT_TYPES",
    "Account",
    "Acting",
    "Assign",
    "AttachmentInput",
    "AttachmentReference",
    "AuthenticationFailed",
    "ChangePassword",
    "ChangeTicket",
    "ConfigError",
    "Conflict",
    "CreateDepartment",
    "CreateStaff",
    "CreateTeam",
    "CreateWebhook",
    "CreatedWebhook",
    "CustomerFilter",
    "CustomerPage",
    "DeliveryAttempt",
    "Department",
    "DependencyUnavailable",
    "DomainError",
    "EnsureCustomer",
    "EnsureStaff",
    "Event",
    "FieldError",
    "ForgotPassword",
    "Handler",
    "Helpdesk",
    "HistoryEntry",
    "HistoryView",
    "Identify",
    "InternalError",
    "Login",
    "LoginResult",
    "MessageView",
    "MessageVisibility",
    "NotFound",
    "OpenTicket",
    "PermissionDenied",
    "PostMessage",
    "PreconditionRequired",
    "QueueCounts",
    "RateLimited",
    "Readiness",
    "Register",
    "ResetPassword",
    "Role",
    "Settings",
    "StaffFilter",
    "StaffProfile",
    "StaffRole",
    "StaleVersion",
    "Team",
    "Ticket",
    "TicketDetail",
    "TicketMessage",
    "TicketNames",
    "TicketPage",
    "TicketPriority",
    "TicketQuery",
    "TicketSort",
    "TicketStatus",
    "TicketView",
    "UpdateDepartment",
    "UpdateProfile",
    "UpdateStaff",
    "UpdateTeam",
    "UpdateWebhook",
    "User",
    "UserRef",
    "ValidationFailed",
    "Webhook",
    "WebhookDelivery",
    "WsgiApp",
    "__version__",
    "document",
    "mount",
    "open",
]
