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
from tests.support.databases import backend_pid, terminate_backend

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


def test_a_dead_idle_connection_is_replaced_unnoticed(
    make_engine: Callable[[float], Engine], postgres_db_url: str
) -> None:
    engine = make_engine(0.0)  # every reuse counts as idle: pinged
    first = backend_pid(engine)
    terminate_backend(postgres_db_url, first)
    second = backend_pid(engine)  # no error: the ping found it dead, the pool took another
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_pinged(
    make_engine: Callable[[float], Engine], postgres_db_url: str
) -> None:
    engine = make_engine(3600.0)  # never idle long enough: never pinged
    first = backend_pid(engine)
    terminate_backend(postgres_db_url, first)
    # Unpinged, the dead connection is used and fails once, as a 503 would tell the client...
    with pytest.raises(sa.exc.OperationalError) as failed:
        backend_pid(engine)
    assert failed.value.connection_invalidated
    # ...and the pool is renewed: the next request works.
    assert backend_pid(engine) != first
