"""The conversation: public replies and internal notes, and the status a reply moves."""

from __future__ import annotations

import uuid

import attrs

from helpdesk_core.documents import message_event_document
from helpdesk_core.domain.entities import TicketMessage
from helpdesk_core.domain.errors import Conflict, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import MessageVisibility, TicketStatus
from helpdesk_core.domain.views import MessageView, TicketView
from helpdesk_core.usecases.sla import ClockChange
from helpdesk_core.usecases.tickets.base import TicketUseCases
from helpdesk_core.usecases.tickets.commands import PostMessage, body_text, validate_attachments


class Conversation(TicketUseCases):
    """``post_message``."""

    def post_message(
        self, actor: Principal, ticket_id: uuid.UUID, command: PostMessage
    ) -> MessageView:
        """A public reply or (staff only) an internal note. A customer's reply to a pending
        or resolved ticket reopens it; a staff reply to a new ticket opens it."""
        body = body_text(command.body, "body")
        internal = command.visibility is MessageVisibility.INTERNAL
        if internal and not actor.is_staff:
            raise ValidationFailed.field("visibility", "only staff may post internal notes")
        attachments = validate_attachments(command.attachments, self._policy)
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id, lock=True)
            ticket = view.ticket
            if ticket.status is TicketStatus.CLOSED and not actor.is_staff:
                raise Conflict("the ticket is closed: reopen it to reply")
            message = TicketMessage(
                id=self._ids.new_id(),
                ticket_id=ticket.id,
                author_id=actor.user_id,
                body=body,
                visibility=command.visibility,
                created_at=now,
            )
            author = tx.messages.add(message).author_name  # read by the write itself
            self._record(
                tx,
                ticket,
                actor.user_id,
                "message",
                None,
                f"{command.visibility.value}:{message.id}",
                now,
            )
            refs = self._add_attachments(tx, ticket, message.id, attachments, actor.user_id, now)
            message = attrs.evolve(message, attachments=tuple(refs))
            target = None
            if (
                not actor.is_staff
                and ticket.status in {TicketStatus.PENDING, TicketStatus.RESOLVED}
            ) or (actor.is_staff and not internal and ticket.status is TicketStatus.NEW):
                target = TicketStatus.OPEN
            updated = TicketView(
                ticket.with_status(target, now) if target else ticket.changed(now),
                view.names,
                view.sla,
            )
            tx.tickets.update(updated.ticket)
            clocks = None
            if ticket.sla_policy_id is not None:
                clocks = ClockChange.of(tx, view)
                if target:
                    clocks.changed(ticket, updated.ticket, now)
                # Only a public message counts: an internal note never does.
                public = not internal
                clocks.message(public and actor.is_staff, public and not actor.is_staff, now)
                updated = clocks.store(updated)
            posted = MessageView(message, author)
            self._publish(
                tx,
                "ticket.message_added",
                updated,
                actor.user_id,
                now,
                message=message_event_document(posted, actor.is_staff),
            )
            if target:
                self._record(
                    tx, ticket, actor.user_id, "status", ticket.status.value, target.value, now
                )
                self._publish_changes(tx, ticket, updated, actor.user_id, now, cause="reply")
                # The queue counts change only with the status: a reply that leaves it as it
                # was keeps every cached count valid (and takes no lock on the counter's row).
                self._bump_counts(tx, ticket.department_id)
            if clocks is not None:
                clocks.announce(self._ids, updated, actor.user_id, now)
            tx.commit()
        return posted
