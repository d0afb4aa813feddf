"""``helpdesk config show``: the effective configuration, secrets redacted."""

from __future__ import annotations

import click

from entrypoints.cli.main import CliState, cli_errors, emit
from entrypoints.config import VARIABLES


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@cli_errors
def show(state: CliState, as_json: bool) -> None:
    """Every HELPDESK_* variable with its effective value (secrets shown as ***)."""
    values = state.settings.redacted()
    rows = [
        {"variable": var.name, "value": values[var.name], "meaning": var.help} for var in VARIABLES
    ]
    emit(rows, as_json, ["variable", "value"] if not as_json else ["variable", "value", "meaning"])
