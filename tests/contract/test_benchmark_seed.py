"""The benchmark seed on PostgreSQL: the product works on what ``benchmarks.seed`` wrote.

A fresh database (``fresh_database``, dropped afterwards) gets 2,000 tickets; then, through
the services the composition root builds, seeded people log in and use the tickets the way
the load generator will: customers list their own, agents filter their department's queue,
staff search for ``SeedInfo.search_words`` and read conversations, and the reserved tickets
take one change or automatic assignment at version 1. New tickets continue the numbering,
and each search document is exactly what the product's repositories would have written.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from benchmarks.seed import (
    NEEDLE_TICKETS,
    NEEDLE_WORDS,
    SeedInfo,
    database_url,
    drop_database,
    fresh_database,
    seed,
)
from entrypoints.bootstrap import Services, bootstrap, password_hasher
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.search import search_text
from helpdesk_core.domain.values import MessageVisibility, Role, TicketStatus
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.usecases.auth import Login
from helpdesk_core.usecases.tickets import Assign, ChangeTicket, OpenTicket
from tests.conftest import make_settings
from tests.support.services import postgres_url

pytestmark = pytest.mark.postgres

TICKETS = 2000
PASSWORD = "seeded-password-42"
OPEN = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[SeedInfo, Services]]:
    server = postgres_url()
    name = f"hdt_seed_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = fresh_database(server, name)
    try:
        assert url == database_url(server, name)
        settings = make_settings(database_url=url)
        password_hash = password_hasher(settings).hash(PASSWORD)
        info = seed(url, TICKETS, password_hash=password_hash, password=PASSWORD, customers=100)
        info = SeedInfo.from_json(info.to_json())  # what the load generator reads
        services = bootstrap(settings)
        try:
            yield info, services
        finally:
            services.close()
    finally:
        drop_database(server, name)


def log_in(services: Services, email: str, password: str) -> Principal:
    result = services.auth.login(Login(email, password))
    return services.auth.authenticate(result.access_token)


def test_the_seed_info_describes_the_data(seeded: tuple[SeedInfo, Services]) -> None:
    info, _ = seeded
    assert info.tickets == TICKETS
    assert len(info.departments) == 5
    assert len(info.teams) == 10
    assert len(info.leads) == 5
    assert len(info.agents) == 40
    assert len(info.customers) == 100
    assert info.customers[0]["email"] == "customer1@example.com"
    # Half the tickets are reserved (new, unassigned) and spread over the departments.
    reserved = info.open_ticket_ids_by_department
    assert set(reserved) == {d["id"] for d in info.departments}
    assert sum(len(ids) for ids in reserved.values()) == TICKETS // 2
    assert all(len(ids) == TICKETS // 10 for ids in reserved.values())
    assert info.messages > TICKETS // 2
    assert all(info.detail_ticket_ids_by_department.values())
    assert any(info.customer_ticket_ids.values())
    assert info.search_words
    matches = [info.search_word_matches[w] for w in info.search_words]
    assert matches == sorted(matches)
    assert matches[0] < 20 < TICKETS // 4 < matches[-1]
    assert {info.search_word_matches[w] for w in NEEDLE_WORDS} == {NEEDLE_TICKETS}
    assert info.seconds["total"] > 0


def test_a_customer_logs_in_and_lists_own_tickets(seeded: tuple[SeedInfo, Services]) -> None:
    info, services = seeded
    email, expected = next((e, ids) for e, ids in info.customer_ticket_ids.items() if ids)
    customer = log_in(services, email, info.password)
    assert customer.role is Role.CUSTOMER
    page = services.tickets.list_tickets(customer, TicketQuery(limit=len(expected)))
    tickets = [v.ticket for v in page.items]
    assert [str(t.id) for t in tickets] == expected
    assert {t.requester_id for t in tickets} == {customer.user_id}


def test_an_agent_lists_the_department_queue_by_status(
    seeded: tuple[SeedInfo, Services],
) -> None:
    info, services = seeded
    agent_info = info.agents[0]
    agent = log_in(services, str(agent_info["email"]), info.password)
    assert agent.role is Role.AGENT
    department = uuid.UUID(str(agent_info["department_id"]))
    query = TicketQuery(statuses=OPEN, department_id=department, unassigned=True, limit=20)
    page = services.tickets.list_tickets(agent, query)
    assert len(page.items) == 20
    assert page.next_after is not None
    tickets = [v.ticket for v in page.items]
    assert all(t.department_id == department and t.assignee_id is None for t in tickets)
    # The newest of the queue are the reserved tickets, newest first.
    reserved = info.open_ticket_ids_by_department[str(department)]
    assert [str(t.id) for t in tickets] == reserved[::-1][:20]
    closed = services.tickets.list_tickets(
        agent, TicketQuery(statuses=frozenset({TicketStatus.CLOSED}), limit=20)
    )
    assert closed.items
    assert {v.ticket.status for v in closed.items} == {TicketStatus.CLOSED}
    assert {v.ticket.department_id for v in closed.items} <= {department, None}


def test_staff_find_the_search_words(seeded: tuple[SeedInfo, Services]) -> None:
    info, services = seeded
    admin = log_in(services, info.admin_email, info.password)
    assert admin.role is Role.ADMIN
    for word in info.search_words:
        expected = info.search_word_matches[word]
        page = services.tickets.list_tickets(admin, TicketQuery(text=word, limit=100))
        assert len(page.items) == min(expected, 100), word
    rare = info.search_words[0]
    agent = log_in(services, str(info.agents[-1]["email"]), info.password)
    found = services.tickets.list_tickets(agent, TicketQuery(text=rare.upper(), limit=100))
    assert {v.ticket.department_id for v in found.items} <= {agent.department_id, None}


def test_the_detail_holds_the_conversation(seeded: tuple[SeedInfo, Services]) -> None:
    info, services = seeded
    for department in info.departments[:2]:
        lead_info = next(p for p in info.leads if p["department_id"] == department["id"])
        lead = log_in(services, str(lead_info["email"]), info.password)
        for ticket_id in info.detail_ticket_ids_by_department[department["id"]][:50]:
            detail = services.tickets.get_ticket(lead, uuid.UUID(ticket_id))
            assert detail.messages, ticket_id
            times = [m.message.created_at for m in detail.messages]
            assert times == sorted(times)
            assert all(detail.ticket.created_at <= t <= detail.ticket.updated_at for t in times)
            assert detail.ticket.version > len(detail.messages)
    # A customer sees the public messages of their tickets only.
    email, ids = next((e, ids) for e, ids in info.customer_ticket_ids.items() if ids)
    customer = log_in(services, email, info.password)
    for ticket_id in ids:
        detail = services.tickets.get_ticket(customer, uuid.UUID(ticket_id))
        assert {m.message.visibility for m in detail.messages} <= {MessageVisibility.PUBLIC}


def test_each_search_document_is_what_the_product_writes(
    seeded: tuple[SeedInfo, Services],
) -> None:
    info, services = seeded
    admin = log_in(services, info.admin_email, info.password)
    engine = sa.create_engine(info.database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT ticket_id, document FROM ticket_search s JOIN tickets t"
                    " ON t.id = s.ticket_id WHERE t.number % 7 = 0 ORDER BY t.number"
                )
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == TICKETS // 7
    for ticket_id, document in rows:
        detail = services.tickets.get_ticket(admin, ticket_id)
        texts = [detail.ticket.subject, detail.ticket.description]
        texts += [m.message.body for m in detail.messages]
        assert document == " ".join(search_text(text) for text in texts), detail.ticket.number


def test_a_new_ticket_continues_the_numbering(seeded: tuple[SeedInfo, Services]) -> None:
    info, services = seeded
    customer = log_in(services, info.customers[-1]["email"], info.password)
    department = uuid.UUID(info.departments[0]["id"])
    command = OpenTicket("A brand new printer problem", "Nothing prints.", department_id=department)
    opened = services.tickets.open_ticket(customer, command)
    assert opened.ticket.number > info.tickets
    mine = services.tickets.list_tickets(customer, TicketQuery(limit=1))
    assert mine.items[0].ticket.id == opened.ticket.id


def test_reserved_tickets_take_one_change_or_auto_assignment_at_version_1(
    seeded: tuple[SeedInfo, Services],
) -> None:
    info, services = seeded
    department = info.departments[1]
    agent_info = next(p for p in info.agents if p["department_id"] == department["id"])
    lead_info = next(p for p in info.leads if p["department_id"] == department["id"])
    agent = log_in(services, str(agent_info["email"]), info.password)
    lead = log_in(services, str(lead_info["email"]), info.password)
    first, second = info.open_ticket_ids_by_department[department["id"]][:2]

    changed = services.tickets.change(
        agent, uuid.UUID(first), 1, ChangeTicket(status=TicketStatus.OPEN)
    ).ticket
    assert (changed.status, changed.version) == (TicketStatus.OPEN, 2)

    assigned = services.tickets.assign(lead, uuid.UUID(second), Assign(mode="auto"), 1).ticket
    agents = {p["user_id"] for p in info.agents if p["department_id"] == department["id"]}
    assert str(assigned.assignee_id) in agents
    assert assigned.version == 2
    counts = services.tickets.queue_counts(lead, uuid.UUID(department["id"]))
    assert sum(counts.by_status.values()) > TICKETS // 10
