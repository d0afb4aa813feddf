"""Who sees and may route which tickets (ARCHITECTURE.md section 5).

Customers see their own tickets, agents and leads the tickets of their department (and tickets
not yet routed to any), administrators everything. A ticket outside the actor's scope is
NotFound on every use case, never PermissionDenied. Agents route a ticket into their own
department only; unrouting it or moving it to a department one does not work in is for leads
and administrators (PermissionDenied, ``may_route``).
"""

from __future__ import annotations

import uuid

from helpdesk_core.domain.entities import Department, StaffMember, Team, Ticket
from helpdesk_core.domain.errors import PermissionDenied, ValidationFailed
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import Role, StaffRole
from helpdesk_core.ports.uow import Transaction


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


def may_route(actor: Principal, department_id: uuid.UUID | None) -> None:
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


def active_department(tx: Transaction, department_id: uuid.UUID, field: str) -> Department:
    department = tx.departments.get(department_id)
    if department is None or not department.is_active:
        raise ValidationFailed.field(field, "no such department")
    return department


def team_of(
    tx: Transaction, team_id: uuid.UUID, department_id: uuid.UUID | None, field: str
) -> Team:
    team = tx.teams.get(team_id)
    if team is None or not team.is_active:
        raise ValidationFailed.field(field, "no such team")
    if team.department_id != department_id:
        raise ValidationFailed.field(field, "the team belongs to another department")
    return team


def works_in(staff: StaffMember | None, department_id: uuid.UUID | None) -> bool:
    return staff is not None and (
        staff.role is StaffRole.ADMIN or staff.department_id == department_id
    )
