"""Tagging: staff put tags on a ticket and take them off (``change_tags``).

Names are compared by key (``domain/tags.py``); a name no tag has yet makes a new tag, unless
the caller is an agent and ``TicketPolicy.agents_create_tags`` is off (then ValidationFailed
naming it). A change is a change of the ticket: one version on, one history entry per tag
added or removed (field ``tag``), and ``ticket.tags_changed`` with the names added and
removed; a change that changes nothing writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from helpdesk_core.domain.errors import StaleVersion, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.tags import (
    TAGS_PER_CHANGE_MAX,
    TAGS_PER_TICKET_MAX,
    Tag,
    change_of,
    shown,
    tag_key,
    tag_names,
)
from helpdesk_core.domain.values import Role
from helpdesk_core.domain.views import TicketView
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.tickets.base import TicketUseCases
from helpdesk_core.usecases.tickets.commands import ChangeTags


def change_names(command: ChangeTags) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names ``command`` adds and removes, checked (ValidationFailed naming ``add.0``,
    ``remove.2``, ...): a face checks them before anything else of the request."""
    for field, names in (("add", command.add), ("remove", command.remove)):
        if len(names) > TAGS_PER_CHANGE_MAX:
            raise ValidationFailed.field(field, f"must name at most {TAGS_PER_CHANGE_MAX} tags")
    return tag_names(command.add, "add"), tag_names(command.remove, "remove")


class Tagging(TicketUseCases):
    """``change_tags``."""

    def change_tags(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        command: ChangeTags,
        expected_version: int | None = None,
    ) -> TicketView:
        """Put ``command.add`` on the ticket and take ``command.remove`` off it (staff). With
        ``expected_version``, StaleVersion unless the ticket is still at it."""
        require_staff(actor, "tag tickets")
        adding, removing = change_names(command)
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id, lock=True)
            if expected_version is not None and view.ticket.version != expected_version:
                raise StaleVersion(
                    f"the ticket changed since version {expected_version} "
                    f"(now {view.ticket.version}): reload it"
                )
            result = self._retag(tx, actor, view, adding, removing, now)
            tx.commit()
        return result

    def _retag(
        self,
        tx: Transaction,
        actor: Principal,
        view: TicketView,
        adding: Sequence[str],
        removing: Sequence[str],
        now: datetime,
    ) -> TicketView:
        """The ticket of ``view`` (read locked) with the names ``adding`` put on and
        ``removing`` taken off, stored, recorded and published in ``tx``."""
        ticket = view.ticket
        removing_keys = {tag_key(name) for name in removing}
        wanted = [name for name in adding if tag_key(name) not in removing_keys]
        known = tx.tags.by_keys({tag_key(name) for name in wanted})
        adding_tags: list[Tag] = []
        for index, name in enumerate(adding):
            key = tag_key(name)
            if key in removing_keys:
                continue
            tag = known.get(key)
            if tag is None:
                if actor.role is Role.AGENT and not self._policy.agents_create_tags:
                    raise ValidationFailed.field(
                        f"add.{index}",
                        f"no tag is named '{name}', and only leads and administrators "
                        "may make new tags",
                    )
                tag = tx.tags.add(
                    Tag(id=self._ids.new_id(), name=name, created_at=now, updated_at=now)
                )
            adding_tags.append(tag)
        current = tx.tags.of_ticket(ticket.id)
        after, change = change_of(current, adding_tags, removing_keys)
        if not change:
            return view
        if len(after) > TAGS_PER_TICKET_MAX:
            raise ValidationFailed.field(
                "add", f"a ticket carries at most {TAGS_PER_TICKET_MAX} tags"
            )
        before_ids = {tag.id for tag in current}
        after_ids = {tag.id for tag in after}
        tx.tags.attach(ticket.id, [tag.id for tag in after if tag.id not in before_ids], now)
        tx.tags.detach(ticket.id, [tag.id for tag in current if tag.id not in after_ids])
        names = shown(after)
        updated = ticket.changed(now, tags=names)
        tx.tickets.update(updated)
        tx.tickets.set_tags(ticket.id, names)
        for name in change.added:
            self._record(tx, ticket, actor.user_id, "tag", None, name, now)
        for name in change.removed:
            self._record(tx, ticket, actor.user_id, "tag", name, None, now)
        result = TicketView(updated, view.names, view.sla)
        self._publish(
            tx,
            "ticket.tags_changed",
            result,
            actor.user_id,
            now,
            added=list(change.added),
            removed=list(change.removed),
        )
        return result
