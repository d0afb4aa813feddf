"""Issue 20, "what must be true": a webhook whose URL no encoding reaches and a ticket whose
subject holds a line break, both stored before the save-time rules existed (written to the
store directly), fail their own deliveries alone; every other event of the batch is delivered,
in order per ticket. On every store, with the real HTTP sender (to a local receiver), the real
URL guard and a real mailer that builds each message (a folder of .eml files).

Before the fix: ``http://host/é`` made every pass that claimed it crash with
UnicodeEncodeError (its batch stayed leased), and the reply mail of the ticket with CR LF in
its subject failed at every retry, holding that ticket's later events and their fan-out.
"""

from __future__ import annotations

import email
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters.mail.mailers import FolderMailer
from adapters.sql import tables
from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole, TicketPriority, TicketStatus
from helpdesk_core.ports.events import DeliveryState, Webhook
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff
from helpdesk_core.usecases.tickets import ChangeTicket, OpenTicket, PostMessage
from helpdesk_core.usecases.webhooks import CreateWebhook, new_secret
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
BROKEN_SUBJECT = "Broken\r\nBcc: eve@example.com\u2028and more"


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, dict[str, Any]]] = []  # path, body
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.server.lock:
            self.server.received.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def store_directly(services: Services, webhook: Webhook | None = None, **subject: Any) -> None:
    """Write what the use cases would refuse today, as an older version stored it."""
    url = services.settings.database_url
    if url.startswith("memory:"):
        state = services.uow.state  # type: ignore[attr-defined]
        if webhook is not None:
            state.webhooks[webhook.id] = webhook
        for ticket_id, text in subject.get("subjects", {}).items():
            state.tickets[ticket_id] = attrs.evolve(state.tickets[ticket_id], subject=text)
        return
    if webhook is not None:
        with services.uow.begin() as tx:
            tx.webhooks.add(webhook)
            tx.commit()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for ticket_id, text in subject.get("subjects", {}).items():
                connection.execute(
                    sa.update(tables.tickets)
                    .where(tables.tickets.c.id == ticket_id)
                    .values(subject=text)
                )
    finally:
        engine.dispose()


def drain(services: Services) -> int:
    """Passes until one finds nothing due; a pass that raises fails the test."""
    worker = services.new_worker("poison-test")
    total = 0
    for _ in range(60):
        done = worker.run_once()
        if not done:
            return total
        total += done
    raise AssertionError("the outbox was still busy after 60 passes")


def test_poison_fails_alone_and_the_rest_arrives_in_order(
    backend_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    settings = make_settings(database_url=backend_url, webhook_allowlist=("127.0.0.1",))
    outbox = tmp_path / "mail"
    services = bootstrap(settings, {Mailer: FolderMailer(outbox)})
    try:
        org, tickets = services.org, services.tickets
        department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support")).id
        agent_id = org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff("agent@example.com", "Agent", PASSWORD, StaffRole.AGENT, department),
        ).user.id
        agent = Principal(agent_id, Role.AGENT, department)
        customer_id = services.auth.register(Register("c@example.com", PASSWORD, "Cora")).user.id
        customer = Principal(customer_id, Role.CUSTOMER)
        base = f"http://127.0.0.1:{receiver.port}"
        services.webhooks.create(SYSTEM_OPERATOR, CreateWebhook(f"{base}/good", ("*",)))
        now = services.clock.now()

        def legacy(url: str) -> Webhook:
            return Webhook(uuid.uuid4(), url, ("*",), new_secret(), now, now)

        accented = legacy(f"{base}/caf\u00e9")  # the probe's poison: now sent, encoded
        unencodable = legacy("http://xn--\u00e9.example/in")  # no IDNA form: refused
        store_directly(services, accented)
        store_directly(services, unencodable)

        opened = [
            tickets.open_ticket(
                customer,
                OpenTicket(subject=subject, description="It jams.", department_id=department),
            ).ticket.id
            for subject in ("Printer", "Broken", "Scanner")
        ]
        plain, broken, other = opened
        store_directly(services, subjects={broken: BROKEN_SUBJECT})
        for ticket_id in (plain, broken, other):  # each: a reply mail, a status mail, none
            tickets.post_message(agent, ticket_id, PostMessage("We are on it."))
            for change in (
                ChangeTicket(status=TicketStatus.PENDING),
                ChangeTicket(priority=TicketPriority.HIGH),
            ):
                version = tickets.get_ticket(agent, ticket_id).ticket.version
                tickets.change(agent, ticket_id, version, change)

        drain(services)  # before the fix: UnicodeEncodeError out of run_once

        webhooks = services.webhooks
        stats, waiting = webhooks.outbox_status(SYSTEM_OPERATOR)
        assert (stats.pending, stats.failed) == (0, 0)  # every event handled, none given up

        # Every event reached the good endpoint and the accented one, in order per ticket.
        good = next(w for w in webhooks.list(SYSTEM_OPERATOR) if w.url.endswith("/good"))
        for path, hook_id in (("/good", good.id), ("/caf%C3%A9", accented.id)):
            deliveries = webhooks.deliveries(SYSTEM_OPERATOR, hook_id, 100)
            assert {d.state for d in deliveries} == {DeliveryState.DELIVERED}
            in_order = [str(d.event_id) for d in sorted(deliveries, key=lambda d: d.event_seq)]
            received = [body for at, body in receiver.received if at == path]
            assert sorted(body["id"] for body in received) == sorted(in_order)
            for ticket_id in opened:
                of_ticket = [
                    body["id"]
                    for body in received
                    if body["data"].get("ticket", {}).get("id") == str(ticket_id)
                ]
                assert len(of_ticket) >= 4  # created, the reply, the status, the priority
                assert of_ticket == [i for i in in_order if i in of_ticket]

        # The unencodable URL failed its first delivery at once, alone, and said why.
        refused = webhooks.get(SYSTEM_OPERATOR, unencodable.id)
        assert not refused.is_active
        assert "cannot be encoded" in (refused.disabled_reason or "")
        refusals = webhooks.deliveries(SYSTEM_OPERATOR, unencodable.id, 100)
        tried = [d for d in refusals if d.attempt_log]
        assert tried  # the first batch (one delivery per ticket) was refused, none retried
        assert all(d.state is DeliveryState.FAILED for d in tried)
        assert [a.outcome.value for d in tried for a in d.attempt_log] == ["refused"] * len(tried)
        # what it was queued before it was disabled waits for it to be mended and re-enabled
        assert waiting == len(refusals) - len(tried)

        # The broken subject's mails went, each subject one line, no header smuggled in.
        mails = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in outbox.glob("*.eml")
        ]
        broken_subjects = sorted(str(m["Subject"]) for m in mails if "Broken" in m["Subject"])
        assert broken_subjects == [
            "Re: [#2] Broken Bcc: eve@example.com and more",
            "[#2] Your ticket is now pending",
        ] or broken_subjects == ["Re: [#2] Broken Bcc: eve@example.com and more"]
        assert all(m["Bcc"] is None for m in mails)
        assert {str(m["To"]) for m in mails} == {"c@example.com"}
    finally:
        services.close()
