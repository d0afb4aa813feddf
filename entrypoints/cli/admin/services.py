"""What every command acting as the operator needs: its services, built and closed per command,
and the ``--json`` option."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import click

from entrypoints.cli.main import CliState

if TYPE_CHECKING:
    from entrypoints.bootstrap import Services

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@contextmanager
def open_services(
    state: CliState, overrides: Mapping[Any, Any] | None = None
) -> Iterator[Services]:
    """The composition root's services for this command (with ``overrides`` of ports, as
    ``bootstrap`` takes them), closed afterwards."""
    from entrypoints.bootstrap import bootstrap

    settings = state.settings
    if not settings.secret_keys:
        # These commands sign no tokens: a throwaway key keeps bootstrap from warning about
        # (or, in production, refusing) a missing key that only the server needs.
        settings = attrs.evolve(settings, secret_keys=(secrets.token_urlsafe(48),))
    services = bootstrap(settings, overrides)
    try:
        yield services
    finally:
        services.close()
