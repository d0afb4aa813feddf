"""What the library's tests share: a fresh store of each kind for the tutorial's programs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import helpdesk
from tests.conftest import BACKENDS, TEST_SECRET
from tests.support.databases import PostgresDatabases
from tests.support.services import redis_url


def own_cache_generations(database_url: str) -> None:
    """Start the counters that key the Redis caches at a random value.

    The examples keep the default Redis prefix, as a reader's program would, on the test Redis
    that other tests share; their cached organization (``org:<generation>``) and queue counts
    (``counts:unrouted:<generation>``) then live under keys no other database's counters reach.
    """
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    upsert = sa.text(
        "INSERT INTO counters (name, value) VALUES (:name, :value) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    )
    try:
        with engine.begin() as connection:
            for name in ("org-generation", "ticket-counts:unrouted"):
                value = 10**9 + secrets.randbelow(10**12)
                connection.execute(upsert, {"name": name, "value": value})
    finally:
        engine.dispose()


STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres-redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The variables that point the examples at a fresh store of each kind."""
    if request.param == "memory":
        return {"HELPDESK_DATABASE_URL": "memory://"}
    if request.param == "sqlite":  # a new file: the example's open migrates it
        return {"HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'support.db'}"}
    redis = redis_url()
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    database = databases.fresh()
    own_cache_generations(database)
    return {"HELPDESK_DATABASE_URL": database, "HELPDESK_REDIS_URL": redis}


@pytest.fixture(params=BACKENDS)
def desk(request: pytest.FixtureRequest) -> Iterator[helpdesk.Helpdesk]:
    """A fresh helpdesk on each store, opened by the library (migrating the database)."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh(migrated=False)
    else:
        url = request.getfixturevalue("postgres_databases").fresh(migrated=False)
    settings = helpdesk.Settings(database_url=url, secret_keys=(TEST_SECRET,), auto_migrate=True)
    with helpdesk.open(settings) as opened:
        yield opened
