"""``helpdesk tags list|rename|merge`` and ``helpdesk tickets tag``: tags from the terminal.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator) through the same
use cases as ``GET /api/v1/staff/tags``, ``PATCH /api/v1/admin/tags/{id}``, ``POST
/api/v1/admin/tags/{id}/merge`` and ``POST /api/v1/staff/tickets/{id}/tags``: the same rules
and errors, and ``--json`` prints the API's document. A tag is named by its id or its name
(regardless of case and spacing); a ticket by its number or id, as by ``tickets show``.
"""

from __future__ import annotations

import json
import uuid

import click

from entrypoints.cli.admin import json_option, open_services
from entrypoints.cli.main import CliState, cli_errors, emit, fail
from entrypoints.cli.tickets import _find, _ticket_ref, tickets
from helpdesk_core.documents import tag_document, ticket_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.tags import TagCount, tag_key
from helpdesk_core.usecases.tags import RenameTag, TagService
from helpdesk_core.usecases.tickets import ChangeTags

COLUMNS = ("name", "tickets", "id")


@click.group()
def tags() -> None:
    """Tags: list them with their counts, rename and merge them."""


def _find_tag(service: TagService, id_or_name: str) -> TagCount:
    """The tag with this id, or this name (any case and spacing); exit 1 when none has it."""
    try:
        return service.get(SYSTEM_OPERATOR, uuid.UUID(id_or_name))
    except ValueError:
        pass
    key = tag_key(id_or_name)
    found = [c for c in service.list(SYSTEM_OPERATOR, key or None) if c.tag.key == key]
    if not found:
        fail(f"no tag is named {id_or_name!r}")
    return found[0]


def _print(document: dict[str, object]) -> None:
    click.echo(json.dumps(document, indent=2))


@tags.command("list")
@click.option("--prefix", metavar="TEXT", help="Only tags whose name starts so.")
@json_option
@click.pass_obj
@cli_errors
def tags_list(state: CliState, prefix: str | None, as_json: bool) -> None:
    """Every tag, by name, with how many tickets carry it."""
    with open_services(state) as services:
        found = services.tags.list(SYSTEM_OPERATOR, prefix)
    documents = [tag_document(count) for count in found]
    emit(documents, as_json, COLUMNS)


@tags.command("rename")
@click.argument("id_or_name")
@click.argument("new_name")
@click.option("--merge", is_flag=True, help="When another tag has the new name, merge into it.")
@json_option
@click.pass_obj
@cli_errors
def tags_rename(
    state: CliState, id_or_name: str, new_name: str, merge: bool, as_json: bool
) -> None:
    """Rename a tag; every ticket carrying it shows the new name."""
    with open_services(state) as services:
        tag = _find_tag(services.tags, id_or_name).tag
        stays = services.tags.rename(
            SYSTEM_OPERATOR, tag.id, tag.version, RenameTag(new_name, merge)
        )
    if as_json:
        _print(tag_document(stays))
        return
    verb = "merged into" if stays.tag.id != tag.id else "renamed to"
    click.echo(f"{tag.name!r} {verb} {stays.tag.name!r} ({stays.tickets} tickets)")


@tags.command("merge")
@click.argument("source")
@click.argument("target")
@json_option
@click.pass_obj
@cli_errors
def tags_merge(state: CliState, source: str, target: str, as_json: bool) -> None:
    """Merge the tag SOURCE into TARGET: its tickets carry TARGET instead, and it is gone."""
    with open_services(state) as services:
        gone = _find_tag(services.tags, source).tag
        stays = services.tags.merge(
            SYSTEM_OPERATOR, gone.id, _find_tag(services.tags, target).tag.id
        )
    if as_json:
        _print(tag_document(stays))
        return
    click.echo(f"{gone.name!r} merged into {stays.tag.name!r} ({stays.tickets} tickets)")


@tickets.command("tag")
@click.argument("number_or_id")
@click.option("--add", "added", multiple=True, metavar="NAME", help="A tag to put on (repeat).")
@click.option(
    "--remove", "removed", multiple=True, metavar="NAME", help="A tag to take off (repeat)."
)
@json_option
@click.pass_obj
@cli_errors
def tickets_tag(
    state: CliState,
    number_or_id: str,
    added: tuple[str, ...],
    removed: tuple[str, ...],
    as_json: bool,
) -> None:
    """Put tags on a ticket and take tags off it; prints the tags it carries."""
    if not added and not removed:
        fail("name a tag with --add or --remove", 2)
    with open_services(state) as services:
        ticket = _find(services.tickets, _ticket_ref(number_or_id)).ticket
        view = services.tickets.change_tags(SYSTEM_OPERATOR, ticket.id, ChangeTags(added, removed))
    if as_json:
        _print(ticket_document(view, with_description=True))
        return
    click.echo(f"#{view.ticket.number}: {', '.join(view.ticket.tags) or '(no tags)'}")


COMMANDS = (tags,)
