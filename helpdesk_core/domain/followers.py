"""The followers of a ticket: the staff who are told of its conversation.

A follower is a row (``Follower``): a member of the staff who followed the ticket, was added
by a lead or an administrator, or was mentioned in one of its internal notes. The assignee
follows without a row, for as long as they are the assignee; who follows a ticket, and why,
is its list of ``TicketFollower`` (one per person: the assignee's reason wins over their row).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import attrs

from helpdesk_core.domain.entities import _aware


class FollowReason(enum.StrEnum):
    """Why a person follows a ticket."""

    ASSIGNEE = "assignee"  # follows it while assigned, without a row
    FOLLOWER = "follower"  # a row: followed it, was added, or was mentioned in a note


@attrs.frozen
class Follower:
    """A staff member who follows a ticket; ``added_by`` is who made them follow it (None:
    the system's operator, or an account gone since)."""

    ticket_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime = attrs.field(validator=_aware)
    added_by: uuid.UUID | None = None


@attrs.frozen
class FollowerView:
    """A follower with their display name (None: a name the store no longer has)."""

    follower: Follower
    display_name: str | None = None


@attrs.frozen
class TicketFollower:
    """One person who follows a ticket: who, why, and since when (the row's time; None for an
    assignee who never followed it otherwise)."""

    user_id: uuid.UUID
    display_name: str | None
    reason: FollowReason
    since: datetime | None = None


@attrs.frozen
class TicketFollowers:
    """Everyone who follows a ticket: its assignee first, then its followers by the time they
    began to follow it."""

    ticket_id: uuid.UUID
    items: tuple[TicketFollower, ...] = ()

    @property
    def user_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(item.user_id for item in self.items)
