"""``helpdesk webhooks list|add|disable|deliveries|rotate-secret|reseal`` and
``helpdesk outbox status``.

The operator at the terminal acts as ``SYSTEM_OPERATOR`` (an administrator) through the same
use cases as ``/api/v1/admin/webhooks``: the same URL guard, the same event types, the same
errors. A webhook's signing secret is printed once, by ``add`` (or ``rotate-secret``, which
replaces it), and never again. Secrets are stored sealed with keys derived from
HELPDESK_SECRET_KEYS, so the commands that seal or open one run with the service's own keys
(the development key file when none is set), never a throwaway key.

``ID_OR_URL`` names a webhook by its id, or by its URL when exactly one webhook has it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from entrypoints.bootstrap import Services
from entrypoints.cli.admin import as_uuid, json_option, open_services, timestamp
from entrypoints.cli.main import CliState, cli_errors, emit, fail, page_options, parse_limit
from entrypoints.views.cursors import CursorRefused, decode_cursor
from entrypoints.views.pages import delivery_cursor, delivery_page
from helpdesk_core.documents import delivery_document, webhook_document
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.events import DeliveryCursor, Webhook, WebhookDelivery
from helpdesk_core.usecases.webhooks import SUBSCRIBABLE, CreateWebhook, WebhookService

WEBHOOK_COLUMNS = ("id", "url", "events", "active", "failures", "disabled_reason")
DELIVERY_COLUMNS = ("id", "event_type", "state", "attempts", "last_attempt", "next", "created")
ONCE_WARNING = (
    "warning: this is the only time the secret is shown; store it now "
    "(receivers verify the webhook-signature header with it)"
)


# ---------------------------------------------------------------- plumbing


@contextlib.contextmanager
def keyed_services(state: CliState) -> Iterator[Services]:
    """The services with the keys the server and the workers use (HELPDESK_SECRET_KEYS, or in
    development the generated key file), for commands that seal or open a webhook secret: a
    secret sealed with a throwaway key would be unreadable by every worker."""
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import ensure_secret_keys

    services = bootstrap(ensure_secret_keys(state.settings))
    try:
        yield services
    finally:
        services.close()


def _webhook(service: WebhookService, id_or_url: str) -> Webhook:
    """The webhook with this id, or the one webhook with this URL."""
    wanted = as_uuid(id_or_url)
    if wanted is not None:
        return service.get(SYSTEM_OPERATOR, wanted)
    url = id_or_url.strip()
    matches = [w for w in service.list(SYSTEM_OPERATOR) if w.url == url]
    if not matches:
        fail(f"no webhook with URL {url!r}")
    if len(matches) > 1:
        fail(f"{len(matches)} webhooks have URL {url!r}: give the webhook's id")
    return matches[0]


def _events(values: Sequence[str]) -> tuple[str, ...]:
    """The event types of ``--event`` (repeatable, or comma-separated), as given."""
    events = [part.strip() for raw in values for part in raw.split(",") if part.strip()]
    if not events:
        fail('--event: name at least one event type, or "*" for all', 2)
    return tuple(events)


def _cursor(raw: str | None) -> DeliveryCursor | None:
    if raw is None:
        return None
    try:
        return delivery_cursor(decode_cursor(raw.strip()))
    except CursorRefused:
        fail("--cursor: not a cursor that `webhooks deliveries` printed", 2)


def _short_time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def _age(seconds: float) -> str:
    """A duration as people read it: 42s, 5m 3s, 2h 10m, 3d 4h."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _webhook_table_row(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": ",".join(webhook.events),
        "active": webhook.is_active,
        "failures": webhook.consecutive_failures,
        "disabled_reason": webhook.disabled_reason,
    }


def _last_attempt(delivery: WebhookDelivery) -> str | None:
    if not delivery.attempt_log:
        return None
    last = delivery.attempt_log[-1]
    text = last.outcome.value
    if last.status_code is not None:
        text += f" {last.status_code}"
    return f"{text} ({last.duration_ms} ms)"


def _delivery_table_row(delivery: WebhookDelivery) -> dict[str, Any]:
    row = delivery_document(delivery)
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "state": row["state"],
        "attempts": row["attempts"],
        "last_attempt": _last_attempt(delivery),
        "next": _short_time(delivery.next_attempt_at) if row["next_attempt_at"] else None,
        "created": _short_time(delivery.created_at),
    }


# ---------------------------------------------------------------- webhooks


@click.group()
def webhooks() -> None:
    """Add, list and disable webhook endpoints; inspect their deliveries.

    A webhook receives the events it subscribes to, signed as the Standard Webhooks
    specification says. Name one by id, or by URL when only one webhook has it.
    """


@webhooks.command("list")
@json_option
@click.pass_obj
@cli_errors
def webhooks_list(state: CliState, as_json: bool) -> None:
    """List webhook endpoints, oldest first (never their secrets)."""
    with open_services(state) as services:
        items = services.webhooks.list(SYSTEM_OPERATOR)
    if as_json:
        emit([webhook_document(w) for w in items], True, WEBHOOK_COLUMNS)
    else:
        emit([_webhook_table_row(w) for w in items], False, WEBHOOK_COLUMNS)


@webhooks.command(
    "add",
    help=(
        "Add a webhook that POSTs the chosen events to URL, and print its signing secret once."
        "\n\nURL must be http(s) and reach only public addresses (no loopback, private, "
        "link-local or metadata address), unless HELPDESK_WEBHOOK_ALLOWLIST admits it."
        '\n\nEvent types: "*" (every one), ' + ", ".join(SUBSCRIBABLE) + "."
    ),
)
@click.argument("url")
@click.option(
    "--event",
    "-e",
    "events",
    multiple=True,
    required=True,
    metavar="TYPE",
    help='An event type to send (repeat it, or comma-separate); "*" sends every event.',
)
@click.option("--description", default="", help="A note for people: what receives it.")
@json_option
@click.pass_obj
@cli_errors
def webhooks_add(
    state: CliState, url: str, events: tuple[str, ...], description: str, as_json: bool
) -> None:
    """Add a webhook (the help text, with the event types, is given above)."""
    command = CreateWebhook(url=url, events=_events(events), description=description)
    with keyed_services(state) as services:
        created = services.webhooks.create(SYSTEM_OPERATOR, command)
    webhook = created.webhook
    if as_json:
        row = webhook_document(webhook) | {"secret": created.secret}
        click.echo(json.dumps(row, indent=2, default=str))
    else:
        click.echo(f"created webhook {webhook.id} for {webhook.url}")
        click.echo(f"events: {', '.join(webhook.events)}")
        click.echo(f"secret: {created.secret}")
    click.echo(ONCE_WARNING, err=True)


@webhooks.command("disable")
@click.argument("id_or_url")
@json_option
@click.pass_obj
@cli_errors
def webhooks_disable(state: CliState, id_or_url: str, as_json: bool) -> None:
    """Stop sending to a webhook (re-enable it over HTTP: PATCH {"active": true})."""
    with open_services(state) as services:
        current = _webhook(services.webhooks, id_or_url)
        updated = services.webhooks.disable(SYSTEM_OPERATOR, current.id)
    if as_json:
        click.echo(json.dumps(webhook_document(updated), indent=2, default=str))
    else:
        click.echo(f"disabled webhook {updated.id} ({updated.url})")


@webhooks.command("rotate-secret")
@click.argument("id_or_url")
@json_option
@click.pass_obj
@cli_errors
def webhooks_rotate_secret(state: CliState, id_or_url: str, as_json: bool) -> None:
    """Give a webhook a new signing secret and print it once; the old one signs nothing more.

    Give the new secret to the receiver: deliveries from now on, retries included, are signed
    with it. (After rotating HELPDESK_SECRET_KEYS, use `webhooks reseal` instead: it keeps
    every secret and only encrypts it again.)
    """
    with keyed_services(state) as services:
        current = _webhook(services.webhooks, id_or_url)
        rotated = services.webhooks.rotate_secret(SYSTEM_OPERATOR, current.id)
    if as_json:
        row = webhook_document(rotated.webhook) | {"secret": rotated.secret}
        click.echo(json.dumps(row, indent=2, default=str))
    else:
        click.echo(f"new secret for webhook {rotated.webhook.id} ({rotated.webhook.url})")
        click.echo(f"secret: {rotated.secret}")
    click.echo(ONCE_WARNING, err=True)


@webhooks.command("reseal")
@json_option
@click.pass_obj
@cli_errors
def webhooks_reseal(state: CliState, as_json: bool) -> None:
    """Encrypt every webhook secret again under the newest HELPDESK_SECRET_KEYS key.

    Run it after putting a new key first in HELPDESK_SECRET_KEYS (every process restarted with
    the new list), then remove the old key. It also encrypts secrets stored in plaintext by
    versions that did not encrypt them. Secrets do not change: receivers notice
    nothing. Exit 1 when a secret opens with no configured key (rotate that webhook's secret).
    """
    with keyed_services(state) as services:
        report = services.webhooks.reseal_secrets(SYSTEM_OPERATOR)
    unreadable = [str(i) for i in report.unreadable]
    if as_json:
        row = {"resealed": report.resealed, "current": report.current, "unreadable": unreadable}
        click.echo(json.dumps(row, indent=2))
    else:
        click.echo(
            f"re-encrypted {report.resealed} webhook secrets; "
            f"{report.current} already used the newest key"
        )
    if unreadable:
        fail(
            f"{len(unreadable)} webhook secrets open with no configured key (was a key removed "
            f"too early?): {', '.join(unreadable)}; restore the key, or run "
            "`helpdesk webhooks rotate-secret ID` for each"
        )


@webhooks.command("deliveries")
@click.argument("id_or_url")
@page_options("Deliveries")
@json_option
@click.pass_obj
@cli_errors
def webhooks_deliveries(
    state: CliState, id_or_url: str, limit_text: str | None, cursor: str | None, as_json: bool
) -> None:
    """A webhook's deliveries, newest first, a page at a time.

    The table shows each delivery's event type, state, attempts, last attempt (outcome, HTTP
    status, duration), next attempt and creation time (UTC); when more follow, the last line
    is `next: --cursor C`. With --json: {"items": [...], "next_cursor": C|null}, each item
    with its full attempt_log, as the API's deliveries route answers.
    """
    settings = state.settings
    limit = parse_limit(limit_text, settings.page_size_default, settings.page_size_max)
    after = _cursor(cursor)
    with open_services(state) as services:
        webhook = _webhook(services.webhooks, id_or_url)
        items, next_cursor = delivery_page(
            services.webhooks, SYSTEM_OPERATOR, webhook.id, limit, after
        )
    if as_json:
        body = {"items": [delivery_document(d) for d in items], "next_cursor": next_cursor}
        click.echo(json.dumps(body, indent=2, default=str))
        return
    emit([_delivery_table_row(d) for d in items], False, DELIVERY_COLUMNS)
    if next_cursor is not None:
        click.echo(f"next: --cursor {next_cursor}")


# ---------------------------------------------------------------- outbox


@click.group()
def outbox() -> None:
    """Inspect the event outbox (what the worker has still to do)."""


@outbox.command("status")
@json_option
@click.pass_obj
@cli_errors
def outbox_status(state: CliState, as_json: bool) -> None:
    """How many events wait and failed, how old the oldest waiting one is, and how many
    webhook deliveries wait to be sent."""
    with open_services(state) as services:
        stats, deliveries = services.webhooks.outbox_status(SYSTEM_OPERATOR)
        now = services.clock.now()
    oldest = stats.oldest_pending_at
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
    if as_json:
        row = {
            "pending": stats.pending,
            "failed": stats.failed,
            "oldest_pending_at": timestamp(oldest),
            "oldest_pending_age_seconds": round(age, 3) if age is not None else None,
            "deliveries_pending": deliveries,
        }
        click.echo(json.dumps(row, indent=2))
        return
    lines = [
        ("pending events", str(stats.pending)),
        ("failed events", str(stats.failed)),
        (
            "oldest pending",
            f"{_short_time(oldest)} UTC ({_age(age)} ago)"
            if oldest is not None and age is not None
            else "-",
        ),
        ("deliveries pending", str(deliveries)),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label.ljust(width)}  {value}")


COMMANDS: Sequence[click.Command] = (webhooks, outbox)
