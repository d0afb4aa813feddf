"""The conversation: public replies and internal notes, and the status a reply moves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import attrs

from helpdesk_core.documents import message_event_document
from helpdesk_core.domain.entities import TicketMessage
from helpdesk_core.domain.errors import Conflict, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import Channel, MessageVisibility, TicketStatus
from helpdesk_core.domain.views import MessageView, TicketView
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.sla import ClockChange
from helpdesk_core.usecases.tickets.commands import (
    AttachmentInput,
    PostMessage,
    body_text,
    validate_attachments,
)
from helpdesk_core.usecases.tickets.files import StoredFile
from helpdesk_core.usecases.tickets.followers import Followers


class Conversation(Followers):
    """``post_message`` (and, through ``Followers``, who follows a ticket: an internal note's
    mentions make followers)."""

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
        uploads = command.uploads
        if len(attachments) + len(uploads) > self._policy.max_attachments:
            raise ValidationFailed.field(
                "files", f"at most {self._policy.max_attachments} attachments in all"
            )
        for index, upload in enumerate(uploads):  # refused before anything is stored
            self._files.check(
                upload.filename, upload.content_type, len(upload.data), f"files.{index}"
            )
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id, lock=True)
            if view.ticket.status is TicketStatus.CLOSED and not actor.is_staff:
                raise Conflict("the ticket is closed: reopen it to reply")
            # Kept only once the caller may write here: nobody fills the disk through a
            # ticket they cannot see.
            stored = [
                self._files.store(u.filename, u.content_type, u.data, f"files.{i}")
                for i, u in enumerate(uploads)
            ]
            everything: list[AttachmentInput | StoredFile] = [*attachments, *stored]
            posted, _ = self._post(tx, actor, view, body, command.visibility, everything, now)
            tx.commit()
        return posted

    def _post(
        self,
        tx: Transaction,
        actor: Principal,
        view: TicketView,
        body: str,
        visibility: MessageVisibility,
        attachments: Sequence[AttachmentInput | StoredFile],
        now: datetime,
        *,
        source: Channel = Channel.WEB,
        automatic: bool = False,
    ) -> tuple[MessageView, TicketView]:
        """Add ``actor``'s message to the ticket of ``view`` (read locked, with its clocks)
        in ``tx``, with the status and clocks it moves, its history and events; the caller
        has checked that ``actor`` may. An ``automatic`` message moves neither status nor
        clock. Answers the message and the ticket as they now stand."""
        internal = visibility is MessageVisibility.INTERNAL
        ticket = view.ticket
        message = TicketMessage(
            id=self._ids.new_id(),
            ticket_id=ticket.id,
            author_id=actor.user_id,
            body=body,
            visibility=visibility,
            created_at=now,
            source=source,
            automatic=automatic,
        )
        author = tx.messages.add(message).author_name  # read by the write itself
        self._record(
            tx,
            ticket,
            actor.user_id,
            "message",
            None,
            f"{visibility.value}:{message.id}",
            now,
        )
        refs = self._add_attachments(tx, ticket, message.id, attachments, actor.user_id, now)
        message = attrs.evolve(message, attachments=tuple(refs))
        target = None
        customer_reopens = not actor.is_staff and ticket.status in {
            TicketStatus.PENDING,
            TicketStatus.RESOLVED,
        }
        staff_opens = actor.is_staff and not internal and ticket.status is TicketStatus.NEW
        if not automatic and (customer_reopens or staff_opens):
            target = TicketStatus.OPEN
        if automatic:  # stored, but not a change of the ticket: no version, no reopen window
            updated = view
        else:
            updated = TicketView(
                ticket.with_status(target, now) if target else ticket.changed(now),
                view.names,
                view.sla,
            )
            tx.tickets.update(updated.ticket)
        clocks = None
        if ticket.sla_policy_id is not None and not automatic:
            clocks = ClockChange.of(tx, view)
            if target:
                clocks.changed(ticket, updated.ticket, now)
            # Only a public message counts: an internal note never does.
            public = not internal
            clocks.message(public and actor.is_staff, public and not actor.is_staff, now)
            updated = clocks.store(updated)
        posted = MessageView(message, author)
        # Mentioned staff follow the ticket from this note on (usecases/tickets/followers.py).
        mentions = self._mentions(tx, actor, ticket, body) if internal and not automatic else ()
        self._publish(
            tx,
            "ticket.message_added",
            updated,
            actor.user_id,
            now,
            message=message_event_document(posted, actor.is_staff),
            mentions=[str(user_id) for user_id in mentions],
        )
        self._add_followers(tx, actor.user_id, updated, mentions, now)
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
        return posted, updated
