"""The lifecycle: closing, reopening, and the staff change of status, priority, department
and team (of the version they saw)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import Conflict, PreconditionRequired, StaleVersion
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import TicketStatus
from helpdesk_core.domain.views import TicketView
from helpdesk_core.policies import require_staff
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.sla import ClockChange
from helpdesk_core.usecases.tickets.base import TicketUseCases
from helpdesk_core.usecases.tickets.commands import ChangeTicket
from helpdesk_core.usecases.tickets.scope import active_department, may_route, team_of, works_in


class Lifecycle(TicketUseCases):
    """``close``, ``reopen`` and ``change``."""

    def close(self, actor: Principal, ticket_id: uuid.UUID) -> TicketView:
        """Close the ticket (its requester, or staff)."""
        return self._set_status(actor, ticket_id, TicketStatus.CLOSED)

    def reopen(self, actor: Principal, ticket_id: uuid.UUID) -> TicketView:
        """Reopen a resolved or closed ticket (its requester, or staff)."""
        return self._set_status(actor, ticket_id, TicketStatus.OPEN)

    def _set_status(
        self, actor: Principal, ticket_id: uuid.UUID, target: TicketStatus
    ) -> TicketView:
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id, lock=True)
            ticket = view.ticket
            if target is TicketStatus.OPEN and ticket.status not in {
                TicketStatus.RESOLVED,
                TicketStatus.CLOSED,
            }:
                raise Conflict(f"a ticket that is {ticket.status.value} cannot be reopened")
            updated = TicketView(ticket.with_status(target, now), view.names, view.sla)
            tx.tickets.update(updated.ticket)
            clocks = self._clocks_changed(tx, view, updated.ticket, now)
            if clocks is not None:
                updated = clocks.store(updated)
            self._record(
                tx, ticket, actor.user_id, "status", ticket.status.value, target.value, now
            )
            self._publish_changes(tx, ticket, updated, actor.user_id, now)
            if clocks is not None:
                clocks.announce(self._ids, updated, actor.user_id, now)
            self._bump_counts(tx, ticket.department_id)
            tx.commit()
        return updated

    def change(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        expected_version: int | None,
        command: ChangeTicket,
    ) -> TicketView:
        """Staff change status, priority, department or team of the version they saw.

        No version: PreconditionRequired. Another version: StaleVersion, nothing changed.
        """
        require_staff(actor, "change tickets")
        if expected_version is None:
            raise PreconditionRequired("send If-Match with the ticket's ETag to change it")
        now = self._clock.now()
        with self._uow.begin() as tx:
            # Locked: the ticket's service-level clocks change with it.
            view = self._visible(tx, actor, ticket_id, lock=True)
            if view.ticket.version != expected_version:
                raise StaleVersion(
                    f"the ticket changed since version {expected_version} "
                    f"(now {view.ticket.version}): reload it"
                )
            result = self._change_in(tx, actor, view, command, now)
            tx.commit()
        return result

    def _change_in(
        self,
        tx: Transaction,
        actor: Principal,
        view: TicketView,
        command: ChangeTicket,
        now: datetime,
    ) -> TicketView:
        """``command`` applied to the ticket of ``view`` (read locked) in ``tx``: routing
        checked for ``actor``, the clocks moved, history and events written; ``view`` itself
        when it changes nothing."""
        ticket, names = view.ticket, view.names
        updated = ticket
        if command.status is not None and command.status is not ticket.status:
            updated = updated.with_status(command.status, now)
        changes: dict[str, Any] = {}
        if command.priority is not None and command.priority is not ticket.priority:
            changes["priority"] = command.priority
        department_id = command.department_id if command.change_department else ticket.department_id
        team_id = command.team_id if command.change_team else ticket.team_id
        if department_id != ticket.department_id:
            may_route(actor, department_id)
            department = None
            if department_id is not None:
                department = active_department(tx, department_id, "department_id")
            changes["department_id"] = department_id
            names = attrs.evolve(names, department=department.name if department else None)
            if not command.change_team:
                team_id = None  # a team belongs to the department it leaves
            if ticket.assignee_id is not None and not works_in(
                tx.staff.get(ticket.assignee_id), department_id
            ):
                changes["assignee_id"] = None
                names = attrs.evolve(names, assignee=None)
        if team_id != ticket.team_id:
            team = None
            if team_id is not None:
                team = team_of(tx, team_id, department_id, "team_id")
            changes["team_id"] = team_id
            names = attrs.evolve(names, team=team.name if team is not None else None)
        if changes:
            updated = attrs.evolve(updated, **changes)
        if updated == ticket:
            return view
        updated = attrs.evolve(updated, updated_at=now, version=ticket.version + 1)
        result = TicketView(updated, names, view.sla)
        tx.tickets.update(updated)
        clocks = self._clocks_changed(tx, view, updated, now)
        if clocks is not None:
            result = clocks.store(result)
        self._record_diff(tx, ticket, result, actor.user_id, now)
        if clocks is not None:
            clocks.announce(self._ids, result, actor.user_id, now)
        self._bump_counts(tx, ticket.department_id, updated.department_id)
        return result

    def _clocks_changed(
        self, tx: Transaction, view: TicketView, after: Ticket, now: datetime
    ) -> ClockChange | None:
        """The clocks after a change of status, priority or department: None when nothing
        could move them (no policy governs the ticket, nor could one after the change)."""
        before = view.ticket
        rematch = (before.department_id, before.priority) != (after.department_id, after.priority)
        if before.sla_policy_id is None and not rematch:
            return None
        clocks = ClockChange.of(tx, view)
        clocks.changed(before, after, now)
        return clocks
