"""``helpdesk macros apply``: a macro on one or more tickets, each alone, from the terminal.

The operator acts as ``SYSTEM_OPERATOR`` (an administrator who is no member of the staff)
through the bulk use case (``POST /api/v1/staff/tickets/bulk``): each ticket in a transaction
of its own, all of the macro's actions or none. Actions only a member of the staff can take
(``assign_to_me``, ``follow``) are refused for the operator, per ticket. A ticket is named by
its number or id, as by ``tickets show``; a macro by its id or name. The command prints one
line per ticket (``#12 ok``, ``#13 refused: ...``) and exits 1 when any ticket was refused;
``--json`` prints the API's answer. ``--dry-run`` keeps nothing. The module adds the command
to the ``macros`` group (``entrypoints/cli/macros.py``); ``main.register_commands`` imports it.
"""

from __future__ import annotations

import json
import sys

import click

from entrypoints.cli.admin import json_option, open_services
from entrypoints.cli.macros import _find as find_macro
from entrypoints.cli.macros import macros
from entrypoints.cli.main import CliState, cli_errors, fail
from entrypoints.cli.tickets import _find as find_ticket
from entrypoints.cli.tickets import _ticket_ref
from helpdesk_core.documents import bulk_result_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.tickets.macros import BULK_MAX, BulkAction, BulkTicket


@macros.command("apply")
@click.argument("macro")
@click.argument("tickets", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Show what would change; keep nothing.")
@json_option
@click.pass_obj
@cli_errors
def macros_apply(
    state: CliState, macro: str, tickets: tuple[str, ...], dry_run: bool, as_json: bool
) -> None:
    """Apply MACRO to each of TICKETS (numbers or ids, at most 100), each alone."""
    if len(tickets) > BULK_MAX:
        fail(f"name at most {BULK_MAX} tickets", 2)
    with open_services(state) as services:
        chosen = find_macro(services, macro)
        found = [find_ticket(services.tickets, _ticket_ref(t)).ticket for t in tickets]
        action = BulkAction(
            tuple(BulkTicket(ticket.id) for ticket in found), macro_id=chosen.id, dry_run=dry_run
        )
        result = services.tickets.bulk(SYSTEM_OPERATOR, action)
    if as_json:
        click.echo(json.dumps(bulk_result_document(result), indent=2))
    else:
        numbers = {ticket.id: ticket.number for ticket in found}
        for item in result.items:
            said = "ok" if item.ok else f"refused: {item.error.detail if item.error else ''}"
            click.echo(f"#{numbers[item.ticket_id]} {said}" + (" (dry run)" if dry_run else ""))
    if not all(item.ok for item in result.items):
        sys.exit(1)
