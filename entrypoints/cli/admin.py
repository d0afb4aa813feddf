"""``helpdesk admin|staff|departments|teams``: administer the organization from the terminal.

The person at the terminal owns the server, so these commands act as ``SYSTEM_OPERATOR`` (an
administrator) through the same use cases as the HTTP API: the same rules, the same errors.
Services are built inside each command (never at import time) and always closed.

Names or ids: wherever a command takes ``NAME_OR_ID``, a UUID is an id and anything else is a
name, matched case-insensitively (``name_key``); staff are named by email or id.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import click

from entrypoints.cli.main import CliState, cli_errors, emit, fail
from entrypoints.cli.prompts import STAFF_OPTIONS, named_as_options, read_password
from helpdesk_core.domain.entities import Department, Team
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole, name_key
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    OrgService,
    StaffProfile,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

ROLES = click.Choice([role.value for role in StaffRole], case_sensitive=False)
DEPARTMENT_COLUMNS = ("id", "name", "auto_assign", "active")
TEAM_COLUMNS = ("id", "name", "department", "active")
STAFF_COLUMNS = ("id", "email", "display_name", "role", "department", "team", "active")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a prompt.",
)


# ---------------------------------------------------------------- plumbing


@contextmanager
def open_services(
    state: CliState, overrides: Mapping[Any, Any] | None = None
) -> Iterator[Services]:
    """The composition root's services for this command (with ``overrides`` of ports, as
    ``bootstrap`` takes them), closed afterwards."""
    from entrypoints.bootstrap import bootstrap

    settings = state.settings
    if not settings.secret_keys:
        # These commands sign no tokens: a throwaway key keeps bootstrap from warning about
        # (or, in production, refusing) a missing key that only the server needs.
        settings = attrs.evolve(settings, secret_keys=(secrets.token_urlsafe(48),))
    services = bootstrap(settings, overrides)
    try:
        yield services
    finally:
        services.close()


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


def _team(org: OrgService, name_or_id: str, department: str | None = None) -> Team:
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


# ---------------------------------------------------------------- output shapes


def timestamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def department_row(department: Department) -> dict[str, Any]:
    return {
        "id": str(department.id),
        "name": department.name,
        "auto_assign": department.auto_assign,
        "active": department.is_active,
        "created_at": timestamp(department.created_at),
        "updated_at": timestamp(department.updated_at),
        "version": department.version,
    }


def team_row(team: Team, departments: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(team.id),
        "department_id": str(team.department_id),
        "department": departments.get(team.department_id),
        "name": team.name,
        "active": team.is_active,
        "created_at": timestamp(team.created_at),
        "updated_at": timestamp(team.updated_at),
        "version": team.version,
    }


def staff_row(
    profile: StaffProfile, departments: dict[uuid.UUID, str], teams: dict[uuid.UUID, str]
) -> dict[str, Any]:
    user, staff = profile.user, profile.staff
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": staff.role.value,
        "department_id": str(staff.department_id) if staff.department_id else None,
        "department": departments.get(staff.department_id) if staff.department_id else None,
        "team_id": str(staff.team_id) if staff.team_id else None,
        "team": teams.get(staff.team_id) if staff.team_id else None,
        "active": staff.is_active,
        "created_at": timestamp(staff.created_at),
        "updated_at": timestamp(staff.updated_at),
        "version": staff.version,
    }


def _report(as_json: bool, row: dict[str, Any], message: str) -> None:
    """A change's outcome: one confirmation line, or the changed object as JSON."""
    if as_json:
        click.echo(json.dumps(row, indent=2, default=str))
    else:
        click.echo(message)


def _staff_report(org: OrgService, profile: StaffProfile, as_json: bool, message: str) -> None:
    _report(as_json, staff_row(profile, department_names(org), team_names(org)), message)


def _placement(
    profile: StaffProfile, departments: dict[uuid.UUID, str], teams: dict[uuid.UUID, str]
) -> str:
    staff = profile.staff
    if staff.department_id is None:
        return "no department"
    text = f"department {departments.get(staff.department_id, staff.department_id)}"
    if staff.team_id is not None:
        text += f", team {teams.get(staff.team_id, staff.team_id)}"
    return text


# ---------------------------------------------------------------- admin


@click.group()
def admin() -> None:
    """Create administrators."""


@admin.command("create")
@click.option("--email", required=True, help="The administrator's email (their login).")
@click.option("--display-name", required=True, help="The name shown to others.")
@password_stdin_option
@json_option
@click.pass_obj
@cli_errors
def admin_create(
    state: CliState, email: str, display_name: str, password_stdin: bool, as_json: bool
) -> None:
    """Create an administrator (the first one, or another): a staff member with role admin
    and no department. The password is prompted for (hidden, twice) unless --password-stdin."""
    password = read_password(password_stdin)
    with open_services(state) as services:
        org = services.org
        command = CreateStaff(
            email=email, display_name=display_name, password=password, role=StaffRole.ADMIN
        )
        with named_as_options(STAFF_OPTIONS):
            profile = org.create_staff(SYSTEM_OPERATOR, command)
        _staff_report(
            org,
            profile,
            as_json,
            f"created administrator {profile.user.email} (id {profile.user.id})",
        )


# ---------------------------------------------------------------- staff


@click.group()
def staff() -> None:
    """Add, list and change staff members.

    Staff are agents, leads and administrators; name one by email or id.
    """


@staff.command("add")
@click.option("--email", required=True, help="The staff member's email (their login).")
@click.option("--display-name", required=True, help="The name shown to others.")
@click.option("--role", required=True, type=ROLES, help="agent, lead or admin.")
@click.option(
    "--department",
    metavar="NAME_OR_ID",
    help="Their department (required for agents and leads; implied by --team).",
)
@click.option("--team", metavar="NAME_OR_ID", help="Their team, in their department.")
@password_stdin_option
@json_option
@click.pass_obj
@cli_errors
def staff_add(
    state: CliState,
    email: str,
    display_name: str,
    role: str,
    department: str | None,
    team: str | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add a staff member who can log in at once. The password is prompted for (hidden,
    twice) unless --password-stdin."""
    with open_services(state) as services:
        org = services.org
        # Resolve names before asking for the password: a typo fails at once.
        scope = find_department(org, department) if department is not None else None
        department_id = scope.id if scope is not None else None
        team_id = None
        if team is not None:
            found = find_team_in(org, team, scope)
            team_id = found.id
            department_id = department_id or found.department_id
        password = read_password(password_stdin)
        command = CreateStaff(
            email=email,
            display_name=display_name,
            password=password,
            role=StaffRole(role.lower()),
            department_id=department_id,
            team_id=team_id,
        )
        with named_as_options(STAFF_OPTIONS):
            profile = org.create_staff(SYSTEM_OPERATOR, command)
        _staff_report(
            org,
            profile,
            as_json,
            f"created {profile.staff.role.value} {profile.user.email} (id {profile.user.id})",
        )


@staff.command("list")
@click.option("--department", metavar="NAME_OR_ID", help="Only this department's staff.")
@click.option("--team", metavar="NAME_OR_ID", help="Only this team's staff.")
@click.option("--role", type=ROLES, help="Only this role.")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) staff.")
@json_option
@click.pass_obj
@cli_errors
def staff_list(
    state: CliState,
    department: str | None,
    team: str | None,
    role: str | None,
    active: bool | None,
    as_json: bool,
) -> None:
    """List staff members, optionally filtered."""
    with open_services(state) as services:
        org = services.org
        scope = find_department(org, department) if department is not None else None
        where = StaffFilter(
            department_id=scope.id if scope is not None else None,
            team_id=find_team_in(org, team, scope).id if team is not None else None,
            role=StaffRole(role.lower()) if role is not None else None,
            active=active,
        )
        departments, teams = department_names(org), team_names(org)
        rows = [staff_row(p, departments, teams) for p in org.list_staff(SYSTEM_OPERATOR, where)]
        emit(rows, as_json, STAFF_COLUMNS)


def _update_staff(
    state: CliState, email_or_id: str, as_json: bool, change: UpdateStaff, verb: str
) -> None:
    with open_services(state) as services:
        org = services.org
        profile = find_staff(org, email_or_id)
        updated = org.update_staff(SYSTEM_OPERATOR, profile.user.id, change)
        _staff_report(org, updated, as_json, f"{verb} {updated.user.email}")


@staff.command("activate")
@click.argument("email_or_id")
@json_option
@click.pass_obj
@cli_errors
def staff_activate(state: CliState, email_or_id: str, as_json: bool) -> None:
    """Let a deactivated staff member log in and work again."""
    _update_staff(state, email_or_id, as_json, UpdateStaff(active=True), "activated")


@staff.command("deactivate")
@click.argument("email_or_id")
@json_option
@click.pass_obj
@cli_errors
def staff_deactivate(state: CliState, email_or_id: str, as_json: bool) -> None:
    """Stop a staff member from logging in (their sessions end at once)."""
    _update_staff(state, email_or_id, as_json, UpdateStaff(active=False), "deactivated")


@staff.command("set-role")
@click.argument("email_or_id")
@click.argument("role", type=ROLES)
@json_option
@click.pass_obj
@cli_errors
def staff_set_role(state: CliState, email_or_id: str, role: str, as_json: bool) -> None:
    """Change a staff member's role (agent, lead or admin)."""
    with open_services(state) as services:
        org = services.org
        profile = find_staff(org, email_or_id)
        # set-role has no --department: a staff member without one is moved first.
        moved_first = {"department_id": "department (give one with `helpdesk staff move` first)"}
        with named_as_options(moved_first):
            updated = org.update_staff(
                SYSTEM_OPERATOR, profile.user.id, UpdateStaff(role=StaffRole(role.lower()))
            )
        _staff_report(
            org, updated, as_json, f"{updated.user.email} is now {updated.staff.role.value}"
        )


@staff.command("move")
@click.argument("email_or_id")
@click.option("--department", required=True, metavar="NAME_OR_ID", help="The new department.")
@click.option("--team", metavar="NAME_OR_ID", help="The new team, in the new department.")
@click.option("--no-team", is_flag=True, help="Take them out of every team.")
@json_option
@click.pass_obj
@cli_errors
def staff_move(
    state: CliState,
    email_or_id: str,
    department: str,
    team: str | None,
    no_team: bool,
    as_json: bool,
) -> None:
    """Move a staff member to another department (and team). Without --team or --no-team
    they keep their team only if it belongs to the new department."""
    if team is not None and no_team:
        raise click.UsageError("--team and --no-team exclude each other")
    with open_services(state) as services:
        org = services.org
        target = find_department(org, department)
        team_id = find_team_in(org, team, target).id if team is not None else None
        profile = find_staff(org, email_or_id)
        change = UpdateStaff(
            department_id=target.id,
            team_id=team_id,
            change_department=True,
            change_team=team is not None or no_team,
        )
        with named_as_options(STAFF_OPTIONS):
            updated = org.update_staff(SYSTEM_OPERATOR, profile.user.id, change)
        departments, teams = department_names(org), team_names(org)
        _report(
            as_json,
            staff_row(updated, departments, teams),
            f"moved {updated.user.email} to {_placement(updated, departments, teams)}",
        )


# ---------------------------------------------------------------- departments


@click.group()
def departments() -> None:
    """Add, list, rename and deactivate departments."""


@departments.command("add")
@click.argument("name")
@click.option("--auto-assign", is_flag=True, help="Assign new tickets to an agent automatically.")
@json_option
@click.pass_obj
@cli_errors
def departments_add(state: CliState, name: str, auto_assign: bool, as_json: bool) -> None:
    """Add a department named NAME (names are unique, ignoring case)."""
    with open_services(state) as services:
        department = services.org.create_department(
            SYSTEM_OPERATOR, CreateDepartment(name=name, auto_assign=auto_assign)
        )
        _report(
            as_json,
            department_row(department),
            f"created department {department.name} (id {department.id})",
        )


@departments.command("list")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) ones.")
@json_option
@click.pass_obj
@cli_errors
def departments_list(state: CliState, active: bool | None, as_json: bool) -> None:
    """List departments."""
    with open_services(state) as services:
        rows = [department_row(d) for d in services.org.list_departments(SYSTEM_OPERATOR, active)]
        emit(rows, as_json, DEPARTMENT_COLUMNS)


@departments.command("rename")
@click.argument("name_or_id")
@click.argument("new_name")
@json_option
@click.pass_obj
@cli_errors
def departments_rename(state: CliState, name_or_id: str, new_name: str, as_json: bool) -> None:
    """Rename a department."""
    with open_services(state) as services:
        org = services.org
        current = find_department(org, name_or_id)
        updated = org.update_department(
            SYSTEM_OPERATOR, current.id, UpdateDepartment(name=new_name)
        )
        _report(
            as_json,
            department_row(updated),
            f"renamed department {current.name} to {updated.name}",
        )


@departments.command("deactivate")
@click.argument("name_or_id")
@json_option
@click.pass_obj
@cli_errors
def departments_deactivate(state: CliState, name_or_id: str, as_json: bool) -> None:
    """Deactivate a department: customers can no longer choose it for new tickets."""
    with open_services(state) as services:
        org = services.org
        current = find_department(org, name_or_id)
        updated = org.update_department(SYSTEM_OPERATOR, current.id, UpdateDepartment(active=False))
        _report(as_json, department_row(updated), f"deactivated department {updated.name}")


# ---------------------------------------------------------------- teams


@click.group()
def teams() -> None:
    """Add, list, rename and deactivate teams.

    A team is a group of staff inside one department; its name is unique there.
    """


department_scope_option = click.option(
    "--department",
    metavar="NAME_OR_ID",
    help="The team's department (needed when several departments have a team of that name).",
)


@teams.command("add")
@click.argument("name")
@click.option("--department", required=True, metavar="NAME_OR_ID", help="The team's department.")
@json_option
@click.pass_obj
@cli_errors
def teams_add(state: CliState, name: str, department: str, as_json: bool) -> None:
    """Add a team named NAME to a department (names are unique within the department)."""
    with open_services(state) as services:
        org = services.org
        parent = find_department(org, department)
        team = org.create_team(SYSTEM_OPERATOR, CreateTeam(name=name, department_id=parent.id))
        _report(
            as_json,
            team_row(team, department_names(org)),
            f"created team {team.name} in {parent.name} (id {team.id})",
        )


@teams.command("list")
@click.option("--department", metavar="NAME_OR_ID", help="Only this department's teams.")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) ones.")
@json_option
@click.pass_obj
@cli_errors
def teams_list(state: CliState, department: str | None, active: bool | None, as_json: bool) -> None:
    """List teams."""
    with open_services(state) as services:
        org = services.org
        department_id = find_department(org, department).id if department is not None else None
        names = department_names(org)
        rows = [team_row(t, names) for t in org.list_teams(SYSTEM_OPERATOR, department_id, active)]
        emit(rows, as_json, TEAM_COLUMNS)


@teams.command("rename")
@click.argument("name_or_id")
@click.argument("new_name")
@department_scope_option
@json_option
@click.pass_obj
@cli_errors
def teams_rename(
    state: CliState, name_or_id: str, new_name: str, department: str | None, as_json: bool
) -> None:
    """Rename a team."""
    with open_services(state) as services:
        org = services.org
        current = _team(org, name_or_id, department)
        updated = org.update_team(SYSTEM_OPERATOR, current.id, UpdateTeam(name=new_name))
        _report(
            as_json,
            team_row(updated, department_names(org)),
            f"renamed team {current.name} to {updated.name}",
        )


@teams.command("deactivate")
@click.argument("name_or_id")
@department_scope_option
@json_option
@click.pass_obj
@cli_errors
def teams_deactivate(
    state: CliState, name_or_id: str, department: str | None, as_json: bool
) -> None:
    """Deactivate a team: no one can be placed in it any more."""
    with open_services(state) as services:
        org = services.org
        current = _team(org, name_or_id, department)
        updated = org.update_team(SYSTEM_OPERATOR, current.id, UpdateTeam(active=False))
        _report(
            as_json,
            team_row(updated, department_names(org)),
            f"deactivated team {updated.name}",
        )


COMMANDS: Sequence[click.Command] = (admin, staff, departments, teams)
