"""What the contract tests of several modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory.uow import MemoryUnitOfWork
from adapters.sql.engine import EngineOptions, create_engine
from adapters.sql.uow import SqlUnitOfWork
from helpdesk_core.ports.uow import UnitOfWork


@pytest.fixture
def uow(backend_url: str) -> Iterator[UnitOfWork]:
    """The unit of work of each store, built directly (this is the adapters' contract); a
    module that builds its own through the composition root defines ``uow`` itself."""
    if backend_url == "memory://":
        yield MemoryUnitOfWork()
        return
    engine = create_engine(backend_url, EngineOptions(pool_size=4, max_overflow=4))
    try:
        yield SqlUnitOfWork(engine)
    finally:
        engine.dispose()
