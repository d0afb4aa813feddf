"""The corpus of real-shaped messages (tests/mail_corpus/) through each way mail arrives: an
MTA piping into ``helpdesk mail ingest``, a provider POSTing to ``/api/v1/inbound/email``, and
the IMAP poller fetching from a real Dovecot the test runs. Each message is delivered twice
(twice into the IMAP folder: two UIDs, one message); every one ends as the table says, and
nothing is duplicated.

The story: Ann opens a ticket by mail (``new_ticket.eml``) and the helpdesk answers it under
``ticket-1001.e4b7c1d2a9f0@support.example.com``; her replies from Outlook, Gmail, Apple Mail
and a webmail land on it, so does the one whose In-Reply-To a provider rewrote (through the
reply address), and a reply-all makes her colleagues participants; her out-of-office reply is
stored, flagged, and changes nothing; the helpdesk's own mail coming back is dropped; a bounce
of the helpdesk's mail on Bob's ticket marks the address and notes that ticket; a stranger
guessing Ann's ticket number in a subject opens a ticket of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import falcon.testing
import pytest
from click.testing import CliRunner

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli.main import cli, register_commands
from entrypoints.http.app import create_app
from helpdesk_core.domain.mail import InboundStatus, InboundVia, Outcome
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.signatures import sign
from helpdesk_core.domain.values import Channel, MessageVisibility, TicketStatus
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from tests.conftest import BACKENDS, make_settings
from tests.mail.support import MailDesk
from tests.support.clock import SettableClock
from tests.support.dovecot import Dovecot

CORPUS = Path(__file__).parents[1] / "mail_corpus"
OURS_1001 = "ticket-1001.e4b7c1d2a9f0@support.example.com"
OURS_1002 = "ticket-1002.b5c6d7e8f9a0@support.example.com"
PLACEHOLDER_ADDRESS = b"support+t1001-3f9a2c7d1e5b@support.example.com"

# (file, outcome, on Ann's ticket?) in the order they arrive
EXPECTED: tuple[tuple[str, Outcome, str], ...] = (
    ("new_ticket.eml", Outcome.TICKET_CREATED, "ann"),
    ("sent_by_helpdesk.eml", Outcome.LOOP, "none"),
    ("outlook_reply.eml", Outcome.REPLY_ADDED, "ann"),
    ("gmail_reply.eml", Outcome.REPLY_ADDED, "ann"),
    ("apple_mail_reply.eml", Outcome.REPLY_ADDED, "ann"),
    ("html_only.eml", Outcome.REPLY_ADDED, "ann"),
    ("latin1.eml", Outcome.TICKET_CREATED, "new"),
    ("no_message_id.eml", Outcome.TICKET_CREATED, "new"),
    ("rewritten_message_id.eml", Outcome.REPLY_ADDED, "ann"),
    ("reply_all_cc.eml", Outcome.REPLY_ADDED, "ann"),
    ("out_of_office.eml", Outcome.AUTOMATIC, "ann"),
    ("delivery_report.eml", Outcome.BOUNCE, "bob"),
    ("stranger_guess.eml", Outcome.TICKET_CREATED, "new"),
    ("attachments.eml", Outcome.TICKET_CREATED, "new"),
)

Send = Callable[[bytes], None]
_MINUTE = timedelta(minutes=1)


@attrs.define
class Way:
    """A desk and how a message reaches it."""

    desk: MailDesk
    send: Send


def _desk(services: Services, clock: SettableClock) -> MailDesk:
    desk = MailDesk.build(services, clock)
    desk.setup_mailbox(department_id=None)
    return desk


@pytest.fixture
def http_way(backend_url: str) -> Iterator[Way]:
    clock = SettableClock()
    clock.current = clock.current.replace(year=2027)  # after every Date in the corpus
    services = bootstrap(make_settings(database_url=backend_url), {Clock: clock})
    desk = _desk(services, clock)
    secret = services.mailboxes.rotate_inbound_secret(SYSTEM_OPERATOR, desk.mailbox.id).secret
    client = falcon.testing.TestClient(create_app(services))

    def send(raw: bytes) -> None:
        webhook_id, stamp = f"msg_{uuid.uuid4().hex}", int(clock.now().timestamp())
        result = client.simulate_post(
            "/api/v1/inbound/email",
            params={"mailbox": str(desk.mailbox.id)},
            body=raw,
            headers={
                "Content-Type": "message/rfc822",
                "webhook-id": webhook_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(secret, webhook_id, stamp, raw),
            },
        )
        assert result.status_code == 202, result.text

    yield Way(desk, send)
    services.close()


@pytest.fixture(params=[store for store in BACKENDS if store.id != "memory"])
def stored_url(request: pytest.FixtureRequest) -> str:
    """A fresh SQLite or PostgreSQL store: an MTA's pipe runs the CLI, a process of its own,
    so the store must be one both can open (not memory://)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_db_url"))


@pytest.fixture
def pipe_way(stored_url: str, tmp_path: Path) -> Iterator[Way]:
    backend_url = stored_url
    settings = make_settings(database_url=backend_url, blob_dir=str(tmp_path / "blobs"))
    clock = SettableClock()
    clock.current = clock.current.replace(year=2027)
    services = bootstrap(settings, {Clock: clock})
    desk = _desk(services, clock)
    register_commands()
    runner = CliRunner()
    env = {
        "HELPDESK_DATABASE_URL": backend_url,
        "HELPDESK_BLOB_DIR": settings.blob_dir,
        "HELPDESK_SECRET_KEYS": settings.secret_keys[0],
    }

    def send(raw: bytes) -> None:
        args = ["--env-file", str(tmp_path / "none.env"), "mail", "ingest", "--mailbox", "support"]
        result = runner.invoke(cli, args, env=env, input=raw)
        assert result.exit_code == 0, result.output

    yield Way(desk, send)
    services.close()


@pytest.fixture(scope="module")
def imap_server() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def imap_way(backend_url: str, imap_server: Dovecot, tmp_path: Path) -> Iterator[Way]:
    clock = SettableClock()
    clock.current = clock.current.replace(year=2027)
    settings = make_settings(database_url=backend_url, blob_dir=str(tmp_path / "blobs"))
    services = bootstrap(settings, {Clock: clock})
    desk = _desk(services, clock)
    user = f"u{uuid.uuid4().hex[:12]}"
    services.mailbox_imap.set(
        SYSTEM_OPERATOR,
        desk.mailbox.id,
        SetMailboxImap(
            host=imap_server.host,
            port=imap_server.port,
            security="none",
            username=user,
            password=imap_server.password,
        ),
    )

    def send(raw: bytes) -> None:
        imap_server.append(user, raw)  # delivered to the mailbox's folder on the server
        assert services.mail_poller.poll() == 1

    yield Way(desk, send)
    services.close()


def deliver_corpus(way: Way) -> dict[str, tuple[InboundStatus, Outcome | None, uuid.UUID | None]]:
    """Every corpus message, each twice, processed as it comes; what each became."""
    desk = way.desk
    bob_ticket = desk.open(desk.bob, subject="VPN access for the new colleague")
    desk.record_sent(OURS_1002, bob_ticket)
    found: dict[str, tuple[InboundStatus, Outcome | None, uuid.UUID | None]] = {}
    ann_ticket = None
    for name, _, _ in EXPECTED:
        raw = (CORPUS / name).read_bytes()
        if name == "rewritten_message_id.eml":
            assert ann_ticket is not None
            address = desk.reply_address(ann_ticket).encode()
            raw = raw.replace(PLACEHOLDER_ADDRESS, address)
        if name == "stranger_guess.eml":
            assert ann_ticket is not None
            raw = raw.replace(b"[#1234]", f"[#{ann_ticket.number}]".encode())
        before = len(desk.services.mailboxes.received(SYSTEM_OPERATOR, limit=200))
        way.send(raw)
        way.send(raw)  # the same message again: one message
        desk.process()
        desk.clock.current += _MINUTE
        received = desk.services.mailboxes.received(SYSTEM_OPERATOR, limit=200)
        assert len(received) == before + 1, name
        email = received[0]
        found[name] = (email.status, email.outcome, email.ticket_id)
        if name == "new_ticket.eml":
            ann_ticket = desk.ticket(email.ticket_id)
            desk.record_sent(OURS_1001, ann_ticket)
    return found


def check(
    way: Way, found: dict[str, tuple[InboundStatus, Outcome | None, uuid.UUID | None]]
) -> None:
    desk = way.desk
    ann_id = found["new_ticket.eml"][2]
    ann = desk.ticket(ann_id)
    bob = next(t for t in desk.all_tickets() if t.subject.startswith("VPN access"))
    new_ones: set[uuid.UUID] = set()
    for name, outcome, where in EXPECTED:
        _status, got, ticket_id = found[name]
        assert got is outcome, (name, found[name])
        if where == "ann":
            assert ticket_id == ann_id, name
        elif where == "bob":
            assert ticket_id == bob.id, name
        elif where == "new":
            assert ticket_id not in (None, ann_id, bob.id), name
            new_ones.add(ticket_id)  # type: ignore[arg-type]
        else:
            assert ticket_id is None, name
    assert len(new_ones) == 4
    # one ticket each, nothing twice: Ann's, Bob's, and the four new ones
    assert len(desk.all_tickets()) == 6
    assert ann.source is Channel.EMAIL
    assert desk.email_of(ann) == "ann@customer.example"
    assert desk.participants(ann) == ["greg.miller@customer.example", "ida.novak@customer.example"]
    messages = desk.messages(ann)
    public = [m for m in messages if m.visibility is MessageVisibility.PUBLIC]
    assert len(public) == 7  # six replies and the out-of-office answer, each once
    assert [m.automatic for m in public].count(True) == 1
    assert all(m.source is Channel.EMAIL for m in public)
    assert all(">" not in m.body.splitlines()[-1] for m in public), "quoted history left in"
    assert ann.status is TicketStatus.NEW  # customers wrote; no staff member answered yet
    bounce_note = desk.messages(bob)[-1]
    assert bounce_note.visibility is MessageVisibility.INTERNAL
    assert "old.user@customer.example" in bounce_note.body
    with desk.services.uow.begin(read_only=True) as tx:
        assert tx.mail_threads.bounce_of("old.user@customer.example") is not None
    latin1 = desk.ticket(found["latin1.eml"][2])
    assert latin1.subject == "Rückfrage zur Rechnung für März"


def test_the_corpus_through_a_providers_post(http_way: Way) -> None:
    check(http_way, deliver_corpus(http_way))


def test_the_corpus_through_an_mta_pipe(pipe_way: Way) -> None:
    check(pipe_way, deliver_corpus(pipe_way))


@pytest.mark.slow
def test_the_corpus_through_the_imap_poller(imap_way: Way) -> None:
    check(imap_way, deliver_corpus(imap_way))


def test_each_message_arrived_the_way_it_came(http_way: Way) -> None:
    http_way.send((CORPUS / "new_ticket.eml").read_bytes())
    [email] = http_way.desk.services.mailboxes.received(SYSTEM_OPERATOR)
    assert email.via is InboundVia.HTTP
