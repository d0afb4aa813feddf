"""What the staff commands read from the person at the terminal, and how they name it back.

``read_password``: a hidden prompt with confirmation at a terminal; from a pipe, two lines
(without getpass's warnings about echo); with ``--password-stdin``, the first line.
``named_as_options``: a refusal of one field names the command's option, not the API's field.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click

from entrypoints.cli.main import fail
from helpdesk_core.domain.errors import ValidationFailed


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or a hidden prompt with confirmation."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: standard input is empty", 2)
        return line.removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        return _piped_password()
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return password


def _piped_password() -> str:
    """The password and its confirmation from lines of a standard input that is no terminal.

    getpass would warn about echo (a ``GetPassWarning`` naming a file of the standard library,
    and "Password input may be echoed"): nothing is echoed from a pipe.
    """
    while True:
        first = _piped_line("Password: ")
        if first == _piped_line("Repeat for confirmation: "):
            return first
        click.echo("Error: The two entered values do not match.", err=True)


def _piped_line(prompt: str) -> str:
    click.echo(prompt, err=True, nl=False)
    line = sys.stdin.readline()
    click.echo("", err=True)
    if not line:
        fail("standard input ended before the password was confirmed (or use --password-stdin)", 2)
    return line.removesuffix("\n").removesuffix("\r")


# The API's field names, as the staff commands' options spell them.
STAFF_OPTIONS = {
    "department_id": "--department",
    "team_id": "--team",
    "display_name": "--display-name",
    "email": "--email",
}


@contextmanager
def named_as_options(options: Mapping[str, str]) -> Iterator[None]:
    """A refusal of one field names the option that gave it (``--department``), not the API's
    field (``department_id``)."""
    try:
        yield
    except ValidationFailed as exc:
        if len(exc.errors) != 1 or exc.errors[0].field not in options:
            raise
        error = exc.errors[0]
        raise ValidationFailed(f"{options[error.field]}: {error.message}", exc.errors) from exc
