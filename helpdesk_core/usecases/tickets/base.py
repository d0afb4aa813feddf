"""What every ticket use case shares: its ports, reading a ticket in scope, the history it
writes and the events it publishes. Every change writes one history entry per changed field,
and its events, in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.documents import ticket_document
from helpdesk_core.domain.entities import AttachmentReference, HistoryEntry, Ticket
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.events import ticket_key
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.domain.views import MessageView, TicketDetail, TicketView
from helpdesk_core.ports.assignment import QueueCountsCache, RoundRobinCounter
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import publish
from helpdesk_core.usecases.sla import with_clocks
from helpdesk_core.usecases.tickets.commands import AttachmentInput, TicketPolicy
from helpdesk_core.usecases.tickets.files import StoredFile, TicketFiles, download_path
from helpdesk_core.usecases.tickets.scope import can_see

# The group the history entries written now belong to (a macro being applied sets it, for the
# thread doing the work); None: each change stands alone.
HISTORY_GROUP: ContextVar[uuid.UUID | None] = ContextVar("history_group", default=None)

# The history fields of a ticket's changes, by the attribute that changed.
_RECORDED = (
    ("status", "status"),
    ("priority", "priority"),
    ("department_id", "department"),
    ("team_id", "team"),
    ("assignee_id", "assignee"),
)


def counts_key(department_id: uuid.UUID | None) -> str:
    """The counter whose value is the generation of a department's cached queue counts."""
    return f"ticket-counts:{department_id or 'unrouted'}"


def as_text(value: Any) -> str | None:
    """A changed value as history stores it: an enum's value, an id's text, or None."""
    if value is None:
        return None
    return str(value.value) if hasattr(value, "value") else str(value)


def user_name(tx: Transaction, user_id: uuid.UUID | None) -> str | None:
    """The display name of one user (None for nobody), for the view a write answers with."""
    if user_id is None:
        return None
    return tx.users.display_names({user_id}).get(user_id)


@attrs.define
class TicketUseCases:
    """The ports of the ticket use cases and the steps they share; ``TicketService`` is
    this with every capability mixed in (``usecases/tickets/service.py``)."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _round_robin: RoundRobinCounter
    _counts_cache: QueueCountsCache
    _policy: TicketPolicy
    _files: TicketFiles

    def _visible(
        self, tx: Transaction, actor: Principal, ticket_id: uuid.UUID, lock: bool = False
    ) -> TicketView:
        # ``lock``: a write naming no version waits for a concurrent one, never 412s on a race.
        view = tx.tickets.get(ticket_id, for_update=lock)
        if view is None or not can_see(actor, view.ticket):
            raise NotFound("no such ticket")
        return with_clocks(tx, view, lock)

    def _detail(self, tx: Transaction, actor: Principal, view: TicketView) -> TicketDetail:
        ticket = view.ticket
        # One read of the ticket's attachments serves both the messages and the ticket.
        every = tx.attachments.list(ticket.id)
        by_message: dict[uuid.UUID, list[AttachmentReference]] = {}
        for attachment in every:
            if attachment.message_id is not None:
                by_message.setdefault(attachment.message_id, []).append(attachment)
        messages = tuple(
            MessageView(
                attrs.evolve(m.message, attachments=tuple(by_message[m.message.id])),
                m.author_name,
            )
            if m.message.id in by_message
            else m
            for m in tx.messages.list(
                ticket.id, include_internal=actor.is_staff, with_attachments=False
            )
        )
        visible_messages = {m.message.id for m in messages}
        attachments = tuple(
            a for a in every if a.message_id is None or a.message_id in visible_messages
        )
        return TicketDetail(ticket, view.names, messages, attachments, view.sla)

    def _add_attachments(
        self,
        tx: Transaction,
        ticket: Ticket,
        message_id: uuid.UUID | None,
        inputs: Sequence[AttachmentInput | StoredFile],
        actor_id: uuid.UUID,
        now: datetime,
    ) -> list[AttachmentReference]:
        refs = []
        for item in inputs:
            attachment_id = self._ids.new_id()
            key: str | None = None
            checksum: str | None = None
            if isinstance(item, StoredFile):  # kept by the helpdesk: downloaded through the API
                key = item.blob_key
                url, checksum = download_path(attachment_id), f"sha256:{key}"
            else:
                url, checksum = item.url, item.checksum
            ref = AttachmentReference(
                id=attachment_id,
                ticket_id=ticket.id,
                message_id=message_id,
                url=url,
                filename=item.filename,
                mime_type=item.mime_type,
                size_bytes=item.size_bytes,
                checksum=checksum,
                uploaded_by=actor_id,
                created_at=now,
                blob_key=key,
            )
            tx.attachments.add(ref)
            self._record(tx, ticket, actor_id, "attachment", None, ref.filename, now)
            refs.append(ref)
        return refs

    def _record(
        self,
        tx: Transaction,
        ticket: Ticket,
        actor_id: uuid.UUID | None,
        field: str,
        old: str | None,
        new: str | None,
        now: datetime,
    ) -> None:
        if actor_id == SYSTEM_OPERATOR.user_id:  # the terminal's operator is no user
            actor_id = None
        tx.history.add(
            HistoryEntry(
                id=self._ids.new_id(),
                ticket_id=ticket.id,
                actor_id=actor_id,
                field=field,
                old_value=old,
                new_value=new,
                created_at=now,
                group_id=HISTORY_GROUP.get(),
            )
        )

    def _record_diff(
        self,
        tx: Transaction,
        before: Ticket,
        after: TicketView,
        actor_id: uuid.UUID | None,
        now: datetime,
    ) -> None:
        for attribute, field in _RECORDED:
            old, new = getattr(before, attribute), getattr(after.ticket, attribute)
            if old != new:
                self._record(tx, before, actor_id, field, as_text(old), as_text(new), now)
        self._publish_changes(tx, before, after, actor_id, now)

    def _publish_changes(
        self,
        tx: Transaction,
        before: Ticket,
        after_view: TicketView,
        actor_id: uuid.UUID | None,
        now: datetime,
        cause: str = "change",
    ) -> None:
        """One event per kind of change, in a fixed order. ``cause`` tells a status change
        made directly ("change") from one that a reply brought about ("reply")."""
        after = after_view.ticket
        if before.status is not after.status:
            change = {"from": before.status.value, "to": after.status.value, "cause": cause}
            self._publish(tx, "ticket.status_changed", after_view, actor_id, now, **change)
            if after.status is TicketStatus.CLOSED:
                self._publish(tx, "ticket.closed", after_view, actor_id, now, **change)
            elif after.status is TicketStatus.OPEN and before.status in {
                TicketStatus.RESOLVED,
                TicketStatus.CLOSED,
            }:
                self._publish(tx, "ticket.reopened", after_view, actor_id, now, **change)
        if before.priority is not after.priority:
            self._publish(
                tx,
                "ticket.priority_changed",
                after_view,
                actor_id,
                now,
                **{"from": before.priority.value, "to": after.priority.value},
            )
        if before.department_id != after.department_id:
            self._publish(
                tx,
                "ticket.department_changed",
                after_view,
                actor_id,
                now,
                previous_department_id=as_text(before.department_id),
            )
        if before.assignee_id != after.assignee_id or before.team_id != after.team_id:
            self._publish(
                tx,
                "ticket.assigned",
                after_view,
                actor_id,
                now,
                previous_assignee_id=as_text(before.assignee_id),
                previous_team_id=as_text(before.team_id),
            )

    def _publish(
        self,
        tx: Transaction,
        event_type: str,
        view: TicketView,
        actor_id: uuid.UUID | None,
        now: datetime,
        **extra: Any,
    ) -> None:
        data = {"ticket": ticket_document(view), **extra}
        publish(tx, self._ids, now, event_type, ticket_key(view.ticket.id), data, actor_id)

    def _bump_counts(self, tx: Transaction, *department_ids: uuid.UUID | None) -> None:
        for department_id in dict.fromkeys(department_ids):  # once each, in order
            tx.counters.next_value(counts_key(department_id))
