"""The service-level rules, told on a desk of each store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import bootstrap
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from tests.conftest import make_settings
from tests.sla.support import SlaDesk
from tests.support.clock import SettableClock


@pytest.fixture
def desk(backend_url: str) -> Iterator[SlaDesk]:
    """The ticket tests' organization (tests/unit/tickets/support.py) on a fresh store of each
    kind, with a clock the test sets and the events the worker hands out collected."""
    clock = SettableClock()
    mailbox = MemoryMailer()
    services = bootstrap(make_settings(database_url=backend_url), {Clock: clock, Mailer: mailbox})
    desk = SlaDesk.build(services, clock)
    desk.mailbox = mailbox
    desk.listen()
    yield desk
    services.close()
