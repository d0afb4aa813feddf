"""``helpdesk tickets follow|unfollow|followers``: who is told of a ticket's conversation.

The terminal's operator is ``SYSTEM_OPERATOR``, an administrator who is no member of the staff:
it follows nothing itself, and makes the staff member ``--user`` names follow a ticket or stop,
as a lead does with ``PUT``/``DELETE /api/v1/staff/tickets/{id}/followers/{user_id}`` (the same
use cases and rules: ``usecases/tickets/followers.py``). A ticket is named by its number or id,
as by ``tickets show``. Each command prints who follows the ticket afterwards; ``--json``
prints it as ``GET /api/v1/staff/tickets/{id}/followers`` answers. The commands belong to the
``tickets`` group (``entrypoints/cli/tickets.py``); ``main.register_commands`` imports this
module to add them.
"""

from __future__ import annotations

import json
import uuid

import click

from entrypoints.bootstrap import Services
from entrypoints.cli.admin import find_staff, json_option, open_services
from entrypoints.cli.main import CliState, cli_errors, emit
from entrypoints.cli.tickets import _find, _short_time, _ticket_ref, tickets
from helpdesk_core.documents import followers_document
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.followers import TicketFollowers
from helpdesk_core.domain.principal import SYSTEM_OPERATOR

COLUMNS = ("name", "email", "reason", "since", "id")
user_option = click.option(
    "--user",
    "email",
    required=True,
    metavar="EMAIL",
    help="The staff member (email or user id); the terminal's operator follows nothing itself.",
)


@tickets.command("followers")
@click.argument("number_or_id")
@json_option
@click.pass_obj
@cli_errors
def tickets_followers(state: CliState, number_or_id: str, as_json: bool) -> None:
    """Show who follows a ticket: its assignee (who follows it while assigned), then the staff
    who follow it, by when they began. With --json: as GET
    /api/v1/staff/tickets/{id}/followers answers."""
    ref = _ticket_ref(number_or_id)
    with open_services(state) as services:
        ticket_id = _find(services.tickets, ref).ticket.id
        found = services.tickets.followers(SYSTEM_OPERATOR, ticket_id)
        _show(services, found, as_json)


@tickets.command("follow")
@click.argument("number_or_id")
@user_option
@json_option
@click.pass_obj
@cli_errors
def tickets_follow(state: CliState, number_or_id: str, email: str, as_json: bool) -> None:
    """Make the staff member --user follow a ticket: they are mailed its every public reply and
    internal note. They must be active and see the ticket; following twice changes nothing.
    Prints who follows it now."""
    ref = _ticket_ref(number_or_id)
    with open_services(state) as services:
        ticket_id = _find(services.tickets, ref).ticket.id
        user_id = find_staff(services.org, email).user.id
        found = services.tickets.follow(SYSTEM_OPERATOR, ticket_id, user_id)
        _show(services, found, as_json)


@tickets.command("unfollow")
@click.argument("number_or_id")
@user_option
@json_option
@click.pass_obj
@cli_errors
def tickets_unfollow(state: CliState, number_or_id: str, email: str, as_json: bool) -> None:
    """Stop the staff member --user following a ticket (an assignee still follows it while
    assigned). Prints who follows it now."""
    ref = _ticket_ref(number_or_id)
    with open_services(state) as services:
        ticket_id = _find(services.tickets, ref).ticket.id
        user_id = find_staff(services.org, email).user.id
        found = services.tickets.unfollow(SYSTEM_OPERATOR, ticket_id, user_id)
        _show(services, found, as_json)


def _show(services: Services, found: TicketFollowers, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(followers_document(found), indent=2))
        return
    rows = [
        {
            "name": item.display_name or "-",
            "email": _email(services, item.user_id),
            "reason": item.reason.value,
            "since": _short_time(item.since),
            "id": str(item.user_id),
        }
        for item in found.items
    ]
    emit(rows, False, COLUMNS)


def _email(services: Services, user_id: uuid.UUID) -> str | None:
    try:
        return services.org.account(user_id).user.email
    except NotFound:
        return None
