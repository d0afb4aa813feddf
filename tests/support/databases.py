"""Fresh, migrated databases for tests, cheaply.

PostgreSQL: one template database per test process, migrated once; each test gets
``CREATE DATABASE ... TEMPLATE`` (tens of milliseconds). SQLite: one migrated file per
process, copied per test.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.sql.engine import create_engine


def _admin_engine(server_url: str) -> sa.Engine:
    url = make_url(server_url).set(database="postgres")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _migrate(url: str) -> None:
    from adapters.sql.migrate import upgrade

    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


class PostgresDatabases:
    """Makes and drops throwaway databases on one PostgreSQL server."""

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._admin = _admin_engine(server_url)
        self._prefix = f"hdt_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._template: str | None = None
        self._created: list[str] = []
        self._lock = threading.Lock()

    def url_for(self, name: str) -> str:
        return make_url(self._server_url).set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
        self._created.append(name)
        return self.url_for(name)

    def template(self) -> str:
        """The migrated template's name (made on first use)."""
        with self._lock:
            if self._template is None:
                name = f"{self._prefix}_tpl"
                _migrate(self._create(name))
                self._template = name
            return self._template

    def fresh(self, migrated: bool = True) -> str:
        """The URL of a new database: migrated to head, or empty."""
        name = f"{self._prefix}_{uuid.uuid4().hex[:10]}"
        return self._create(name, self.template() if migrated else None)

    def drop_all(self) -> None:
        with self._admin.connect() as connection:
            for name in reversed(self._created):
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()
        self._admin.dispose()


class SqliteDatabases:
    """Copies of one migrated SQLite file."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._template: Path | None = None

    def fresh(self, migrated: bool = True) -> str:
        target = self._folder / f"{uuid.uuid4().hex}.db"
        if migrated:
            if self._template is None:
                template = self._folder / "template.db"
                _migrate(f"sqlite:///{template}")
                self._template = template
            shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"


def backend_pid(engine: sa.Engine) -> int:
    """The server process behind the connection ``engine``'s pool hands out next."""
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate_backend(url: str, pid: int) -> None:
    """End server process ``pid`` from a connection of its own (the pooled one may be idle in
    its pool meanwhile), as a server restart or a network cut would."""
    killer = _admin_engine(url)
    try:
        with killer.connect() as other:
            ended = other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert ended.scalar()
    finally:
        killer.dispose()
