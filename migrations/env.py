"""Alembic environment of the helpdesk.

Where the database comes from, in order:

1. ``config.attributes["connection"]``: an open SQLAlchemy Connection (``adapters.sql.migrate``
   and the tests pass one). If it is inside a transaction, the caller commits it.
2. ``config.attributes["url"]``.
3. ``entrypoints.config.load_settings().database_url`` (HELPDESK_DATABASE_URL, or ``.env``).

The URL never goes through ``config.set_main_option`` (configparser interpolation breaks on
%-encoded passwords). There is no alembic.ini: the ``alembic`` command reads ``[tool.alembic]``
from pyproject.toml.

SQLite: migrations run with ``PRAGMA foreign_keys=OFF``, set before the transaction begins, and
``PRAGMA foreign_key_check`` runs before commit (batch mode recreates tables; with foreign keys
on, dropping the old parent table would cascade into its children).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from logging.config import fileConfig
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.pool import NullPool

from adapters.sql.columns import UTCDateTime
from adapters.sql.migrate import (
    COMPARE_OPTIONS,
    check_sqlite_foreign_keys,
    sqlite_foreign_keys_off,
)
from adapters.sql.tables import include_name, metadata

config = context.config
target_metadata = metadata

# The CLI names "alembic.ini" even when it does not exist: configure logging only from a real
# ini file, else give the alembic command its usual "Running upgrade ..." lines.
if config.config_file_name is not None and Path(config.config_file_name).is_file():
    fileConfig(config.config_file_name, disable_existing_loggers=False)
elif config.cmd_opts is not None and not logging.getLogger().handlers:
    logging.basicConfig(format="%(levelname)-5.5s [%(name)s] %(message)s", level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.INFO)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Autogenerate: write UTCDateTime as the portable sa.DateTime(timezone=True) it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False  # the default rendering


CONFIGURE_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "render_item": render_item,
    "include_name": include_name,  # the dialect's full-text index lives outside the metadata
    **COMPARE_OPTIONS,
}


def _database_url() -> str | sa.URL:
    url = config.attributes.get("url")
    if url:
        return url  # type: ignore[no-any-return]
    from entrypoints.config import load_settings  # only when neither connection nor url given

    return load_settings().database_url


def _given_connection() -> sa.Connection | None:
    connection = config.attributes.get("connection")
    if connection is None:
        return None
    if not isinstance(connection, sa.Connection) or connection.closed:
        raise TypeError(
            f"config.attributes['connection'] must be an open Connection: {connection!r}"
        )
    return connection


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``) instead of running it."""
    connection = _given_connection()
    url = connection.engine.url if connection is not None else _database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **CONFIGURE_OPTIONS,
    )
    sqlite = sa.make_url(url).get_backend_name() == "sqlite"
    if sqlite:
        context.execute("PRAGMA foreign_keys=OFF")  # before any BEGIN, see the module docstring
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        context.execute("PRAGMA foreign_keys=ON")


def _migrate(connection: sa.Connection) -> None:
    own_transaction = not connection.in_transaction()
    with (
        sqlite_foreign_keys_off(connection),  # before the transaction begins
        connection.begin() if own_transaction else nullcontext(),
    ):
        context.configure(connection=connection, **CONFIGURE_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        check_sqlite_foreign_keys(connection)


def run_migrations_online() -> None:
    connection = _given_connection()
    if connection is not None:
        _migrate(connection)
        return
    engine = sa.create_engine(_database_url(), poolclass=NullPool)
    try:
        with engine.connect() as own:
            _migrate(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
