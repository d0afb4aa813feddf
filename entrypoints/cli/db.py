"""``helpdesk db``: apply, revert and inspect database migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from entrypoints.cli.main import CliState, cli_errors, fail
from entrypoints.config import Settings


def _require_sql(settings: Settings) -> None:
    if settings.database_url.startswith("memory:"):
        fail("the memory:// store has no migrations (it starts empty in each process)", 2)


@contextmanager
def _engine(settings: Settings) -> Iterator[Any]:
    _require_sql(settings)
    from adapters.sql.engine import create_engine
    from adapters.sql.errors import translate_errors

    engine = create_engine(settings.database_url)
    try:
        with translate_errors():
            yield engine
    finally:
        engine.dispose()


@click.group()
def db() -> None:
    """Apply, revert and inspect database migrations."""


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
@cli_errors
def upgrade(state: CliState, revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from entrypoints.bootstrap import migrate_to_head

    _require_sql(state.settings)
    if revision == "head":
        click.echo(f"database at {migrate_to_head(state.settings)}")
        return
    from adapters.sql.migrate import current
    from adapters.sql.migrate import upgrade as do_upgrade

    with _engine(state.settings) as engine:
        _run_alembic(do_upgrade, engine, revision)
        click.echo(f"database at {current(engine)}")


@db.command(context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.pass_obj
@cli_errors
def downgrade(state: CliState, revision: str) -> None:
    """Migrate the database down to REVISION: an id, -1 for one step, or base (no tables)."""
    from adapters.sql.migrate import current
    from adapters.sql.migrate import downgrade as do_downgrade

    with _engine(state.settings) as engine:
        _run_alembic(do_downgrade, engine, revision)
        click.echo(f"database at {current(engine) or 'base'}")


@db.command("current")
@click.pass_obj
@cli_errors
def current_cmd(state: CliState) -> None:
    """Print the database's revision and the newest one this release knows."""
    from adapters.sql.migrate import current, head

    with _engine(state.settings) as engine:
        revision = current(engine)
        latest = head()
        status = "up to date" if revision == latest else f"behind (head is {latest})"
        click.echo(f"{revision or 'base'} ({status})")


@db.command()
@click.pass_obj
@cli_errors
def check(state: CliState) -> None:
    """Exit 1 unless the database is at head and matches the schema exactly."""
    from adapters.sql.migrate import check as do_check
    from adapters.sql.migrate import current, head

    with _engine(state.settings) as engine:
        revision, latest = current(engine), head()
        if revision != latest:
            fail(
                f"database is at {revision or 'base'}, head is {latest}: run `helpdesk db upgrade`"
            )
        differences = do_check(engine)
        if differences:
            fail(f"database differs from the schema: {differences}")
        click.echo(f"{revision}: in sync with the schema")


def _run_alembic(func: Any, engine: Any, revision: str) -> None:
    from alembic.util.exc import CommandError

    try:
        func(engine, revision)
    except CommandError as exc:
        fail(str(exc).splitlines()[0], 2)
