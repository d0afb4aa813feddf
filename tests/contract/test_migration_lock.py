"""Processes that migrate at start take turns (``adapters.sql.migrate.migration_lock``, used by
``entrypoints.bootstrap.migrate_to_head``).

Requirement (docs/cli.md, ``helpdesk serve``): several servers may start with auto-migrate at
once. On PostgreSQL the migration runs under an advisory lock held on a connection of its own;
on SQLite the write lock serializes them and the lock is no lock at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.sql.engine import create_engine
from adapters.sql.migrate import MIGRATION_LOCK_KEY, head, migration_lock
from entrypoints.bootstrap import migrate_to_head
from tests.conftest import make_settings
from tests.support.databases import PostgresDatabases


def _another_session_gets_the_lock(url: str) -> bool:
    """Whether a second session could take the migration lock now (it gives it back)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            ).scalar_one()
            if taken:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            return bool(taken)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_holds_the_lock_for_the_body_only(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.fresh(migrated=False)
    engine = create_engine(url)
    try:
        with migration_lock(engine):
            assert not _another_session_gets_the_lock(url)
        assert _another_session_gets_the_lock(url)
        with pytest.raises(RuntimeError, match="migration failed"), migration_lock(engine):
            raise RuntimeError("migration failed")
        assert _another_session_gets_the_lock(url)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migrate_to_head_on_postgresql_migrates_and_lets_go(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.fresh(migrated=False)
    assert migrate_to_head(make_settings(database_url=url)) == head()
    assert _another_session_gets_the_lock(url)


def test_migrate_to_head_on_sqlite_needs_no_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hd.db'}"
    engine = create_engine(url)
    checkouts: list[object] = []
    sa.event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    try:
        with migration_lock(engine):  # no connection of its own: nothing to wait for
            assert checkouts == []
    finally:
        engine.dispose()
    assert migrate_to_head(make_settings(database_url=url)) == head()
