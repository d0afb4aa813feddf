"""The pool's liveness check: a connection that sat idle is pinged, one used a moment ago is not.

Requirement (docs/performance.md, one round trip less per request): a pooled connection is
pinged before use only when it was idle ``ping_after_idle`` seconds; a dead idle connection is
replaced without the caller noticing; a dead connection used a moment ago fails once (503) and
the pool is renewed for the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.engine import EngineOptions, create_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def make_engine(postgres_db_url: str) -> Iterator[Callable[[float], Engine]]:
    made: list[Engine] = []

    def make(ping_after_idle: float) -> Engine:
        engine = create_engine(
            postgres_db_url, EngineOptions(pool_size=1, ping_after_idle=ping_after_idle)
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url_engine: Engine, pid: int) -> None:
    # From a connection of its own: the pooled one is idle in the pool meanwhile.
    with url_engine.connect() as other:
        other.execution_options(isolation_level="AUTOCOMMIT")
        assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def test_a_dead_idle_connection_is_replaced_unnoticed(
    make_engine: Callable[[float], Engine], postgres_db_url: str
) -> None:
    engine = make_engine(0.0)  # every reuse counts as idle: pinged
    first = _backend_pid(engine)
    killer = create_engine(postgres_db_url)
    try:
        _terminate(killer, first)
    finally:
        killer.dispose()
    second = _backend_pid(engine)  # no error: the ping found it dead, the pool took another
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_pinged(
    make_engine: Callable[[float], Engine], postgres_db_url: str
) -> None:
    engine = make_engine(3600.0)  # never idle long enough: never pinged
    first = _backend_pid(engine)
    killer = create_engine(postgres_db_url)
    try:
        _terminate(killer, first)
    finally:
        killer.dispose()
    # Unpinged, the dead connection is used and fails once, as a 503 would tell the client...
    with pytest.raises(sa.exc.OperationalError) as failed:
        _backend_pid(engine)
    assert failed.value.connection_invalidated
    # ...and the pool is renewed: the next request works.
    assert _backend_pid(engine) != first
