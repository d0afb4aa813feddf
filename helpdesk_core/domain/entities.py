"""The entities of the helpdesk: frozen attrs classes whose changes return new instances.

Validators guard invariants that must hold for every instance; the rules that depend on who acts
live in ``helpdesk_core.policies`` and the use cases.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.values import (
    Channel,
    MessageVisibility,
    StaffRole,
    TicketPriority,
    TicketStatus,
)


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware")


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _not_negative(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative")


@attrs.frozen
class User:
    """A person: a customer, or a staff member (who also has a StaffMember).

    ``external_id`` is the id an embedding program gives its own user (unique when set);
    such an account is made without a password (``NO_PASSWORD``) and cannot log in over the
    API: the program that owns it acts as it through the library.
    """

    id: uuid.UUID
    email: str
    display_name: str
    password_hash: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)
    external_id: str | None = None

    @property
    def has_password(self) -> bool:
        """Whether a password can verify against the account (not password-less, not erased)."""
        return self.password_hash not in (NO_PASSWORD, ERASED_HASH)


@attrs.frozen
class Department:
    """A part of the organization that owns tickets (Billing, Technical support)."""

    id: uuid.UUID
    name: str
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    auto_assign: bool = False
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class Team:
    """A group of staff inside one department; names are unique within the department."""

    id: uuid.UUID
    department_id: uuid.UUID
    name: str
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class StaffMember:
    """The staff profile of a user: role, place in the organization, and whether active;
    ``signature``: what they sign replies with (a canned response's ``agent.signature``)."""

    user_id: uuid.UUID
    role: StaffRole
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = attrs.field(default=None)
    is_active: bool = True
    version: int = attrs.field(default=1, validator=_positive)
    signature: str | None = None

    @team_id.validator
    def _team_needs_department(self, _attribute: Any, value: uuid.UUID | None) -> None:
        if value is not None and self.department_id is None:
            raise ValueError("a staff member in a team must belong to the team's department")


# The domain owns the lifecycle: from each status, the statuses a ticket may move to.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING: frozenset(
        {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.OPEN}),
}


def check_transition(current: TicketStatus, target: TicketStatus) -> None:
    """Raise Conflict naming both states unless ``current -> target`` is allowed."""
    if target not in TRANSITIONS[current]:
        raise Conflict(f"a ticket cannot move from {current.value} to {target.value}")


@attrs.frozen
class Ticket:
    """A customer's request and its state; ``number`` is the human reference (#1042).

    The ``sla_*`` fields are what the ticket's service-level clocks come to (``TicketSla``):
    the governing policy, the earliest due and warning time of its running clocks, and
    whether they all stand. The service-level code alone writes them (``set_sla``); a
    ticket's own ``update`` keeps them as stored.
    """

    id: uuid.UUID
    number: int = attrs.field(validator=_positive)
    subject: str
    description: str
    requester_id: uuid.UUID
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    status: TicketStatus = TicketStatus.NEW
    priority: TicketPriority = TicketPriority.NORMAL
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    closed_at: datetime | None = attrs.field(default=None, validator=_aware)
    version: int = attrs.field(default=1, validator=_positive)
    sla_policy_id: uuid.UUID | None = None
    sla_due_at: datetime | None = attrs.field(default=None, validator=_aware)
    sla_warn_at: datetime | None = attrs.field(default=None, validator=_aware)
    sla_paused: bool = False
    source: Channel = Channel.WEB
    # The names of its tags, in the order of their keys (``domain/tags.py``). The tagging use
    # case alone writes them (``set_tags``); a ticket's own ``update`` keeps them as stored.
    tags: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.team_id is not None and self.department_id is None:
            raise ValueError("a ticket with a team must have the team's department")
        if (self.status is TicketStatus.CLOSED) != (self.closed_at is not None):
            raise ValueError("closed_at is set exactly when the ticket is closed")

    def with_status(self, target: TicketStatus, now: datetime) -> Ticket:
        """This ticket moved to ``target``; Conflict if the lifecycle forbids it."""
        check_transition(self.status, target)
        return attrs.evolve(
            self,
            status=target,
            closed_at=now if target is TicketStatus.CLOSED else None,
            updated_at=now,
            version=self.version + 1,
        )

    def changed(self, now: datetime, **changes: Any) -> Ticket:
        """This ticket with ``changes`` (priority, department, team, assignee), one version on."""
        return attrs.evolve(self, **changes, updated_at=now, version=self.version + 1)

    @property
    def is_open(self) -> bool:
        """Still being worked: neither resolved nor closed."""
        return self.status not in {TicketStatus.RESOLVED, TicketStatus.CLOSED}


@attrs.frozen
class AttachmentReference:
    """A file of a ticket or one of its messages: stored elsewhere and referenced by URL, or
    stored by the helpdesk itself (``blob_key``: its bytes in the blob store, under the SHA-256
    of its bytes; ``url`` is then the API path that downloads it for those who may see it)."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    url: str
    filename: str
    mime_type: str
    size_bytes: int = attrs.field(validator=_not_negative)
    uploaded_by: uuid.UUID
    created_at: datetime = attrs.field(validator=_aware)
    message_id: uuid.UUID | None = None
    checksum: str | None = None
    blob_key: str | None = None


@attrs.frozen
class TicketMessage:
    """One entry of a ticket's conversation: a public reply or an internal note.

    ``source`` says whether it came by mail; ``automatic`` marks what a program wrote (an
    out-of-office reply, a bounce's note): stored and shown, but it moved no status and no
    service-level clock, and nothing answers it."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    visibility: MessageVisibility
    created_at: datetime = attrs.field(validator=_aware)
    attachments: tuple[AttachmentReference, ...] = ()
    source: Channel = Channel.WEB
    automatic: bool = False


@attrs.frozen
class HistoryEntry:
    """One recorded change of one field of a ticket, by whom, from what to what."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    actor_id: uuid.UUID | None  # None: the system (auto-assignment, worker)
    field: str
    old_value: str | None
    new_value: str | None
    created_at: datetime = attrs.field(validator=_aware)
    # The entries one step of work wrote together (a macro applied) share it; None otherwise.
    group_id: uuid.UUID | None = None


@attrs.frozen
class Session:
    """A server-side login session; the access token names it, revocation ends it everywhere."""

    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime = attrs.field(validator=_aware)
    expires_at: datetime = attrs.field(validator=_aware)
    revoked_at: datetime | None = attrs.field(default=None, validator=_aware)

    def is_valid(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


@attrs.frozen
class PasswordResetToken:
    """A single-use, expiring password reset; only a hash of the token is ever stored."""

    id: uuid.UUID
    user_id: uuid.UUID
    token_hash: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=_aware)
    expires_at: datetime = attrs.field(validator=_aware)
    used_at: datetime | None = attrs.field(default=None, validator=_aware)

    def is_usable(self, now: datetime) -> bool:
        """Not used yet and not expired at ``now``."""
        return self.used_at is None and now < self.expires_at


# What an erased account's password hash is set to: no password verifies against it.
ERASED_HASH = "!erased"
# The password hash of an account made without a password (a host program's user): no
# password verifies against it, and login does not try.
NO_PASSWORD = "!none"  # noqa: S105 - a marker, no secret


def is_erased(user: User) -> bool:
    """Whether the user's personal data was erased."""
    return user.password_hash == ERASED_HASH
