"""``helpdesk mailboxes imap`` and ``helpdesk mail poll``: fetching mailboxes' mail over IMAP.

``helpdesk mailboxes imap NAME`` shows, sets or clears where the worker fetches a mailbox's
mail (its IMAP server, account and folder, and what is done with a message once it is
stored); the password is read from standard input (``--password-stdin``), never from the
command line, stored sealed and never printed. ``helpdesk mail poll`` fetches new mail now
(``--once``, for cron or a check) or keeps polling each mailbox every
HELPDESK_MAIL_POLL_INTERVAL (a poller of its own, beside workers that poll too).

The commands are not registered here: ``imap`` belongs to the ``mailboxes`` group and
``poll`` to the ``mail`` group of ``entrypoints/cli/mail.py`` (``COMMANDS`` below names them
with their group). Both act as ``SYSTEM_OPERATOR`` through the same use cases as the API;
a refusal of the core exits 1 with one line naming the option it came from, bad usage 2.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any, NoReturn

import click

from entrypoints.bootstrap import Services
from entrypoints.cli.admin import json_option
from entrypoints.cli.admin.names import find_mailbox
from entrypoints.cli.admin.rows import report
from entrypoints.cli.main import CliState, cli_errors, fail
from entrypoints.cli.webhooks import keyed_services
from helpdesk_core.documents import mailbox_imap_document
from helpdesk_core.domain.errors import DependencyUnavailable, NotFound, ValidationFailed
from helpdesk_core.domain.mail import Mailbox
from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap, default_port
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.polling import POLL_LIMIT_DEFAULT, POLL_LIMIT_MAX

log = logging.getLogger("helpdesk.mail.poll")

_OPTIONS = {
    "host": "--host",
    "port": "--port",
    "security": "--security",
    "username": "--username",
    "password": "--password-stdin",
    "folder": "--folder",
    "move_to": "--move-to",
    "limit": "--limit",
}
_LOOP_PAUSE = 1.0  # seconds between two looks; the poller itself keeps to the interval


def _refused(refused: ValidationFailed) -> NoReturn:
    error = refused.errors[0] if refused.errors else None
    if error is None:
        fail(refused.detail)
    fail(f"{_OPTIONS.get(error.field, error.field)}: {error.message}")


def _find(services: Services, id_or_name: str) -> Mailbox:
    return find_mailbox(services.mailboxes.list(SYSTEM_OPERATOR), id_or_name)


def _current(services: Services, mailbox: Mailbox) -> MailboxImap | None:
    try:
        return services.mailbox_imap.get(SYSTEM_OPERATOR, mailbox.id)
    except NotFound:
        return None


def _whole(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        fail(f"{option} {text!r}: must be a whole number", 2)
    return int(raw)


def _password_from_stdin() -> str:
    """One line of standard input, its line ending removed (nothing else: spaces count)."""
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        fail("--password-stdin: standard input gave no password", 2)
    return password


def _describe(mailbox: Mailbox, config: MailboxImap) -> list[str]:
    then = (
        f"moves it to {config.move_to!r}"
        if config.move_to is not None
        else "marks it \\Seen and leaves it in the folder"
    )
    polled = (
        f"{config.polled_at.isoformat()}: {config.last_error or 'ok'}"
        if config.polled_at
        else "never"
    )
    state = (
        f"UIDVALIDITY {config.uidvalidity}, last UID {config.last_uid}"
        if config.uidvalidity is not None
        else "the folder was never read"
    )
    return [
        f"{mailbox.name} <{mailbox.address}> fetches over IMAP",
        f"server           {config.host}:{config.port} ({config.security.value})",
        f"account          {config.username} (password stored sealed)",
        f"folder           {config.folder}",
        f"once stored      the poller {then}",
        f"last poll        {polled}",
        f"read so far      {state}",
    ]


def _in_clear(config: MailboxImap) -> bool:
    """Whether the password crosses a network unprotected (security none, a host that is
    not this machine)."""
    if config.security != ImapSecurity.NONE:
        return False
    try:
        return not ipaddress.ip_address(config.host).is_loopback
    except ValueError:
        return config.host != "localhost"


# ---------------------------------------------------------------- helpdesk mailboxes imap


@click.command("imap")
@click.argument("id_or_name")
@click.option("--host", metavar="HOST", help="The IMAP server's host name or address.")
@click.option("--port", "port_text", metavar="PORT", help="Its port (993 for tls, else 143).")
@click.option(
    "--security",
    metavar="tls|starttls|none",
    help="IMAP over TLS (tls, the default), STARTTLS, or none (the password crosses the "
    "network readable: only for a server on this host or a network you trust).",
)
@click.option("--username", metavar="USER", help="The account to log in as.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the account's password from standard input (one line). Needed the first time; "
    "without it the stored password is kept.",
)
@click.option("--folder", metavar="FOLDER", help="The folder to fetch from (INBOX).")
@click.option(
    "--move-to", metavar="FOLDER", help="Move each stored message to FOLDER (made if missing)."
)
@click.option(
    "--mark-seen",
    is_flag=True,
    help="Mark each stored message \\Seen and leave it in the folder (the default).",
)
@click.option("--clear", is_flag=True, help="Forget the settings: stop fetching this mailbox.")
@json_option
@click.pass_obj
@cli_errors
def imap(
    state: CliState,
    id_or_name: str,
    host: str | None,
    port_text: str | None,
    security: str | None,
    username: str | None,
    password_stdin: bool,
    folder: str | None,
    move_to: str | None,
    mark_seen: bool,
    clear: bool,
    as_json: bool,
) -> None:
    """Show, set or clear where the worker fetches a mailbox's mail over IMAP.

    Without options it shows the settings and how far the poller got (never the password).
    Options change what they name and keep the rest, for example:

      printf '%s\\n' "$PASSWORD" | helpdesk mailboxes imap Support --host imap.example.com
      --username support@example.com --password-stdin --move-to "Helpdesk/Done"

    A new host, user name or folder makes the poller read the folder from its start (what
    was stored already is recognized). --clear stops fetching.
    """
    changes = (host, port_text, security, username, folder, move_to)
    changing = any(value is not None for value in changes) or password_stdin or mark_seen
    if clear and changing:
        fail("--clear takes no other option", 2)
    if move_to is not None and mark_seen:
        fail("--move-to and --mark-seen: give one of them", 2)
    port = _whole(port_text, "--port")
    with keyed_services(state) as services:
        mailbox = _find(services, id_or_name)
        current = _current(services, mailbox)
        if clear:
            cleared = services.mailbox_imap.clear(SYSTEM_OPERATOR, mailbox.id)
            word = "cleared the IMAP settings of" if cleared else "no IMAP settings to clear for"
            click.echo(f"{word} mailbox {mailbox.name} (id {mailbox.id})")
            return
        if not changing:
            if current is None:
                fail(f"mailbox {mailbox.name} has no IMAP settings (give --host, ...)")
            if as_json:
                report(True, mailbox_imap_document(current), "")
            else:
                click.echo("\n".join(_describe(mailbox, current)))
            return
        command = _merged(current, host, port, security, username, folder, move_to, mark_seen)
        if password_stdin:
            command = SetMailboxImap(**{**_fields(command), "password": _password_from_stdin()})
        try:
            config = services.mailbox_imap.set(SYSTEM_OPERATOR, mailbox.id, command)
        except ValidationFailed as refused:
            _refused(refused)
    if _in_clear(config):
        click.echo(
            f"warning: security none: the password goes to {config.host} unencrypted", err=True
        )
    what = "unchanged" if current is not None and config.version == current.version else "set"
    report(
        as_json,
        mailbox_imap_document(config),
        f"{what} the IMAP settings of mailbox {mailbox.name}: {config.username}@{config.host}:"
        f"{config.port} ({config.security.value}), folder {config.folder}",
    )


def _fields(command: SetMailboxImap) -> dict[str, Any]:
    return {
        "host": command.host,
        "username": command.username,
        "password": command.password,
        "port": command.port,
        "security": command.security,
        "folder": command.folder,
        "move_to": command.move_to,
    }


def _merged(
    current: MailboxImap | None,
    host: str | None,
    port: int | None,
    security: str | None,
    username: str | None,
    folder: str | None,
    move_to: str | None,
    mark_seen: bool,
) -> SetMailboxImap:
    """The whole settings: what the options give, the rest as stored (or the defaults)."""
    wanted_security = None if security is None else security.strip().lower()
    if current is None:
        if host is None or username is None:
            fail(
                "the first IMAP settings of a mailbox need --host, --username and --password-stdin",
                2,
            )
        return SetMailboxImap(
            host=host,
            username=username,
            port=port,
            security=wanted_security or ImapSecurity.TLS.value,
            folder=folder or "INBOX",
            move_to=move_to,
        )
    if port is None and current.port != default_port(current.security):
        port = current.port  # a port of its own stays; a default one follows --security
    return SetMailboxImap(
        host=host if host is not None else current.host,
        username=username if username is not None else current.username,
        port=port,
        security=wanted_security or current.security.value,
        folder=folder if folder is not None else current.folder,
        move_to=None if mark_seen else (move_to if move_to is not None else current.move_to),
    )


# ---------------------------------------------------------------- helpdesk mail poll


@click.command("poll")
@click.option("--once", is_flag=True, help="Poll every mailbox now, once, and exit.")
@click.option(
    "--limit",
    "limit_text",
    metavar="N",
    help=f"At most N messages per mailbox and poll ({POLL_LIMIT_DEFAULT}; at most "
    f"{POLL_LIMIT_MAX}).",
)
@click.pass_obj
@cli_errors
def poll(state: CliState, once: bool, limit_text: str | None) -> None:
    """Fetch new mail from the mailboxes' IMAP servers.

    The workers (`helpdesk worker`, and `helpdesk serve`'s own) poll already, each mailbox
    every HELPDESK_MAIL_POLL_INTERVAL; the mail fetched is processed by them. --once polls
    every mailbox now and exits 1 if any failed (each failure one line on stderr: for cron
    and checks). Without it, polls until SIGTERM or Ctrl-C, each mailbox at most once per
    interval, whichever process comes first.
    """
    from entrypoints.observability.logging import configure_logging

    given = _whole(limit_text, "--limit")
    limit = POLL_LIMIT_DEFAULT if given is None else given
    if not once:  # a long-running poller logs as the worker does; --once answers in lines
        configure_logging(state.settings.log_level, state.settings.json_logs)
    with keyed_services(state) as services:
        if once:
            try:
                fetched = services.mail_poller.poll(limit)
            except ValidationFailed as refused:
                _refused(refused)
            failed = _failures(services)
            click.echo(f"fetched {fetched} messages")
            for line in failed:
                click.echo(f"error: {line}", err=True)
            if failed:
                sys.exit(1)
            return
        _poll_until_stopped(services, limit)


def _failures(services: Services) -> list[str]:
    """``mailbox: last error`` of every active mailbox whose last poll failed."""
    lines = []
    for mailbox in services.mailboxes.list(SYSTEM_OPERATOR, active=True):
        config = _current(services, mailbox)
        if config is not None and config.last_error is not None:
            lines.append(f"mailbox {mailbox.name}: {config.last_error}")
    return lines


def _poll_until_stopped(services: Services, limit: int) -> None:
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("polling mailboxes over IMAP until stopped")
    try:
        while not stopping.is_set():
            try:
                services.mail_poller.poll_due(limit)
            except DependencyUnavailable as exc:
                log.warning("the database is away (%s): polling again shortly", exc.detail)
                stopping.wait(5.0)
            stopping.wait(_LOOP_PAUSE)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# What entrypoints/cli/mail.py registers: (the group's name, the command).
COMMANDS: tuple[tuple[str, click.Command], ...] = (("mailboxes", imap), ("mail", poll))
