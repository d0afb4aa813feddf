"""The email channel's storage (SQLAlchemy Core): mailboxes, received messages, the Message-IDs
that thread them, bounced addresses and the participants of tickets' mail threads.

The conventions are those of ``adapters.sql`` (its package docstring). Everything but the
administrators' mailbox lists and edits runs once per received or sent message (ingestion, the
worker's processing, the notifications), so those statements are built once and run as compiled
statements; a mailbox's list and writes, and the message list of the review screens, through
``Connection.execute``.

Writes that must not fail when their row is there already say so in SQL, on both databases:
``INSERT ... ON CONFLICT DO NOTHING`` (a message arriving again, a Message-ID known already,
a participant added twice) and ``ON CONFLICT DO UPDATE`` (a bounce counted again), so two
connections doing the same at once store one row, the second waiting for the first's instead of
failing. A row a write refers to that is missing is a Conflict (``refusals.py``): the writes per
message are declared without a savepoint (its transaction is the message's processing, which
such a refusal ends anyway; PostgreSQL names the constraint), a mailbox's with one.

The worker claims pending messages with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers on
several hosts never process one message twice, nor wait on each other), comparing the status
with a literal so that the partial index ``ix_inbound_emails_pending`` serves it (the outbox's
reason: ``tables._where_state``). SQLite serializes writers and has no row locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.refusals import (
    Refusal,
    Refusals,
    primary_key,
    reference,
    refused_as_conflict,
    unique,
)
from adapters.sql.shared import state_is
from adapters.sql.tables import (
    inbound_emails,
    mail_bounces,
    mail_message_ids,
    mailboxes,
    ticket_participants,
)
from helpdesk_core.domain.errors import NotFound, stale_version
from helpdesk_core.domain.mail import (
    Bounce,
    Direction,
    InboundEmail,
    InboundStatus,
    InboundVia,
    Mailbox,
    Outcome,
    Participant,
    UnknownSenders,
)
from helpdesk_core.domain.values import name_key


def _code_point_order(dialect: str, column: sa.Column[Any]) -> Any:
    # PostgreSQL sorts text by the database's locale; "C" is code-point order, as in SQLite
    # (BINARY) and Python, so every store lists the same names in the same order.
    return column.collate("C") if dialect == "postgresql" else column


def _upsert(table: sa.Table) -> tuple[Any, Any]:
    """``INSERT INTO table`` as SQLite's and as PostgreSQL's dialect write it: the two that
    take ``ON CONFLICT``."""
    return sqlite.insert(table), postgresql.insert(table)


def _insert_unless_stored(table: sa.Table, *key: str) -> CompiledStatement:
    """``INSERT ... ON CONFLICT (key) DO NOTHING``: matches no row when ``key`` is taken."""
    portable, native = (
        insert.on_conflict_do_nothing(index_elements=list(key)) for insert in _upsert(table)
    )
    return CompiledStatement(portable, postgresql=native, prepare=True)


# ---------------------------------------------------------------- mailboxes

_NAME_HOLDER = sa.select(mailboxes.c.id, mailboxes.c.name).where(
    mailboxes.c.name_key == sa.bindparam("name_key")
)


def _name_says(name: str) -> str:
    return f"a mailbox named '{name}' already exists"


def _name_taken() -> Refusal[Mailbox]:
    """The unique name key is another mailbox's: the message names it as stored."""
    (constraint,) = (
        c
        for c in mailboxes.constraints
        if isinstance(c, sa.UniqueConstraint) and "name_key" in c.columns
    )

    def probe(connection: sa.Connection, mailbox: Mailbox) -> bool | str:
        holder = connection.execute(_NAME_HOLDER, {"name_key": name_key(mailbox.name)}).first()
        return False if holder is None or holder.id == mailbox.id else _name_says(holder.name)

    return Refusal(str(constraint.name), lambda mailbox: _name_says(mailbox.name), probe)


_MAILBOX_RULES = (
    _name_taken(),
    unique(
        mailboxes.c.address,
        lambda mailbox: f"a mailbox with the address '{mailbox.address}' already exists",
        other_than=attrgetter("id"),
    ),
    reference(mailboxes.c.department_id, "no such department"),
)
_MAILBOX_ADDED = Refusals[Mailbox](
    "mailbox",
    (*_MAILBOX_RULES, primary_key(mailboxes, "a mailbox with this id already exists")),
)
_MAILBOX_UPDATED = Refusals[Mailbox]("mailbox", _MAILBOX_RULES)

# Read for every received message (its mailbox by the address it came to) and by id.
_MAILBOX = CompiledStatement(
    sa.select(mailboxes).where(mailboxes.c.id == sa.bindparam("mailbox_id")), prepare=True
)
_MAILBOX_BY_ADDRESS = CompiledStatement(
    sa.select(mailboxes).where(mailboxes.c.address == sa.bindparam("address")), prepare=True
)


def _mailbox_values(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "name": mailbox.name,
        "name_key": name_key(mailbox.name),
        "address": mailbox.address,
        "department_id": mailbox.department_id,
        "unknown_senders": mailbox.unknown_senders,
        "reopen_days": mailbox.reopen_days,
        "inbound_secret": mailbox.inbound_secret,
        "is_active": mailbox.is_active,
        "updated_at": mailbox.updated_at,
        "version": mailbox.version,
    }


def _mailbox_from_row(row: Any) -> Mailbox:
    return Mailbox(
        id=row.id,
        name=row.name,
        address=row.address,
        department_id=row.department_id,
        unknown_senders=UnknownSenders(row.unknown_senders),
        reopen_days=row.reopen_days,
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_active=bool(row.is_active),
        version=row.version,
        inbound_secret=row.inbound_secret,
    )


class SqlMailboxRepository:
    """Mailboxes; ``name_key`` (case- and space-insensitive) and ``address`` are unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, mailbox: Mailbox) -> None:
        statement = sa.insert(mailboxes).values(
            id=mailbox.id, created_at=mailbox.created_at, **_mailbox_values(mailbox)
        )
        with refused_as_conflict(self._connection, _MAILBOX_ADDED, mailbox):
            self._connection.execute(statement)

    def get(self, mailbox_id: uuid.UUID) -> Mailbox | None:
        row = _MAILBOX.first(self._connection, {"mailbox_id": mailbox_id})
        return None if row is None else _mailbox_from_row(row)

    def by_address(self, address: str) -> Mailbox | None:
        row = _MAILBOX_BY_ADDRESS.first(self._connection, {"address": address})
        return None if row is None else _mailbox_from_row(row)

    def list(self, active: bool | None = None) -> Sequence[Mailbox]:
        dialect = self._connection.dialect.name
        query = sa.select(mailboxes).order_by(
            _code_point_order(dialect, mailboxes.c.name_key), mailboxes.c.id
        )
        if active is not None:
            query = query.where(mailboxes.c.is_active == active)
        return [_mailbox_from_row(row) for row in self._connection.execute(query)]

    def update(self, mailbox: Mailbox) -> None:
        statement = (
            sa.update(mailboxes)
            .where(mailboxes.c.id == mailbox.id, mailboxes.c.version == mailbox.version - 1)
            .values(**_mailbox_values(mailbox))
        )
        with refused_as_conflict(self._connection, _MAILBOX_UPDATED, mailbox):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("mailbox", mailbox.version)


# ---------------------------------------------------------------- received messages

_EMAIL_ADDED = Refusals[InboundEmail](
    "inbound email",
    (
        reference(inbound_emails.c.mailbox_id, "no such mailbox"),
        reference(inbound_emails.c.ticket_id, "no such ticket"),
        primary_key(inbound_emails, "an inbound email with this id already exists"),
    ),
    savepoint=False,
)
_EMAIL_UPDATED = Refusals[InboundEmail](
    "inbound email",
    (reference(inbound_emails.c.ticket_id, "no such ticket"),),
    savepoint=False,
)

_PROCESSING = (
    "status",
    "outcome",
    "sender",
    "subject",
    "ticket_id",
    "ticket_message_id",
    "detail",
    "processed_at",
)

_INSERT_EMAIL = _insert_unless_stored(inbound_emails, "dedupe_key")
_EMAIL = CompiledStatement(
    sa.select(inbound_emails).where(inbound_emails.c.id == sa.bindparam("email_id")),
    prepare=True,
)
_EMAIL_BY_KEY = CompiledStatement(
    sa.select(inbound_emails).where(inbound_emails.c.dedupe_key == sa.bindparam("dedupe_key")),
    prepare=True,
)
_UPDATE_EMAIL = CompiledStatement(
    sa.update(inbound_emails).where(inbound_emails.c.id == sa.bindparam("email_id")),
    prepare=True,
)
_LIMIT = sa.bindparam("limit", type_=sa.Integer())


def _claimable(dialect: str) -> sa.Select[Any]:
    query = (
        sa.select(inbound_emails)
        .where(state_is(inbound_emails.c.status, InboundStatus.PENDING.value))
        .order_by(inbound_emails.c.received_at, inbound_emails.c.id)
        .limit(_LIMIT)
    )
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


_CLAIMABLE = CompiledStatement(_claimable("sqlite"), postgresql=_claimable("postgresql"))


def _count(column: sa.Column[Any]) -> CompiledStatement:
    """The messages processed since ``since`` whose ``column`` is ``value``."""
    return CompiledStatement(
        sa.select(sa.func.count())
        .select_from(inbound_emails)
        .where(
            column == sa.bindparam("value"),
            inbound_emails.c.processed_at >= sa.bindparam("since"),
        )
    )


_COUNT_FROM = _count(inbound_emails.c.sender)
_COUNT_ON_TICKET = _count(inbound_emails.c.ticket_id)
# From ix_inbound_emails_ticket_processed, backwards.
_MAILBOX_OF_TICKET = CompiledStatement(
    sa.select(inbound_emails.c.mailbox_id)
    .where(
        inbound_emails.c.ticket_id == sa.bindparam("ticket_id"),
        inbound_emails.c.processed_at.is_not(None),
    )
    .order_by(inbound_emails.c.processed_at.desc(), inbound_emails.c.id.desc())
    .limit(1),
    prepare=True,
)


def _email_values(email: InboundEmail) -> dict[str, Any]:
    return {
        "id": email.id,
        "mailbox_id": email.mailbox_id,
        "dedupe_key": email.dedupe_key,
        "message_id": email.message_id,
        "raw_key": email.raw_key,
        "size": email.size,
        "via": email.via,
        "received_at": email.received_at,
        **{name: getattr(email, name) for name in _PROCESSING},
    }


def _email_from_row(row: Any) -> InboundEmail:
    return InboundEmail(
        id=row.id,
        mailbox_id=row.mailbox_id,
        dedupe_key=row.dedupe_key,
        message_id=row.message_id,
        raw_key=row.raw_key,
        size=int(row.size),
        via=InboundVia(row.via),
        received_at=row.received_at,
        status=InboundStatus(row.status),
        outcome=None if row.outcome is None else Outcome(row.outcome),
        sender=row.sender,
        subject=row.subject,
        ticket_id=row.ticket_id,
        ticket_message_id=row.ticket_message_id,
        detail=row.detail,
        processed_at=row.processed_at,
    )


class SqlInboundEmailRepository:
    """Received messages; ``dedupe_key`` is unique."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, email: InboundEmail) -> InboundEmail:
        with refused_as_conflict(self._connection, _EMAIL_ADDED, email):
            added = _INSERT_EMAIL.execute(self._connection, _email_values(email))
        if added:
            return attrs.evolve(
                email,
                received_at=email.received_at.astimezone(UTC),
                processed_at=email.processed_at and email.processed_at.astimezone(UTC),
            )
        # Stored already (PostgreSQL: committed before, or by the transaction this insert
        # waited for): READ COMMITTED gives this statement a snapshot that holds it.
        row = _EMAIL_BY_KEY.first(self._connection, {"dedupe_key": email.dedupe_key})
        assert row is not None, "a conflicting row that no statement sees"
        return _email_from_row(row)

    def get(self, email_id: uuid.UUID) -> InboundEmail | None:
        row = _EMAIL.first(self._connection, {"email_id": email_id})
        return None if row is None else _email_from_row(row)

    def claim(self, now: datetime, limit: int) -> Sequence[InboundEmail]:
        if limit < 1:
            return []
        rows = _CLAIMABLE.all(self._connection, {"limit": limit})
        return [_email_from_row(row) for row in rows]

    def update(self, email: InboundEmail) -> None:
        values = {name: getattr(email, name) for name in _PROCESSING}
        with refused_as_conflict(self._connection, _EMAIL_UPDATED, email):
            matched = _UPDATE_EMAIL.execute(self._connection, {"email_id": email.id, **values})
        if matched != 1:
            raise NotFound("no such inbound email")

    def list(
        self,
        *,
        mailbox_id: uuid.UUID | None = None,
        status: InboundStatus | None = None,
        limit: int = 50,
    ) -> Sequence[InboundEmail]:
        if limit < 1:
            return []
        query = (
            sa.select(inbound_emails)
            .order_by(inbound_emails.c.received_at.desc(), inbound_emails.c.id.desc())
            .limit(limit)
        )
        if mailbox_id is not None:
            query = query.where(inbound_emails.c.mailbox_id == mailbox_id)
        if status is not None:
            query = query.where(inbound_emails.c.status == status)
        return [_email_from_row(row) for row in self._connection.execute(query)]

    def count_from(self, sender: str, since: datetime) -> int:
        return int(_COUNT_FROM.scalar(self._connection, {"value": sender, "since": since}))

    def count_on_ticket(self, ticket_id: uuid.UUID, since: datetime) -> int:
        params = {"value": ticket_id, "since": since}
        return int(_COUNT_ON_TICKET.scalar(self._connection, params))

    def mailbox_of_ticket(self, ticket_id: uuid.UUID) -> uuid.UUID | None:
        row = _MAILBOX_OF_TICKET.first(self._connection, {"ticket_id": ticket_id})
        return None if row is None else row.mailbox_id


# ---------------------------------------------------------------- Message-IDs and bounces


@attrs.frozen
class _Recorded:
    """What ``record`` writes, as its refusals read it."""

    message_id: str
    ticket_id: uuid.UUID


_THREAD_RECORDED = Refusals[_Recorded](
    "message id", (reference(mail_message_ids.c.ticket_id, "no such ticket"),), savepoint=False
)
_RECORD = _insert_unless_stored(mail_message_ids, "message_id")


def _tickets_of(dialect: str) -> sa.Select[Any]:
    ids = mail_message_ids.c.message_id
    return sa.select(ids, mail_message_ids.c.ticket_id).where(any_of(ids, "ids", dialect))


# The ids a reply names (In-Reply-To, References): one array on PostgreSQL, whatever their number.
_TICKETS_OF = CompiledStatement(
    _tickets_of("sqlite"), postgresql=_tickets_of("postgresql"), prepare=True
)
_SENT = CompiledStatement(
    sa.select(sa.literal(1)).where(
        mail_message_ids.c.message_id == sa.bindparam("message_id"),
        mail_message_ids.c.direction == Direction.OUTBOUND,
    ),
    prepare=True,
)


def _bounced(insert: Any) -> Any:
    """A new address is stored as reported; a known one takes the new report and counts one
    bounce more, in the one statement (two reports at once both count)."""
    return insert.on_conflict_do_update(
        index_elements=[mail_bounces.c.address],
        set_={
            "status": insert.excluded.status,
            "diagnostic": insert.excluded.diagnostic,
            "bounced_at": insert.excluded.bounced_at,
            "count": mail_bounces.c.count + 1,
        },
    ).returning(*mail_bounces.c)


_BOUNCED_PORTABLE, _BOUNCED_NATIVE = map(_bounced, _upsert(mail_bounces))
_BOUNCED = CompiledStatement(_BOUNCED_PORTABLE, postgresql=_BOUNCED_NATIVE, prepare=True)
_BOUNCE = CompiledStatement(
    sa.select(mail_bounces).where(mail_bounces.c.address == sa.bindparam("address")),
    prepare=True,
)


def _bounce_from_row(row: Any) -> Bounce:
    return Bounce(
        address=row.address,
        status=row.status,
        diagnostic=row.diagnostic,
        bounced_at=row.bounced_at,
        count=row.count,
    )


# The newest first (the index's order backwards), reversed by the caller.
_OF_TICKET = CompiledStatement(
    sa.select(mail_message_ids.c.message_id)
    .where(mail_message_ids.c.ticket_id == sa.bindparam("ticket_id"))
    .order_by(mail_message_ids.c.created_at.desc(), mail_message_ids.c.message_id.desc())
    .limit(sa.bindparam("limit")),
    prepare=True,
)


class SqlMailThreadRepository:
    """Message-IDs with their tickets (the first ticket an id was recorded for keeps it), and
    bounced addresses."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def record(
        self, message_id: str, ticket_id: uuid.UUID, direction: Direction, at: datetime
    ) -> None:
        values = {
            "message_id": message_id,
            "ticket_id": ticket_id,
            "direction": Direction(direction),
            "created_at": at,
        }
        recorded = _Recorded(message_id, ticket_id)
        with refused_as_conflict(self._connection, _THREAD_RECORDED, recorded):
            _RECORD.execute(self._connection, values)

    def tickets_of(self, message_ids: Sequence[str]) -> dict[str, uuid.UUID]:
        if not message_ids:
            return {}
        rows = _TICKETS_OF.all(self._connection, {"ids": list(dict.fromkeys(message_ids))})
        return {row.message_id: row.ticket_id for row in rows}

    def of_ticket(self, ticket_id: uuid.UUID, limit: int = 20) -> Sequence[str]:
        rows = _OF_TICKET.all(self._connection, {"ticket_id": ticket_id, "limit": limit})
        return [row.message_id for row in reversed(rows)]

    def sent(self, message_id: str) -> bool:
        return _SENT.first(self._connection, {"message_id": message_id}) is not None

    def bounced(self, bounce: Bounce) -> Bounce:
        values = {
            "address": bounce.address,
            "status": bounce.status,
            "diagnostic": bounce.diagnostic,
            "bounced_at": bounce.bounced_at,
            "count": bounce.count,
        }
        (row,) = _BOUNCED.all(self._connection, values)
        return _bounce_from_row(row)

    def bounce_of(self, address: str) -> Bounce | None:
        row = _BOUNCE.first(self._connection, {"address": address})
        return None if row is None else _bounce_from_row(row)


# ---------------------------------------------------------------- participants

_PARTICIPANT_ADDED = Refusals[Participant](
    "participant",
    (
        reference(ticket_participants.c.ticket_id, "no such ticket"),
        reference(ticket_participants.c.user_id, "no such user"),
    ),
    savepoint=False,
)
_ADD_PARTICIPANT = _insert_unless_stored(ticket_participants, "ticket_id", "address")


def _participants(dialect: str) -> sa.Select[Any]:
    return (
        sa.select(ticket_participants)
        .where(ticket_participants.c.ticket_id == sa.bindparam("ticket_id"))
        .order_by(
            ticket_participants.c.added_at,
            _code_point_order(dialect, ticket_participants.c.address),
        )
    )


_PARTICIPANTS = CompiledStatement(
    _participants("sqlite"), postgresql=_participants("postgresql"), prepare=True
)
_REMOVE_PARTICIPANT = CompiledStatement(
    sa.delete(ticket_participants).where(
        ticket_participants.c.ticket_id == sa.bindparam("ticket_id"),
        ticket_participants.c.address == sa.bindparam("address"),
    ),
    prepare=True,
)


class SqlParticipantRepository:
    """The participants of tickets' mail threads; one per ticket and address."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, participant: Participant) -> bool:
        values = {
            "ticket_id": participant.ticket_id,
            "address": participant.address,
            "user_id": participant.user_id,
            "added_at": participant.added_at,
        }
        with refused_as_conflict(self._connection, _PARTICIPANT_ADDED, participant):
            return _ADD_PARTICIPANT.execute(self._connection, values) == 1

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Participant]:
        rows = _PARTICIPANTS.all(self._connection, {"ticket_id": ticket_id})
        return [
            Participant(
                ticket_id=row.ticket_id,
                address=row.address,
                added_at=row.added_at,
                user_id=row.user_id,
            )
            for row in rows
        ]

    def remove(self, ticket_id: uuid.UUID, address: str) -> bool:
        params = {"ticket_id": ticket_id, "address": address}
        return _REMOVE_PARTICIPANT.execute(self._connection, params) == 1
