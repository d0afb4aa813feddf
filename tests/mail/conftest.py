"""The email channel's rules, told on a desk of each store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import bootstrap
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from tests.conftest import make_settings
from tests.mail.support import MailDesk
from tests.support.clock import SettableClock


@pytest.fixture
def desk(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailDesk]:
    """The ticket tests' organization with a mailbox routed to Billing, on a fresh store of
    each kind, with a clock the test sets; blobs in a folder of the test's own."""
    clock = SettableClock()
    settings = make_settings(
        database_url=backend_url, blob_dir=str(tmp_path_factory.mktemp("blobs"))
    )
    services = bootstrap(settings, {Clock: clock, Mailer: MemoryMailer()})
    desk = MailDesk.build(services, clock)
    desk.setup_mailbox()
    desk.listen()
    desk.types()  # the organization's own events handed out, then forgotten
    desk.seen.clear()
    yield desk
    services.close()
