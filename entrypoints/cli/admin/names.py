"""Name resolution: a department, team or staff member named by its name (or email) or its id.

A UUID is an id and anything else is a name, matched case-insensitively (``name_key``); staff
are named by email or id. What names nothing, or more than one team, exits 1 with one line.
"""

from __future__ import annotations

import uuid

from entrypoints.cli.main import fail
from helpdesk_core.domain.entities import Department, Team
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.usecases.org import OrgService, StaffProfile


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def find_department(org: OrgService, name_or_id: str) -> Department:
    """The department with this id, or with this name (case-insensitive)."""
    departments = org.list_departments(SYSTEM_OPERATOR)
    wanted = as_uuid(name_or_id)
    if wanted is not None:
        for department in departments:
            if department.id == wanted:
                return department
        fail(f"no department with id {wanted}")
    key = name_key(name_or_id)
    for department in departments:
        if name_key(department.name) == key:
            return department
    fail(f"no department named {name_or_id!r}")
    return None


def find_team(org: OrgService, name_or_id: str, department: str | None = None) -> Team:
    """The team with this id, or with this name (in ``department`` when given).

    Team names are unique only within a department: a name found in several departments is
    refused, asking for ``--department`` or the team's id.
    """
    scope = find_department(org, department) if department is not None else None
    return find_team_in(org, name_or_id, scope)


def find_team_in(org: OrgService, name_or_id: str, scope: Department | None) -> Team:
    teams = org.list_teams(SYSTEM_OPERATOR, scope.id if scope is not None else None)
    wanted = as_uuid(name_or_id)
    if wanted is not None:
        for team in teams:
            if team.id == wanted:
                return team
        where = f" in department {scope.name}" if scope is not None else ""
        fail(f"no team with id {wanted}{where}")
    key = name_key(name_or_id)
    matches = [team for team in teams if name_key(team.name) == key]
    if scope is not None and not matches:
        fail(f"no team named {name_or_id!r} in department {scope.name}")
    if not matches:
        fail(f"no team named {name_or_id!r}")
    if len(matches) > 1:
        names = department_names(org)
        where = ", ".join(sorted(names.get(team.department_id, "?") for team in matches))
        fail(
            f"teams named {name_or_id!r} exist in several departments ({where}): "
            "give --department or the team's id"
        )
    return matches[0]


def find_staff(org: OrgService, email_or_id: str) -> StaffProfile:
    """The staff member with this email (case-insensitive) or user id."""
    members = org.list_staff(SYSTEM_OPERATOR, StaffFilter())
    wanted = as_uuid(email_or_id)
    if wanted is not None:
        for profile in members:
            if profile.user.id == wanted:
                return profile
        fail(f"no staff member with id {wanted}")
    email = email_or_id.strip().casefold()
    for profile in members:
        if profile.user.email.casefold() == email:
            return profile
    fail(f"no staff member with email {email_or_id!r}")
    return None


def department_names(org: OrgService) -> dict[uuid.UUID, str]:
    return {d.id: d.name for d in org.list_departments(SYSTEM_OPERATOR)}


def team_names(org: OrgService) -> dict[uuid.UUID, str]:
    return {t.id: t.name for t in org.list_teams(SYSTEM_OPERATOR)}
