"""Tickets: opening, the conversation, the lifecycle, staff work, assignment and history.

One module per capability (``opening``, ``conversation``, ``lifecycle``, ``assignment``,
``tagging``, ``queries``), the rules of scope in ``scope``, commands and input rules in
``commands``, and what they share in ``base``; ``TicketService`` (``service``) is all of them.
"""

from helpdesk_core.domain.views import TicketDetail
from helpdesk_core.usecases.tickets.commands import (
    BODY_MAX,
    FILENAME_MAX,
    SUBJECT_MAX,
    TICKET_NUMBER_MAX,
    Assign,
    AttachmentInput,
    ChangeTags,
    ChangeTicket,
    OpenTicket,
    PostMessage,
    TicketPolicy,
    validate_attachments,
)
from helpdesk_core.usecases.tickets.scope import can_see, visible_departments
from helpdesk_core.usecases.tickets.service import TicketService

__all__ = [
    "BODY_MAX",
    "FILENAME_MAX",
    "SUBJECT_MAX",
    "TICKET_NUMBER_MAX",
    "Assign",
    "AttachmentInput",
    "ChangeTags",
    "ChangeTicket",
    "OpenTicket",
    "PostMessage",
    "TicketDetail",
    "TicketPolicy",
    "TicketService",
    "can_see",
    "validate_attachments",
    "visible_departments",
]
