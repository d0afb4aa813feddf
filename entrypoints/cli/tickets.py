"""``helpdesk tickets list|show``: read the ticket queue from the terminal.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator: every ticket,
internal notes included), through the same use cases as ``/api/v1/staff/tickets``. Lists are
keyset-paged like the API: a page ends with ``next: --cursor C`` when there are more, and the
cursor is the API's (``entrypoints.views.cursors``), so the two can be mixed. A ticket is
named by its number (``301``, ``#301``, as the tables print it) or its id (``_ticket_ref``).

Bad input (an unknown status, a malformed date or cursor, a limit above
``HELPDESK_PAGE_SIZE_MAX``) exits 2 with one line; a refusal of the core exits 1.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

# The name resolution and service plumbing of the organization commands, shared rather than
# copied (see the module docstring of admin.py for their rules).
from entrypoints.cli.admin import (
    as_uuid,
    find_department,
    find_staff,
    find_team_in,
    json_option,
    open_services,
)
from entrypoints.cli.main import CliState, cli_errors, emit, fail, page_options, parse_limit
from entrypoints.views.cursors import CursorRefused, decode_cursor, encode_cursor
from helpdesk_core.documents import detail_document, history_document, ticket_document
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import MessageVisibility, TicketPriority, TicketStatus
from helpdesk_core.domain.views import HistoryView, TicketDetail
from helpdesk_core.ports.tickets import SlaState, TicketQuery, TicketSort
from helpdesk_core.usecases.org import OrgService
from helpdesk_core.usecases.tickets import TicketService

STATUSES = tuple(s.value for s in TicketStatus)
PRIORITIES = tuple(p.value for p in TicketPriority)
SORTS = tuple(s.value for s in TicketSort)
SLA_STATES = tuple(s.value for s in SlaState)
LIST_COLUMNS = (
    "number",
    "id",
    "status",
    "priority",
    "department",
    "assignee",
    "subject",
    "created",
)
SUBJECT_WIDTH = 48
_NUMBER = re.compile(r"^#?\s*([0-9]{1,19})$")


# ---------------------------------------------------------------- parsing (exit 2 when bad)


def _choices(values: Sequence[str], allowed: Sequence[str], option: str) -> list[str]:
    """Each value (repeatable, or comma-separated) lower-cased and known, or exit 2."""
    chosen: list[str] = []
    for raw in values:
        for part in raw.split(","):
            value = part.strip().lower()
            if not value:
                continue
            if value not in allowed:
                fail(f"{option}: {part.strip()!r} is not one of {', '.join(allowed)}", 2)
            chosen.append(value)
    return chosen


def _moment(raw: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or timestamp; a date is midnight UTC, a timestamp without an offset
    is UTC."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        fail(
            f"{option}: {raw!r} is not an ISO 8601 date or timestamp "
            "(e.g. 2024-05-01 or 2024-05-01T09:30:00+02:00)",
            2,
        )
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _cursor(raw: str | None, sort: TicketSort, has_text: bool) -> tuple[Any, ...] | None:
    """The keyset position a previous page printed, checked against the shape of ``sort``."""
    if raw is None:
        return None
    try:
        value = decode_cursor(raw.strip())
    except CursorRefused:
        fail("--cursor: not a cursor that `tickets list` printed", 2)
    if not _cursor_fits(value, sort, has_text):
        fail("--cursor: this cursor belongs to another --sort or --search", 2)
    return value


def _cursor_fits(value: tuple[Any, ...], sort: TicketSort, has_text: bool) -> bool:
    def is_time(part: Any) -> bool:
        try:
            return isinstance(part, str) and datetime.fromisoformat(part).tzinfo is not None
        except ValueError:
            return False

    def is_id(part: Any) -> bool:
        return isinstance(part, str) and as_uuid(part) is not None

    if sort is TicketSort.RELEVANCE and has_text:
        return len(value) == 2 and isinstance(value[0], int | float) and is_id(value[1])
    if sort in {TicketSort.PRIORITY, TicketSort.PRIORITY_DESC}:
        return (
            len(value) == 3
            and isinstance(value[0], int)
            and 0 <= value[0] <= len(PRIORITIES) - 1
            and is_time(value[1])
            and is_id(value[2])
        )
    return len(value) == 2 and is_time(value[0]) and is_id(value[1])


def _ticket_ref(raw: str) -> uuid.UUID | int:
    """A ticket's id, or its number (``123`` or ``#123``, as the tables show it); anything
    else exits 2. Every command that takes a ticket takes either (``_find``)."""
    found = as_uuid(raw)
    if found is not None:
        return found
    match = _NUMBER.match(raw.strip())
    if match is None or int(match.group(1)) < 1:
        fail(f"{raw!r} is neither a ticket id nor a ticket number", 2)
    return int(match.group(1))


# ---------------------------------------------------------------- output shapes
# The documents are the API's (``helpdesk_core.documents``): `--json` prints exactly what
# the staff routes answer; the tables show a few of their fields.


def _name(reference: dict[str, Any] | None, key: str = "name") -> str | None:
    return reference[key] or reference["id"] if reference is not None else None


def _short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# ---------------------------------------------------------------- commands


@click.group()
def tickets() -> None:
    """Read tickets: the filtered queue, and one ticket in full.

    The terminal's operator is an administrator: every ticket, internal notes included.
    """


@tickets.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="|".join(STATUSES),
    help="Only this status (repeatable, or comma-separated).",
)
@click.option(
    "--priority",
    "priorities",
    multiple=True,
    metavar="|".join(PRIORITIES),
    help="Only this priority (repeatable, or comma-separated).",
)
@click.option("--department", metavar="NAME_OR_ID", help="Only this department's tickets.")
@click.option(
    "--team", metavar="NAME_OR_ID", help="Only this team's tickets (within --department if given)."
)
@click.option(
    "--assignee", metavar="EMAIL_OR_ID", help="Only tickets assigned to this staff member."
)
@click.option("--unassigned", is_flag=True, help="Only tickets nobody is assigned to.")
@click.option(
    "--created-from",
    metavar="ISO",
    help="Only tickets created at or after this date or timestamp (UTC unless an offset).",
)
@click.option(
    "--created-to", metavar="ISO", help="Only tickets created before this date or timestamp."
)
@click.option(
    "--search",
    metavar="TEXT",
    help="Only tickets whose subject, description or messages contain every word of TEXT.",
)
@click.option(
    "--sla",
    "sla_name",
    metavar="|".join(SLA_STATES),
    help="Only tickets whose service level is so now (breached: past a due time).",
)
@click.option(
    "--tag",
    "tag_names",
    multiple=True,
    metavar="NAME",
    help="Only tickets carrying this tag (repeat: every one of them).",
)
@click.option(
    "--sort",
    "sort_name",
    default=TicketSort.CREATED_DESC.value,
    show_default=True,
    metavar="|".join(SORTS),
    help=(
        "Order; '-' means descending. relevance: best --search match first. sla_due: the "
        "soonest service-level due time first (only tickets with one)."
    ),
)
@page_options("Tickets")
@json_option
@click.pass_obj
@cli_errors
def tickets_list(
    state: CliState,
    statuses: tuple[str, ...],
    priorities: tuple[str, ...],
    department: str | None,
    team: str | None,
    assignee: str | None,
    unassigned: bool,
    created_from: str | None,
    created_to: str | None,
    search: str | None,
    sla_name: str | None,
    tag_names: tuple[str, ...],
    sort_name: str,
    limit_text: str | None,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List tickets, newest first, a page at a time.

    The table shows number, id, status, priority, department, assignee, subject and creation
    time (UTC); when more tickets follow, the last line is `next: --cursor C`: run the same
    command with it for the next page. With --json: {"items": [...], "next_cursor": C|null}.
    """
    settings = state.settings
    wanted_statuses = _choices(statuses, STATUSES, "--status")
    wanted_priorities = _choices(priorities, PRIORITIES, "--priority")
    sort_value = _choices([sort_name], SORTS, "--sort")
    if len(sort_value) != 1:
        fail(f"--sort: give one of {', '.join(SORTS)}", 2)
    sort = TicketSort(sort_value[0])
    sla = None
    if sla_name is not None:
        sla_value = _choices([sla_name], SLA_STATES, "--sla")
        if len(sla_value) != 1:
            fail(f"--sla: give one of {', '.join(SLA_STATES)}", 2)
        sla = SlaState(sla_value[0])
    if assignee is not None and unassigned:
        fail("--assignee and --unassigned exclude each other", 2)
    start = _moment(created_from, "--created-from")
    end = _moment(created_to, "--created-to")
    limit = parse_limit(limit_text, settings.page_size_default, settings.page_size_max)
    text = search.strip() if search is not None and search.strip() else None
    after = _cursor(cursor, sort, text is not None)
    with open_services(state) as services:
        org = services.org
        scope = find_department(org, department) if department is not None else None
        query = TicketQuery(
            statuses=frozenset(TicketStatus(s) for s in wanted_statuses),
            priorities=frozenset(TicketPriority(p) for p in wanted_priorities),
            department_id=scope.id if scope is not None else None,
            team_id=find_team_in(org, team, scope).id if team is not None else None,
            assignee_id=find_staff(org, assignee).user.id if assignee is not None else None,
            unassigned=unassigned,
            created_from=start,
            created_to=end,
            text=text,
            sla=sla,
            tags=tag_names,
            sort=sort,
            after=after,
            limit=limit,
        )
        page = services.tickets.list_tickets(SYSTEM_OPERATOR, query)
    documents = [ticket_document(view) for view in page.items]
    next_cursor = encode_cursor(page.next_after) if page.next_after else None
    if as_json:
        click.echo(json.dumps({"items": documents, "next_cursor": next_cursor}, indent=2))
        return
    table = [
        {
            **document,
            "number": f"#{document['number']}",
            "department": _name(document["department"]),
            "assignee": _name(document["assignee"], "display_name"),
            "subject": _clip(document["subject"], SUBJECT_WIDTH),
            "created": _short_time(view.ticket.created_at),
        }
        for document, view in zip(documents, page.items, strict=True)
    ]
    emit(table, False, LIST_COLUMNS)
    if next_cursor is not None:
        click.echo(f"next: --cursor {next_cursor}")


@tickets.command("show")
@click.argument("number_or_id")
@json_option
@click.pass_obj
@cli_errors
def tickets_show(state: CliState, number_or_id: str, as_json: bool) -> None:
    """Show one ticket: its fields and description, the conversation (internal notes marked
    [internal]), its attachments and its history. NUMBER_OR_ID is the ticket's number as
    the tables show it (301 or '#301': quote it, # starts a comment in a shell) or its id.
    With --json: the ticket as GET /api/v1/staff/tickets/{id} answers (its history is
    `tickets history`)."""
    ref = _ticket_ref(number_or_id)
    with open_services(state) as services:
        service = services.tickets
        detail = _find(service, ref)
        if as_json:
            click.echo(json.dumps(detail_document(detail), indent=2))
            return
        history = service.history(SYSTEM_OPERATOR, detail.ticket.id)
        requester_email = _email(services.org, detail.ticket.requester_id)
    _print_detail(detail, history, requester_email)


@tickets.command("history")
@click.argument("number_or_id")
@json_option
@click.pass_obj
@cli_errors
def tickets_history(state: CliState, number_or_id: str, as_json: bool) -> None:
    """Show every recorded change of one ticket, oldest first. With --json: the list as
    GET /api/v1/staff/tickets/{id}/history answers."""
    ref = _ticket_ref(number_or_id)
    with open_services(state) as services:
        service = services.tickets
        history = service.history(SYSTEM_OPERATOR, _find(service, ref).ticket.id)
    if as_json:
        items = [history_document(entry) for entry in history]
        click.echo(json.dumps({"items": items, "next_cursor": None}, indent=2))
        return
    _print_history(history)


def _find(service: TicketService, ref: uuid.UUID | int) -> TicketDetail:
    """The ticket ``_ticket_ref`` named, by id or by number; exit 1 when there is none."""
    if isinstance(ref, uuid.UUID):
        return service.get_ticket(SYSTEM_OPERATOR, ref)
    try:
        return service.get_ticket_by_number(SYSTEM_OPERATOR, ref)
    except NotFound:
        fail(f"no such ticket: #{ref}")


def _email(org: OrgService, user_id: uuid.UUID) -> str | None:
    try:
        return org.account(user_id).user.email
    except NotFound:  # the header still shows the name
        return None


def _print_detail(
    detail: TicketDetail, history: Sequence[HistoryView], requester_email: str | None
) -> None:
    ticket, names = detail.ticket, detail.names
    echo = click.echo
    echo(f"#{ticket.number}  {ticket.subject}")
    requester = names.requester or str(ticket.requester_id)
    if requester_email:
        requester = f"{requester} <{requester_email}>"
    fields = (
        ("id", str(ticket.id)),
        ("status", ticket.status.value),
        ("priority", ticket.priority.value),
        ("requester", requester),
        ("department", names.department),
        ("team", names.team),
        ("assignee", names.assignee),
        ("created", _short_time(ticket.created_at)),
        ("updated", _short_time(ticket.updated_at)),
        ("closed", _short_time(ticket.closed_at) if ticket.closed_at else None),
        ("version", ticket.version),
    )
    for label, value in fields:
        echo(f"  {label:<12}{value if value is not None else '-'}")
    echo("")
    echo("Description")
    _indented(ticket.description)

    echo("")
    echo(f"Conversation ({len(detail.messages)})")
    if not detail.messages:
        echo("  (no messages)")
    for shown in detail.messages:
        message = shown.message
        who = shown.author_name or str(message.author_id)
        if message.author_id == ticket.requester_id:
            who += " (requester)"
        mark = "  [internal]" if message.visibility is MessageVisibility.INTERNAL else ""
        echo(f"  -- {_short_time(message.created_at)}  {who}{mark}")
        _indented(message.body, "     ")
        for attachment in message.attachments:
            size = _size(attachment.size_bytes)
            echo(f"     + {attachment.filename} ({attachment.mime_type}, {size})")

    echo("")
    echo(f"Attachments ({len(detail.attachments)})")
    if not detail.attachments:
        echo("  (none)")
    for attachment in detail.attachments:
        where = "on a message" if attachment.message_id else "on the ticket"
        echo(
            f"  {attachment.filename}  {attachment.mime_type}  {_size(attachment.size_bytes)}"
            f"  {where}  {attachment.url}"
        )

    echo("")
    _print_history(history)


def _print_history(history: Sequence[HistoryView]) -> None:
    click.echo(f"History ({len(history)})")
    for view in history:
        entry = view.entry
        who = view.actor_name or ("system" if entry.actor_id is None else str(entry.actor_id))
        click.echo(f"  {_short_time(entry.created_at)}  {who:<20} {_change(view)}")


def _change(view: HistoryView) -> str:
    entry = view.entry
    field = entry.field
    old = view.old_name or entry.old_value
    new = view.new_name or entry.new_value
    if field == "ticket":
        return f"ticket {new}"
    if field == "message":
        kind = (new or "").split(":", 1)[0]
        return "added an internal note" if kind == MessageVisibility.INTERNAL.value else "replied"
    if field == "attachment":
        return f"attached {new}"
    return f"{field}: {old or '-'} -> {new or '-'}"


def _indented(text: str, prefix: str = "  ") -> None:
    for line in text.splitlines() or [""]:
        click.echo(f"{prefix}{line}".rstrip())


COMMANDS: Sequence[click.Command] = (tickets,)
