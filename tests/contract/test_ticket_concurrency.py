"""Concurrency guarantees of the ticket workflow, on every store and on Redis.

- 50 concurrent auto-assignments over a team of 5 active agents give each exactly 10, with the
  round-robin position in Redis and in the SQL counter alike; a deactivated agent gets none.
- 20 concurrent changes naming the same version: exactly one wins, the others are StaleVersion,
  and history holds exactly one entry for that change.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from entrypoints.bootstrap import Services, bootstrap
from helpdesk_core.domain.errors import StaleVersion
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import Role, StaffRole, TicketPriority
from helpdesk_core.ports.tickets import TicketQuery, TicketSort
from helpdesk_core.usecases.auth import Register
from helpdesk_core.usecases.org import CreateDepartment, CreateStaff, CreateTeam, UpdateStaff
from helpdesk_core.usecases.tickets import Assign, ChangeTicket, OpenTicket
from tests.conftest import make_settings
from tests.support.services import redis_url

PASSWORD = "correct horse battery"


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on ``count`` threads released together; results or exceptions."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class Team:
    def __init__(self, services: Services, agents: int) -> None:
        org = services.org
        self.department = org.create_department(SYSTEM_OPERATOR, CreateDepartment("Support"))
        self.team = org.create_team(SYSTEM_OPERATOR, CreateTeam("Tier 1", self.department.id))
        self.agents = [
            org.create_staff(
                SYSTEM_OPERATOR,
                CreateStaff(
                    f"agent{n}-{uuid.uuid4().hex[:6]}@example.com",
                    f"Agent {n}",
                    PASSWORD,
                    StaffRole.AGENT,
                    self.department.id,
                    self.team.id,
                ),
            ).user.id
            for n in range(agents)
        ]
        customer = services.auth.register(
            Register(f"c-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, "Customer")
        )
        self.customer = Principal(customer.user.id, Role.CUSTOMER)
        lead = org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(
                f"lead-{uuid.uuid4().hex[:6]}@example.com",
                "Lead",
                PASSWORD,
                StaffRole.LEAD,
                self.department.id,
            ),
        )
        self.lead = Principal(lead.user.id, Role.LEAD, self.department.id)


@pytest.fixture
def services(backend_url: str) -> Iterator[Services]:
    services = bootstrap(
        make_settings(database_url=backend_url, db_pool_size=20, db_max_overflow=40)
    )
    yield services
    services.close()


@pytest.fixture
def redis_services(postgres_db_url: str) -> Iterator[Services]:
    services = bootstrap(
        make_settings(
            database_url=postgres_db_url,
            redis_url=redis_url(),
            db_pool_size=20,
            db_max_overflow=40,
            redis_prefix=f"test-{uuid.uuid4().hex[:12]}:",
        )
    )
    yield services
    services.close()


def _fifty_auto_assignments(services: Services) -> None:
    team = Team(services, agents=6)
    retired = team.agents.pop()
    services.org.update_staff(SYSTEM_OPERATOR, retired, UpdateStaff(active=False))
    tickets = []
    for n in range(50):
        detail = services.tickets.open_ticket(
            team.customer,
            OpenTicket(
                f"Ticket {n}",
                "Please help",
                TicketPriority.NORMAL,
                team.department.id,
            ),
        )
        services.tickets.assign(team.lead, detail.ticket.id, Assign("team", team_id=team.team.id))
        tickets.append(detail.ticket.id)

    results = run_concurrently(
        50, lambda i: services.tickets.assign(team.lead, tickets[i], Assign("auto"))
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    per_agent = Counter(r.ticket.assignee_id for r in results)
    assert per_agent == dict.fromkeys(team.agents, 10)
    assert retired not in per_agent


def test_fifty_concurrent_auto_assignments_are_shared_evenly(services: Services) -> None:
    _fifty_auto_assignments(services)


@pytest.mark.postgres
@pytest.mark.redis
def test_fifty_concurrent_auto_assignments_on_redis(redis_services: Services) -> None:
    _fifty_auto_assignments(redis_services)


def test_twenty_concurrent_changes_of_one_version_one_wins(services: Services) -> None:
    team = Team(services, agents=1)
    ticket = services.tickets.open_ticket(
        team.customer,
        OpenTicket(
            "Race",
            "Twenty agents at once",
            TicketPriority.NORMAL,
            team.department.id,
        ),
    ).ticket

    def change(i: int) -> Any:
        priority = TicketPriority.URGENT if i % 2 else TicketPriority.HIGH
        return services.tickets.change(
            team.lead, ticket.id, ticket.version, ChangeTicket(priority=priority)
        )

    results = run_concurrently(20, change)
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, StaleVersion) for r in losers), losers
    history = services.tickets.history(team.lead, ticket.id)
    changes = [h.entry for h in history if h.entry.field == "priority"]
    assert len(changes) == 1
    assert changes[0].new_value == winners[0].ticket.priority.value
    stored = services.tickets.get_ticket(team.lead, ticket.id).ticket
    assert stored.version == ticket.version + 1
    assert stored.priority == winners[0].ticket.priority


def test_keyset_pages_see_every_ticket_once_while_others_write(services: Services) -> None:
    """Paging by creation returns every ticket that existed when paging began exactly once,
    while other tickets are being created and updated at the same time."""
    team = Team(services, agents=2)
    existing = {
        services.tickets.open_ticket(
            team.customer,
            OpenTicket(
                f"Existing {n}",
                "Paging",
                TicketPriority.NORMAL,
                team.department.id,
            ),
        ).ticket.id
        for n in range(60)
    }
    stop = threading.Event()
    writer_errors: list[BaseException] = []
    written: list[int] = []

    def write() -> None:
        n = 0
        try:
            while not stop.is_set():
                detail = services.tickets.open_ticket(
                    team.customer,
                    OpenTicket(
                        f"New {n}",
                        "Arrives while paging",
                        TicketPriority.HIGH,
                        team.department.id,
                    ),
                )
                services.tickets.change(
                    team.lead,
                    detail.ticket.id,
                    detail.ticket.version,
                    ChangeTicket(priority=TicketPriority.URGENT),
                )
                n += 1
                written.append(n)
        except BaseException as exc:  # reported below
            writer_errors.append(exc)

    def touch_existing() -> None:
        try:
            for ticket_id in list(existing)[:30]:
                if stop.is_set():
                    return
                ticket = services.tickets.get_ticket(team.lead, ticket_id).ticket
                services.tickets.change(
                    team.lead, ticket_id, ticket.version, ChangeTicket(priority=TicketPriority.LOW)
                )
        except BaseException as exc:
            writer_errors.append(exc)

    writers = [threading.Thread(target=write), threading.Thread(target=touch_existing)]
    for writer in writers:
        writer.start()
    seen: list[uuid.UUID] = []
    after = None
    try:
        while True:
            page = services.tickets.list_tickets(
                team.lead,
                TicketQuery(
                    sort=TicketSort.CREATED,
                    after=after,
                    limit=7,
                ),
            )
            seen += [v.ticket.id for v in page.items]
            # New tickets keep arriving behind us: stop once every existing one was served.
            if page.next_after is None or existing <= set(seen):
                break
            after = page.next_after
            time.sleep(0.02)  # let the writers in between pages
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=60)
    assert writer_errors == []
    assert written, "no ticket was written while paging: the test proved nothing"
    assert len(seen) == len(set(seen)), "a ticket was served twice"
    assert existing <= set(seen), "a ticket that existed when paging began was skipped"
