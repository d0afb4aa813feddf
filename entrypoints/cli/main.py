"""The ``helpdesk`` command: serve, migrate, inspect configuration (and, later, administer).

Exit codes: 0 success, 1 a refused operation (a domain error), 2 bad usage or configuration.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from entrypoints.config import ConfigError, Settings, load_settings
from helpdesk_core.domain.errors import DependencyUnavailable, DomainError

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """Per-invocation state: where settings come from, loaded on first use."""

    def __init__(self, env_file: str | None) -> None:
        self.env_file = env_file
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(env_file=self.env_file)
        return self._settings

    @property
    def database_url(self) -> str | None:
        """The configured database URL once settings are loaded (names the server in errors)."""
        return self._settings.database_url if self._settings is not None else None


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """``--limit``: the default when absent; exit 2 unless a whole number from 1 to maximum."""
    if raw is None:
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        fail(f"--limit: {raw!r} is not a whole number", 2)
    value = int(text)
    if not 1 <= value <= maximum:
        fail(f"--limit: must be from 1 to {maximum} (HELPDESK_PAGE_SIZE_MAX)", 2)
    return value


def page_options(noun: str) -> Callable[[F], F]:
    """``--limit`` and ``--cursor``, alike on every command that lists a page of ``noun``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--cursor", metavar="C", help="Continue after the page that printed `next: ...`."
        )(command)
        return click.option(
            "--limit",
            "limit_text",
            metavar="N",
            help=f"{noun} per page (default HELPDESK_PAGE_SIZE_DEFAULT, at most "
            "HELPDESK_PAGE_SIZE_MAX).",
        )(command)

    return decorate


def cli_errors(func: F) -> F:
    """Turn configuration and domain errors into one line and the documented exit code, and a
    failure of the database, Redis, mail or a missing driver into one line naming its cause
    (``entrypoints/cli/failures.py``), never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from entrypoints.cli.failures import PreflightFailed, describe_failure

        state = next((arg for arg in args if isinstance(arg, CliState)), None)
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), 2)
        except PreflightFailed as exc:
            fail(str(exc), 1)
        except DependencyUnavailable as exc:
            url = state.database_url if state is not None else None
            fail(describe_failure(exc, url) or f"{exc.detail} ({exc.dependency})", 1)
        except DomainError as exc:
            fail(exc.detail, 1)
        except Exception as exc:
            message = describe_failure(exc, state.database_url if state is not None else None)
            if message is None:
                raise
            fail(message, 1)
        return None

    return wrapper  # type: ignore[return-value]


def emit(
    rows: Sequence[dict[str, Any]],
    as_json: bool,
    columns: Sequence[str],
    documents: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Print rows as an aligned table, or with ``--json`` the entities' ``documents`` (the
    API's shape; the rows when not given), a JSON list."""
    if as_json:
        click.echo(json.dumps(list(rows if documents is None else documents), indent=2))
        return
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(_cell(row.get(c)).ljust(widths[c]) for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    default=".env",
    show_default=True,
    help="A .env file to read HELPDESK_* variables from (the environment wins).",
)
@click.version_option(package_name="helpdesk")
@click.pass_context
def cli(ctx: click.Context, env_file: str) -> None:
    """helpdesk: a support-ticket service (REST API, worker and admin commands)."""
    ctx.obj = CliState(env_file)


def register_commands() -> click.Group:
    """Attach every sub-command (kept out of import time: ``serve`` must import late)."""
    from entrypoints.cli import (
        admin,
        canned,
        config_cmd,
        db,
        demo,
        followers,  # noqa: F401 - adds follow, unfollow and followers to the tickets group
        macro_apply,  # noqa: F401 - adds apply to the macros group
        macros,
        mail,
        serve,
        sla,
        tags,  # also adds tag to the tickets group
        tickets,
        users,
        webhooks,
        worker_cmd,
    )

    for command in (
        serve.serve,
        worker_cmd.worker,
        db.db,
        config_cmd.config,
        *admin.COMMANDS,
        *tickets.COMMANDS,
        *webhooks.COMMANDS,
        *demo.COMMANDS,
        *users.COMMANDS,
        *sla.COMMANDS,
        *tags.COMMANDS,
        *mail.COMMANDS,
        *canned.COMMANDS,
        *macros.COMMANDS,
    ):
        cli.add_command(command)
    return cli


def main() -> None:
    """Console-script entry point."""
    register_commands()(prog_name="helpdesk")
