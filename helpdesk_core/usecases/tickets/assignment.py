"""Assignment: to oneself, to an agent, to a team, or by round robin (``auto``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import Conflict, StaleVersion, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.domain.views import TicketNames, TicketView
from helpdesk_core.policies import require_lead, require_staff
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.uow import Transaction
from helpdesk_core.usecases.tickets.base import TicketUseCases, user_name
from helpdesk_core.usecases.tickets.commands import Assign
from helpdesk_core.usecases.tickets.scope import team_of

ASSIGN_MODES = ("self", "agent", "team", "auto", "nobody")


def _check_mode(actor: Principal, command: Assign) -> None:
    """A known mode, and one ``actor`` may use: anyone on the staff takes a ticket or lets
    their own go; only leads and administrators hand it to others or take it from them."""
    if command.mode not in ASSIGN_MODES:
        raise ValidationFailed.field("mode", f"must be one of {', '.join(ASSIGN_MODES)}")
    if command.mode not in {"self", "nobody"}:
        require_lead(actor, f"assign tickets ({command.mode})")


class Assignment(TicketUseCases):
    """``assign`` and the round robin that auto-assignment shares with opening."""

    def assign(
        self,
        actor: Principal,
        ticket_id: uuid.UUID,
        command: Assign,
        expected_version: int | None = None,
    ) -> TicketView:
        """Assign to oneself, to an agent, to a team, by round robin (``auto``), or to nobody
        (``nobody``: leads, administrators, and the assignee letting the ticket go)."""
        require_staff(actor, "assign tickets")
        _check_mode(actor, command)
        now = self._clock.now()
        with self._uow.begin() as tx:
            view = self._visible(tx, actor, ticket_id, lock=True)
            ticket = view.ticket
            if expected_version is not None and ticket.version != expected_version:
                raise StaleVersion("the ticket changed since you loaded it: reload it")
            updated = self._assign_in(tx, actor, view, command, now)
            tx.commit()
        return updated

    def _assign_in(
        self, tx: Transaction, actor: Principal, view: TicketView, command: Assign, now: datetime
    ) -> TicketView:
        """``command`` applied to the ticket of ``view`` (read locked) in ``tx``, checked for
        ``actor``; ``view`` itself when it changes nothing."""
        _check_mode(actor, command)
        ticket = view.ticket
        if command.mode == "nobody":
            return self._unassign(tx, actor, view, now)
        if ticket.department_id is None:
            raise Conflict("route the ticket to a department before assigning it")
        if command.mode == "auto":
            updated = self._auto_assign(tx, view, actor.user_id, now)
        else:
            updated = self._assign_to(tx, actor, view, command, now)
        self._bump_counts(tx, ticket.department_id)
        return updated

    def _unassign(
        self, tx: Transaction, actor: Principal, view: TicketView, now: datetime
    ) -> TicketView:
        """Nobody has the ticket any more (its team, if any, keeps it waiting)."""
        ticket = view.ticket
        if ticket.assignee_id is None:
            return view
        if actor.user_id != ticket.assignee_id:
            require_lead(actor, "take a ticket from its assignee")
        updated = ticket.changed(now, assignee_id=None)
        result = TicketView(updated, attrs.evolve(view.names, assignee=None), view.sla)
        tx.tickets.update(updated)
        self._record_diff(tx, ticket, result, actor.user_id, now)
        self._bump_counts(tx, ticket.department_id)
        return result

    def _assign_to(
        self, tx: Transaction, actor: Principal, view: TicketView, command: Assign, now: datetime
    ) -> TicketView:
        ticket, names = view.ticket, view.names
        if command.mode == "team":
            if command.team_id is None:
                raise ValidationFailed.field("team_id", "is required to assign to a team")
            team = team_of(tx, command.team_id, ticket.department_id, "team_id")
            changes: dict[str, Any] = {"team_id": team.id, "assignee_id": None}
            names = attrs.evolve(names, team=team.name, assignee=None)
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
            return view
        if command.mode != "team":
            names = self._names_after(tx, view, updated)
        result = TicketView(updated, names, view.sla)
        tx.tickets.update(updated)
        self._record_diff(tx, ticket, result, actor.user_id, now)
        return result

    def _auto_assign(
        self, tx: Transaction, view: TicketView, actor_id: uuid.UUID | None, now: datetime
    ) -> TicketView:
        """Assign by round robin (``_round_robin_choice``): update, record, publish."""
        updated = self._round_robin_choice(tx, view.ticket, now)
        if updated is view.ticket:
            return view
        result = TicketView(updated, self._names_after(tx, view, updated), view.sla)
        tx.tickets.update(updated)
        self._record_diff(tx, view.ticket, result, actor_id, now)
        return result

    def _names_after(self, tx: Transaction, view: TicketView, updated: Ticket) -> TicketNames:
        """The names of ``view`` once its assignee (and with them, maybe, its team) changed
        to those of ``updated``."""
        names = attrs.evolve(view.names, assignee=user_name(tx, updated.assignee_id))
        if updated.team_id != view.ticket.team_id:
            team = tx.teams.get(updated.team_id) if updated.team_id is not None else None
            names = attrs.evolve(names, team=team.name if team is not None else None)
        return names

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
