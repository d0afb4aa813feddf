"""``helpdesk departments|teams``: add, list, rename and deactivate departments and their teams."""

from __future__ import annotations

from collections.abc import Sequence

import click

from entrypoints.cli.admin.names import department_names, find_department, find_team
from entrypoints.cli.admin.rows import report, team_row
from entrypoints.cli.admin.services import json_option, open_services
from entrypoints.cli.main import CliState, cli_errors, emit
from helpdesk_core.documents import department_document, team_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.org import CreateDepartment, CreateTeam, UpdateDepartment, UpdateTeam

DEPARTMENT_COLUMNS = ("id", "name", "auto_assign", "active")
TEAM_COLUMNS = ("id", "name", "department", "active")


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
        report(
            as_json,
            department_document(department),
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
        rows = [
            department_document(d) for d in services.org.list_departments(SYSTEM_OPERATOR, active)
        ]
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
        report(
            as_json,
            department_document(updated),
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
        report(as_json, department_document(updated), f"deactivated department {updated.name}")


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
        report(
            as_json,
            team_document(team),
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
        found = org.list_teams(SYSTEM_OPERATOR, department_id, active)
        rows = [team_row(t, names) for t in found]
        emit(rows, as_json, TEAM_COLUMNS, [team_document(t) for t in found])


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
        current = find_team(org, name_or_id, department)
        updated = org.update_team(SYSTEM_OPERATOR, current.id, UpdateTeam(name=new_name))
        report(
            as_json,
            team_document(updated),
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
        current = find_team(org, name_or_id, department)
        updated = org.update_team(SYSTEM_OPERATOR, current.id, UpdateTeam(active=False))
        report(
            as_json,
            team_document(updated),
            f"deactivated team {updated.name}",
        )


COMMANDS: Sequence[click.Command] = (departments, teams)
