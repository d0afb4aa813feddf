"""The ``desk`` every test of the ticket use cases works at (tests/unit/tickets/support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from entrypoints.bootstrap import bootstrap
from helpdesk_core.ports.system import Clock
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.unit.tickets.support import Desk


@pytest.fixture
def desk() -> Iterator[Desk]:
    """A fresh in-memory helpdesk (the composition root on memory://, a clock the test sets)
    with two departments, their teams and their people."""
    clock = SettableClock()
    services = bootstrap(make_settings(), {Clock: clock})
    yield Desk.build(services, clock)
    services.close()
