"""``helpdesk macros list|add|show``: saving and reading macros from the terminal.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator, who owns no
personal macros) through the same use case as ``/api/v1/staff/macros``: the same rules and
errors, and ``--json`` prints the API's document. A macro is named by its id or its name (any
case, among those the operator may apply).

``add`` takes each action as ``--action NAME[=VALUE]``, in order: no value for the actions
that take none (``assign_to_me``, ``unassign``, ``follow``, ``unfollow``; ``set_team`` alone
clears the team), comma-separated names for ``add_tags`` and ``remove_tags``, the text for
``add_note`` and ``reply``, and for the others a name or an id (a department's or a team's
name, a staff member's email). Bad input to an option exits 2 with one line; a refusal of the
core exits 1 with one line naming the action by its place among the ``--action`` options,
from 0 (``actions.1.value: no such team``), and nothing is stored.

Applying a macro to a ticket is ``helpdesk macros apply``, added to this group elsewhere.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from entrypoints.cli.admin import as_uuid, find_department, find_staff, json_option, open_services
from entrypoints.cli.admin.names import find_team
from entrypoints.cli.main import CliState, cli_errors, emit, fail
from helpdesk_core.documents import macro_document
from helpdesk_core.domain.macros import Action, Macro, MacroScope
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.macros import CreateMacro

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

COLUMNS = ("id", "name", "scope", "actions", "version")
SCOPES = tuple(scope.value for scope in MacroScope)
ACTIONS = tuple(action.value for action in Action)
_NAMES = frozenset({Action.ADD_TAGS.value, Action.REMOVE_TAGS.value})


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


def _find(services: Services, id_or_name: str) -> Macro:
    """The macro with this id, or the one the operator may apply with this name (any case)."""
    wanted = as_uuid(id_or_name)
    if wanted is not None:
        return services.macros.get(SYSTEM_OPERATOR, wanted)
    key = id_or_name.strip().casefold()
    matches = [m for m in services.macros.list(SYSTEM_OPERATOR) if m.name.casefold() == key]
    if len(matches) != 1:
        fail(
            f"no macro named {id_or_name!r}"
            if not matches
            else f"several macros are named {id_or_name!r}: name one by id"
        )
    return matches[0]


def _action(services: Services, option: str) -> dict[str, Any]:
    """One ``--action NAME[=VALUE]`` as the API takes it; names resolved to ids."""
    name, has_value, raw = option.partition("=")
    name = name.strip()
    if name not in ACTIONS:
        fail(f"--action: {name!r} is not one of {', '.join(ACTIONS)}", 2)
    if not has_value:
        return {"action": name}
    value: Any = raw
    if name in _NAMES:
        value = [part for part in raw.split(",") if part.strip()]
    elif as_uuid(raw) is None and raw.strip():
        if name == Action.SET_DEPARTMENT.value:
            value = str(find_department(services.org, raw).id)
        elif name in (Action.SET_TEAM.value, Action.ASSIGN_TEAM.value):
            value = str(find_team(services.org, raw).id)
        elif name == Action.ASSIGN_AGENT.value:
            value = str(find_staff(services.org, raw).user.id)
    return {"action": name, "value": value}


@click.group()
def macros() -> None:
    """List, save and show macros: named lists of actions applied to a ticket in one step.

    See docs/architecture.md, "Macros", for who may save which and how they are checked.
    """


@macros.command("list")
@json_option
@click.pass_obj
@cli_errors
def macros_list(state: CliState, as_json: bool) -> None:
    """The active macros the operator may apply (every department's and everyone's), by
    name."""
    with open_services(state) as services:
        found = services.macros.list(SYSTEM_OPERATOR)
    documents = [macro_document(m) for m in found]
    rows = [{**d, "actions": len(d["actions"])} for d in documents]
    emit(rows, as_json, COLUMNS, documents)


@macros.command("add")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    help="Who may apply it (default: department with --department, else everyone).",
)
@click.option("--department", metavar="NAME_OR_ID", help="The department of a department's macro.")
@click.option(
    "--action",
    "actions",
    metavar="NAME[=VALUE]",
    multiple=True,
    help="One action, in order; repeat for more (e.g. --action add_tags=refund,vip).",
)
@json_option
@click.pass_obj
@cli_errors
def macros_add(
    state: CliState,
    name: str,
    scope: str | None,
    department: str | None,
    actions: tuple[str, ...],
    as_json: bool,
) -> None:
    """Save a macro named NAME."""
    if not actions:
        fail("--action: give at least one action", 2)
    chosen = (
        MacroScope(scope)
        if scope
        else (MacroScope.DEPARTMENT if department is not None else MacroScope.EVERYONE)
    )
    if department is not None and chosen is not MacroScope.DEPARTMENT:
        fail("--department: only a department's macro has one", 2)
    with open_services(state) as services:
        department_id = find_department(services.org, department).id if department else None
        steps = [_action(services, option) for option in actions]
        made = services.macros.create(
            SYSTEM_OPERATOR, CreateMacro(name, steps, chosen, department_id)
        )
    if as_json:
        _print(macro_document(made))
        return
    click.echo(f"created macro {made.name!r} (id {made.id}, {made.scope.value})")


@macros.command("show")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def macros_show(state: CliState, id_or_name: str, as_json: bool) -> None:
    """One macro and its actions, in order."""
    with open_services(state) as services:
        found = _find(services, id_or_name)
    document = macro_document(found)
    if as_json:
        _print(document)
        return
    click.echo(f"{found.name} (id {found.id})")
    click.echo(f"scope    {found.scope.value}")
    if found.department_id is not None:
        click.echo(f"dept     {found.department_id}")
    click.echo(f"version  {found.version}")
    click.echo("")
    for index, step in enumerate(document["actions"]):
        value = step["value"]
        shown = "" if value is None else f" = {json.dumps(value, ensure_ascii=False)}"
        click.echo(f"{index}. {step['action']}{shown}")


COMMANDS = (macros,)
