"""Followers: the staff who are told of a ticket's conversation (``domain/followers.py``).

- A member of the staff follows or unfollows a ticket they can see (out of scope: NotFound).
  Leads and administrators also add and remove others; an agent who names anyone but
  themselves is refused (PermissionDenied). Only an active member of the staff who can see the
  ticket is added (ValidationFailed naming ``user_id``); anyone is removed, so that a lead can
  take off someone who left or moved to another department.
- The assignee follows without a row, for as long as they are the assignee: the list shows
  them first with the reason ``assignee``, once, even when they also have a row (kept for when
  they are no longer assigned). Unfollowing removes the row only: an assignee keeps following
  until the ticket is assigned to someone else.
- A mention (``@ann`` in an internal note, ``domain/mentions.py``) of an active member of the
  staff who can see the ticket makes them a follower, in the note's transaction.
- Following is not a change of the ticket: its version stays, so nobody's If-Match is broken
  by someone following it. Each follower added or removed is one history entry (field
  ``follower``, the user id as the new or old value) and each change one
  ``ticket.followers_changed`` event (``added`` and ``removed``: user ids); following twice,
  or unfollowing a ticket one does not follow, records nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from helpdesk_core.domain.entities import StaffMember, Ticket
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.followers import FollowReason, TicketFollower, TicketFollowers
from helpdesk_core.domain.mentions import mention_tokens, mentioned
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.domain.views import TicketView
from helpdesk_core.policies import require_lead, require_staff
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.tickets.base import TicketUseCases, user_name

FIELD = "follower"  # the history field of a follower added (new value) or removed (old value)


def sees(staff: StaffMember, department_id: uuid.UUID | None) -> bool:
    """Whether a member of the staff, as stored now, sees a ticket of ``department_id``: the
    rule of ``scope.can_see``, for someone who is not the actor."""
    return (
        staff.role is StaffRole.ADMIN
        or department_id is None
        or staff.department_id == department_id
    )


class Followers(TicketUseCases):
    """``followers``, ``follow``, ``unfollow``, and the mentions of internal notes."""

    def followers(self, actor: Principal, ticket_id: uuid.UUID) -> TicketFollowers:
        """Who follows the ticket and why (staff, in scope)."""
        require_staff(actor, "see who follows a ticket")
        with self._uow.begin(read_only=True) as tx:
            view = self._visible(tx, actor, ticket_id)
            return _followers_of(tx, view.ticket)

    def follow(
        self, actor: Principal, ticket_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> TicketFollowers:
        """Make ``user_id`` (None: the actor) follow the ticket; who follows it now."""
        target = self._target(actor, user_id, "add other staff as followers")
        if target == SYSTEM_OPERATOR.user_id:
            raise ValidationFailed.field(
                "user_id", "the system operator cannot follow tickets: name a staff member"
            )
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id)
            staff = tx.staff.get(target)
            user = tx.users.get(target)
            if staff is None or not staff.is_active or user is None or not user.is_active:
                raise ValidationFailed.field("user_id", "no such active staff member")
            if not sees(staff, view.ticket.department_id):
                raise ValidationFailed.field(
                    "user_id", "the staff member does not work in the ticket's department"
                )
            self._add_followers(tx, actor.user_id, view, (target,), now)
            result = _followers_of(tx, view.ticket)
            tx.commit()
        return result

    def unfollow(
        self, actor: Principal, ticket_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> TicketFollowers:
        """Stop ``user_id`` (None: the actor) following the ticket; who follows it now (an
        assignee still does)."""
        target = self._target(actor, user_id, "remove other staff from the followers")
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id)
            self._remove_follower(tx, actor.user_id, view, target, now)
            result = _followers_of(tx, view.ticket)
            tx.commit()
        return result

    def _target(self, actor: Principal, user_id: uuid.UUID | None, others: str) -> uuid.UUID:
        require_staff(actor, "follow tickets")
        target = actor.user_id if user_id is None else user_id
        if target != actor.user_id:
            require_lead(actor, others)
        return target

    # ------------------------------------------------------------ steps other use cases take

    def _add_followers(
        self,
        tx: Transaction,
        actor_id: uuid.UUID | None,
        view: TicketView,
        user_ids: Sequence[uuid.UUID],
        now: datetime,
    ) -> list[uuid.UUID]:
        """Make ``user_ids`` (checked by the caller) follow the ticket of ``view`` in ``tx``,
        with history and one event for those who did not already; who was added."""
        ticket = view.ticket
        added_by = None if actor_id == SYSTEM_OPERATOR.user_id else actor_id
        added = [u for u in user_ids if tx.followers.add(ticket.id, u, added_by, now)]
        for user_id in added:
            self._record(tx, ticket, actor_id, FIELD, None, str(user_id), now)
        if added:
            self._followers_changed(tx, actor_id, view, added, (), now)
        return added

    def _remove_follower(
        self,
        tx: Transaction,
        actor_id: uuid.UUID | None,
        view: TicketView,
        user_id: uuid.UUID,
        now: datetime,
    ) -> None:
        """``user_id`` no longer follows the ticket of ``view`` (its row, if any, taken off in
        ``tx`` with history and one event; nothing when there was none)."""
        if tx.followers.remove(view.ticket.id, user_id):
            self._record(tx, view.ticket, actor_id, FIELD, str(user_id), None, now)
            self._followers_changed(tx, actor_id, view, (), (user_id,), now)

    def _mentions(
        self, tx: Transaction, actor: Principal, ticket: Ticket, body: str
    ) -> tuple[uuid.UUID, ...]:
        """The active staff an internal note of ``actor``'s mentions and who can see
        ``ticket`` (reads only: ``_add_followers`` makes them follow)."""
        tokens = mention_tokens(body)
        if not tokens or not actor.is_staff:
            return ()
        staff = {s.user_id: s for s in tx.staff.list(StaffFilter(active=True))}
        users = tx.users.get_many(staff)
        people = [(u.id, u.email) for u in users.values() if u.is_active]
        return tuple(
            person
            for person in mentioned(tokens, people)
            if sees(staff[person], ticket.department_id)
        )

    def _followers_changed(
        self,
        tx: Transaction,
        actor_id: uuid.UUID | None,
        view: TicketView,
        added: Iterable[uuid.UUID],
        removed: Iterable[uuid.UUID],
        now: datetime,
    ) -> None:
        self._publish(
            tx,
            "ticket.followers_changed",
            view,
            actor_id,
            now,
            added=[str(u) for u in added],
            removed=[str(u) for u in removed],
        )


def _followers_of(tx: Transaction, ticket: Ticket) -> TicketFollowers:
    """The assignee (reason ``assignee``), then the rows of everyone else."""
    rows = tx.followers.list(ticket.id)
    items: list[TicketFollower] = []
    assignee = ticket.assignee_id
    if assignee is not None:
        own = next((row for row in rows if row.follower.user_id == assignee), None)
        since = own.follower.created_at if own is not None else None
        items.append(
            TicketFollower(assignee, user_name(tx, assignee), FollowReason.ASSIGNEE, since)
        )
    items.extend(
        TicketFollower(
            row.follower.user_id, row.display_name, FollowReason.FOLLOWER, row.follower.created_at
        )
        for row in rows
        if row.follower.user_id != assignee
    )
    return TicketFollowers(ticket.id, tuple(items))
