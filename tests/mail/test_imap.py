"""The IMAP poller against a real IMAP server (Dovecot, started by the test: tests/support/
dovecot.py), on every store: what a poll takes in, in what order it marks, what it does when
the folder is renumbered or the server is away, and the rule everything else rests on: a
poller killed in the middle of a batch and started again takes every message exactly once.

Each test has an account of its own on the module's server (its own folders); messages are
delivered with IMAP APPEND, as a mail server would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.mail.imap import ImapFetchers
from adapters.memory.mail import MemoryMailer
from adapters.security.secretbox import FernetSecretBox
from entrypoints.bootstrap import IMAP_PASSWORD_PURPOSE, bootstrap
from helpdesk_core.domain.mail import InboundEmail, InboundStatus, InboundVia
from helpdesk_core.domain.mail_fetch import MailboxImap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.mail_fetch import FetchedMail, MailFetcher, MailFetcherFactory
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from tests.conftest import TEST_SECRET, make_settings
from tests.mail.support import MailDesk, letter
from tests.support.clock import SettableClock
from tests.support.dovecot import Dovecot

REPO_ROOT = Path(__file__).resolve().parents[2]
_WAIT_SECONDS = 60.0  # a bound on waiting for a subprocess, never an assertion


# ---------------------------------------------------------------- the server and the desk


@pytest.fixture(scope="module")
def imap_server() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@attrs.frozen
class Account:
    """An account of its own on a Dovecot server."""

    server: Dovecot
    user: str
    password: str

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> list[int]:
        return self.server.append(self.user, *messages, folder=folder)

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        return self.server.flags(self.user, folder)

    def settings(self, **changes: Any) -> SetMailboxImap:
        command = SetMailboxImap(
            host=self.server.host,
            port=self.server.port,
            security="none",
            username=self.user,
            password=self.password,
        )
        return attrs.evolve(command, **changes)


def new_account(server: Dovecot) -> Account:
    # The password holds "CANARY": the log guard (tests/conftest.py) fails the test should
    # any log line show it.
    return Account(server, f"u{uuid.uuid4().hex[:12]}", server.password)


@pytest.fixture
def account(imap_server: Dovecot) -> Account:
    return new_account(imap_server)


@attrs.define
class Spy:
    """A MailFetcherFactory over the real one that calls ``before_done`` with the UIDs each
    session is about to mark, before it marks them."""

    real: MailFetcherFactory
    before_done: Callable[[list[int]], None] = lambda uids: None

    def open(self, config: MailboxImap, password: str) -> MailFetcher:
        return _SpiedSession(self.real.open(config, password), self)


@attrs.define
class _SpiedSession:
    session: MailFetcher
    spy: Spy

    def uidvalidity(self) -> int:
        return self.session.uidvalidity()

    def fetch(self, after_uid: int, limit: int, max_bytes: int) -> Iterator[FetchedMail]:
        return self.session.fetch(after_uid, limit, max_bytes)

    def done(self, uids: Iterable[int]) -> None:
        marked = list(uids)
        self.spy.before_done(marked)
        self.session.done(marked)

    def close(self) -> None:
        self.session.close()


def build_desk(url: str, blob_dir: str, spy: Spy | None = None, **settings: Any) -> MailDesk:
    """conftest's desk (a mailbox routed to Billing), with the IMAP sessions spied on."""
    clock = SettableClock()
    overrides: dict[Any, Any] = {Clock: clock, Mailer: MemoryMailer()}
    if spy is not None:
        overrides[MailFetcherFactory] = spy
    configured = make_settings(database_url=url, blob_dir=blob_dir, **settings)
    desk = MailDesk.build(bootstrap(configured, overrides), clock)
    assert isinstance(desk, MailDesk)
    desk.setup_mailbox()
    return desk


@pytest.fixture
def spy() -> Spy:
    return Spy(ImapFetchers(timeout=10))


@pytest.fixture
def desk(
    backend_url: str, tmp_path_factory: pytest.TempPathFactory, spy: Spy
) -> Iterator[MailDesk]:
    made = build_desk(backend_url, str(tmp_path_factory.mktemp("blobs")), spy)
    yield made
    made.services.close()


def configure(desk: MailDesk, command: SetMailboxImap, mailbox_id: uuid.UUID | None = None) -> None:
    desk.services.mailbox_imap.set(SYSTEM_OPERATOR, mailbox_id or desk.mailbox.id, command)


def imap_of(desk: MailDesk, mailbox_id: uuid.UUID | None = None) -> MailboxImap:
    return desk.services.mailbox_imap.get(SYSTEM_OPERATOR, mailbox_id or desk.mailbox.id)


def rows(desk: MailDesk, mailbox_id: uuid.UUID | None = None) -> list[InboundEmail]:
    with desk.services.uow.begin(read_only=True) as tx:
        found = tx.inbound_emails.list(mailbox_id=mailbox_id or desk.mailbox.id, limit=200)
    return sorted(found, key=lambda email: (email.received_at, email.id))


def message_ids(*messages: bytes) -> set[str]:
    return {str(message_from_bytes(raw)["Message-ID"]).strip("<>") for raw in messages}


def process_all(desk: MailDesk) -> None:
    while desk.process():
        pass


# ---------------------------------------------------------------- one poll


def test_a_poll_takes_each_message_in_once_and_marks_it_only_after(
    desk: MailDesk, account: Account, spy: Spy
) -> None:
    letters = [letter(subject=f"Printer {n}") for n in range(3)]
    uids = account.deliver(*letters)
    configure(desk, account.settings())
    seen_before_marking: list[tuple[list[int], int, dict[int, set[str]]]] = []
    spy.before_done = lambda marked: seen_before_marking.append(
        (marked, len(rows(desk)), account.flags())
    )

    assert desk.services.mail_poller.poll() == 3

    # Marked once, after every message's row was committed, and not one moment before.
    assert seen_before_marking == [(uids, 3, {uid: set() for uid in uids})]
    assert all("\\Seen" in flags for flags in account.flags().values())
    stored = rows(desk)
    assert {e.message_id for e in stored} == message_ids(*letters)
    assert {(e.via, e.status) for e in stored} == {(InboundVia.IMAP, InboundStatus.PENDING)}
    state = imap_of(desk)
    assert (state.uidvalidity, state.last_uid, state.last_error) == (
        account.server.uidvalidity(account.user),
        uids[-1],
        None,
    )

    process_all(desk)
    processed = rows(desk)
    assert {e.status for e in processed} == {InboundStatus.PROCESSED}
    tickets = {e.ticket_id for e in processed}
    assert len(tickets) == 3
    assert sorted(desk.ticket(t).subject for t in tickets) == [
        "Printer 0",
        "Printer 1",
        "Printer 2",
    ]

    # Nothing new: nothing fetched, nothing stored, nothing marked.
    assert desk.services.mail_poller.poll() == 0
    assert len(rows(desk)) == 3
    assert len(seen_before_marking) == 1


def test_messages_are_moved_when_the_settings_name_a_folder(
    tmp_path: Path, account: Account
) -> None:
    desk = build_desk("memory://", str(tmp_path))
    try:
        account.deliver(letter(subject="One"), letter(subject="Two"))
        configure(desk, account.settings(move_to="Helpdesk done"))

        assert desk.services.mail_poller.poll() == 2

        assert account.flags() == {}
        assert len(account.flags("Helpdesk done")) == 2
        assert len(rows(desk)) == 2
    finally:
        desk.services.close()


def test_a_renumbered_folder_is_read_again_and_what_was_stored_is_recognized(
    desk: MailDesk, account: Account
) -> None:
    first, second, third = (letter(subject=s) for s in ("First", "Second", "Third"))
    account.deliver(first, second, folder="Support")
    configure(desk, account.settings(folder="Support"))
    assert desk.services.mail_poller.poll() == 2
    before = imap_of(desk).uidvalidity

    # The folder is recreated: a new UIDVALIDITY, UIDs from 1 again, the old mail with them.
    account.server.recreate(account.user, "Support")
    uids = account.deliver(first, second, third, folder="Support")
    assert uids == [1, 2, 3]

    assert desk.services.mail_poller.poll() == 3

    state = imap_of(desk)
    assert state.uidvalidity != before
    assert state.uidvalidity == account.server.uidvalidity(account.user, "Support")
    assert state.last_uid == 3
    stored = rows(desk)
    assert {e.message_id for e in stored} == message_ids(first, second, third)
    assert len(stored) == 3
    process_all(desk)
    assert len({e.ticket_id for e in rows(desk)}) == 3


def test_a_server_that_is_down_is_recorded_and_the_next_poll_takes_its_mail(
    desk: MailDesk, account: Account
) -> None:
    other = Dovecot().start()
    try:
        away = new_account(other)
        sales = desk.services.mailboxes.create(
            SYSTEM_OPERATOR, CreateMailbox(name="Sales", address="sales@support.example.com")
        )
        configure(desk, away.settings())  # the Support mailbox: on the server that goes away
        configure(desk, account.settings(), sales.id)
        away.deliver(letter(subject="Waiting"))
        account.deliver(letter(subject="Sales question"))
        other.stop()

        # One server down stops nobody else.
        assert desk.services.mail_poller.poll() == 1
        error = imap_of(desk).last_error
        assert error is not None
        assert f"connecting to 127.0.0.1:{other.port}" in error
        assert imap_of(desk, sales.id).last_error is None
        assert rows(desk) == []
        assert len(rows(desk, sales.id)) == 1

        other.start()
        assert desk.services.mail_poller.poll() == 1
        assert imap_of(desk).last_error is None
        assert len(rows(desk)) == 1
        assert "\\Seen" in next(iter(away.flags().values()))
    finally:
        other.close()


def test_a_refused_password_is_recorded_and_shown_nowhere(tmp_path: Path, account: Account) -> None:
    desk = build_desk("memory://", str(tmp_path))
    try:
        account.deliver(letter())
        wrong = f"wrong-CANARY-{uuid.uuid4().hex[:6]}"
        configure(desk, account.settings(password=wrong))

        assert desk.services.mail_poller.poll() == 0

        error = imap_of(desk).last_error
        assert error is not None
        assert error.startswith(f"logging in to 127.0.0.1:{account.server.port} as {account.user}")
        assert "CANARY" not in error
        assert rows(desk) == []
        assert account.flags() == {1: set()}  # untouched
        # The log guard (conftest) checks that no log line holds the canary either.
    finally:
        desk.services.close()


def test_a_message_too_big_or_empty_is_skipped_left_unread_and_never_fetched_again(
    tmp_path: Path, account: Account
) -> None:
    desk = build_desk("memory://", str(tmp_path), mail_max_bytes=2048)
    try:
        big = letter(subject="Big", body="x" * 4000)
        small = letter(subject="Small")
        big_uid, empty_uid, small_uid = account.deliver(big, b"\r\n", small)
        configure(desk, account.settings())

        assert desk.services.mail_poller.poll() == 3

        assert [e.message_id for e in rows(desk)] == list(message_ids(small))
        assert imap_of(desk).last_uid == small_uid
        assert account.flags() == {big_uid: set(), empty_uid: set(), small_uid: {"\\Seen"}}
        assert desk.services.mail_poller.poll() == 0
    finally:
        desk.services.close()


def test_the_worker_polls_in_its_pass_and_each_mailbox_at_most_once_per_interval(
    tmp_path: Path, account: Account
) -> None:
    desk = build_desk("memory://", str(tmp_path), mail_poll_interval=60.0)
    try:
        account.deliver(letter(subject="First"))
        configure(desk, account.settings())
        worker = desk.services.new_worker("w1")

        worker.run_once()  # polled, then processed in the same pass
        (first,) = rows(desk)
        assert first.status == InboundStatus.PROCESSED

        account.deliver(letter(subject="Second"))
        desk.clock.current += timedelta(seconds=59)
        worker.run_once()
        desk.services.new_worker("w2").run_once()  # another worker: not due for it either
        assert len(rows(desk)) == 1

        desk.clock.current += timedelta(seconds=1)
        worker.run_once()
        assert [e.status for e in rows(desk)] == [InboundStatus.PROCESSED] * 2
    finally:
        desk.services.close()


def test_a_full_batch_is_followed_at_once_until_the_mailbox_has_caught_up(
    tmp_path: Path, account: Account
) -> None:
    desk = build_desk("memory://", str(tmp_path))
    try:
        account.deliver(*(letter(subject=f"Backlog {n}") for n in range(5)))
        configure(desk, account.settings())
        poller = desk.services.mail_poller

        # The clock stands still: only the backlog makes the mailbox due again.
        assert [poller.poll_due(limit=2) for _ in range(4)] == [2, 2, 1, 0]
        assert len(rows(desk)) == 5
    finally:
        desk.services.close()


OLD_KEY, NEW_KEY = "old-key-" + "o" * 40, "new-key-" + "n" * 40


def test_passwords_survive_a_key_rotation_and_are_sealed_again_under_the_new_key(
    tmp_path: Path, account: Account
) -> None:
    before = build_desk("memory://", str(tmp_path), secret_keys=(OLD_KEY,))
    configure(before, account.settings())
    account.deliver(letter())
    shared = {UnitOfWork: before.services.uow, Clock: before.clock}

    rotated = bootstrap(
        make_settings(blob_dir=str(tmp_path), secret_keys=(NEW_KEY, OLD_KEY)), shared
    )
    forgotten = bootstrap(make_settings(blob_dir=str(tmp_path), secret_keys=(NEW_KEY,)), shared)
    try:
        assert rotated.mail_poller.poll() == 1
        sealed = imap_of(before).password
        assert FernetSecretBox([NEW_KEY], IMAP_PASSWORD_PURPOSE).open(sealed) == account.password

        # Had the old key been retired first, the poll could not have opened the password.
        configure(before, account.settings())  # sealed under the old key again
        assert forgotten.mail_poller.poll() == 0
        error = imap_of(before).last_error
        assert error is not None
        assert "cannot be opened with the configured secret keys" in error
    finally:
        rotated.close()
        forgotten.close()
        before.services.close()


# ---------------------------------------------------------------- killed mid-batch

# The poller in a process of its own, from the store's URL, as `helpdesk worker` would run it.
# "die N": the process kills itself (SIGKILL) the moment the N-th message's row is committed,
# before its UID is recorded: the worst moment. "slow S": it waits S seconds after each
# message's row, so the test can kill it from outside while the batch goes on. "full": a
# whole poll.
POLLER = r"""
import os, signal, sys, time
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from helpdesk_core.usecases.mail.intake import MailIntake

url, blob_dir, key, mode, value = sys.argv[1:6]
receive = MailIntake.receive
taken = 0

def hooked(self, *args):
    global taken
    received = receive(self, *args)
    taken += 1
    if mode == "die" and taken == int(value):
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "slow":
        time.sleep(float(value))
    return received

MailIntake.receive = hooked
settings = Settings(database_url=url, blob_dir=blob_dir, secret_keys=(key,), log_level="ERROR")
services = bootstrap(settings)
print(services.mail_poller.poll(limit=50), flush=True)
services.close()
"""


def run_poller(desk: MailDesk, mode: str, value: str = "0") -> subprocess.Popen[str]:
    settings = desk.services.settings
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            POLLER,
            settings.database_url,
            settings.blob_dir,
            TEST_SECRET,
            mode,
            value,
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=_WAIT_SECONDS)
    return process.returncode, out, err


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def stored_desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MailDesk]:
    """A desk on a store another process can open too (SQLite's file, PostgreSQL)."""
    url = str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_db_url")
    )
    made = build_desk(url, str(tmp_path_factory.mktemp("blobs")))
    yield made
    made.services.close()


BATCH = 30


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["at-the-worst-moment", "from-outside"])
def test_a_poller_killed_mid_batch_and_restarted_takes_every_message_exactly_once(
    stored_desk: MailDesk, account: Account, kill: str
) -> None:
    desk = stored_desk
    letters = [letter(subject=f"Message {n:02}") for n in range(BATCH)]
    uids = account.deliver(*letters)
    configure(desk, account.settings())

    if kill == "at-the-worst-moment":
        code, _out, err = finished(run_poller(desk, "die", "7"))
        assert code == -signal.SIGKILL, err
        # Killed between the 7th row's commit and the record of its UID.
        assert len(rows(desk)) == 7
        assert imap_of(desk).last_uid == uids[5]
    else:
        poller = run_poller(desk, "slow", "0.05")
        deadline = time.monotonic() + _WAIT_SECONDS
        while len(rows(desk)) < 5 and poller.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(poller.pid, signal.SIGKILL)
        code, _out, err = finished(poller)
        assert code == -signal.SIGKILL, err
        assert 5 <= len(rows(desk)) < BATCH  # it died in the middle of the batch
    assert all(flags == set() for flags in account.flags().values())  # nothing marked yet
    recorded = imap_of(desk).last_uid

    code, out, err = finished(run_poller(desk, "full"))
    assert code == 0, err
    assert 0 < int(out) <= BATCH

    stored = rows(desk)
    assert len(stored) == BATCH
    assert {e.message_id for e in stored} == message_ids(*letters)
    assert imap_of(desk).last_uid == uids[-1]
    process_all(desk)
    processed = rows(desk)
    assert {e.status for e in processed} == {InboundStatus.PROCESSED}
    tickets = {e.ticket_id for e in processed}
    assert len(tickets) == BATCH
    subjects = sorted(desk.ticket(ticket).subject for ticket in tickets)
    assert subjects == [f"Message {n:02}" for n in range(BATCH)]
    # Marked: what the second poll took. What the killed one had recorded stays unmarked on
    # the server (it is never fetched again): marking is what a kill may lose, never mail.
    assert int(out) == len([uid for uid in uids if uid > recorded])
    flags = account.flags()
    assert [uid for uid in uids if "\\Seen" in flags[uid]] == [u for u in uids if u > recorded]
