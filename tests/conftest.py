"""Fixtures every test layer shares: cheap settings, real databases, real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints.config import Settings
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.services import postgres_url

pytest_plugins = ["tests.bdd.steps_identity", "tests.bdd.steps_tickets", "tests.bdd.steps_events"]
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def make_settings(**changes: object) -> Settings:
    """Settings for tests: cheap password hashing, a fixed key, an in-memory store."""
    values: dict[str, object] = {
        "database_url": "memory://",
        "secret_keys": (TEST_SECRET,),
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        "log_level": "WARNING",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_url())
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture
def sqlite_url(sqlite_databases: SqliteDatabases) -> str:
    """A fresh SQLite file migrated to head."""
    return sqlite_databases.fresh()


@pytest.fixture
def postgres_db_url(postgres_databases: PostgresDatabases) -> str:
    """A fresh PostgreSQL database migrated to head."""
    return postgres_databases.fresh()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated store of each kind: memory://, SQLite, PostgreSQL."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_db_url"))
