"""``helpdesk admin|staff``: create administrators, add, list, change and move staff members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import click

from entrypoints.cli.admin.names import (
    department_names,
    find_department,
    find_staff,
    find_team_in,
    team_names,
)
from entrypoints.cli.admin.rows import report, staff_report, staff_row
from entrypoints.cli.admin.services import json_option, open_services
from entrypoints.cli.main import CliState, cli_errors, emit
from entrypoints.cli.prompts import STAFF_OPTIONS, named_as_options, read_password
from helpdesk_core.documents import staff_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.usecases.org import CreateStaff, StaffProfile, UpdateStaff

ROLES = click.Choice([role.value for role in StaffRole], case_sensitive=False)
STAFF_COLUMNS = ("id", "email", "display_name", "role", "department", "team", "active")

password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a prompt.",
)


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
        staff_report(
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
        staff_report(
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
        profiles = org.list_staff(SYSTEM_OPERATOR, where)
        rows = [staff_row(p, departments, teams) for p in profiles]
        emit(rows, as_json, STAFF_COLUMNS, [staff_document(p) for p in profiles])


def _update_staff(
    state: CliState, email_or_id: str, as_json: bool, change: UpdateStaff, verb: str
) -> None:
    with open_services(state) as services:
        org = services.org
        profile = find_staff(org, email_or_id)
        updated = org.update_staff(SYSTEM_OPERATOR, profile.user.id, change)
        staff_report(updated, as_json, f"{verb} {updated.user.email}")


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
        staff_report(updated, as_json, f"{updated.user.email} is now {updated.staff.role.value}")


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
        report(
            as_json,
            staff_document(updated),
            f"moved {updated.user.email} to {_placement(updated, departments, teams)}",
        )


COMMANDS: Sequence[click.Command] = (admin, staff)
