"""``WorkActing``: applying macros and bulk actions, the operations of ``Acting`` that change
several things at once, in a module of their own so that ``_acting.py`` stays short;
``Acting`` inherits them, with the same rules and errors."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from helpdesk._errors import domain_errors_only
from helpdesk_core.domain.bulk import BulkResult
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.views import TicketView
from helpdesk_core.usecases.tickets.macros import BulkAction

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services


class WorkActing:
    """Macros applied and bulk actions, as the acting user (``Acting`` holds ``_s`` and
    ``_actor``)."""

    _s: Services
    _actor: Principal

    def apply_macro(self, ticket_id: uuid.UUID, macro_id: uuid.UUID, version: int) -> TicketView:
        """Every action of the macro on the ``version`` of the ticket the actor saw, in one
        transaction, or none (``POST /staff/tickets/{id}/macros/{macro_id}`` with If-Match);
        a refused action raises naming it (``actions.2.value``) and changes nothing."""
        with domain_errors_only():
            return self._s.tickets.apply_macro(self._actor, ticket_id, macro_id, version)

    def bulk_action(self, action: BulkAction, idempotency_key: str | None = None) -> BulkResult:
        """A macro, or a list of actions, on each of up to 100 tickets, each alone (``POST
        /staff/tickets/bulk``): every ticket's outcome, in order; ``dry_run`` keeps nothing;
        the same ``idempotency_key`` and request replays the outcomes."""
        with domain_errors_only():
            return self._s.tickets.bulk(self._actor, action, idempotency_key)
