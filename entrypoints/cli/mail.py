"""``helpdesk mailboxes`` and ``helpdesk mail``: the email channel from the terminal.

``helpdesk mailboxes add|list|show|update|deactivate`` keeps the addresses the helpdesk
receives mail at; ``helpdesk mail received`` lists what arrived and what became of it (the
``mail`` group is where the other mail commands go too). The operator at the terminal acts as
``SYSTEM_OPERATOR`` (an administrator) through the same use cases as
``/api/v1/admin/mailboxes`` and ``/api/v1/admin/received-mail``: the same rules, the same
errors, and ``--json`` prints the API's document. A mailbox is named by its id (a UUID), its
address or its name (any case and spacing); a department by its id or name.

Bad input to an option (a ``--reopen-days`` that is not a whole number, ``--department`` with
``--no-department``, an unknown ``--status``) exits 2 with one line; a refusal of the core
exits 1 with one line naming the option it came from (``--reopen-days '4000': must be a
whole number from 0 to 3650``), and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import click

from entrypoints.cli import mail_imap, mail_ingest
from entrypoints.cli.admin import department_names, find_department, json_option, open_services
from entrypoints.cli.admin.names import find_mailbox
from entrypoints.cli.admin.rows import report
from entrypoints.cli.main import CliState, cli_errors, emit, fail
from entrypoints.cli.webhooks import keyed_services
from helpdesk_core.documents import inbound_email_document, mailbox_document
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.mail import InboundStatus, Mailbox, UnknownSenders
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.mail.mailboxes import (
    RECEIVED_LIMIT_MAX,
    CreateMailbox,
    MailboxService,
    UpdateMailbox,
)

MAILBOX_COLUMNS = (
    "id",
    "name",
    "address",
    "department",
    "unknown_senders",
    "reopen_days",
    "active",
)
RECEIVED_COLUMNS = ("received_at", "mailbox", "status", "outcome", "sender", "subject", "ticket")
RECEIVED_LIMIT_DEFAULT = 50
_UNKNOWN_SENDERS = {
    UnknownSenders.CREATE: "create (a customer account is made for the sender)",
    UnknownSenders.HOLD: "hold (held for review: helpdesk mail received --status held)",
}


# ---------------------------------------------------------------- reading the options


def _find(mailboxes: MailboxService, id_or_name: str) -> Mailbox:
    return find_mailbox(mailboxes.list(SYSTEM_OPERATOR), id_or_name)


def _days(text: str | None) -> int | None:
    """``--reopen-days``: a whole number, 0 or more (the core checks its range)."""
    if text is None:
        return None
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        fail(f"--reopen-days {text!r}: must be a whole number of days, 0 or more", 2)
    return int(raw)


def _refused(refused: ValidationFailed, sources: dict[str, str]) -> NoReturn:
    """Exit 1 with the core's refusal, its field named as the option that gave it."""
    error = refused.errors[0] if refused.errors else None
    if error is None:
        fail(refused.detail)
    fail(f"{sources.get(error.field, error.field)}: {error.message}")


def _sources(**given: str | None) -> dict[str, str]:
    """The option each field of a command came from, with its value as given."""
    options = {
        "name": "--name",
        "address": "--address",
        "department_id": "--department",
        "unknown_senders": "--unknown-senders",
        "reopen_days": "--reopen-days",
    }
    return {
        field: option if given.get(field) is None else f"{option} {given[field]!r}"
        for field, option in options.items()
    }


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


# ---------------------------------------------------------------- mailboxes


@click.group()
def mailboxes() -> None:
    """Add, list, show, change and deactivate mailboxes.

    A mailbox is an address the helpdesk receives mail at: new mail to it becomes a ticket of
    its department (none: unrouted), mail from an unknown address makes a customer account or
    is held for review, and a reply within its reopen days reopens a resolved ticket. A
    mailbox is never deleted, only deactivated.
    """


@mailboxes.command("add")
@click.argument("name")
@click.argument("address")
@click.option("--department", metavar="NAME_OR_ID", help="Where new mail goes (none: unrouted).")
@click.option(
    "--unknown-senders",
    metavar="create|hold",
    help="Mail from an address no account has: make a customer account for the sender "
    "(create, the default) or hold it for review (hold).",
)
@click.option(
    "--reopen-days",
    metavar="DAYS",
    help="A reply mailed this many days after a resolved ticket last changed still reopens "
    "it (14; 0 never).",
)
@json_option
@click.pass_obj
@cli_errors
def mailboxes_add(
    state: CliState,
    name: str,
    address: str,
    department: str | None,
    unknown_senders: str | None,
    reopen_days: str | None,
    as_json: bool,
) -> None:
    """Add a mailbox named NAME receiving mail at ADDRESS (names and addresses are unique)."""
    days = _days(reopen_days)
    sources = {
        **_sources(
            department_id=department, unknown_senders=unknown_senders, reopen_days=reopen_days
        ),
        "name": "NAME",
        "address": "ADDRESS",
    }
    with open_services(state) as services:
        routed = find_department(services.org, department) if department is not None else None
        command = CreateMailbox(
            name=name,
            address=address,
            department_id=None if routed is None else routed.id,
            **_given(unknown_senders=_lower(unknown_senders), reopen_days=days),
        )
        try:
            mailbox = services.mailboxes.create(SYSTEM_OPERATOR, command)
        except ValidationFailed as refused:
            _refused(refused, sources)
    where = f"new mail to {routed.name}" if routed is not None else "new mail unrouted"
    report(
        as_json,
        mailbox_document(mailbox),
        f"created mailbox {mailbox.name} <{mailbox.address}> (id {mailbox.id}): {where}",
    )


def _given(**parts: Any) -> dict[str, Any]:
    """The parts given (not None): the others take the command's defaults."""
    return {name: value for name, value in parts.items() if value is not None}


def _lower(text: str | None) -> str | None:
    return None if text is None else text.strip().lower()


@mailboxes.command("list")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) ones.")
@json_option
@click.pass_obj
@cli_errors
def mailboxes_list(state: CliState, active: bool | None, as_json: bool) -> None:
    """List mailboxes by name."""
    with open_services(state) as services:
        found = services.mailboxes.list(SYSTEM_OPERATOR, active)
        departments = department_names(services.org)
    documents = [mailbox_document(m) for m in found]
    rows = [
        {**d, "department": departments.get(m.department_id) if m.department_id else None}
        for m, d in zip(found, documents, strict=True)
    ]
    emit(rows, as_json, MAILBOX_COLUMNS, documents)


@mailboxes.command("show")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def mailboxes_show(state: CliState, id_or_name: str, as_json: bool) -> None:
    """One mailbox (by id, address or name): where its mail goes and what it does."""
    with open_services(state) as services:
        mailbox = _find(services.mailboxes, id_or_name)
        departments = department_names(services.org)
    if as_json:
        _print(mailbox_document(mailbox))
        return
    state_word = "active" if mailbox.is_active else "deactivated"
    department = (
        departments.get(mailbox.department_id, str(mailbox.department_id))
        if mailbox.department_id
        else "none (new mail is unrouted)"
    )
    click.echo(f"{mailbox.name} (id {mailbox.id})")
    click.echo(f"address          {mailbox.address}")
    click.echo(f"department       {department}")
    click.echo(f"unknown senders  {_UNKNOWN_SENDERS[mailbox.unknown_senders]}")
    click.echo(f"reopen days      {mailbox.reopen_days}")
    click.echo(f"state            {state_word}, version {mailbox.version}")


@mailboxes.command("update")
@click.argument("id_or_name")
@click.option("--name", "new_name", metavar="NAME", help="A new name.")
@click.option("--address", metavar="ADDRESS", help="A new address.")
@click.option("--department", metavar="NAME_OR_ID", help="Send new mail to this department.")
@click.option("--no-department", is_flag=True, help="Leave new mail unrouted.")
@click.option("--unknown-senders", metavar="create|hold", help="create or hold.")
@click.option("--reopen-days", metavar="DAYS", help="Days a reply still reopens (0 never).")
@click.option("--active/--inactive", default=None, help="Reactivate (or deactivate) it.")
@json_option
@click.pass_obj
@cli_errors
def mailboxes_update(
    state: CliState,
    id_or_name: str,
    new_name: str | None,
    address: str | None,
    department: str | None,
    no_department: bool,
    unknown_senders: str | None,
    reopen_days: str | None,
    active: bool | None,
    as_json: bool,
) -> None:
    """Change a mailbox: only what the options name changes."""
    if department is not None and no_department:
        fail("--department and --no-department: give one of them", 2)
    changes = (new_name, address, department, unknown_senders, reopen_days, active)
    if all(change is None for change in changes) and not no_department:
        fail(
            "give at least one change: --name, --address, --department, --no-department, "
            "--unknown-senders, --reopen-days, --active or --inactive",
            2,
        )
    days = _days(reopen_days)
    sources = _sources(
        name=new_name,
        address=address,
        department_id=department,
        unknown_senders=unknown_senders,
        reopen_days=reopen_days,
    )
    with open_services(state) as services:
        current = _find(services.mailboxes, id_or_name)
        routed = find_department(services.org, department) if department is not None else None
        command = UpdateMailbox(
            name=new_name,
            address=address,
            department_id=None if routed is None else routed.id,
            unknown_senders=_lower(unknown_senders),
            reopen_days=days,
            active=active,
            change_department=routed is not None or no_department,
        )
        try:
            changed = services.mailboxes.update(
                SYSTEM_OPERATOR, current.id, current.version, command
            )
        except ValidationFailed as refused:
            _refused(refused, sources)
    what = "unchanged" if changed.version == current.version else "updated"
    report(
        as_json,
        mailbox_document(changed),
        f"{what} mailbox {changed.name} <{changed.address}> (id {changed.id})",
    )


@mailboxes.command("deactivate")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def mailboxes_deactivate(state: CliState, id_or_name: str, as_json: bool) -> None:
    """Deactivate a mailbox: mail to it is refused from now on (nothing is deleted)."""
    with open_services(state) as services:
        current = _find(services.mailboxes, id_or_name)
        changed = services.mailboxes.deactivate(SYSTEM_OPERATOR, current.id, current.version)
    already = "already " if changed.version == current.version else ""
    report(
        as_json,
        mailbox_document(changed),
        f"{already}deactivated mailbox {changed.name} (id {changed.id})",
    )


@mailboxes.command("secret")
@click.argument("id_or_name")
@json_option
@click.pass_obj
@cli_errors
def mailboxes_secret(state: CliState, id_or_name: str, as_json: bool) -> None:
    """Give a mailbox a new secret for mail a provider POSTs to /api/v1/inbound/email, and
    print it once; the old one stops working at once."""
    with keyed_services(state) as services:
        current = _find(services.mailboxes, id_or_name)
        rotated = services.mailboxes.rotate_inbound_secret(SYSTEM_OPERATOR, current.id)
    if as_json:
        _print({"mailbox": mailbox_document(rotated.mailbox), "secret": rotated.secret})
    else:
        click.echo(f"new inbound secret for mailbox {rotated.mailbox.name} (id {current.id})")
        click.echo(f"secret: {rotated.secret}")
    click.echo(
        "warning: this is the only time the secret is shown; store it now (the provider signs"
        " what it POSTs with it)",
        err=True,
    )


# ---------------------------------------------------------------- mail


@click.group("mail")
def mail() -> None:
    """The email channel: what was received, and what became of it."""


def _status(text: str | None) -> InboundStatus | None:
    if text is None:
        return None
    try:
        return InboundStatus(text.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in InboundStatus)
        fail(f"--status {text!r}: must be one of {known}", 2)


def _limit(text: str | None) -> int:
    if text is None:
        return RECEIVED_LIMIT_DEFAULT
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        fail(f"--limit {text!r}: must be a whole number from 1 to {RECEIVED_LIMIT_MAX}", 2)
    return int(raw)


def _received_rows(
    documents: Iterable[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {**d, "mailbox": names.get(d["mailbox_id"], d["mailbox_id"]), "ticket": d["ticket_id"]}
        for d in documents
    ]


@mail.command("received")
@click.option("--mailbox", metavar="NAME_OR_ID", help="Only what this mailbox received.")
@click.option(
    "--status",
    metavar="STATUS",
    help="Only messages in this status: pending, processed, ignored, held (an unknown sender "
    "waiting for review), failed.",
)
@click.option("--limit", "limit_text", metavar="N", help="At most N messages (50; at most 200).")
@json_option
@click.pass_obj
@cli_errors
def mail_received(
    state: CliState,
    mailbox: str | None,
    status: str | None,
    limit_text: str | None,
    as_json: bool,
) -> None:
    """List the latest received messages, newest first.

    When each arrived, at which mailbox, from whom, and what became of it (its status, the
    outcome, its ticket); --json prints {"items": [...]} as GET /api/v1/admin/received-mail.
    """
    wanted, count = _status(status), _limit(limit_text)
    with open_services(state) as services:
        chosen = _find(services.mailboxes, mailbox) if mailbox is not None else None
        try:
            found = services.mailboxes.received(
                SYSTEM_OPERATOR,
                mailbox_id=None if chosen is None else chosen.id,
                status=wanted,
                limit=count,
            )
        except ValidationFailed as refused:
            _refused(refused, {"limit": f"--limit {limit_text!r}"})
        names = {str(m.id): m.name for m in services.mailboxes.list(SYSTEM_OPERATOR)}
    documents = [inbound_email_document(email) for email in found]
    if as_json:
        _print({"items": documents})
        return
    emit(_received_rows(documents, names), False, RECEIVED_COLUMNS)


mail.add_command(mail_ingest.ingest)
mail.add_command(mail_ingest.process)
mail.add_command(mail_imap.poll)
mailboxes.add_command(mail_imap.imap)

COMMANDS: Sequence[click.Command] = (mailboxes, mail)
