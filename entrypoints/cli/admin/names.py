"""Name resolution: a department, team or staff member named by its name (or email) or its id.

A UUID is an id and anything else is a name, matched case-insensitively (``name_key``); staff
are named by email or id. What names nothing, or more than one team, exits 1 with one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol, TypeVar

from entrypoints.cli.main import fail
from helpdesk_core.domain.entities import Department, Team
from helpdesk_core.domain.mail import Mailbox
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import name_key
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.usecases.org import OrgService, StaffProfile


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


class Named(Protocol):
    """What is found by its id or its name: a department, a calendar, a policy."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


def find_named(known: Iterable[N], name_or_id: str, what: str) -> N:
    """The one of ``known`` with this id, or with this name (any case and spacing); exit 1
    naming ``what`` ("department", "calendar") when none is."""
    candidates = list(known)
    wanted = as_uuid(name_or_id)
    if wanted is not None:
        for item in candidates:
            if item.id == wanted:
                return item
        fail(f"no {what} with id {wanted}")
    key = name_key(name_or_id)
    for item in candidates:
        if name_key(item.name) == key:
            return item
    fail(f"no {what} named {name_or_id!r}")
    raise AssertionError("fail() exits")  # pragma: no cover


def find_department(org: OrgService, name_or_id: str) -> Department:
    """The department with this id, or with this name (case-insensitive)."""
    return find_named(org.list_departments(SYSTEM_OPERATOR), name_or_id, "department")


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


def find_mailbox(known: Iterable[Mailbox], id_or_name: str) -> Mailbox:
    """The mailbox with this id, address (any case) or name (any case and spacing); exit 1
    when none is."""
    candidates = list(known)
    if "@" in id_or_name:
        wanted = id_or_name.strip().lower()
        for mailbox in candidates:
            if mailbox.address == wanted:
                return mailbox
        fail(f"no mailbox with the address {id_or_name!r}")
    return find_named(candidates, id_or_name, "mailbox")
