"""``helpdesk mail ingest`` (a mail transfer agent pipes each message into it) and
``helpdesk mail process`` (process what was received, without a worker running).

``ingest`` speaks to the MTA in exit codes (sysexits), because that is all a pipe delivery
reads: 0 when the message is stored (or was already: the same message delivered twice is one
message), 65 (EX_DATAERR) for a message the helpdesk will never take (empty, larger than
``HELPDESK_MAIL_MAX_BYTES``), 67 (EX_NOUSER) for a mailbox that does not exist or is
deactivated, and 75 (EX_TEMPFAIL) for everything else (the database away, a bad configuration,
a disk full): the MTA keeps the message and tries again, so nothing is lost while the helpdesk
is down. Postfix, for one, bounces on 65 and 67 and defers on 75. One line on stderr says why.

    # /etc/aliases (Postfix, sendmail): every mail to support@ goes to the helpdesk
    support: "|/opt/helpdesk/.venv/bin/helpdesk mail ingest --mailbox support"
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from entrypoints.cli.admin import open_services
from entrypoints.cli.main import CliState, cli_errors
from entrypoints.cli.webhooks import keyed_services
from helpdesk_core.documents import inbound_email_document
from helpdesk_core.domain.errors import NotFound, ValidationFailed
from helpdesk_core.domain.mail import InboundVia

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75


def _exit(code: int, message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("ingest")
@click.option(
    "--mailbox",
    "mailbox_name",
    required=True,
    help="the mailbox the message was delivered to: its name or address",
)
@click.option("--json", "as_json", is_flag=True, help="print the stored message's document")
@click.pass_obj
def ingest(state: CliState, mailbox_name: str, as_json: bool) -> None:
    """Store the message on standard input as received at MAILBOX; the worker processes it.

    Exit codes for the mail transfer agent: 0 stored (or already stored), 65 a message never
    taken (empty, too large), 67 no such active mailbox, 75 try again later."""
    raw = sys.stdin.buffer.read()
    try:
        with open_services(state) as services:
            mailbox = services.mail_intake.mailbox(mailbox_name)
            received = services.mail_intake.receive(mailbox.id, raw, InboundVia.PIPE)
    except ValidationFailed as exc:
        _exit(EX_DATAERR, exc.detail)
    except NotFound as exc:
        _exit(EX_NOUSER, exc.detail)
    except SystemExit:
        raise
    except Exception as exc:  # anything else: the MTA keeps the message and retries
        _exit(EX_TEMPFAIL, f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    if as_json:
        document = {
            "email": inbound_email_document(received.email),
            "duplicate": received.duplicate,
        }
        click.echo(json.dumps(document, indent=2))
    elif received.duplicate:
        click.echo(f"already stored: {received.email.id}")
    else:
        click.echo(f"stored: {received.email.id}")


@click.command("process")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.pass_obj
@cli_errors
def process(state: CliState, limit: int) -> None:
    """Process up to LIMIT received messages now (the worker does this on its own: for a
    setup without one, or a cron job)."""
    # The workers' keys (in development the generated key file): reply addresses are checked
    # with them.
    with keyed_services(state) as services:
        count = services.mail.process_pending(limit)
    click.echo(f"processed {count} message{'s' if count != 1 else ''}")
