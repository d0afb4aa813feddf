"""``TicketService``: every ticket use case, one capability per module."""

from __future__ import annotations

from helpdesk_core.usecases.tickets.conversation import Conversation
from helpdesk_core.usecases.tickets.lifecycle import Lifecycle
from helpdesk_core.usecases.tickets.opening import Opening
from helpdesk_core.usecases.tickets.queries import Queries


class TicketService(Opening, Conversation, Lifecycle, Queries):
    """Every ticket use case; each public method takes the acting principal first.

    Opening (and, through it, assignment), the conversation, the lifecycle and the queries
    live in their own modules; what they share (the ports, reading a ticket in scope,
    history and events) is ``TicketUseCases`` in ``base.py``. Writes answer with the ticket's
    view: the ticket and the names it refers to (``domain/views.py``).
    """
