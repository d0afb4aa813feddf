"""Tickets: opening, the conversation, the lifecycle, staff work, assignment and history.

Scope (ARCHITECTURE.md section 5): customers see their own tickets, agents and leads the
tickets of their department (and tickets not yet routed to any), administrators everything.
A ticket outside the actor's scope is NotFound on every use case, never PermissionDenied.
Agents route a ticket into their own department only; unrouting it or moving it to a department
one does not work in is for leads and administrators (PermissionDenied, ``_may_route``).
Every change writes one history entry per changed field in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import (
    AttachmentReference,
    Department,
    HistoryEntry,
    StaffMember,
    Team,
    Ticket,
    TicketMessage,
)
from helpdesk_core.domain.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.events import message_data, ticket_data, ticket_key
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import (
    MessageVisibility,
    Role,
    StaffRole,
    TicketPriority,
    TicketStatus,
    clean_body,
    clean_filename,
    clean_text,
    is_web_url,
    unstorable,
)
from helpdesk_core.policies import require_lead, require_staff
from helpdesk_core.ports.assignment import QueueCountsCache, RoundRobinCounter
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.tickets import (
    IdempotencyRecord,
    QueueCounts,
    TicketPage,
    TicketQuery,
)
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.events import publish

SUBJECT_MAX = 200
BODY_MAX = 20_000
FILENAME_MAX = 255
TICKET_NUMBER_MAX = 2**63 - 1  # numbers are 64-bit in every store: none lies beyond
_CHECKSUM = re.compile(r"^(?:[a-z0-9-]{2,16}:)?[A-Za-z0-9+/=_-]{8,128}$")


@attrs.frozen
class TicketPolicy:
    """The knobs of the ticket capability, from configuration."""

    attachment_max_bytes: int = 25 * 1024 * 1024
    attachment_mime_types: tuple[str, ...] = (
        "image/png",
        "image/jpeg",
        "application/pdf",
        "text/plain",
    )
    max_attachments: int = 10


@attrs.frozen
class AttachmentInput:
    """An attachment as a client describes it; validated into an AttachmentReference."""

    url: str
    filename: str
    mime_type: str
    size_bytes: int
    checksum: str | None = None


@attrs.frozen
class OpenTicket:
    subject: str
    description: str
    priority: TicketPriority = TicketPriority.NORMAL
    department_id: uuid.UUID | None = None
    attachments: tuple[AttachmentInput, ...] = ()


@attrs.frozen
class PostMessage:
    body: str
    visibility: MessageVisibility = MessageVisibility.PUBLIC
    attachments: tuple[AttachmentInput, ...] = ()


@attrs.frozen
class ChangeTicket:
    """A staff change; ``department_id``/``team_id`` apply only when their flag is set."""

    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    change_department: bool = False
    change_team: bool = False


@attrs.frozen
class Assign:
    """How to assign: ``self``, ``agent`` (agent_id), ``team`` (team_id) or ``auto``."""

    mode: str
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


@attrs.frozen
class TicketDetail:
    """A ticket with what the actor may see of its conversation and attachments."""

    ticket: Ticket
    messages: tuple[TicketMessage, ...]
    attachments: tuple[AttachmentReference, ...]


# ---------------------------------------------------------------- scope


def visible_departments(actor: Principal) -> tuple[uuid.UUID | None, ...] | None:
    """The departments whose tickets a staff actor sees (None: all of them)."""
    if actor.role is Role.ADMIN:
        return None
    return (actor.department_id, None) if actor.department_id else (None,)


def can_see(actor: Principal, ticket: Ticket) -> bool:
    """Whether ``ticket`` lies inside ``actor``'s scope."""
    if actor.role is Role.CUSTOMER:
        return ticket.requester_id == actor.user_id
    if actor.role is Role.ADMIN:
        return True
    return ticket.department_id is None or ticket.department_id == actor.department_id


# ---------------------------------------------------------------- validation


def validate_attachments(
    inputs: Sequence[AttachmentInput], policy: TicketPolicy, field: str = "attachments"
) -> list[AttachmentInput]:
    """Clean attachments, or ValidationFailed naming each refused one and why."""
    if len(inputs) > policy.max_attachments:
        raise ValidationFailed.field(field, f"at most {policy.max_attachments} attachments")
    errors: list[FieldError] = []
    cleaned: list[AttachmentInput] = []
    allowed = {m.lower() for m in policy.attachment_mime_types}
    for i, item in enumerate(inputs):
        where = f"{field}.{i}"
        before = len(errors)
        url = item.url.strip()
        if not is_web_url(url):
            errors.append(FieldError(f"{where}.url", "must be an http(s) URL"))
        filename = ""
        try:  # the text rules of a file name: values.clean_filename
            filename = clean_filename(item.filename, f"{where}.filename", max_length=FILENAME_MAX)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        mime = item.mime_type.split(";")[0].strip().lower()
        if mime not in allowed:
            errors.append(FieldError(f"{where}.mime_type", f"{mime or 'this type'} is not allowed"))
        if item.size_bytes < 0:
            errors.append(FieldError(f"{where}.size_bytes", "must not be negative"))
        elif item.size_bytes > policy.attachment_max_bytes:
            errors.append(
                FieldError(
                    f"{where}.size_bytes", f"must be at most {policy.attachment_max_bytes} bytes"
                )
            )
        if item.checksum is not None and not _CHECKSUM.match(item.checksum):
            errors.append(FieldError(f"{where}.checksum", "must look like sha256:<hex>"))
        if len(errors) == before:
            cleaned.append(attrs.evolve(item, url=url, filename=filename, mime_type=mime))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors))
    return cleaned


def _fingerprint(command: OpenTicket) -> str:
    payload = json.dumps(attrs.asdict(command), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _text(value: str, field: str, max_length: int) -> str:
    """One line of text (a subject): no line breaks, controls or invisible formatting."""
    return clean_text(value, field, max_length=max_length)


def _body(value: str, field: str, max_length: int) -> str:
    """Prose (a description, a message's body): line breaks allowed, other controls not."""
    return clean_body(value, field, max_length=max_length)


# ---------------------------------------------------------------- the service


@attrs.define
class TicketService:
    """Every ticket use case; each public method takes the acting principal first."""

    _uow: UnitOfWork
    _clock: Clock
    _ids: IdGenerator
    _round_robin: RoundRobinCounter
    _counts_cache: QueueCountsCache
    _policy: TicketPolicy

    # ------------------------------------------------------------ opening

    def open_ticket(
        self, actor: Principal, command: OpenTicket, idempotency_key: str | None = None
    ) -> TicketDetail:
        """A new ticket requested by ``actor``; replayed when the idempotency key was used
        with the same request, Conflict when it was used with another."""
        subject = _text(command.subject, "subject", SUBJECT_MAX)
        description = _body(command.description, "description", BODY_MAX)
        attachments = validate_attachments(command.attachments, self._policy)
        if idempotency_key is not None and (reason := unstorable(idempotency_key)) is not None:
            raise ValidationFailed.field("Idempotency-Key", reason)
        # Only an idempotency key needs it (JSON and SHA-256 of the whole request: tens of us).
        fingerprint = _fingerprint(command) if idempotency_key is not None else ""
        now = self._clock.now()
        with self._uow.begin() as tx:
            if idempotency_key is not None:
                replay = self._replay(tx, actor, idempotency_key, fingerprint)
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
            # Auto-assignment is the ticket's second version; chosen first, it is stored as the
            # row the insert writes (one statement, not an INSERT then an UPDATE), and recorded
            # and published after the creation, as if made by a second write.
            assigned = ticket
            if department is not None and department.auto_assign:
                assigned = self._round_robin_choice(tx, ticket, now, quiet=True)
            tx.tickets.add(assigned)
            self._record(tx, ticket, actor.user_id, "ticket", None, "created", now)
            refs = self._add_attachments(tx, ticket, None, attachments, actor.user_id, now)
            self._publish(
                tx,
                "ticket.created",
                ticket,
                actor.user_id,
                now,
                description=ticket.description,
                attachments=len(refs),
            )
            if assigned is not ticket:
                self._record_diff(tx, ticket, assigned, None, now)
                ticket = assigned
            if idempotency_key is not None:
                tx.idempotency.add(
                    IdempotencyRecord(
                        user_id=actor.user_id,
                        key=idempotency_key,
                        fingerprint=fingerprint,
                        ticket_id=ticket.id,
                        created_at=now,
                    )
                )
            self._bump_counts(tx, ticket.department_id)
            tx.commit()
        return TicketDetail(ticket, (), tuple(refs))

    def _replay(
        self, tx: Transaction, actor: Principal, key: str, fingerprint: str
    ) -> TicketDetail | None:
        record = tx.idempotency.get(actor.user_id, key)
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise Conflict("this Idempotency-Key was already used for a different request")
        ticket = tx.tickets.get(record.ticket_id)
        if ticket is None:  # pragma: no cover - tickets are never deleted
            raise NotFound("no such ticket")
        return self._detail(tx, actor, ticket)

    # ------------------------------------------------------------ reading

    def list_tickets(self, actor: Principal, query: TicketQuery) -> TicketPage:
        """Customers: their own tickets. Staff: the tickets of their scope, filtered."""
        if actor.role is Role.CUSTOMER:
            query = attrs.evolve(query, requester_id=actor.user_id, visible_departments=None)
        else:
            query = attrs.evolve(query, visible_departments=visible_departments(actor))
        if query.text is not None:
            text = query.text.strip()
            if len(text) > 200:
                raise ValidationFailed.field("q", "must be at most 200 characters")
            reason = unstorable(text)
            if reason is not None:
                raise ValidationFailed.field("q", reason)
            query = attrs.evolve(query, text=text or None)
        with self._uow.begin(read_only=True) as tx:
            return tx.tickets.list(query)

    def get_ticket(self, actor: Principal, ticket_id: uuid.UUID) -> TicketDetail:
        """The ticket with its conversation: internal notes for staff only."""
        with self._uow.begin(read_only=True) as tx:
            return self._detail(tx, actor, self._visible(tx, actor, ticket_id))

    def get_ticket_by_number(self, actor: Principal, number: int) -> TicketDetail:
        """The ticket numbered ``number`` (the ``#301`` people quote), as ``get_ticket`` shows
        it; NotFound when no ticket has the number or it lies outside the actor's scope."""
        if not 1 <= number <= TICKET_NUMBER_MAX:
            raise NotFound("no such ticket")
        with self._uow.begin(read_only=True) as tx:
            ticket = tx.tickets.get_by_number(number)
            if ticket is None or not can_see(actor, ticket):
                raise NotFound("no such ticket")
            return self._detail(tx, actor, ticket)

    def messages(self, actor: Principal, ticket_id: uuid.UUID) -> tuple[TicketMessage, ...]:
        """The conversation the actor may see."""
        return self.get_ticket(actor, ticket_id).messages

    def history(self, actor: Principal, ticket_id: uuid.UUID) -> tuple[HistoryEntry, ...]:
        """Every recorded change (staff only)."""
        require_staff(actor, "read a ticket's history")
        with self._uow.begin(read_only=True) as tx:
            self._visible(tx, actor, ticket_id)
            return tuple(tx.history.list(ticket_id))

    def queue_counts(self, actor: Principal, department_id: uuid.UUID | None) -> QueueCounts:
        """How a department's queue stands (cached per generation, never stale)."""
        require_staff(actor, "see queue counts")
        if actor.role is not Role.ADMIN and department_id not in (actor.department_id, None):
            raise NotFound("no such department")
        with self._uow.begin(read_only=True) as tx:
            if department_id is not None and tx.departments.get(department_id) is None:
                raise NotFound("no such department")
            generation = tx.counters.current_value(_counts_key(department_id))
            cached = self._counts_cache.get_counts(department_id, generation)
            if cached is not None:
                return cached
            counts = tx.tickets.queue_counts(department_id)
        self._counts_cache.set_counts(department_id, generation, counts)
        return counts

    # ------------------------------------------------------------ the conversation

    def post_message(
        self, actor: Principal, ticket_id: uuid.UUID, command: PostMessage
    ) -> TicketMessage:
        """A public reply or (staff only) an internal note. A customer's reply to a pending
        or resolved ticket reopens it; a staff reply to a new ticket opens it."""
        body = _body(command.body, "body", BODY_MAX)
        internal = command.visibility is MessageVisibility.INTERNAL
        if internal and not actor.is_staff:
            raise ValidationFailed.field("visibility", "only staff may post internal notes")
        attachments = validate_attachments(command.attachments, self._policy)
        now = self._clock.now()
        with self._uow.begin() as tx:
            ticket = self._visible(tx, actor, ticket_id, lock=True)
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
            tx.messages.add(message)
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
            target = None
            if (
                not actor.is_staff
                and ticket.status in {TicketStatus.PENDING, TicketStatus.RESOLVED}
            ) or (actor.is_staff and not internal and ticket.status is TicketStatus.NEW):
                target = TicketStatus.OPEN
            updated = ticket.with_status(target, now) if target else ticket.changed(now)
            tx.tickets.update(updated)
            self._publish(
                tx,
                "ticket.message_added",
                updated,
                actor.user_id,
                now,
                message=message_data(
                    attrs.evolve(message, attachments=tuple(refs)), actor.is_staff
                ),
            )
            if target:
                self._record(
                    tx, ticket, actor.user_id, "status", ticket.status.value, target.value, now
                )
                self._publish_changes(tx, ticket, updated, actor.user_id, now, cause="reply")
                # The queue counts change only with the status: a reply that leaves it as it
                # was keeps every cached count valid (and takes no lock on the counter's row).
                self._bump_counts(tx, ticket.department_id)
            tx.commit()
        return attrs.evolve(message, attachments=tuple(refs))

    # ------------------------------------------------------------ the lifecycle

    def close(self, actor: Principal, ticket_id: uuid.UUID) -> Ticket:
        """Close the ticket (its requester, or staff)."""
        return self._set_status(actor, ticket_id, TicketStatus.CLOSED)

    def reopen(self, actor: Principal, ticket_id: uuid.UUID) -> Ticket:
        """Reopen a resolved or closed ticket (its requester, or staff)."""
        return self._set_status(actor, ticket_id, TicketStatus.OPEN)

    def _set_status(self, actor: Principal, ticket_id: uuid.UUID, target: TicketStatus) -> Ticket:
        now = self._clock.now()
        with self._uow.begin() as tx:
            ticket = self._visible(tx, actor, ticket_id, lock=True)
            if target is TicketStatus.OPEN and ticket.status not in {
                TicketStatus.RESOLVED,
                TicketStatus.CLOSED,
            }:
                raise Conflict(f"a ticket that is {ticket.status.value} cannot be reopened")
            updated = ticket.with_status(target, now)
            tx.tickets.update(updated)
            self._record(
                tx, ticket, actor.user_id, "status", ticket.status.value, target.value, now
            )
            self._publish_changes(tx, ticket, updated, actor.user_id, now)
            self._bump_counts(tx, ticket.department_id)
            tx.commit()
        return updated

    def change(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        expected_version: int | None,
        command: ChangeTicket,
    ) -> Ticket:
        """Staff change status, priority, department or team of the version they saw.

        No version: PreconditionRequired. Another version: StaleVersion, nothing changed.
        """
        require_staff(actor, "change tickets")
        if expected_version is None:
            raise PreconditionRequired("send If-Match with the ticket's ETag to change it")
        now = self._clock.now()
        with self._uow.begin() as tx:
            ticket = self._visible(tx, actor, ticket_id)
            if ticket.version != expected_version:
                raise StaleVersion(
                    f"the ticket changed since version {expected_version} "
                    f"(now {ticket.version}): reload it"
                )
            updated = ticket
            if command.status is not None and command.status is not ticket.status:
                updated = updated.with_status(command.status, now)
            changes: dict[str, Any] = {}
            if command.priority is not None and command.priority is not ticket.priority:
                changes["priority"] = command.priority
            department_id = (
                command.department_id if command.change_department else ticket.department_id
            )
            team_id = command.team_id if command.change_team else ticket.team_id
            if department_id != ticket.department_id:
                _may_route(actor, department_id)
                if department_id is not None:
                    _active_department(tx, department_id, "department_id")
                changes["department_id"] = department_id
                if not command.change_team:
                    team_id = None  # a team belongs to the department it leaves
                if ticket.assignee_id is not None and not _works_in(
                    tx.staff.get(ticket.assignee_id), department_id
                ):
                    changes["assignee_id"] = None
            if team_id != ticket.team_id:
                if team_id is not None:
                    _team_of(tx, team_id, department_id, "team_id")
                changes["team_id"] = team_id
            if changes:
                updated = attrs.evolve(updated, **changes)
            if updated == ticket:
                return ticket
            updated = attrs.evolve(updated, updated_at=now, version=ticket.version + 1)
            tx.tickets.update(updated)
            self._record_diff(tx, ticket, updated, actor.user_id, now)
            self._bump_counts(tx, ticket.department_id, updated.department_id)
            tx.commit()
        return updated

    # ------------------------------------------------------------ assignment

    def assign(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        command: Assign,
        expected_version: int | None = None,
    ) -> Ticket:
        """Assign to oneself, to an agent, to a team, or by round robin (``auto``)."""
        require_staff(actor, "assign tickets")
        if command.mode not in {"self", "agent", "team", "auto"}:
            raise ValidationFailed.field("mode", "must be one of self, agent, team, auto")
        if command.mode != "self":
            require_lead(actor, f"assign tickets ({command.mode})")
        now = self._clock.now()
        with self._uow.begin() as tx:
            ticket = self._visible(tx, actor, ticket_id, lock=True)
            if expected_version is not None and ticket.version != expected_version:
                raise StaleVersion("the ticket changed since you loaded it: reload it")
            if ticket.department_id is None:
                raise Conflict("route the ticket to a department before assigning it")
            if command.mode == "auto":
                updated = self._auto_assign(tx, ticket, actor.user_id, now)
            else:
                updated = self._assign_to(tx, actor, ticket, command, now)
            self._bump_counts(tx, ticket.department_id)
            tx.commit()
        return updated

    def _assign_to(
        self, tx: Transaction, actor: Principal, ticket: Ticket, command: Assign, now: datetime
    ) -> Ticket:
        if command.mode == "team":
            if command.team_id is None:
                raise ValidationFailed.field("team_id", "is required to assign to a team")
            team = _team_of(tx, command.team_id, ticket.department_id, "team_id")
            changes: dict[str, Any] = {"team_id": team.id, "assignee_id": None}
        else:
            target = actor.user_id if command.mode == "self" else command.agent_id
            field = "agent_id"
            if target is None:
                raise ValidationFailed.field(field, "is required to assign to an agent")
            staff = tx.staff.get(target)
            if command.mode == "self" and actor.role is Role.ADMIN and staff is None:
                raise ValidationFailed.field("mode", "the system operator cannot take tickets")
            admin_by_others = (
                staff is not None and staff.role is StaffRole.ADMIN and (command.mode != "self")
            )
            if staff is None or not staff.is_active or admin_by_others:
                raise ValidationFailed.field(field, "no such active agent")
            if staff.role is not StaffRole.ADMIN and staff.department_id != ticket.department_id:
                raise ValidationFailed.field(
                    field if command.mode != "self" else "mode",
                    "the agent works in another department",
                )
            changes = {"assignee_id": target}
            if staff.team_id is not None and ticket.team_id not in (None, staff.team_id):
                changes["team_id"] = staff.team_id
        updated = ticket.changed(now, **changes)
        if updated.assignee_id == ticket.assignee_id and updated.team_id == ticket.team_id:
            return ticket
        tx.tickets.update(updated)
        self._record_diff(tx, ticket, updated, actor.user_id, now)
        return updated

    def _auto_assign(
        self, tx: Transaction, ticket: Ticket, actor_id: uuid.UUID | None, now: datetime
    ) -> Ticket:
        """Assign by round robin (``_round_robin_choice``): update, record, publish."""
        updated = self._round_robin_choice(tx, ticket, now)
        if updated is not ticket:
            tx.tickets.update(updated)
            self._record_diff(tx, ticket, updated, actor_id, now)
        return updated

    def _round_robin_choice(
        self, tx: Transaction, ticket: Ticket, now: datetime, quiet: bool = False
    ) -> Ticket:
        """The ticket assigned to the next of the active agents of its team, else of its
        department, in turn (one version on), or the ticket itself when that agent already
        has it or (``quiet``) there is none. Writes nothing but the turn."""
        if ticket.team_id is not None:
            where = StaffFilter(team_id=ticket.team_id, role=StaffRole.AGENT, active=True)
            key = f"round-robin:team:{ticket.team_id}"
        else:
            where = StaffFilter(
                department_id=ticket.department_id, role=StaffRole.AGENT, active=True
            )
            key = f"round-robin:department:{ticket.department_id}"
        agents = sorted(tx.staff.list(where), key=lambda s: s.user_id)
        if not agents:
            if quiet:  # opening a ticket never fails for want of an agent
                return ticket
            raise Conflict("there is no active agent to assign the ticket to")
        position = self._round_robin.next_value(key, tx)
        chosen = agents[(position - 1) % len(agents)]
        if chosen.user_id == ticket.assignee_id:
            return ticket
        return ticket.changed(now, assignee_id=chosen.user_id)

    # ------------------------------------------------------------ helpers

    def _visible(
        self, tx: Transaction, actor: Principal, ticket_id: uuid.UUID, lock: bool = False
    ) -> Ticket:
        # ``lock``: a write naming no version waits for a concurrent one, never 412s on a race.
        ticket = tx.tickets.get(ticket_id, for_update=lock)
        if ticket is None or not can_see(actor, ticket):
            raise NotFound("no such ticket")
        return ticket

    def _detail(self, tx: Transaction, actor: Principal, ticket: Ticket) -> TicketDetail:
        # One read of the ticket's attachments serves both the messages and the ticket.
        every = tx.attachments.list(ticket.id)
        by_message: dict[uuid.UUID, list[AttachmentReference]] = {}
        for attachment in every:
            if attachment.message_id is not None:
                by_message.setdefault(attachment.message_id, []).append(attachment)
        messages = tuple(
            attrs.evolve(m, attachments=tuple(by_message[m.id])) if m.id in by_message else m
            for m in tx.messages.list(
                ticket.id, include_internal=actor.is_staff, with_attachments=False
            )
        )
        visible_messages = {m.id for m in messages}
        attachments = tuple(
            a for a in every if a.message_id is None or a.message_id in visible_messages
        )
        return TicketDetail(ticket, messages, attachments)

    def _add_attachments(
        self,
        tx: Transaction,
        ticket: Ticket,
        message_id: uuid.UUID | None,
        inputs: Sequence[AttachmentInput],
        actor_id: uuid.UUID,
        now: datetime,
    ) -> list[AttachmentReference]:
        refs = []
        for item in inputs:
            ref = AttachmentReference(
                id=self._ids.new_id(),
                ticket_id=ticket.id,
                message_id=message_id,
                url=item.url,
                filename=item.filename,
                mime_type=item.mime_type,
                size_bytes=item.size_bytes,
                checksum=item.checksum,
                uploaded_by=actor_id,
                created_at=now,
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
            )
        )

    def _record_diff(
        self,
        tx: Transaction,
        before: Ticket,
        after: Ticket,
        actor_id: uuid.UUID | None,
        now: datetime,
    ) -> None:
        for field, name in (
            ("status", "status"),
            ("priority", "priority"),
            ("department_id", "department"),
            ("team_id", "team"),
            ("assignee_id", "assignee"),
        ):
            old, new = getattr(before, field), getattr(after, field)
            if old != new:
                self._record(tx, before, actor_id, name, _str(old), _str(new), now)
        self._publish_changes(tx, before, after, actor_id, now)

    def _publish_changes(
        self,
        tx: Transaction,
        before: Ticket,
        after: Ticket,
        actor_id: uuid.UUID | None,
        now: datetime,
        cause: str = "change",
    ) -> None:
        """One event per kind of change, in a fixed order. ``cause`` tells a status change
        made directly ("change") from one that a reply brought about ("reply")."""
        if before.status is not after.status:
            change = {"from": before.status.value, "to": after.status.value, "cause": cause}
            self._publish(tx, "ticket.status_changed", after, actor_id, now, **change)
            if after.status is TicketStatus.CLOSED:
                self._publish(tx, "ticket.closed", after, actor_id, now, **change)
            elif after.status is TicketStatus.OPEN and before.status in {
                TicketStatus.RESOLVED,
                TicketStatus.CLOSED,
            }:
                self._publish(tx, "ticket.reopened", after, actor_id, now, **change)
        if before.priority is not after.priority:
            self._publish(
                tx,
                "ticket.priority_changed",
                after,
                actor_id,
                now,
                **{"from": before.priority.value, "to": after.priority.value},
            )
        if before.department_id != after.department_id:
            self._publish(
                tx,
                "ticket.department_changed",
                after,
                actor_id,
                now,
                previous_department_id=_str(before.department_id),
            )
        if before.assignee_id != after.assignee_id or before.team_id != after.team_id:
            self._publish(
                tx,
                "ticket.assigned",
                after,
                actor_id,
                now,
                previous_assignee_id=_str(before.assignee_id),
                previous_team_id=_str(before.team_id),
            )

    def _publish(
        self,
        tx: Transaction,
        event_type: str,
        ticket: Ticket,
        actor_id: uuid.UUID | None,
        now: datetime,
        **extra: Any,
    ) -> None:
        data = {"ticket": ticket_data(ticket), **extra}
        publish(tx, self._ids, now, event_type, ticket_key(ticket.id), data, actor_id)

    def _bump_counts(self, tx: Transaction, *department_ids: uuid.UUID | None) -> None:
        for department_id in dict.fromkeys(department_ids):  # once each, in order
            tx.counters.next_value(_counts_key(department_id))


def _counts_key(department_id: uuid.UUID | None) -> str:
    return f"ticket-counts:{department_id or 'unrouted'}"


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value) if hasattr(value, "value") else str(value)


def _may_route(actor: Principal, department_id: uuid.UUID | None) -> None:
    """Agents route a ticket into their own department only. Taking it out of every department
    (an unrouted ticket is seen, internal notes included, by the staff of every department) or
    moving it to a department one does not work in is for leads and administrators."""
    if actor.role in {Role.LEAD, Role.ADMIN}:
        return
    if department_id is None:
        raise PermissionDenied("only leads and administrators may unroute a ticket")
    if department_id != actor.department_id:
        raise PermissionDenied(
            "only leads and administrators may move a ticket to a department they do not work in"
        )


def _active_department(tx: Transaction, department_id: uuid.UUID, field: str) -> Department:
    department = tx.departments.get(department_id)
    if department is None or not department.is_active:
        raise ValidationFailed.field(field, "no such department")
    return department


def _team_of(
    tx: Transaction, team_id: uuid.UUID, department_id: uuid.UUID | None, field: str
) -> Team:
    team = tx.teams.get(team_id)
    if team is None or not team.is_active:
        raise ValidationFailed.field(field, "no such team")
    if team.department_id != department_id:
        raise ValidationFailed.field(field, "the team belongs to another department")
    return team


def _works_in(staff: StaffMember | None, department_id: uuid.UUID | None) -> bool:
    return staff is not None and (
        staff.role is StaffRole.ADMIN or staff.department_id == department_id
    )
