"""Opening a ticket: a customer's request, replayed when an Idempotency-Key repeats it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import Department, Ticket
from helpdesk_core.domain.errors import Conflict, NotFound, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import unstorable
from helpdesk_core.domain.views import TicketDetail, TicketView
from helpdesk_core.policies import require_customer
from helpdesk_core.ports.tickets import IdempotencyRecord
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.sla import ClockChange, with_clocks
from helpdesk_core.usecases.tickets.assignment import Assignment
from helpdesk_core.usecases.tickets.commands import (
    AttachmentInput,
    OpenTicket,
    body_text,
    fingerprint,
    subject_text,
    validate_attachments,
)
from helpdesk_core.usecases.tickets.files import StoredFile


class Opening(Assignment):
    """``open_ticket`` (auto-assignment is the assignment capability's round robin)."""

    def open_ticket(
        self, actor: Principal, command: OpenTicket, idempotency_key: str | None = None
    ) -> TicketDetail:
        """A new ticket requested by ``actor`` (a customer: PermissionDenied for staff);
        replayed when the idempotency key was used with the same request, Conflict when it
        was used with another."""
        require_customer(actor, "open tickets")
        subject = subject_text(command.subject)
        description = body_text(command.description, "description")
        attachments = validate_attachments(command.attachments, self._policy)
        if idempotency_key is not None and (reason := unstorable(idempotency_key)) is not None:
            raise ValidationFailed.field("Idempotency-Key", reason)
        # Only an idempotency key needs the request's fingerprint.
        request = fingerprint(command) if idempotency_key is not None else ""
        now = self._clock.now()
        with self._uow.begin() as tx:
            if idempotency_key is not None:
                replay = self._replay(tx, actor, idempotency_key, request)
                if replay is not None:
                    return replay
            department = None
            if command.department_id is not None:
                department = tx.departments.get(command.department_id)
                if department is None or not department.is_active:
                    raise ValidationFailed.field("department_id", "no such department")
            ticket = Ticket(
                id=self._ids.new_id(),
                number=tx.tickets.next_number(),
                subject=subject,
                description=description,
                requester_id=actor.user_id,
                priority=command.priority,
                department_id=command.department_id,
                created_at=now,
                updated_at=now,
            )
            detail = self._open(tx, actor, ticket, department, attachments, now)
            if idempotency_key is not None:
                tx.idempotency.add(
                    IdempotencyRecord(
                        user_id=actor.user_id,
                        key=idempotency_key,
                        fingerprint=request,
                        ticket_id=ticket.id,
                        created_at=now,
                    )
                )
            tx.commit()
        return detail

    def _open(
        self,
        tx: Transaction,
        actor: Principal,
        ticket: Ticket,
        department: Department | None,
        attachments: Sequence[AttachmentInput | StoredFile],
        now: datetime,
        **event: Any,
    ) -> TicketDetail:
        """Store the new ``ticket`` (of ``department``, checked active) in ``tx``: its clocks,
        its auto-assignment, its history, attachments and events (``event``: more of
        ``ticket.created``'s data); the caller commits."""
        # The policy in force starts the ticket's clocks; what they come to is written
        # with the ticket's row, the clocks in one statement after it.
        clocks = ClockChange.starting(tx, ticket, now)
        if clocks is not None:
            ticket = clocks.apply_to(ticket)
        # Auto-assignment is the ticket's second version; chosen first, it is stored as the
        # row the insert writes (one statement, not an INSERT then an UPDATE), and recorded
        # and published after the creation, as if made by a second write.
        assigned = ticket
        if department is not None and department.auto_assign:
            assigned = self._round_robin_choice(tx, ticket, now, quiet=True)
        # The store answers with the names (requester, department, the agent the round
        # robin chose) read by the insert itself.
        stored = tx.tickets.add(assigned, clocks.clocks.added() if clocks else ())
        view = TicketView(ticket, attrs.evolve(stored.names, assignee=None))
        if clocks is not None:
            view = clocks.store(view, new_ticket=True)
            stored = attrs.evolve(stored, sla=view.sla)
        self._record(tx, ticket, actor.user_id, "ticket", None, "created", now)
        refs = self._add_attachments(tx, ticket, None, attachments, actor.user_id, now)
        self._publish(
            tx,
            "ticket.created",
            view,
            actor.user_id,
            now,
            description=ticket.description,
            attachments=len(refs),
            **event,
        )
        if assigned is not ticket:
            view = stored
            self._record_diff(tx, ticket, view, None, now)
        self._bump_counts(tx, ticket.department_id)
        return TicketDetail(view.ticket, view.names, (), tuple(refs), view.sla)

    def _replay(
        self, tx: Transaction, actor: Principal, key: str, request: str
    ) -> TicketDetail | None:
        record = tx.idempotency.get(actor.user_id, key)
        if record is None:
            return None
        if record.fingerprint != request:
            raise Conflict("this Idempotency-Key was already used for a different request")
        view = tx.tickets.get(record.ticket_id)
        if view is None:  # pragma: no cover - tickets are never deleted
            raise NotFound("no such ticket")
        return self._detail(tx, actor, with_clocks(tx, view))
