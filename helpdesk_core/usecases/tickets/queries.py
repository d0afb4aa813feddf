"""Reading tickets: the filtered list, one ticket in full, its conversation, its history and
the queue counts of a department."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.errors import NotFound, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.tags import tag_key, tag_names
from helpdesk_core.domain.values import Role, unstorable
from helpdesk_core.domain.views import HistoryView, MessageView, TicketDetail
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.tickets import QueueCounts, TicketPage, TicketQuery
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.sla import with_clocks, with_clocks_all
from helpdesk_core.usecases.tickets.base import TicketUseCases, counts_key
from helpdesk_core.usecases.tickets.commands import TICKET_NUMBER_MAX
from helpdesk_core.usecases.tickets.scope import can_see, visible_departments

QUERY_TEXT_MAX = 200


class Queries(TicketUseCases):
    """``list_tickets``, ``get_ticket``, ``get_ticket_by_number``, ``messages``, ``history``
    and ``queue_counts``."""

    def list_tickets(self, actor: Principal, query: TicketQuery) -> TicketPage:
        """Customers: their own tickets. Staff: the tickets of their scope, filtered."""
        if actor.role is Role.CUSTOMER:
            query = attrs.evolve(query, requester_id=actor.user_id, visible_departments=None)
        else:
            query = attrs.evolve(query, visible_departments=visible_departments(actor))
        if query.text is not None:
            text = query.text.strip()
            if len(text) > QUERY_TEXT_MAX:
                raise ValidationFailed.field("q", f"must be at most {QUERY_TEXT_MAX} characters")
            reason = unstorable(text)
            if reason is not None:
                raise ValidationFailed.field("q", reason)
            query = attrs.evolve(query, text=text or None)
        if query.sla is not None:  # judged now: "breached" is a due time that has passed
            query = attrs.evolve(query, now=self._clock.now())
        if query.tags or query.following is not None:
            require_staff(actor, "filter tickets by tag or by follower")
        names = tag_names(query.tags, "tag")
        with self._uow.begin(read_only=True) as tx:
            if names:
                keys = {tag_key(name) for name in names}
                found = tx.tags.by_keys(keys)
                if len(found) < len(keys):  # a name no tag has: no ticket carries it
                    return TicketPage((), None)
                query = attrs.evolve(query, tags=tuple(sorted(t.name for t in found.values())))
            page = tx.tickets.list(query)
            return attrs.evolve(page, items=with_clocks_all(tx, page.items))

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
            view = tx.tickets.get_by_number(number)
            if view is None or not can_see(actor, view.ticket):
                raise NotFound("no such ticket")
            return self._detail(tx, actor, with_clocks(tx, view))

    def messages(self, actor: Principal, ticket_id: uuid.UUID) -> tuple[MessageView, ...]:
        """The conversation the actor may see."""
        return self.get_ticket(actor, ticket_id).messages

    def history(self, actor: Principal, ticket_id: uuid.UUID) -> tuple[HistoryView, ...]:
        """Every recorded change (staff only), with the names of the people, departments and
        teams it refers to."""
        require_staff(actor, "read a ticket's history")
        with self._uow.begin(read_only=True) as tx:
            self._visible(tx, actor, ticket_id)
            return _named_history(tx, tx.history.list(ticket_id))

    def queue_counts(self, actor: Principal, department_id: uuid.UUID | None) -> QueueCounts:
        """How a department's queue stands (cached per generation, never stale)."""
        require_staff(actor, "see queue counts")
        if actor.role is not Role.ADMIN and department_id not in (actor.department_id, None):
            raise NotFound("no such department")
        with self._uow.begin(read_only=True) as tx:
            if department_id is not None and tx.departments.get(department_id) is None:
                raise NotFound("no such department")
            generation = tx.counters.current_value(counts_key(department_id))
            cached = self._counts_cache.get_counts(department_id, generation)
            if cached is not None:
                return cached
            counts = tx.tickets.queue_counts(department_id)
        self._counts_cache.set_counts(department_id, generation, counts)
        return counts


def _named_history(tx: Transaction, entries: Sequence[HistoryView]) -> tuple[HistoryView, ...]:
    """The entries with the names of the assignees, followers, departments and teams their
    values name (an id history stores as text), read once each."""

    def ids(field: str) -> set[uuid.UUID]:
        found = set()
        for view in entries:
            if view.entry.field == field:
                for value in (view.entry.old_value, view.entry.new_value):
                    if value is not None and (parsed := _uuid(value)) is not None:
                        found.add(parsed)
        return found

    people = tx.users.display_names(ids("assignee") | ids("follower"))
    names: dict[str, dict[uuid.UUID, str]] = {"assignee": dict(people), "follower": dict(people)}
    names["department"] = {
        d.id: d.name for i in ids("department") if (d := tx.departments.get(i)) is not None
    }
    names["team"] = {t.id: t.name for i in ids("team") if (t := tx.teams.get(i)) is not None}

    def name(field: str, value: str | None) -> str | None:
        table = names.get(field)
        key = _uuid(value) if table is not None and value is not None else None
        return table.get(key) if table is not None and key is not None else None

    return tuple(
        attrs.evolve(
            view,
            old_name=name(view.entry.field, view.entry.old_value),
            new_name=name(view.entry.field, view.entry.new_value),
        )
        for view in entries
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
