"""``helpdesk users``: customer accounts from the terminal, and lifting login lockouts.

The operator acts as ``SYSTEM_OPERATOR`` through the same use case as the admin routes
(``/api/v1/admin/customers``), so the rules and errors are the same; ``--json`` prints a
customer exactly as the API answers it (``user_document``). A customer is named by email (any
case) or id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from entrypoints.cli.admin import as_uuid, json_option, open_services
from entrypoints.cli.main import CliState, cli_errors, emit, fail, page_options, parse_limit
from entrypoints.views.cursors import CursorRefused
from entrypoints.views.pages import customer_cursor, customer_page_json
from helpdesk_core.documents import user_document
from helpdesk_core.domain.entities import User
from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.usecases.customers import CustomerCursor, CustomerService

CUSTOMER_COLUMNS = ("id", "email", "display_name", "active", "erased", "created_at")


def find_customer(customers: CustomerService, email_or_id: str) -> User:
    """The customer with this id, or with this email (any case)."""
    wanted = as_uuid(email_or_id)
    if wanted is not None:
        return customers.get(SYSTEM_OPERATOR, wanted)
    return customers.find_by_email(SYSTEM_OPERATOR, email_or_id)


def _report(user: User, as_json: bool, message: str) -> None:
    if as_json:
        click.echo(json.dumps(user_document(user), indent=2))
    else:
        click.echo(message)


def _cursor(raw: str | None) -> CustomerCursor | None:
    if raw is None:
        return None
    try:
        return customer_cursor(raw.strip())
    except CursorRefused:
        fail("--cursor: not a cursor that `users list` printed", 2)


@click.group()
def users() -> None:
    """List and administer customer accounts; lift login lockouts.

    Customers are the accounts without a staff profile (staff are managed with `helpdesk
    staff`). Name a customer by email or id.
    """


@users.command("list")
@click.option("--active/--inactive", default=None, help="Only active (or deactivated) customers.")
@click.option("--email", "email_part", metavar="TEXT", help="Only emails containing TEXT.")
@page_options("Customers")
@json_option
@click.pass_obj
@cli_errors
def users_list(
    state: CliState,
    active: bool | None,
    email_part: str | None,
    limit_text: str | None,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Customers, oldest first, a page at a time.

    When more follow, the last line is `next: --cursor C`. With --json: {"items": [...],
    "next_cursor": C|null}, as the API's list answers.
    """
    settings = state.settings
    limit = parse_limit(limit_text, settings.page_size_default, settings.page_size_max)
    after = _cursor(cursor)
    with open_services(state) as services:
        try:
            page = services.customers.list(
                SYSTEM_OPERATOR,
                CustomerFilter(active=active, email_contains=email_part),
                after,
                limit,
            )
        except ValidationFailed as exc:
            fail(
                f"--{exc.errors[0].field}: {exc.errors[0].message}" if exc.errors else exc.detail, 2
            )
    body = customer_page_json(page)
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    emit(body["items"], False, CUSTOMER_COLUMNS)
    if body["next_cursor"] is not None:
        click.echo(f"next: --cursor {body['next_cursor']}")


@users.command("show")
@click.argument("email_or_id")
@json_option
@click.pass_obj
@cli_errors
def users_show(state: CliState, email_or_id: str, as_json: bool) -> None:
    """One customer account."""
    with open_services(state) as services:
        user = find_customer(services.customers, email_or_id)
    row = user_document(user)
    if as_json:
        click.echo(json.dumps(row, indent=2))
        return
    width = max(len(key) for key in row)
    for key, value in row.items():
        shown = (
            "-"
            if value is None
            else ("yes" if value is True else "no" if value is False else value)
        )
        click.echo(f"{key.ljust(width)}  {shown}")


def _set_active(state: CliState, email_or_id: str, active: bool, as_json: bool) -> None:
    with open_services(state) as services:
        user = find_customer(services.customers, email_or_id)
        changed = services.customers.set_active(SYSTEM_OPERATOR, user.id, active)
    verb = "reactivated" if active else "deactivated"
    if changed.version == user.version:
        verb = "already " + ("active" if active else "deactivated")
    _report(changed, as_json, f"{verb}: {changed.email} (id {changed.id})")


@users.command("deactivate")
@click.argument("email_or_id")
@json_option
@click.pass_obj
@cli_errors
def users_deactivate(state: CliState, email_or_id: str, as_json: bool) -> None:
    """Stop a customer from logging in; their sessions end at once."""
    _set_active(state, email_or_id, False, as_json)


@users.command("reactivate")
@click.argument("email_or_id")
@json_option
@click.pass_obj
@cli_errors
def users_reactivate(state: CliState, email_or_id: str, as_json: bool) -> None:
    """Let a deactivated customer log in again (not an erased one)."""
    _set_active(state, email_or_id, True, as_json)


@users.command("erase")
@click.argument("email_or_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_obj
@cli_errors
def users_erase(state: CliState, email_or_id: str, yes: bool, as_json: bool) -> None:
    """Erase a customer's personal data (a GDPR request); their tickets stay.

    The email, display name and password are replaced by placeholders, every session and
    reset link is deleted and the account deactivated; each of their tickets records the
    erasure in its history, and a `user.erased` event is sent. This cannot be undone.
    """
    with open_services(state) as services:
        user = find_customer(services.customers, email_or_id)
        if not yes:
            click.confirm(
                f"Erase the personal data of {user.email} (id {user.id})? This cannot be undone",
                abort=True,
                err=True,
            )
        erased = services.customers.erase(SYSTEM_OPERATOR, user.id)
    _report(erased, as_json, f"erased: customer {erased.id} is now {erased.email}")


@users.command("unlock")
@click.argument("email")
@click.pass_obj
@cli_errors
def users_unlock(state: CliState, email: str) -> None:
    """Lift the login lockout of an account (a customer's, or a staff member's) at once.

    After HELPDESK_LOGIN_RATE_LIMIT failed logins within HELPDESK_LOGIN_RATE_WINDOW an
    account answers 429 even to its right password; this forgets those failures. The
    per-address limit is not changed.
    """
    with open_services(state) as services:
        user = services.customers.unlock_account(SYSTEM_OPERATOR, email)
    click.echo(f"unlocked: {user.email}")


COMMANDS: Sequence[click.Command] = (users,)
