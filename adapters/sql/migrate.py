"""Alembic from code: upgrade, downgrade, current, head and check, for the CLI and the tests.

The Alembic ``Config`` is built in code (``script_location`` = the ``migrations`` package), so it
works from any working directory and also when the package is installed without the repository;
the repository's ``pyproject.toml`` ``[tool.alembic]`` table is read as well when it is there.

SQLite: batch migrations recreate tables, and dropping a parent table while ``PRAGMA
foreign_keys=ON`` deletes (ON DELETE CASCADE) or refuses (RESTRICT) its children's rows. The
pragma is ignored inside a transaction, so every migration here runs on a connection whose
foreign keys were turned off *before* its transaction began, and turned back on afterwards
(``sqlite_foreign_keys_off``). ``migrations/env.py`` uses the same guard.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

import migrations
from adapters.sql.tables import include_name, metadata

EngineOrUrl = Engine | URL | str

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent

# Options every MigrationContext of this project uses (env.py passes the same ones).
COMPARE_OPTIONS: dict[str, Any] = {"compare_type": True, "compare_server_default": True}


class MigrationError(RuntimeError):
    """A migration cannot run safely (for example, SQLite foreign keys cannot be turned off)."""


# ---------------------------------------------------------------- configuration


def _repo_pyproject() -> Path | None:
    """The repository's pyproject.toml when it configures Alembic (absent in an installed wheel)."""
    candidate = MIGRATIONS_DIR.parent / "pyproject.toml"
    if not candidate.is_file():
        return None
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return candidate if "alembic" in data.get("tool", {}) else None


def alembic_config(url: str | URL | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config that does not depend on the working directory.

    ``url`` and ``connection`` travel to env.py through ``Config.attributes`` (never through
    ``set_main_option``: configparser interpolation breaks on %-encoded passwords). With
    neither, env.py falls back to the service settings (HELPDESK_DATABASE_URL).
    """
    pyproject = _repo_pyproject()
    config = Config(toml_file=str(pyproject)) if pyproject else Config()
    # Takes precedence over [tool.alembic]; "%" would be configparser interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision of the migration scripts."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise MigrationError(f"expected one migration head, found {len(heads)}: {heads}")
    return heads[0]


# ---------------------------------------------------------------- SQLite foreign keys


def _sqlite_foreign_keys(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return bool(row and row[0])


def _set_sqlite_foreign_keys(dbapi_connection: Any, enabled: bool) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Run the body with SQLite foreign keys off, restoring them afterwards; no-op elsewhere.

    The pragma goes straight to the DBAPI connection: through SQLAlchemy it would autobegin a
    transaction first (an engine whose "begin" listener emits BEGIN IMMEDIATE would then run
    it inside that transaction, where SQLite silently ignores it). The body must begin and end
    its own transaction. Raises MigrationError when foreign keys are on and a transaction is
    already open, because they could not be turned off.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi_connection = connection.connection.dbapi_connection
    if not _sqlite_foreign_keys(dbapi_connection):
        yield  # already off (a plain engine, or the caller did it): nothing to restore
        return
    if connection.in_transaction() or getattr(dbapi_connection, "in_transaction", False):
        raise MigrationError(
            "SQLite migrations need PRAGMA foreign_keys=OFF, which cannot be set inside a "
            "transaction: pass a connection that has not begun one (or turn foreign keys off "
            "before beginning), or use adapters.sql.migrate.upgrade()"
        )
    _set_sqlite_foreign_keys(dbapi_connection, False)
    if _sqlite_foreign_keys(dbapi_connection):
        raise MigrationError("SQLite refused PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if connection.in_transaction() or getattr(dbapi_connection, "in_transaction", False):
            # The body left a transaction open: the pragma would be ignored now. Never hand a
            # connection with foreign keys off back to the pool.
            connection.invalidate()
        else:
            _set_sqlite_foreign_keys(dbapi_connection, True)
            if not _sqlite_foreign_keys(dbapi_connection):
                connection.invalidate()


def check_sqlite_foreign_keys(connection: Connection) -> None:
    """Raise MigrationError if rows violate foreign keys (they went unchecked while off)."""
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in problems[:10])
        raise MigrationError(
            f"{len(problems)} row(s) violate foreign keys after migrating: {shown}"
        )


# ---------------------------------------------------------------- connections


@contextmanager
def _connect(engine_or_url: EngineOrUrl) -> Iterator[Connection]:
    if isinstance(engine_or_url, Engine):
        with engine_or_url.connect() as connection:
            yield connection
        return
    engine = sa.create_engine(engine_or_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _run(engine_or_url: EngineOrUrl, action: Any, *args: Any) -> None:
    with (
        _connect(engine_or_url) as connection,
        sqlite_foreign_keys_off(connection),  # before the transaction begins
        connection.begin(),
    ):
        action(alembic_config(connection=connection), *args)


# ---------------------------------------------------------------- serializing migrations

# The PostgreSQL session-level advisory lock every migrating process takes (one bigint key;
# the outbox's transaction-level locks use the two-key form, a separate key space).
MIGRATION_LOCK_KEY = 727274


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Run the body while holding the migration lock: on PostgreSQL an advisory lock on a
    connection of its own, so several starting servers migrate one after the other; elsewhere
    nothing (SQLite's write lock serializes them)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock_connection:
        lock_connection.execute(sa.text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        try:
            yield
        finally:
            lock_connection.execute(sa.text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            lock_connection.commit()


# ---------------------------------------------------------------- commands


def upgrade(engine_or_url: EngineOrUrl, revision: str = "head") -> None:
    """Migrate the database up to ``revision``, in one transaction where the database allows."""
    _run(engine_or_url, command.upgrade, revision)


def downgrade(engine_or_url: EngineOrUrl, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base": no tables but alembic_version)."""
    _run(engine_or_url, command.downgrade, revision)


def current(engine_or_url: EngineOrUrl) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with _connect(engine_or_url) as connection:
        try:
            return MigrationContext.configure(connection).get_current_revision()
        finally:
            if connection.in_transaction():
                connection.rollback()


def check(engine_or_url: EngineOrUrl) -> list[Any]:
    """What autogenerate would change to make the database match the metadata ([] if nothing)."""
    with _connect(engine_or_url) as connection:
        try:
            context = MigrationContext.configure(
                connection,
                opts={
                    **COMPARE_OPTIONS,
                    "target_metadata": metadata,
                    "include_name": include_name,  # the full-text index lives outside it
                },
            )
            return list(compare_metadata(context, metadata))
        finally:
            if connection.in_transaction():
                connection.rollback()
