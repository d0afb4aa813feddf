"""``helpdesk canned list|add|show|render``: canned responses from the terminal.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator, who owns no
personal responses), or with ``--as EMAIL_OR_ID`` as that staff member: what they may use, their
own personal responses, their signature in a rendering. Either way through the same use cases
as ``/api/v1/staff/canned-responses``: the same rules and errors, and ``--json`` prints the
API's document. A response is named by its id or its shortcut (among those the actor may use);
a ticket by its number (``301``, ``#301``) or id.

Bad input to an option exits 2 with one line; a refusal of the core (an unknown placeholder:
``body: unknown placeholder customer.phone``) exits 1 with one line, and nothing is stored.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import click

from entrypoints.cli.admin import as_uuid, find_department, find_staff, json_option, open_services
from entrypoints.cli.admin.names import find_team
from entrypoints.cli.main import CliState, cli_errors, emit, fail
from helpdesk_core.documents import canned_response_document, rendered_response_document
from helpdesk_core.domain.canned import CannedResponse, CannedScope
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.usecases.canned import (
    FORMATS,
    CannedResponseQuery,
    CreateCannedResponse,
)

COLUMNS = ("id", "title", "shortcut", "scope", "uses", "active")
SCOPES = tuple(scope.value for scope in CannedScope)
_NUMBER = re.compile(r"^#?\s*([0-9]{1,19})$")

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

as_option = click.option(
    "--as",
    "as_staff",
    metavar="EMAIL_OR_ID",
    help="Act as this staff member (default: the operator, an administrator).",
)


def _actor(services: Services, as_staff: str | None) -> Principal:
    if as_staff is None:
        return SYSTEM_OPERATOR
    return services.auth.acting_as(find_staff(services.org, as_staff).user.id)


def _find(services: Services, actor: Principal, id_or_shortcut: str) -> CannedResponse:
    """The response with this id, or the one the actor may use with this shortcut (any case)."""
    wanted = as_uuid(id_or_shortcut)
    if wanted is not None:
        return services.canned.get(actor, wanted)
    key = id_or_shortcut.strip().casefold()
    usable = services.canned.list(actor, CannedResponseQuery(active=None))
    matches = [r for r in usable if (r.shortcut or "").casefold() == key]
    if len(matches) != 1:
        fail(
            f"no canned response with shortcut {id_or_shortcut!r}"
            if not matches
            else f"several canned responses have the shortcut {id_or_shortcut!r}: name one by id"
        )
    return matches[0]


def _ticket_id(services: Services, actor: Principal, raw: str) -> uuid.UUID:
    found = as_uuid(raw)
    if found is not None:
        return found
    match = _NUMBER.match(raw.strip())
    if match is None or int(match.group(1)) < 1:
        fail(f"TICKET {raw!r}: neither a ticket id nor a ticket number", 2)
    return services.tickets.get_ticket_by_number(actor, int(match.group(1))).ticket.id


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


@click.group()
def canned() -> None:
    """List, add, show and render canned responses.

    A body may hold placeholders such as {{ customer.first_name | default("there") }}; see
    docs/architecture.md, "Canned responses", for the grammar.
    """


@canned.command("list")
@click.option("--scope", type=click.Choice(SCOPES), help="Only responses of this scope.")
@click.option("--search", "q", metavar="TEXT", help="Only titles or shortcuts containing TEXT.")
@click.option("--inactive", is_flag=True, help="The deactivated responses instead.")
@as_option
@json_option
@click.pass_obj
@cli_errors
def canned_list(
    state: CliState,
    scope: str | None,
    q: str | None,
    inactive: bool,
    as_staff: str | None,
    as_json: bool,
) -> None:
    """List the responses the actor may use, by title."""
    with open_services(state) as services:
        actor = _actor(services, as_staff)
        query = CannedResponseQuery(
            scope=CannedScope(scope) if scope else None, q=q, active=not inactive
        )
        found = services.canned.list(actor, query)
    documents = [canned_response_document(r) for r in found]
    rows = [{**d, "uses": d["usage_count"]} for d in documents]
    emit(rows, as_json, COLUMNS, documents)


@canned.command("add")
@click.argument("title")
@click.option("--body", help="The text, placeholders included.")
@click.option(
    "--body-file", type=click.File("r", encoding="utf-8"), help="Read the text from a file."
)
@click.option("--shortcut", metavar="WORD", help="One word an editor completes.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    help="Who may use it (default: team with --team, department with --department, personal "
    "with --as, else everyone).",
)
@click.option("--team", metavar="NAME_OR_ID", help="The team of a team's response.")
@click.option("--department", metavar="NAME_OR_ID", help="The department (or the team's).")
@as_option
@json_option
@click.pass_obj
@cli_errors
def canned_add(
    state: CliState,
    title: str,
    body: str | None,
    body_file: Any,
    shortcut: str | None,
    scope: str | None,
    team: str | None,
    department: str | None,
    as_staff: str | None,
    as_json: bool,
) -> None:
    """Add a canned response titled TITLE."""
    if (body is None) == (body_file is None):
        fail("give the text with exactly one of --body and --body-file", 2)
    text = body if body is not None else body_file.read()
    chosen = CannedScope(scope) if scope else _default_scope(team, department, as_staff)
    with open_services(state) as services:
        actor = _actor(services, as_staff)
        team_id = department_id = None
        if chosen is CannedScope.TEAM:
            if team is None:
                fail("--team: name the team of a team's response", 2)
            team_id = find_team(services.org, team, department).id
        elif chosen is CannedScope.DEPARTMENT:
            if department is None:
                fail("--department: name the department of a department's response", 2)
            department_id = find_department(services.org, department).id
        command = CreateCannedResponse(title, text, chosen, shortcut, team_id, department_id)
        made = services.canned.create(actor, command)
    if as_json:
        _print(canned_response_document(made))
        return
    click.echo(f"created canned response {made.title!r} (id {made.id}, {made.scope.value})")


def _default_scope(team: str | None, department: str | None, as_staff: str | None) -> CannedScope:
    if team is not None:
        return CannedScope.TEAM
    if department is not None:
        return CannedScope.DEPARTMENT
    return CannedScope.PERSONAL if as_staff is not None else CannedScope.EVERYONE


@canned.command("show")
@click.argument("id_or_shortcut")
@as_option
@json_option
@click.pass_obj
@cli_errors
def canned_show(state: CliState, id_or_shortcut: str, as_staff: str | None, as_json: bool) -> None:
    """One canned response, its body as written."""
    with open_services(state) as services:
        found = _find(services, _actor(services, as_staff), id_or_shortcut)
    document = canned_response_document(found)
    if as_json:
        _print(document)
        return
    state_word = "active" if found.is_active else "deactivated"
    click.echo(f"{found.title} (id {found.id})")
    click.echo(f"shortcut  {found.shortcut or '-'}")
    click.echo(f"scope     {found.scope.value}")
    click.echo(f"state     {state_word}, version {found.version}, used {found.usage_count} times")
    click.echo("")
    click.echo(found.body)


@canned.command("render")
@click.argument("id_or_shortcut")
@click.argument("ticket")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="html escapes the values for HTML.",
)
@as_option
@json_option
@click.pass_obj
@cli_errors
def canned_render(
    state: CliState,
    id_or_shortcut: str,
    ticket: str,
    format_: str,
    as_staff: str | None,
    as_json: bool,
) -> None:
    """Print a canned response filled in for TICKET (a number or an id); nothing is sent.

    A placeholder with no value and no default becomes empty and is named on stderr.
    """
    with open_services(state) as services:
        actor = _actor(services, as_staff)
        response = _find(services, actor, id_or_shortcut)
        ticket_id = _ticket_id(services, actor, ticket)
        rendered = services.canned.render(actor, response.id, ticket_id, format_)
    if as_json:
        _print(rendered_response_document(rendered))
        return
    click.echo(rendered.body)
    if rendered.unresolved:
        click.echo(f"unresolved: {', '.join(rendered.unresolved)}", err=True)


COMMANDS = (canned,)
