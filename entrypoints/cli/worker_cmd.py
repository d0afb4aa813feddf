"""``helpdesk worker``: handle recorded events (mail, webhooks) until stopped."""

from __future__ import annotations

import click

from entrypoints.cli.failures import preflight, wait_option, warn_if_mail_is_not_sent
from entrypoints.cli.main import CliState, cli_errors


@click.command()
@click.option("--name", help="Worker name shown in leases and logs [host:pid].")
@click.option(
    "--until-idle",
    is_flag=True,
    help="Exit once a pass finds nothing to do (for scripts and cron).",
)
@wait_option
@click.pass_obj
@cli_errors
def worker(state: CliState, name: str | None, until_idle: bool, wait: float) -> None:
    """Deliver events: mail notifications and signed webhooks, with retries.

    Run as many as you like, on as many hosts as you like: they share the work through the
    database. SIGTERM or Ctrl-C stops gracefully. It starts only once the database answers
    (see --wait); an outage after that is waited out.
    """
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import ensure_secret_keys
    from entrypoints.observability.logging import configure_logging
    from entrypoints.worker.loop import run_foreground

    settings = state.settings
    configure_logging(settings.log_level, settings.json_logs)
    preflight(settings, wait)
    warn_if_mail_is_not_sent(settings)
    services = bootstrap(ensure_secret_keys(settings))
    try:
        handled = run_foreground(services, name, until_idle=until_idle)
    finally:
        services.close()
    if until_idle:
        click.echo(f"handled {handled} events and deliveries")
