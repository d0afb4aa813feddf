"""``TicketService``: every ticket use case, one capability per module."""

from __future__ import annotations

from helpdesk_core.usecases.tickets.macros import Applying
from helpdesk_core.usecases.tickets.opening import Opening
from helpdesk_core.usecases.tickets.queries import Queries


class TicketService(Opening, Applying, Queries):
    """Every ticket use case; each public method takes the acting principal first.

    Opening (and, through it, assignment), the conversation (and its followers), the
    lifecycle, tagging, applying macros and bulk actions (which take every step a person
    takes by hand), and the queries live in their own modules; what they share (the ports,
    reading a ticket in scope, history and events) is ``TicketUseCases`` in ``base.py``.
    Writes answer with the ticket's view: the ticket and the names it refers to
    (``domain/views.py``).
    """
